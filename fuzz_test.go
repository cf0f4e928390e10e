//go:build !js

package websocket

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/ and run with every
// `go test`; the f.Add seeds below cover the same ground in code.

// fzHeader encodes a header alone, for frames whose payload is not sent.
func fzHeader(h frameHeader) []byte {
	if h.masked {
		h.key = testMaskKey
	}
	var b [maxHeaderLen]byte
	n := putHeader(b[:], h)
	return b[:n]
}

func fzJoin(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

// ---- Frame headers ----

func FuzzFrameHeader(f *testing.F) {
	key := [4]byte{1, 2, 3, 4}
	for _, h := range []frameHeader{
		{fin: true, opcode: opText, length: 5},
		{fin: true, opcode: opBinary, length: 126, masked: true, key: key},
		{opcode: opBinary, length: 0xffff},
		{fin: true, rsv: rsv1Bit, opcode: opText, length: 0x10000, masked: true, key: key},
		{fin: true, opcode: opClose, length: 2, masked: true, key: key},
		{opcode: opContinuation, length: 1 << 62},
	} {
		var b [maxHeaderLen]byte
		n := putHeader(b[:], h)
		f.Add(append(b[:n:n], "payload"...))
	}
	f.Add([]byte{0x82, 0x7e, 0x00, 0x7d})                   // 16-bit length not minimal
	f.Add([]byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff}) // 64-bit length not minimal
	f.Add([]byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0})    // top bit set
	f.Add([]byte{0x81, 0xfe, 0x01})                         // truncated
	f.Fuzz(func(t *testing.T, data []byte) {
		h, n, err := parseHeader(data)
		if err != nil {
			if n != 0 {
				t.Fatalf("parseHeader returned n=%d with error %v", n, err)
			}
			if err == errShortHeader {
				if len(data) >= 2 && len(data) >= headerLen(data[1]) {
					t.Fatalf("errShortHeader for a complete %d-byte header in % x", headerLen(data[1]), data)
				}
				return
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != StatusProtocolError {
				t.Fatalf("parseHeader error %v (%T), want errShortHeader or *ProtocolError 1002", err, err)
			}
			switch data[1] & 0x7f {
			case 126:
				if binary.BigEndian.Uint16(data[2:]) >= 126 {
					t.Fatalf("rejected a minimal 16-bit length: % x: %v", data, err)
				}
			case 127:
				if u := binary.BigEndian.Uint64(data[2:]); u > 0xffff && u>>63 == 0 {
					t.Fatalf("rejected a valid 64-bit length: % x: %v", data, err)
				}
			default:
				t.Fatalf("rejected a 7-bit length: % x: %v", data, err)
			}
			return
		}
		if n < 2 || n > maxHeaderLen || n > len(data) || n != headerLen(data[1]) {
			t.Fatalf("parseHeader(% x) consumed %d bytes", data, n)
		}
		if h.length < 0 {
			t.Fatalf("negative length %d from % x", h.length, data)
		}
		var b [maxHeaderLen]byte
		m := putHeader(b[:], h)
		if !bytes.Equal(b[:m], data[:n]) {
			t.Fatalf("putHeader(parseHeader(% x)) = % x", data[:n], b[:m])
		}
		// checkHeader must not panic whatever the header.
		_ = checkHeader(&h, true, 0)
		_ = checkHeader(&h, false, rsv1Bit)
	})
}

// ---- Masking ----

func FuzzMask(f *testing.F) {
	f.Add([]byte("Hello"), uint32(0x3d21fa37), uint8(0), uint16(2))
	f.Add(bytes.Repeat([]byte{0xff}, 100), uint32(0x01020304), uint8(3), uint16(13))
	f.Add([]byte{}, uint32(0), uint8(1), uint16(0))
	f.Add(bytes.Repeat([]byte("0123456789abcdef"), 9), uint32(0xdeadbeef), uint8(2), uint16(64))
	f.Fuzz(func(t *testing.T, data []byte, key32 uint32, pos uint8, split uint16) {
		var key [4]byte
		binary.LittleEndian.PutUint32(key[:], key32)
		start := int(pos)
		cut := 0
		if len(data) > 0 {
			cut = int(split) % (len(data) + 1)
		}

		whole := bytes.Clone(data)
		wp := maskBytes(key, start, whole)

		pieces := bytes.Clone(data)
		pp := maskBytes(key, start, pieces[:cut])
		pp = maskBytes(key, pp, pieces[cut:])

		ref := bytes.Clone(data)
		rp := maskRef(key, start&3, ref)

		if wp != rp || pp != rp {
			t.Fatalf("positions: whole %d, pieces %d, reference %d", wp, pp, rp)
		}
		if !bytes.Equal(whole, ref) {
			t.Fatalf("maskBytes(whole) differs from the reference")
		}
		if !bytes.Equal(pieces, ref) {
			t.Fatalf("maskBytes in two pieces (cut at %d) differs from the reference", cut)
		}
		maskBytes(key, start, whole)
		if !bytes.Equal(whole, data) {
			t.Fatalf("masking twice does not restore the input")
		}
	})
}

// ---- UTF-8 ----

func FuzzUTF8(f *testing.F) {
	f.Add([]byte("hello, world"), uint16(3))
	f.Add([]byte("κόσμε 😀 €"), uint16(2))
	f.Add([]byte("\xed\xa0\x80"), uint16(1))
	f.Add([]byte("\xf4\x90\x80\x80"), uint16(2))
	f.Add([]byte("\xe0\x80\xaf"), uint16(1))
	f.Add([]byte("abcdefgh\xf0\x9f\x98"), uint16(9))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		cut := int(split) % (len(data) + 1)
		var v utf8Validator
		first := v.valid(data[:cut])
		if first != utf8Prefix(data[:cut]) {
			t.Fatalf("validator on prefix %q = %v, want %v", data[:cut], first, !first)
		}
		got := first && v.valid(data[cut:]) && v.complete()
		if want := utf8.Valid(data); got != want {
			t.Fatalf("validator on %q split at %d = %v, utf8.Valid = %v", data, cut, got, want)
		}
	})
}

// ---- Close payloads ----

func FuzzClosePayload(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x03})
	f.Add([]byte{0x03, 0xe8})
	f.Add([]byte("\x03\xe9going away"))
	f.Add([]byte("\x0f\xa0app code"))
	f.Add([]byte("\x03\xed"))
	f.Add([]byte("\x03\xe8\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		code, reason, err := parseClosePayload(data)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) || (pe.Code != StatusProtocolError && pe.Code != StatusInvalidFramePayloadData) {
				t.Fatalf("error %v (%T), want *ProtocolError 1002 or 1007", err, err)
			}
			return
		}
		if len(data) == 0 {
			if code != StatusNoStatusReceived || reason != "" {
				t.Fatalf("empty payload gave %v %q", code, reason)
			}
			return
		}
		if !code.validOnWire() {
			t.Fatalf("accepted code %d, not valid on the wire", int(code))
		}
		if !utf8.ValidString(reason) {
			t.Fatalf("accepted invalid UTF-8 reason %q", reason)
		}
		if len(data) < 2 || code != StatusCode(binary.BigEndian.Uint16(data)) || reason != string(data[2:]) {
			t.Fatalf("payload % x decoded as %d %q", data, int(code), reason)
		}
	})
}

// ---- Handshake ----

func FuzzExtensions(f *testing.F) {
	f.Add("permessage-deflate")
	f.Add("permessage-deflate; client_max_window_bits, permessage-deflate; server_no_context_takeover; client_max_window_bits=10")
	f.Add(`foo; bar="baz", , qux;a=1;b`)
	f.Add(`x; q="a\"b"`)
	f.Add("a\nb; c=d")
	f.Add("; broken")
	f.Fuzz(func(t *testing.T, value string) {
		h := http.Header{}
		for _, line := range strings.Split(value, "\n") {
			h.Add("Sec-WebSocket-Extensions", line)
		}
		exts, err := parseExtensions(h)
		if err != nil {
			if err != errBadExtensions {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		var rendered []string
		for _, e := range exts {
			if !isToken(e.name) {
				t.Fatalf("extension name %q is not a token", e.name)
			}
			for _, p := range e.params {
				if !isToken(p.name) || (p.hasValue && !isToken(p.value)) || (!p.hasValue && p.value != "") {
					t.Fatalf("bad parameter %+v in %q", p, value)
				}
			}
			rendered = append(rendered, e.String())
		}
		line := strings.Join(rendered, ", ")
		again, err := parseExtensions(http.Header{"Sec-Websocket-Extensions": {line}})
		if err != nil {
			t.Fatalf("re-rendered %q (from %q) does not parse: %v", line, value, err)
		}
		if !reflect.DeepEqual(fzNormExts(exts), fzNormExts(again)) {
			t.Fatalf("round trip of %q through %q:\n got %+v\nwant %+v", value, line, again, exts)
		}
	})
}

func fzNormExts(exts []extension) []extension {
	out := make([]extension, 0, len(exts))
	for _, e := range exts {
		if len(e.params) == 0 {
			e.params = nil
		}
		out = append(out, e)
	}
	return out
}

func FuzzHandshakeRequest(f *testing.F) {
	f.Add([]byte("GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: keep-alive, upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		key, herr := checkUpgradeRequest(req)
		if herr != nil {
			if key != "" {
				t.Fatalf("refused request returned key %q", key)
			}
			switch herr.status {
			case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusUpgradeRequired:
			default:
				t.Fatalf("refusal with status %d", herr.status)
			}
			if herr.reason == "" || herr.Error() == "" {
				t.Fatalf("refusal without a reason")
			}
			return
		}
		// Accepted: the key is one header line holding base64 of 16 bytes.
		if !validKey(key) || len(key) != 24 {
			t.Fatalf("accepted invalid key %q", key)
		}
		if strings.Trim(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != "" {
			t.Fatalf("accepted key %q with characters outside the base64 alphabet", key)
		}
		raw, err := base64.StdEncoding.DecodeString(key)
		if err != nil || len(raw) != 16 {
			t.Fatalf("accepted key %q decodes to %d bytes, %v", key, len(raw), err)
		}
		if vals := req.Header.Values("Sec-WebSocket-Key"); len(vals) != 1 || vals[0] != key {
			t.Fatalf("key %q is not the request's only Sec-WebSocket-Key %q", key, vals)
		}
		if req.Method != http.MethodGet || !req.ProtoAtLeast(1, 1) || req.Host == "" {
			t.Fatalf("accepted %s %s with Host %q", req.Method, req.Proto, req.Host)
		}
		if !hasToken(req.Header, "Connection", "Upgrade") || !hasToken(req.Header, "Upgrade", "websocket") {
			t.Fatalf("accepted request without Connection/Upgrade tokens: %q", req.Header)
		}
		if len(computeAccept(key)) != 28 {
			t.Fatalf("accept value of %q has the wrong length", key)
		}
	})
}

// ---- Conn ----

// fzReadLimit bounds the messages of the Conn fuzz targets.
const fzReadLimit = 1 << 20

// fzConnTimeout bounds one run of a Conn fuzz target. Every input is a
// finite stream followed by the peer closing, so hitting it means a hang.
const fzConnTimeout = 10 * time.Second

// Bits of the opts argument of the Conn fuzz targets.
const (
	fzDeflate   = 1 << iota // permessage-deflate was negotiated
	fzNoContext             // ... and the peer resets its compressor per message
	fzLeftover              // the first half of the stream came with the handshake
)

// fuzzConnStream feeds stream to a Conn (server role: the stream is what a
// client sends) over net.Pipe and reads messages until an error. It checks
// that nothing panics or hangs, that the error is one the API documents,
// and that what the Conn writes back is well-formed.
//
// It returns the error that ended reading and the number of whole messages.
func fuzzConnStream(t *testing.T, stream []byte, isServer bool, opts uint8, readBufSize int, timeout time.Duration) (int, error) {
	cfg := connConfig{
		isServer:     isServer,
		readLimit:    fzReadLimit,
		readBufSize:  readBufSize,
		closeTimeout: time.Second,
	}
	if opts&fzDeflate != 0 {
		cfg.deflate = &deflateParams{readNoContext: opts&fzNoContext != 0, writeNoContext: true}
	}
	var buffered []byte
	if opts&fzLeftover != 0 {
		buffered, stream = stream[:len(stream)/2], stream[len(stream)/2:]
	}
	local, peer := net.Pipe()
	c := newConn(local, buffered, cfg)
	c.SetDeadline(time.Now().Add(timeout))

	var wg sync.WaitGroup
	var written bytes.Buffer // what the Conn sent to the peer
	wg.Add(2)
	go func() { // the peer: send the stream, then hang up
		defer wg.Done()
		if len(stream) > 0 {
			peer.Write(stream)
		}
		peer.Close()
	}()
	go func() { // drain whatever the Conn writes (pongs, close frames)
		defer wg.Done()
		io.Copy(&written, peer)
	}()

	var err error
	msgs := 0
	for i := 0; err == nil; i++ {
		var typ MessageType
		var r io.Reader
		typ, r, err = c.NextReader()
		if err != nil {
			break
		}
		if typ != TextMessage && typ != BinaryMessage {
			t.Fatalf("NextReader returned message type %v", typ)
		}
		// Alternate tiny reads (through the Conn's buffer) and large ones
		// (straight from the transport).
		buf := make([]byte, 7)
		if i%2 == 1 {
			buf = make([]byte, 64<<10)
		}
		var msg []byte
		for {
			n, rerr := r.Read(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("Read returned n=%d", n)
			}
			msg = append(msg, buf[:n]...)
			if len(msg) > fzReadLimit {
				t.Fatalf("message of more than the %d-byte read limit delivered", fzReadLimit)
			}
			if rerr == io.EOF {
				if typ == TextMessage && !utf8.Valid(msg) {
					t.Fatalf("complete text message is not valid UTF-8: %q", msg)
				}
				msgs++
				break
			}
			if rerr != nil {
				err = rerr
				break
			}
		}
	}

	var ce *CloseError
	var pe *ProtocolError
	switch {
	case errors.As(err, &ce):
		if !ce.Code.validOnWire() && ce.Code != StatusNoStatusReceived {
			t.Fatalf("CloseError with code %d", int(ce.Code))
		}
		if !utf8.ValidString(ce.Reason) {
			t.Fatalf("CloseError with invalid UTF-8 reason %q", ce.Reason)
		}
	case errors.As(err, &pe):
		switch pe.Code {
		case StatusProtocolError, StatusInvalidFramePayloadData, StatusMessageTooBig:
		default:
			t.Fatalf("ProtocolError with code %v: %v", pe.Code, pe)
		}
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Fatalf("Conn did not finish reading a %d-byte stream within %v: %v", len(buffered)+len(stream), timeout, err)
	case errors.Is(err, ErrClosed):
		// The transport was closed under the reader, e.g. after a pong
		// could not be written to the peer that already hung up.
	case strings.HasPrefix(err.Error(), "websocket: read failed: ") && errors.Unwrap(err) != nil:
	default:
		t.Fatalf("unexpected error %v (%T)", err, err)
	}
	// Errors are final.
	if _, _, again := c.NextReader(); again != err {
		t.Fatalf("NextReader after %v returned %v", err, again)
	}

	c.CloseNow()
	peer.Close()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(fzConnTimeout):
		t.Fatalf("pipe goroutines did not finish")
	}

	fzCheckWritten(t, written.Bytes(), isServer, err)
	return msgs, err
}

// fzCheckWritten checks what the Conn wrote to the peer: only pongs and at
// most one close frame, last, masked exactly when the Conn is a client, and
// a close code matching the error the reader got. A frame cut short by the
// peer hanging up may end the stream.
func fzCheckWritten(t *testing.T, out []byte, isServer bool, readErr error) {
	closes := 0
	for len(out) > 0 {
		h, n, err := parseHeader(out)
		if err == errShortHeader {
			return
		}
		if err != nil {
			t.Fatalf("Conn wrote a bad frame header % x: %v", out[:min(len(out), maxHeaderLen)], err)
		}
		if err := checkHeader(&h, !isServer, 0); err != nil {
			t.Fatalf("Conn wrote a frame the peer must reject: %+v: %v", h, err)
		}
		if int64(len(out)-n) < h.length {
			return
		}
		p := bytes.Clone(out[n : n+int(h.length)])
		out = out[n+int(h.length):]
		if h.masked {
			maskBytes(h.key, 0, p)
		}
		if closes > 0 {
			t.Fatalf("Conn wrote a frame (opcode %#x) after its close frame", h.opcode)
		}
		switch h.opcode {
		case opPong:
		case opClose:
			closes++
			code, reason, err := parseClosePayload(p)
			if err != nil {
				t.Fatalf("Conn wrote a bad close payload % x: %v", p, err)
			}
			var ce *CloseError
			var pe *ProtocolError
			switch {
			case errors.As(readErr, &pe):
				if code != pe.Code {
					t.Fatalf("Conn failed with %v but sent close code %v %q", pe, code, reason)
				}
			case errors.As(readErr, &ce):
				if code != ce.Code {
					t.Fatalf("Conn got close %v but echoed %v", ce.Code, code)
				}
			}
		default:
			t.Fatalf("Conn wrote an unexpected frame with opcode %#x", h.opcode)
		}
	}
}

// fzCompress returns the permessage-deflate payloads of msgs: compressed
// with one context across messages, unless noContext, each ending in a
// sync flush whose 00 00 ff ff tail is removed (RFC 7692 section 7.2.1).
func fzCompress(noContext bool, msgs ...string) []string {
	var out []string
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	for _, m := range msgs {
		if noContext {
			w.Reset(&b)
		}
		w.Write([]byte(m))
		w.Flush()
		out = append(out, strings.TrimSuffix(b.String(), "\x00\x00\xff\xff"))
		b.Reset()
	}
	return out
}

// fzConnSeed is a peer's stream and how reading it must end: with a
// *CloseError of code peerClose, a *ProtocolError of code fail, or (both
// zero) a read error when the stream runs out; after msgs whole messages.
type fzConnSeed struct {
	name            string
	stream          []byte
	opts            uint8
	peerClose, fail StatusCode
	msgs            int
}

// fzConnSeeds returns streams a client (m true: masked frames) or a server
// (m false) might send, valid and invalid.
func fzConnSeeds(m bool) []fzConnSeed {
	big := strings.Repeat("0123456789", 7000) // 70000 bytes: 64-bit length
	close1000 := rawFrame(true, 0, opClose, m, []byte("\x03\xe8"))
	ctx := fzCompress(false, "Hello, compressed world", "Hello, compressed world, again", "")
	noctx := fzCompress(true, "κόσμε κόσμε κόσμε", "κόσμε κόσμε κόσμε")
	bomb := fzCompress(true, strings.Repeat("\x00", 2<<20))[0]
	return []fzConnSeed{
		{"text_then_eof", rawFrame(true, 0, opText, m, []byte("Hello")), 0, 0, 0, 1},
		{"binary_close_1000", fzJoin(rawFrame(true, 0, opBinary, m, []byte("\x00\x01\x02")), rawFrame(true, 0, opClose, m, []byte("\x03\xe8bye"))), 0, 1000, 0, 1},
		{"fragmented_ping_pong_between", fzJoin(rawFrame(false, 0, opText, m, []byte("Hel")), rawFrame(true, 0, opPing, m, []byte("ping")), rawFrame(false, 0, opContinuation, m, []byte("lo, ")), rawFrame(true, 0, opPong, m, []byte("")), rawFrame(true, 0, opContinuation, m, []byte("κόσμε")), rawFrame(true, 0, opClose, m, []byte(""))), 0, 1005, 0, 1},
		{"sizes_close_4000", fzJoin(rawFrame(true, 0, opBinary, m, []byte(strings.Repeat("x", 300))), rawFrame(true, 0, opText, m, []byte(big)), rawFrame(true, 0, opBinary, m, []byte("")), rawFrame(true, 0, opClose, m, []byte("\x0f\xa0app"))), 0, 4000, 0, 3},
		{"utf8_split_across_frames", fzJoin(rawFrame(false, 0, opText, m, []byte("\xce")), rawFrame(true, 0, opContinuation, m, []byte("\xba")), rawFrame(true, 0, opClose, m, []byte("\x03\xe9"))), 0, 1001, 0, 1},
		{"ping_flood_then_close", fzJoin(rawFrame(true, 0, opPing, m, []byte("1")), rawFrame(true, 0, opPing, m, []byte(strings.Repeat("2", 125))), rawFrame(true, 0, opPing, m, []byte("")), close1000), 0, 1000, 0, 0},
		{"handshake_leftover", fzJoin(rawFrame(true, 0, opText, m, []byte("first")), rawFrame(true, 0, opBinary, m, []byte("second")), close1000), fzLeftover, 1000, 0, 2},

		{"bad_utf8_surrogate", rawFrame(true, 0, opText, m, []byte("\xed\xa0\x80")), 0, 0, 1007, 0},
		{"bad_utf8_at_message_end", fzJoin(rawFrame(false, 0, opText, m, []byte("ok")), rawFrame(true, 0, opContinuation, m, []byte("\xe2\x82"))), 0, 0, 1007, 0},
		{"wrong_masking", rawFrame(true, 0, opText, !m, []byte("wrong masking")), 0, 0, 1002, 0},
		{"rsv1_without_extension", rawFrame(true, rsv1Bit, opText, m, []byte("rsv1")), 0, 0, 1002, 0},
		{"reserved_opcode", rawFrame(true, 0, 0x3, m, []byte("reserved opcode")), 0, 0, 1002, 0},
		{"continuation_without_message", rawFrame(true, 0, opContinuation, m, []byte("no message to continue")), 0, 0, 1002, 0},
		{"data_inside_fragmented_message", fzJoin(rawFrame(false, 0, opText, m, []byte("a")), rawFrame(true, 0, opBinary, m, []byte("b"))), 0, 0, 1002, 0},
		{"fragmented_ping", rawFrame(false, 0, opPing, m, []byte("fragmented ping")), 0, 0, 1002, 0},
		{"ping_126", rawFrame(true, 0, opPing, m, []byte(strings.Repeat("p", 126))), 0, 0, 1002, 0},
		{"close_1_byte", rawFrame(true, 0, opClose, m, []byte("\x03")), 0, 0, 1002, 0},
		{"close_code_1005", rawFrame(true, 0, opClose, m, []byte("\x03\xed")), 0, 0, 1002, 0},
		{"close_bad_utf8", rawFrame(true, 0, opClose, m, []byte("\x03\xe8\xff")), 0, 0, 1007, 0},
		{"truncated_frame", rawFrame(true, 0, opBinary, m, []byte("truncated"))[:8], 0, 0, 0, 0},
		{"header_cut_short", []byte{0x82}, 0, 0, 0, 0},
		{"non_minimal_16bit_length", []byte{0x82, 0x7e, 0x00, 0x05, 1, 2, 3, 4, 5}, 0, 0, 1002, 0},
		{"over_read_limit", fzHeader(frameHeader{fin: true, opcode: opBinary, masked: m, length: 2 << 20}), 0, 0, 1009, 0},
		{"fragments_over_read_limit", fzJoin(rawFrame(false, 0, opBinary, m, []byte(strings.Repeat("y", 1000))), fzHeader(frameHeader{fin: true, opcode: opContinuation, masked: m, length: fzReadLimit - 999})), 0, 0, 1009, 0},
		{"fragment_length_overflow", fzJoin(rawFrame(false, 0, opBinary, m, []byte(strings.Repeat("y", 1000))), fzHeader(frameHeader{fin: true, opcode: opContinuation, masked: m, length: 1<<63 - 1})), 0, 0, 1009, 0},

		// permessage-deflate.
		{"deflate_context_takeover", fzJoin(rawFrame(true, rsv1Bit, opText, m, []byte(ctx[0])), rawFrame(true, 0, opText, m, []byte("plain")), rawFrame(true, rsv1Bit, opBinary, m, []byte(ctx[1])), rawFrame(true, rsv1Bit, opText, m, []byte(ctx[2])), close1000), fzDeflate, 1000, 0, 4},
		{"deflate_no_context_fragmented", fzJoin(rawFrame(false, rsv1Bit, opText, m, []byte(noctx[0][:5])), rawFrame(true, 0, opPing, m, []byte("p")), rawFrame(true, 0, opContinuation, m, []byte(noctx[0][5:])), rawFrame(true, rsv1Bit, opText, m, []byte(noctx[1])), close1000), fzDeflate | fzNoContext, 1000, 0, 2},
		{"deflate_leftover", fzJoin(rawFrame(true, rsv1Bit, opText, m, []byte(noctx[0])), close1000), fzDeflate | fzNoContext | fzLeftover, 1000, 0, 1},
		{"deflate_rsv1_on_continuation", fzJoin(rawFrame(false, rsv1Bit, opText, m, []byte(noctx[0][:5])), rawFrame(true, rsv1Bit, opContinuation, m, []byte(noctx[0][5:]))), fzDeflate, 0, 1002, 0},
		{"deflate_rsv1_on_ping", rawFrame(true, rsv1Bit, opPing, m, []byte("")), fzDeflate, 0, 1002, 0},
		{"deflate_rsv2", rawFrame(true, rsv1Bit|rsv2Bit, opBinary, m, []byte(noctx[0])), fzDeflate, 0, 1002, 0},
		{"deflate_corrupt", rawFrame(true, rsv1Bit, opBinary, m, []byte("\xff\xff\xff\xff")), fzDeflate, 0, 1007, 0},
		{"deflate_bad_utf8", rawFrame(true, rsv1Bit, opText, m, []byte(fzCompress(true, "ok\xed\xa0\x80")[0])), fzDeflate, 0, 1007, 0},
		{"deflate_bomb", rawFrame(true, rsv1Bit, opBinary, m, []byte(bomb)), fzDeflate | fzNoContext, 0, 1009, 0},
		// The examples of RFC 7692 section 7.2.3, each "Hello": a sync-flushed
		// block, twice sharing the window, a stored block, two blocks.
		{"deflate_rfc7692_examples", fzJoin(
			rawFrame(true, rsv1Bit, opText, m, []byte("\xf2\x48\xcd\xc9\xc9\x07\x00")),
			rawFrame(true, rsv1Bit, opText, m, []byte("\xf2\x00\x11\x00\x00")),
			rawFrame(true, rsv1Bit, opText, m, []byte("\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00")),
			rawFrame(true, rsv1Bit, opText, m, []byte("\xf2\x48\x05\x00\x00\x00\xff\xff\xca\xc9\xc9\x07\x00")),
			close1000), fzDeflate, 1000, 0, 4},
	}
}

// fzDeflateFinalBlock is the example of RFC 7692 section 7.2.3.4: "Hello"
// compressed into a DEFLATE block with BFINAL set, then a 0x00 octet.
const fzDeflateFinalBlock = "\xf3\x48\xcd\xc9\xc9\x07\x00\x00"

func FuzzConnServer(f *testing.F) {
	for _, s := range fzConnSeeds(true) {
		if len(s.stream) < 4096 { // big inputs slow the fuzzer down
			f.Add(s.stream, s.opts)
		}
	}
	f.Add(rawFrame(true, rsv1Bit, opText, true, []byte(fzDeflateFinalBlock)), uint8(fzDeflate))
	f.Fuzz(func(t *testing.T, stream []byte, opts uint8) {
		fuzzConnStream(t, stream, true, opts, 0, fzConnTimeout)
	})
}

func FuzzConnClient(f *testing.F) {
	for _, s := range fzConnSeeds(false) {
		if len(s.stream) < 4096 {
			f.Add(s.stream, s.opts)
		}
	}
	f.Add(rawFrame(true, rsv1Bit, opText, false, []byte(fzDeflateFinalBlock)), uint8(fzDeflate))
	f.Fuzz(func(t *testing.T, stream []byte, opts uint8) {
		fuzzConnStream(t, stream, false, opts, 0, fzConnTimeout)
	})
}

// TestFuzzConnSeeds checks that the Conn harness sees the outcome each
// seed stream was written for.
func TestFuzzConnSeeds(t *testing.T) {
	for _, isServer := range []bool{true, false} {
		for _, s := range fzConnSeeds(isServer) {
			msgs, err := fuzzConnStream(t, s.stream, isServer, s.opts, 0, fzConnTimeout)
			var ce *CloseError
			var pe *ProtocolError
			ok := msgs == s.msgs
			switch {
			case s.peerClose != 0:
				ok = ok && errors.As(err, &ce) && ce.Code == s.peerClose
			case s.fail != 0:
				ok = ok && errors.As(err, &pe) && pe.Code == s.fail
			default:
				ok = ok && !errors.As(err, &ce) && !errors.As(err, &pe)
			}
			if !ok {
				t.Errorf("server=%v %s: %d messages, error %v; want %d messages, close %d, failure %d",
					isServer, s.name, msgs, err, s.msgs, int(s.peerClose), int(s.fail))
			}
		}
	}
}

// TestFuzzConnDeflateFinalBlock feeds the RFC 7692 section 7.2.3.4 example,
// which a receiver must decompress to "Hello" like any other message.
func TestFuzzConnDeflateFinalBlock(t *testing.T) {
	for _, isServer := range []bool{true, false} {
		for _, opts := range []uint8{fzDeflate, fzDeflate | fzNoContext} {
			m := isServer
			stream := fzJoin(rawFrame(true, rsv1Bit, opText, m, []byte(fzDeflateFinalBlock)), rawFrame(true, rsv1Bit, opText, m, []byte("\xf2\x48\xcd\xc9\xc9\x07\x00")), rawFrame(true, 0, opClose, m, []byte("\x03\xe8")))
			msgs, err := fuzzConnStream(t, stream, isServer, opts, 0, fzConnTimeout)
			if msgs != 2 || CloseStatus(err) != StatusNormalClosure {
				t.Errorf("server=%v opts=%d: %d messages, error %v; want 2 messages then close 1000. "+
					"BUG: inflater.read treats a DEFLATE block with BFINAL set (allowed by RFC 7692 section 7.2.3.4) as corrupt "+
					"because the decompressor stops before consuming the rest of the payload and the appended tail", isServer, opts, msgs, err)
			}
		}
	}
}

// TestFuzzConnSmallReadBuffer runs the Conn harness with read buffers
// smaller than a frame header or a control frame, as Upgrader and Dialer
// allow (ReadBufferSize is passed to newConn as is).
func TestFuzzConnSmallReadBuffer(t *testing.T) {
	ping := strings.Repeat("p", maxControlPayload)
	for _, size := range []int{1, 13, 64, 124} {
		for _, isServer := range []bool{true, false} {
			stream := fzJoin(rawFrame(true, 0, opPing, isServer, []byte(ping)), rawFrame(true, 0, opText, isServer, []byte("after the ping")), rawFrame(true, 0, opClose, isServer, []byte("\x03\xe8")))
			t.Run(fmt.Sprintf("size=%d/server=%v", size, isServer), func(t *testing.T) {
				t.Cleanup(func() {
					if t.Failed() {
						t.Logf("BUG: with a %d-byte read buffer, readBuf.fill(n) for a frame header (n <= %d) or a control payload (n <= %d) "+
							"can never gather n bytes: it calls Read with an empty slice forever, spinning until the deadline. "+
							"newConn must raise the read buffer size (br.bufs.size) to at least maxHeaderLen+maxControlPayload.", size, maxHeaderLen, maxControlPayload)
					}
				})
				msgs, err := fuzzConnStream(t, stream, isServer, 0, size, 500*time.Millisecond)
				if CloseStatus(err) != StatusNormalClosure || msgs != 1 {
					t.Errorf("got %d messages, error %v; want 1 message, then close 1000", msgs, err)
				}
			})
		}
	}
}
