//go:build !js

package websocket

// Tests of the read path (read.go): protocol errors with the exact close
// code, read limits, UTF-8 checks, fragmentation, read deadlines and the
// read path's allocations.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestServerProtocolErrors(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 126)
	cases := []struct {
		name   string
		frames [][]byte
		limit  int64
		code   StatusCode
	}{
		{"unmasked client frame", [][]byte{rawFrame(true, 0, opText, false, []byte("hi"))}, 0, 1002},
		{"RSV1 without extension", [][]byte{rawFrame(true, rsv1Bit, opText, true, []byte("hi"))}, 0, 1002},
		{"RSV2", [][]byte{rawFrame(true, rsv2Bit, opBinary, true, nil)}, 0, 1002},
		{"RSV3 on ping", [][]byte{rawFrame(true, rsv3Bit, opPing, true, nil)}, 0, 1002},
		{"reserved opcode 3", [][]byte{rawFrame(true, 0, 0x3, true, nil)}, 0, 1002},
		{"reserved control opcode B", [][]byte{rawFrame(true, 0, 0xB, true, nil)}, 0, 1002},
		{"fragmented ping", [][]byte{rawFrame(false, 0, opPing, true, nil)}, 0, 1002},
		{"ping over 125 bytes", [][]byte{rawFrame(true, 0, opPing, true, long)}, 0, 1002},
		{"close over 125 bytes", [][]byte{rawFrame(true, 0, opClose, true, append(closePayload(1000, ""), long...))}, 0, 1002},
		{"continuation without start", [][]byte{rawFrame(true, 0, opContinuation, true, []byte("x"))}, 0, 1002},
		{"new message inside fragmented one", [][]byte{
			rawFrame(false, 0, opText, true, []byte("a")),
			rawFrame(true, 0, opBinary, true, []byte("b"))}, 0, 1002},
		{"64-bit length with MSB set", [][]byte{{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}}, 0, 1002},
		{"length not minimal", [][]byte{{0x82, 0xfe, 0, 5, 1, 2, 3, 4, 1, 2, 3, 4, 5}}, 0, 1002},
		{"close with 1-byte payload", [][]byte{rawFrame(true, 0, opClose, true, []byte{3})}, 0, 1002},
		{"close with code 1005", [][]byte{rawFrame(true, 0, opClose, true, closePayload(1005, ""))}, 0, 1002},
		{"close with code 999", [][]byte{rawFrame(true, 0, opClose, true, closePayload(999, ""))}, 0, 1002},
		{"close with code 5000", [][]byte{rawFrame(true, 0, opClose, true, closePayload(5000, ""))}, 0, 1002},
		{"close reason invalid UTF-8", [][]byte{rawFrame(true, 0, opClose, true, closePayload(1000, "\xff"))}, 0, 1007},
		{"invalid UTF-8 text", [][]byte{rawFrame(true, 0, opText, true, []byte("ok \xc3\x28"))}, 0, 1007},
		{"text ends mid-sequence", [][]byte{rawFrame(true, 0, opText, true, []byte("\xe2\x82"))}, 0, 1007},
		{"surrogate in text", [][]byte{rawFrame(true, 0, opText, true, []byte("\xed\xa0\x80"))}, 0, 1007},
		{"message over read limit", [][]byte{rawFrame(true, 0, opBinary, true, make([]byte, 2000))}, 1000, 1009},
		{"fragments over read limit", [][]byte{
			rawFrame(false, 0, opBinary, true, make([]byte, 600)),
			rawFrame(true, 0, opContinuation, true, make([]byte, 600))}, 1000, 1009},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			errc := make(chan error, 1)
			s := startServer(t, &Upgrader{ReadLimit: tc.limit}, func(c *Conn) {
				_, _, err := c.ReadMessage()
				errc <- err
			})
			nc, br := rawDial(t, s)
			for _, f := range tc.frames {
				nc.Write(f)
			}
			expectClose(t, br, tc.code)
			expectEOF(t, br)
			err := <-errc
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != tc.code {
				t.Fatalf("handler error %v, want *ProtocolError with code %d", err, tc.code)
			}
		})
	}
}

func TestClientProtocolErrors(t *testing.T) {
	cases := []struct {
		name  string
		frame []byte
		code  StatusCode
	}{
		{"masked server frame", rawFrame(true, 0, opText, true, []byte("hi")), 1002},
		{"RSV1 without extension", rawFrame(true, rsv1Bit, opText, false, []byte("hi")), 1002},
		{"reserved opcode", rawFrame(true, 0, 0x7, false, nil), 1002},
		{"invalid UTF-8", rawFrame(true, 0, opText, false, []byte{0xff}), 1007},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			c, nc, br := rawServer(t)
			nc.Write(tc.frame)
			_, _, err := c.ReadMessage()
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != tc.code {
				t.Fatalf("got %v, want *ProtocolError with code %d", err, tc.code)
			}
			h, p, err := readRawFrame(br)
			if err != nil || h.opcode != opClose || !h.masked || StatusCode(binary.BigEndian.Uint16(p)) != tc.code {
				t.Fatalf("client sent %+v %q %v, want a masked close %d", h, p, err, tc.code)
			}
			// A failed connection is closed at once, by either role.
			expectEOF(t, br)
		})
	}
}

// A limit announced by a frame header fails before any payload arrives.
func TestReadLimitCheckedFromHeader(t *testing.T) {
	checkGoroutines(t)
	errc := make(chan error, 1)
	s := startServer(t, &Upgrader{ReadLimit: 1024}, func(c *Conn) {
		_, _, err := c.ReadMessage()
		errc <- err
	})
	nc, br := rawDial(t, s)
	// Header of a 1 GiB binary frame, masked, and no payload at all.
	var hdr [maxHeaderLen]byte
	n := putHeader(hdr[:], frameHeader{fin: true, opcode: opBinary, masked: true, length: 1 << 30})
	nc.Write(hdr[:n])
	p := expectClose(t, br, StatusMessageTooBig)
	if !strings.Contains(string(p[2:]), "1024") {
		t.Errorf("close reason %q does not name the limit", p[2:])
	}
	var pe *ProtocolError
	if err := <-errc; !errors.As(err, &pe) || pe.Code != StatusMessageTooBig {
		t.Fatalf("got %v", err)
	}
}

// Frame lengths that would overflow the message size, or pass the limit
// in a header the peer never follows with payload, fail at once with 1009.
func TestLimitFrameLengths(t *testing.T) {
	const maxLen = 1<<63 - 1
	hdr := func(fin bool, op byte, length int64) []byte {
		var b [maxHeaderLen]byte
		n := putHeader(b[:], frameHeader{fin: fin, opcode: op, masked: true, key: newMaskKey(), length: length})
		return b[:n]
	}
	for _, tc := range []struct {
		name  string
		limit int64
		data  []byte
	}{
		{"largest 63-bit length", 0, hdr(true, opBinary, maxLen)},
		{"continuation overflowing the message size", 0, append(rawFrame(false, 0, opBinary, true, make([]byte, 10)), hdr(true, opContinuation, maxLen)...)},
		{"continuation announcing the limit plus one", 1000, append(rawFrame(false, 0, opText, true, make([]byte, 500)), hdr(true, opContinuation, 501)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			errc := make(chan error, 1)
			s := startServer(t, &Upgrader{ReadLimit: tc.limit}, func(c *Conn) {
				_, _, err := c.ReadMessage()
				errc <- err
			})
			nc, br := rawDial(t, s)
			nc.Write(tc.data)
			expectClose(t, br, StatusMessageTooBig)
			var pe *ProtocolError
			if err := <-errc; !errors.As(err, &pe) || pe.Code != StatusMessageTooBig {
				t.Fatalf("handler got %v, want *ProtocolError 1009", err)
			}
			expectEOF(t, br)
		})
	}
}

// Our client checks a server frame's announced length against its read
// limit before any payload arrives.
func TestLimitOversizedFrameToClient(t *testing.T) {
	checkGoroutines(t)
	c, nc, br := rawServer(t)
	c.SetReadLimit(1 << 20)
	var b [maxHeaderLen]byte
	n := putHeader(b[:], frameHeader{fin: true, opcode: opBinary, length: 1 << 40})
	nc.Write(b[:n])
	start := time.Now()
	_, _, err := c.ReadMessage()
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Code != StatusMessageTooBig {
		t.Fatalf("got %v, want *ProtocolError 1009", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	h, p, err := readRawFrame(br)
	if err != nil || h.opcode != opClose || !h.masked || StatusCode(binary.BigEndian.Uint16(p)) != StatusMessageTooBig {
		t.Fatalf("client sent %+v %q %v, want a masked close 1009", h, p, err)
	}
	expectEOF(t, br)
}

// A text message that turns invalid in its first fragment fails before
// the rest of the message is sent.
func TestUTF8FailFast(t *testing.T) {
	checkGoroutines(t)
	errc := make(chan error, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		_, r, err := c.NextReader()
		if err != nil {
			errc <- err
			return
		}
		_, err = io.ReadAll(r)
		errc <- err
	})
	nc, br := rawDial(t, s)
	// First fragment: valid prefix, then an invalid byte; FIN not set and
	// the frame announces more bytes than are sent.
	var hdr [maxHeaderLen]byte
	key := newMaskKey()
	n := putHeader(hdr[:], frameHeader{opcode: opText, masked: true, key: key, length: 1000})
	part := []byte("valid text then \xc0 and more")
	maskBytes(key, 0, part)
	nc.Write(append(hdr[:n:n], part...))
	expectClose(t, br, StatusInvalidFramePayloadData)
	var pe *ProtocolError
	if err := <-errc; !errors.As(err, &pe) || pe.Code != 1007 {
		t.Fatalf("got %v", err)
	}
}

func TestFragmentedMessageWithInterleavedPings(t *testing.T) {
	checkGoroutines(t)
	got := make(chan []byte, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		typ, p, err := c.ReadMessage()
		if err != nil || typ != TextMessage {
			t.Errorf("read: %v %v", typ, err)
		}
		got <- p
		c.ReadMessage() // wait for the close
	})
	nc, br := rawDial(t, s)
	nc.Write(rawFrame(false, 0, opText, true, []byte("Hel")))
	nc.Write(rawFrame(true, 0, opPing, true, []byte("p1")))
	nc.Write(rawFrame(false, 0, opContinuation, true, []byte("lo, ")))
	nc.Write(rawFrame(true, 0, opPing, true, []byte("p2")))
	nc.Write(rawFrame(false, 0, opContinuation, true, nil))
	nc.Write(rawFrame(true, 0, opContinuation, true, []byte("wörld")))
	for _, want := range []string{"p1", "p2"} {
		h, p, err := readRawFrame(br)
		if err != nil || h.opcode != opPong || string(p) != want || h.masked {
			t.Fatalf("want unmasked pong %q, got %+v %q %v", want, h, p, err)
		}
	}
	if p := <-got; string(p) != "Hello, wörld" {
		t.Fatalf("message %q", p)
	}
	nc.Write(rawFrame(true, 0, opClose, true, closePayload(1000, "")))
	expectClose(t, br, 1000)
	expectEOF(t, br)
}

func TestReadDeadline(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, &Upgrader{}, func(c *Conn) { c.ReadMessage() })
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, _, err = c.ReadMessage()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a timeout", err)
	}
	c.CloseNow()
}

// Partial frames after the upgrade: the handler's read deadline fires,
// the read fails with a timeout, the connection is closed, the handler
// goroutine ends.
func TestSlowlorisFrame(t *testing.T) {
	hdr := func(length int64) []byte {
		var b [maxHeaderLen]byte
		n := putHeader(b[:], frameHeader{fin: true, opcode: opBinary, masked: true, key: newMaskKey(), length: length})
		return b[:n]
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"header byte", hdr(10)[:1]},
		{"header without its mask key", hdr(10)[:4]},
		{"payload 10 of 1000", append(hdr(1000), make([]byte, 10)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			type result struct {
				err     error
				elapsed time.Duration
			}
			res := make(chan result, 1)
			s := startServer(t, &Upgrader{}, func(c *Conn) {
				start := time.Now()
				c.SetReadDeadline(start.Add(500 * time.Millisecond))
				_, _, err := c.ReadMessage()
				res <- result{err, time.Since(start)}
			})
			nc, br := rawDial(t, s)
			if _, err := nc.Write(tc.data); err != nil {
				t.Fatal(err)
			}
			var r result
			select {
			case r = <-res:
			case <-time.After(5 * time.Second):
				t.Fatal("handler's read did not return within 5s")
			}
			var ne net.Error
			if !errors.As(r.err, &ne) || !ne.Timeout() {
				t.Fatalf("read returned %v, want a timeout", r.err)
			}
			if r.elapsed < 450*time.Millisecond || r.elapsed > 2*time.Second {
				t.Errorf("read timed out after %v, want about 500ms", r.elapsed)
			}
			expectTCPClosed(t, nc, br, 2*time.Second)
		})
	}
}

func TestZeroAllocRead(t *testing.T) {
	if raceEnabled() {
		t.Skip("allocation counts need a build without -race (sync.Pool drops items at random under it); .ci/run runs this test without -race")
	}
	for _, server := range []bool{true, false} {
		for _, n := range []int{16, 1024, 16 << 10} {
			a, b := loopbackPair(t)
			c := newConn(a, nil, connConfig{isServer: server})
			frame := rawFrame(true, 0, opBinary, server, make([]byte, n))
			stream := bytes.Repeat(frame, 64)
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := b.Write(stream); err != nil {
						return
					}
				}
			}()
			buf := make([]byte, 32<<10)
			read := func() {
				_, r, err := c.NextReader()
				if err != nil {
					t.Fatal(err)
				}
				for {
					_, err := r.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			read()
			if allocs := testing.AllocsPerRun(500, read); allocs != 0 {
				t.Errorf("server=%v: reading a %d-byte message: %v allocs", server, n, allocs)
			}
			close(stop)
			c.CloseNow()
			b.Close()
			<-done
		}
	}
}

func BenchmarkReadMessage(b *testing.B) {
	for _, n := range []int{16, 1024, 16 << 10} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			x, y := loopbackPair(b)
			c := newConn(x, nil, connConfig{isServer: true})
			stream := bytes.Repeat(rawFrame(true, 0, opBinary, true, make([]byte, n)), 32)
			go func() {
				for {
					if _, err := y.Write(stream); err != nil {
						return
					}
				}
			}()
			buf := make([]byte, 32<<10)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, r, err := c.NextReader()
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := r.Read(buf); err != nil {
						break
					}
				}
			}
			b.StopTimer()
			c.CloseNow()
			y.Close()
		})
	}
}
