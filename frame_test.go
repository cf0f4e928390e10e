//go:build !js

package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// ---- Frame headers ----

// headerLengths are the boundaries of the three length encodings, plus the
// largest length the protocol allows.
var headerLengths = []int64{0, 1, 125, 126, 127, 0xffff, 0x10000, 1 << 32, 1 << 62, 1<<63 - 1}

// encodedHeaderLen is the expected size of h's minimal encoding.
func encodedHeaderLen(h frameHeader) int {
	n := 2
	switch {
	case h.length > 0xffff:
		n += 8
	case h.length > 125:
		n += 2
	}
	if h.masked {
		n += 4
	}
	return n
}

func TestFrameHeaderRoundTrip(t *testing.T) {
	rsvs := []byte{0, rsv1Bit, rsv2Bit, rsv3Bit, rsv1Bit | rsv2Bit, rsv1Bit | rsv3Bit, rsv2Bit | rsv3Bit, rsv1Bit | rsv2Bit | rsv3Bit}
	count := 0
	for op := byte(0); op < 16; op++ {
		for _, fin := range []bool{false, true} {
			for _, rsv := range rsvs {
				for _, masked := range []bool{false, true} {
					for _, length := range headerLengths {
						h := frameHeader{fin: fin, rsv: rsv, opcode: op, masked: masked, length: length}
						if masked {
							h.key = [4]byte{0xde, 0xad, op, byte(length)}
						}
						var buf [maxHeaderLen + 3]byte
						for i := range buf {
							buf[i] = 0xa5 // trailing bytes must not be read as header
						}
						n := putHeader(buf[:], h)
						if want := encodedHeaderLen(h); n != want {
							t.Fatalf("putHeader(%+v) wrote %d bytes, want %d", h, n, want)
						}
						got, m, err := parseHeader(buf[:])
						if err != nil {
							t.Fatalf("parseHeader(putHeader(%+v)) = %v (bytes % x)", h, err, buf[:n])
						}
						if m != n || got != h {
							t.Fatalf("round trip of %+v: got %+v, %d bytes; want %d bytes (bytes % x)", h, got, m, n, buf[:n])
						}
						// Exactly n bytes suffice.
						if got, m, err := parseHeader(buf[:n]); err != nil || m != n || got != h {
							t.Fatalf("parseHeader of exactly the header bytes of %+v: %+v, %d, %v", h, got, m, err)
						}
						count++
					}
				}
			}
		}
	}
	if count != 16*2*8*2*len(headerLengths) {
		t.Fatalf("ran %d cases", count)
	}
}

func TestPutHeaderExactBytes(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	tests := []struct {
		name string
		h    frameHeader
		want []byte
	}{
		{"empty unfragmented text", frameHeader{fin: true, opcode: opText}, []byte{0x81, 0x00}},
		{"hello text", frameHeader{fin: true, opcode: opText, length: 5}, []byte{0x81, 0x05}},
		{"125 binary, 7-bit length", frameHeader{fin: true, opcode: opBinary, length: 125}, []byte{0x82, 0x7d}},
		{"126 binary, 16-bit length", frameHeader{fin: true, opcode: opBinary, length: 126}, []byte{0x82, 0x7e, 0x00, 0x7e}},
		{"65535, 16-bit length", frameHeader{fin: true, opcode: opBinary, length: 0xffff}, []byte{0x82, 0x7e, 0xff, 0xff}},
		{"65536, 64-bit length", frameHeader{fin: true, opcode: opBinary, length: 0x10000}, []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}},
		{"1<<32", frameHeader{opcode: opBinary, length: 1 << 32}, []byte{0x02, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0}},
		{"1<<62", frameHeader{opcode: opContinuation, length: 1 << 62}, []byte{0x00, 0x7f, 0x40, 0, 0, 0, 0, 0, 0, 0}},
		{"masked empty ping", frameHeader{fin: true, opcode: opPing, masked: true, key: key}, []byte{0x89, 0x80, 1, 2, 3, 4}},
		{"masked close 2", frameHeader{fin: true, opcode: opClose, masked: true, key: key, length: 2}, []byte{0x88, 0x82, 1, 2, 3, 4}},
		{"masked 300, rsv1", frameHeader{fin: true, rsv: rsv1Bit, opcode: opText, masked: true, key: key, length: 300}, []byte{0xc1, 0xfe, 0x01, 0x2c, 1, 2, 3, 4}},
		{"masked 1<<40, rsv2|rsv3, not fin", frameHeader{rsv: rsv2Bit | rsv3Bit, opcode: opBinary, masked: true, key: key, length: 1 << 40}, []byte{0x32, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4}},
		{"reserved opcode 0xF", frameHeader{fin: true, opcode: 0xf, length: 1}, []byte{0x8f, 0x01}},
	}
	for _, tt := range tests {
		var buf [maxHeaderLen]byte
		n := putHeader(buf[:], tt.h)
		if !bytes.Equal(buf[:n], tt.want) {
			t.Errorf("%s: putHeader wrote % x, want % x", tt.name, buf[:n], tt.want)
		}
	}
}

func wantProtocolError(t *testing.T, what string, err error, code StatusCode) {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Errorf("%s: got error %v (%T), want *ProtocolError with code %v", what, err, err, code)
		return
	}
	if pe.Code != code {
		t.Errorf("%s: got %v, want code %v", what, pe, code)
	}
}

func TestParseHeaderRejectsBadLengths(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
	}{
		{"16-bit length 0", []byte{0x82, 0x7e, 0x00, 0x00}},
		{"16-bit length 1", []byte{0x82, 0x7e, 0x00, 0x01}},
		{"16-bit length 125", []byte{0x82, 0x7e, 0x00, 0x7d}},
		{"16-bit length 125 masked", []byte{0x82, 0xfe, 0x00, 0x7d, 1, 2, 3, 4}},
		{"64-bit length 0", []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"64-bit length 125", []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x7d}},
		{"64-bit length 126", []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x7e}},
		{"64-bit length 0xffff", []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff}},
		{"64-bit length 0xffff masked", []byte{0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4}},
		{"64-bit length 1<<63", []byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"64-bit length all ones", []byte{0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"64-bit length top bit, masked", []byte{0x02, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}},
	}
	for _, tt := range tests {
		_, n, err := parseHeader(tt.b)
		if n != 0 {
			t.Errorf("%s: parseHeader returned n=%d with error %v", tt.name, n, err)
		}
		wantProtocolError(t, tt.name, err, StatusProtocolError)
	}
}

func TestParseHeaderShort(t *testing.T) {
	var headers [][]byte
	for _, masked := range []bool{false, true} {
		for _, length := range headerLengths {
			var buf [maxHeaderLen]byte
			n := putHeader(buf[:], frameHeader{fin: true, opcode: opBinary, masked: masked, key: [4]byte{9, 8, 7, 6}, length: length})
			headers = append(headers, buf[:n])
		}
	}
	for _, hb := range headers {
		for k := 0; k < len(hb); k++ {
			_, n, err := parseHeader(hb[:k])
			if err != errShortHeader || n != 0 {
				t.Errorf("parseHeader(% x) (first %d of %d bytes) = %d, %v; want errShortHeader", hb[:k], k, len(hb), n, err)
			}
		}
		if _, n, err := parseHeader(hb); err != nil || n != len(hb) {
			t.Errorf("parseHeader(% x) = %d, %v", hb, n, err)
		}
	}
	if _, _, err := parseHeader(nil); err != errShortHeader {
		t.Errorf("parseHeader(nil) = %v", err)
	}
}

func TestHeaderLen(t *testing.T) {
	for b1 := 0; b1 < 256; b1++ {
		want := 2
		switch b1 & 0x7f {
		case 126:
			want += 2
		case 127:
			want += 8
		}
		if b1&0x80 != 0 {
			want += 4
		}
		if got := headerLen(byte(b1)); got != want {
			t.Errorf("headerLen(%#x) = %d, want %d", b1, got, want)
		}
	}
}

func TestCheckHeader(t *testing.T) {
	const (
		client = true // the frame comes from a client
		server = false
	)
	masked := func(h frameHeader) frameHeader { h.masked = true; h.key = [4]byte{1, 2, 3, 4}; return h }
	type tc struct {
		name       string
		h          frameHeader
		fromClient bool
		rsvAllowed byte
		ok         bool
	}
	tests := []tc{
		{"text from client", masked(frameHeader{fin: true, opcode: opText, length: 10}), client, 0, true},
		{"text from server", frameHeader{fin: true, opcode: opText, length: 10}, server, 0, true},
		{"binary fragment", frameHeader{opcode: opBinary, length: 1 << 40}, server, 0, true},
		{"continuation", frameHeader{opcode: opContinuation}, server, 0, true},
		{"final continuation", masked(frameHeader{fin: true, opcode: opContinuation}), client, 0, true},
		{"close 125", frameHeader{fin: true, opcode: opClose, length: 125}, server, 0, true},
		{"ping 0", masked(frameHeader{fin: true, opcode: opPing}), client, 0, true},
		{"pong 125", frameHeader{fin: true, opcode: opPong, length: 125}, server, 0, true},

		{"fragmented close", frameHeader{opcode: opClose}, server, 0, false},
		{"fragmented ping", masked(frameHeader{opcode: opPing, length: 1}), client, 0, false},
		{"fragmented pong", frameHeader{opcode: opPong}, server, 0, false},
		{"close payload 126", frameHeader{fin: true, opcode: opClose, length: 126}, server, 0, false},
		{"ping payload 126", masked(frameHeader{fin: true, opcode: opPing, length: 126}), client, 0, false},
		{"pong payload 1<<62", frameHeader{fin: true, opcode: opPong, length: 1 << 62}, server, 0, false},

		{"RSV1 without extension", frameHeader{fin: true, rsv: rsv1Bit, opcode: opText}, server, 0, false},
		{"RSV2 without extension", masked(frameHeader{fin: true, rsv: rsv2Bit, opcode: opBinary}), client, 0, false},
		{"RSV3 without extension", frameHeader{fin: true, rsv: rsv3Bit, opcode: opPing}, server, 0, false},
		{"RSV1 allowed", frameHeader{fin: true, rsv: rsv1Bit, opcode: opText}, server, rsv1Bit, true},
		{"RSV1 allowed, masked", masked(frameHeader{fin: true, rsv: rsv1Bit, opcode: opBinary}), client, rsv1Bit, true},
		{"RSV2 with only RSV1 allowed", frameHeader{fin: true, rsv: rsv2Bit, opcode: opText}, server, rsv1Bit, false},
		{"RSV1|RSV3 with only RSV1 allowed", frameHeader{fin: true, rsv: rsv1Bit | rsv3Bit, opcode: opText}, server, rsv1Bit, false},

		{"unmasked from client", frameHeader{fin: true, opcode: opText, length: 1}, client, 0, false},
		{"unmasked close from client", frameHeader{fin: true, opcode: opClose}, client, 0, false},
		{"masked from server", masked(frameHeader{fin: true, opcode: opText, length: 1}), server, 0, false},
		{"masked pong from server", masked(frameHeader{fin: true, opcode: opPong}), server, 0, false},
	}
	for _, op := range []byte{3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf} {
		tests = append(tests,
			tc{fmt.Sprintf("reserved opcode %#x from server", op), frameHeader{fin: true, opcode: op}, server, 0, false},
			tc{fmt.Sprintf("reserved opcode %#x from client", op), masked(frameHeader{fin: true, opcode: op}), client, 0, false})
	}
	for _, tt := range tests {
		h := tt.h
		err := checkHeader(&h, tt.fromClient, tt.rsvAllowed)
		if tt.ok {
			if err != nil {
				t.Errorf("%s: checkHeader = %v, want nil", tt.name, err)
			}
			continue
		}
		wantProtocolError(t, tt.name, err, StatusProtocolError)
	}
}

func TestFrameIsControl(t *testing.T) {
	for op := byte(0); op < 16; op++ {
		if got, want := isControl(op), op >= 8; got != want {
			t.Errorf("isControl(%#x) = %v", op, got)
		}
	}
}

// ---- Close payloads and status codes ----

func closeBytes(code int, reason string) []byte {
	return append([]byte{byte(code >> 8), byte(code)}, reason...)
}

func TestParseClosePayload(t *testing.T) {
	code, reason, err := parseClosePayload(nil)
	if err != nil || code != StatusNoStatusReceived || reason != "" {
		t.Errorf("empty payload: %v, %q, %v; want 1005", code, reason, err)
	}
	_, _, err = parseClosePayload([]byte{0x03})
	wantProtocolError(t, "1-byte payload", err, StatusProtocolError)

	for _, c := range []int{0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 0xffff} {
		for _, reason := range []string{"", "why"} {
			_, _, err := parseClosePayload(closeBytes(c, reason))
			wantProtocolError(t, fmt.Sprintf("invalid code %d, reason %q", c, reason), err, StatusProtocolError)
		}
	}
	for _, c := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		for _, reason := range []string{"", "bye", "héllo wörld ☃ 😀", strings.Repeat("x", 123)} {
			code, got, err := parseClosePayload(closeBytes(c, reason))
			if err != nil || code != StatusCode(c) || got != reason {
				t.Errorf("code %d reason %q: got %v, %q, %v", c, reason, code, got, err)
			}
		}
	}
	for _, bad := range []string{"\xff", "ok\xc3", "\xed\xa0\x80", "\xc0\xaf", "abc\xf4\x90\x80\x80", "\xe2\x82"} {
		_, _, err := parseClosePayload(closeBytes(1000, bad))
		wantProtocolError(t, fmt.Sprintf("reason %q", bad), err, StatusInvalidFramePayloadData)
	}
}

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

// ---- UTF-8 ----

var utf8Inputs = []string{
	"",
	"a",
	"hello, world",
	"exactly8",
	"sixteen bytes!!!",
	"ascii longer than one word, then é at the end",
	"é", "€", "😀", "\U0010ffff", "\u007f", "\u0080", "\u07ff", "\u0800", "\uffff", "\U00010000",
	"\ud7ff",                 // ED 9F BF: last code point before the surrogates
	"\ue000",                 // EE 80 80: first after them
	"κόσμε",                  // Greek
	"Hello-µ@ßöäüàá-UTF-8!!", // Autobahn case 6.2
	"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", // κόσμε bytes
	"\xf0\x9f\x98\x80\xf0\x9f\x98\x81 two emoji",
	"12345678😀12345678",

	// Invalid.
	"\x80", "\xbf", "\xc0\x80", "\xc0\xaf", "\xc1\xbf", // continuation, overlong 2-byte
	"\xe0\x80\x80", "\xe0\x9f\xbf", // overlong 3-byte
	"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", // overlong 4-byte
	"\xed\xa0\x80", "\xed\xbf\xbf", "\xed\xa0\x80\xed\xb0\x80", // surrogates
	"\xf4\x90\x80\x80", "\xf4\xbf\xbf\xbf", // above U+10FFFF
	"\xf5\x80\x80\x80", "\xf7\xbf\xbf\xbf", "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80", "\xfe", "\xff",
	"\xc2", "\xe2\x82", "\xf0\x9f\x98", "abc\xf0\x9f", // truncated
	"\xc2\x41", "\xe2\x28\xa1", "\xe2\x82\x28", "\xf0\x28\x8c\xbc", "\xf0\x90\x28\xbc", "\xf0\x9f\x98\x28", // bad continuation
	"\xf0\x9f\x98\x80\x80",           // stray continuation after a full sequence
	"12345678\xff12345678",           // invalid byte between ASCII words
	"abcdefghijklmnopqrstuvwxyz\xc3", // truncated after a fast-path run
	"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", // Autobahn 6.4.x style
}

// utf8Partials holds every proper prefix of the UTF-8 encoding of every
// code point: the incomplete characters a valid stream may end with.
var utf8Partials = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool)
	var buf [utf8.UTFMax]byte
	for r := rune(0x80); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		n := utf8.EncodeRune(buf[:], r)
		for k := 1; k < n; k++ {
			m[string(buf[:k])] = true
		}
	}
	return m
})

// utf8Prefix reports whether s is a prefix of some valid UTF-8 string: valid
// UTF-8 followed by at most one incomplete character.
func utf8Prefix(s []byte) bool {
	for cut := 0; cut < utf8.UTFMax && cut <= len(s); cut++ {
		head, tail := s[:len(s)-cut], s[len(s)-cut:]
		if utf8.Valid(head) && (cut == 0 || utf8Partials()[string(tail)]) {
			return true
		}
	}
	return false
}

func TestUTF8ValidatorWhole(t *testing.T) {
	for _, s := range utf8Inputs {
		want := utf8.ValidString(s)
		var v utf8Validator
		got := v.valid([]byte(s)) && v.complete()
		if got != want {
			t.Errorf("utf8Validator on %q = %v, utf8.Valid = %v", s, got, want)
		}
		if !want {
			continue
		}
		// Also embedded in long ASCII runs, to go through the word loop.
		long := strings.Repeat("x", 13) + s + strings.Repeat("y", 17) + s
		v = utf8Validator{}
		if !v.valid([]byte(long)) || !v.complete() {
			t.Errorf("utf8Validator rejects %q", long)
		}
	}
}

// feed runs a fresh validator over pieces and returns whether all were
// accepted and whether it ended complete, and the index of the first piece
// rejected (-1 if none).
func feedUTF8(pieces ...[]byte) (ok, complete bool, rejected int) {
	var v utf8Validator
	for i, p := range pieces {
		if !v.valid(p) {
			return false, false, i
		}
	}
	return true, v.complete(), -1
}

func TestUTF8ValidatorSplits(t *testing.T) {
	for _, s := range utf8Inputs {
		b := []byte(s)
		want := utf8.Valid(b)
		// Every 2-way split.
		for i := 0; i <= len(b); i++ {
			ok, complete, rejected := feedUTF8(b[:i], b[i:])
			if got := ok && complete; got != want {
				t.Errorf("%q split at %d: valid=%v complete=%v, utf8.Valid=%v", s, i, ok, complete, want)
			}
			// Incremental: the first piece alone is rejected only if it is
			// not a valid prefix; a valid string is never rejected.
			if rejected == 0 && utf8Prefix(b[:i]) {
				t.Errorf("%q: prefix %q rejected though it is a valid UTF-8 prefix", s, b[:i])
			}
			if rejected < 0 && !ok {
				t.Errorf("%q: inconsistent result", s)
			}
		}
		// Byte by byte: must fail at the first byte that makes the input
		// no longer a valid prefix.
		var v utf8Validator
		failedAt := -1
		for i := range b {
			if !v.valid(b[i : i+1]) {
				failedAt = i
				break
			}
			if !v.complete() && utf8.Valid(b[:i+1]) {
				t.Errorf("%q: complete() false after valid prefix %q", s, b[:i+1])
			}
			if v.complete() && !utf8.Valid(b[:i+1]) {
				t.Errorf("%q: complete() true after invalid prefix %q", s, b[:i+1])
			}
		}
		wantFail := -1
		for i := 1; i <= len(b); i++ {
			if !utf8Prefix(b[:i]) {
				wantFail = i - 1
				break
			}
		}
		if failedAt != wantFail {
			t.Errorf("%q fed byte by byte: rejected at byte %d, want %d", s, failedAt, wantFail)
		}
		if failedAt < 0 && v.complete() != want {
			t.Errorf("%q fed byte by byte: complete() = %v, utf8.Valid = %v", s, v.complete(), want)
		}
	}
}

func TestUTF8ValidatorTruncatedTail(t *testing.T) {
	for _, s := range []string{"é", "€", "😀", "abc€", "\U0010ffff", strings.Repeat("a", 20) + "😀"} {
		b := []byte(s)
		r, size := utf8.DecodeLastRune(b)
		if r == utf8.RuneError || size < 2 {
			t.Fatalf("bad test input %q", s)
		}
		for cut := 1; cut < size; cut++ {
			var v utf8Validator
			if !v.valid(b[:len(b)-cut]) {
				t.Errorf("%q minus %d bytes: rejected, want accepted as a prefix", s, cut)
			}
			if v.complete() {
				t.Errorf("%q minus %d bytes: complete() = true on a truncated tail", s, cut)
			}
			if !v.valid(b[len(b)-cut:]) || !v.complete() {
				t.Errorf("%q: completing the tail was not accepted", s)
			}
		}
	}
}

func TestUTF8ValidatorRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := [][]byte{
		[]byte("a"), []byte("é"), []byte("€"), []byte("😀"), {0x80}, {0xc0}, {0xe0}, {0xed}, {0xf0}, {0xf4}, {0x90}, {0xbf}, {0xff}, []byte("abcdefgh"),
	}
	for i := 0; i < 20000; i++ {
		var b []byte
		for n := rng.Intn(12); n > 0; n-- {
			b = append(b, alphabet[rng.Intn(len(alphabet))]...)
		}
		want := utf8.Valid(b)
		split := rng.Intn(len(b) + 1)
		ok, complete, _ := feedUTF8(b[:split], b[split:])
		if (ok && complete) != want {
			t.Fatalf("% x split at %d: validator %v/%v, utf8.Valid %v", b, split, ok, complete, want)
		}
	}
}

// ---- Masking ----

// maskRef is the byte-at-a-time reference for maskBytes.
func maskRef(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

func TestMaskBytesAgainstReference(t *testing.T) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	rng := rand.New(rand.NewSource(2))
	for n := 0; n <= 100; n++ {
		src := make([]byte, n)
		rng.Read(src)
		for pos := 0; pos < 4; pos++ {
			// Also at unaligned starts within a bigger array.
			for align := 0; align < 8; align++ {
				got := make([]byte, n+align+8)
				copy(got[align:], src)
				want := append([]byte(nil), src...)
				gp := maskBytes(key, pos, got[align:align+n])
				wp := maskRef(key, pos, want)
				if gp != wp {
					t.Fatalf("n=%d pos=%d: maskBytes returned position %d, want %d", n, pos, gp, wp)
				}
				if !bytes.Equal(got[align:align+n], want) {
					t.Fatalf("n=%d pos=%d align=%d:\n got % x\nwant % x", n, pos, align, got[align:align+n], want)
				}
				for i, c := range got[:align] {
					if c != 0 {
						t.Fatalf("n=%d pos=%d: byte %d before the slice modified", n, pos, i)
					}
				}
				for i, c := range got[align+n:] {
					if c != 0 {
						t.Fatalf("n=%d pos=%d: byte %d after the slice modified", n, pos, i)
					}
				}
			}
		}
	}
	// The position is taken modulo 4.
	for _, pos := range []int{4, 5, 7, 1001} {
		a := bytes.Repeat([]byte{0xaa}, 40)
		b := bytes.Repeat([]byte{0xaa}, 40)
		if maskBytes(key, pos, a) != maskRef(key, pos&3, b) || !bytes.Equal(a, b) {
			t.Errorf("pos %d not reduced modulo 4", pos)
		}
	}
}

func TestMaskBytesInPieces(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for iter := 0; iter < 2000; iter++ {
		n := rng.Intn(3000)
		src := make([]byte, n)
		rng.Read(src)
		var key [4]byte
		rng.Read(key[:])
		start := rng.Intn(4)

		whole := append([]byte(nil), src...)
		wantPos := maskBytes(key, start, whole)

		pieces := append([]byte(nil), src...)
		pos := start
		for rest := pieces; len(rest) > 0; {
			m := rng.Intn(len(rest) + 1)
			if rng.Intn(4) == 0 {
				m = rng.Intn(min(len(rest), 20) + 1) // many short pieces
			}
			pos = maskBytes(key, pos, rest[:m])
			rest = rest[m:]
		}
		if pos != wantPos {
			t.Fatalf("iteration %d: position after pieces %d, whole %d", iter, pos, wantPos)
		}
		if !bytes.Equal(pieces, whole) {
			t.Fatalf("iteration %d (n=%d): masking in pieces differs from masking whole", iter, n)
		}
		ref := append([]byte(nil), src...)
		maskRef(key, start, ref)
		if !bytes.Equal(whole, ref) {
			t.Fatalf("iteration %d (n=%d): maskBytes differs from the reference", iter, n)
		}
		// Masking again restores the input.
		maskBytes(key, start, whole)
		if !bytes.Equal(whole, src) {
			t.Fatalf("iteration %d: masking twice does not restore the input", iter)
		}
	}
}

func TestMaskBytesKnownAnswer(t *testing.T) {
	// RFC 6455 section 5.7: a masked "Hello".
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	p := []byte("Hello")
	if pos := maskBytes(key, 0, p); pos != 1 {
		t.Errorf("position after 5 bytes = %d, want 1", pos)
	}
	if want := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}; !bytes.Equal(p, want) {
		t.Errorf("masked Hello = % x, want % x", p, want)
	}
}

func TestNewMaskKeyVaries(t *testing.T) {
	seen := make(map[[4]byte]bool)
	const n = 2000 // more than one refill of the key buffer
	for i := 0; i < n; i++ {
		seen[newMaskKey()] = true
	}
	// 2000 random 32-bit keys collide with probability ~5e-4; allow a few.
	if len(seen) < n-3 {
		t.Errorf("newMaskKey gave only %d distinct keys in %d calls", len(seen), n)
	}
}

var maskSizes = []int{8, 16, 64, 1024, 16384, 1 << 20}

func BenchmarkMask(b *testing.B) {
	key := [4]byte{1, 2, 3, 4}
	for _, n := range maskSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			buf := make([]byte, n)
			b.SetBytes(int64(n))
			pos := 0
			for i := 0; i < b.N; i++ {
				pos = maskBytes(key, pos, buf)
			}
		})
	}
}

func BenchmarkMaskByteLoop(b *testing.B) {
	key := [4]byte{1, 2, 3, 4}
	for _, n := range maskSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			buf := make([]byte, n)
			b.SetBytes(int64(n))
			pos := 0
			for i := 0; i < b.N; i++ {
				pos = maskRef(key, pos, buf)
			}
		})
	}
}

func BenchmarkCopy(b *testing.B) {
	for _, n := range maskSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			src := make([]byte, n)
			dst := make([]byte, n)
			b.SetBytes(int64(n))
			for i := 0; i < b.N; i++ {
				copy(dst, src)
			}
		})
	}
}
