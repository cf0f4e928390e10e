//go:build !js

package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
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
