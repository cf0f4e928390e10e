//go:build !js

package websocket

// Tests of the declarations both builds share (websocket.go): status codes,
// CloseStatus and the error types' messages.

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestCloseStatusCodeValidOnWire(t *testing.T) {
	tests := []struct {
		code StatusCode
		want bool
	}{
		{-1, false}, {0, false}, {999, false},
		{1000, true}, {1001, true}, {1002, true}, {1003, true},
		{1004, false}, {1005, false}, {1006, false},
		{1007, true}, {1008, true}, {1009, true}, {1010, true}, {1011, true},
		{1012, true}, {1013, true}, {1014, true},
		{1015, false}, {1016, false}, {2000, false}, {2999, false},
		{3000, true}, {3500, true}, {4000, true}, {4999, true},
		{5000, false}, {65535, false}, {65536 + 1000, false},
	}
	for _, tt := range tests {
		if got := tt.code.validOnWire(); got != tt.want {
			t.Errorf("StatusCode(%d).validOnWire() = %v, want %v", int(tt.code), got, tt.want)
		}
	}
	// Every 16-bit code: exactly the registered ranges are accepted.
	n := 0
	for c := 0; c <= 0xffff; c++ {
		if StatusCode(c).validOnWire() {
			n++
		}
	}
	if want := 4 + 8 + 2000; n != want {
		t.Errorf("%d codes valid on the wire, want %d", n, want)
	}
}

func TestCloseStatus(t *testing.T) {
	ce := &CloseError{Code: StatusGoingAway, Reason: "shutdown"}
	tests := []struct {
		err  error
		want StatusCode
	}{
		{nil, -1},
		{io.EOF, -1},
		{&ProtocolError{Code: StatusProtocolError}, -1},
		{ce, StatusGoingAway},
		{fmt.Errorf("read: %w", ce), StatusGoingAway},
		{fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", &CloseError{Code: 4321})), 4321},
		{errors.Join(io.EOF, &CloseError{Code: StatusNoStatusReceived}), StatusNoStatusReceived},
		{fmt.Errorf("not wrapped: %v", ce), -1},
	}
	for _, tt := range tests {
		if got := CloseStatus(tt.err); got != tt.want {
			t.Errorf("CloseStatus(%v) = %d, want %d", tt.err, int(got), int(tt.want))
		}
	}
}

func TestFrameErrorStrings(t *testing.T) {
	tests := []struct {
		err  error
		want []string
	}{
		{&CloseError{Code: StatusNormalClosure}, []string{"1000", "normal closure"}},
		{&CloseError{Code: StatusGoingAway, Reason: "server restart"}, []string{"1001", "going away", "server restart"}},
		{&CloseError{Code: 4001, Reason: "custom"}, []string{"4001", "custom"}},
		{&CloseError{Code: StatusNoStatusReceived}, []string{"1005", "no status"}},
		{&ProtocolError{Code: StatusProtocolError, Reason: "bad opcode"}, []string{"1002", "protocol error", "bad opcode"}},
		{&ProtocolError{Code: StatusInvalidFramePayloadData, Reason: "invalid UTF-8"}, []string{"1007", "invalid UTF-8"}},
		{&ProtocolError{Code: StatusMessageTooBig, Reason: "too big"}, []string{"1009", "message too big", "too big"}},
	}
	for _, tt := range tests {
		s := tt.err.Error()
		for _, w := range tt.want {
			if !strings.Contains(s, w) {
				t.Errorf("%#v.Error() = %q, does not mention %q", tt.err, s, w)
			}
		}
	}
	if s := StatusCode(4567).String(); s != "4567" {
		t.Errorf("StatusCode(4567).String() = %q", s)
	}
	if s := StatusTLSHandshake.String(); !strings.Contains(s, "1015") || !strings.Contains(s, "TLS") {
		t.Errorf("StatusTLSHandshake.String() = %q", s)
	}
	for typ, want := range map[MessageType]string{TextMessage: "text", BinaryMessage: "binary", 9: "MessageType(9)"} {
		if got := typ.String(); got != want {
			t.Errorf("MessageType(%d).String() = %q, want %q", int(typ), got, want)
		}
	}
}
