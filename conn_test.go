//go:build !js

package websocket

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// ---- test peers that speak raw bytes ----

// checkGoroutines fails the test if, after it, more goroutines run than
// before it (allowing a bounded time for them to end).
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, n, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// rawFrame encodes one frame; mask selects a random key.
func rawFrame(fin bool, rsv, op byte, mask bool, payload []byte) []byte {
	h := frameHeader{fin: fin, rsv: rsv, opcode: op, masked: mask, length: int64(len(payload))}
	if mask {
		h.key = newMaskKey()
	}
	var hdr [maxHeaderLen]byte
	n := putHeader(hdr[:], h)
	out := append(hdr[:n:n], payload...)
	if mask {
		maskBytes(h.key, 0, out[n:])
	}
	return out
}

func closePayload(code StatusCode, reason string) []byte {
	p := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	return append(p, reason...)
}

// readRawFrame reads one frame and returns its header and unmasked payload.
func readRawFrame(r *bufio.Reader) (frameHeader, []byte, error) {
	var b [maxHeaderLen]byte
	if _, err := io.ReadFull(r, b[:2]); err != nil {
		return frameHeader{}, nil, err
	}
	n := headerLen(b[1])
	if _, err := io.ReadFull(r, b[2:n]); err != nil {
		return frameHeader{}, nil, err
	}
	h, _, err := parseHeader(b[:n])
	if err != nil {
		return h, nil, err
	}
	p := make([]byte, h.length)
	if _, err := io.ReadFull(r, p); err != nil {
		return h, nil, err
	}
	if h.masked {
		maskBytes(h.key, 0, p)
	}
	return h, p, nil
}

// startServer runs an httptest server whose handler runs fn with each Conn.
func startServer(t *testing.T, u *Upgrader, fn func(*Conn)) *httptest.Server {
	t.Helper()
	u.Handler = fn
	s := httptest.NewServer(u)
	t.Cleanup(s.Close)
	return s
}

func wsURL(s *httptest.Server) string { return "ws" + strings.TrimPrefix(s.URL, "http") }

// rawDial performs the opening handshake by hand and returns the raw
// connection, positioned after the 101 response.
func rawDial(t *testing.T, s *httptest.Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	return rawDialHeaders(t, s, "")
}

// rawDialHeaders is rawDial with extra request header lines.
func rawDialHeaders(t *testing.T, s *httptest.Server, extra string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	key := newKey()
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n", s.Listener.Addr(), key, extra)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != computeAccept(key) {
		t.Fatalf("handshake: %s %v", resp.Status, resp.Header)
	}
	return nc, br
}

// rawServer accepts one connection on a loopback listener, answers the
// handshake by hand and hands the raw connection to the test, while our
// Dialer is the client.
func rawServer(t *testing.T) (*Conn, net.Conn, *bufio.Reader) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type accepted struct {
		nc  net.Conn
		br  *bufio.Reader
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			ch <- accepted{err: err}
			return
		}
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil {
			nc.Close()
			ch <- accepted{err: err}
			return
		}
		fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", computeAccept(req.Header.Get("Sec-WebSocket-Key")))
		ch <- accepted{nc: nc, br: br}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := <-ch
	if a.err != nil {
		t.Fatal(a.err)
	}
	t.Cleanup(func() { c.CloseNow(); a.nc.Close() })
	return c, a.nc, a.br
}

// expectClose reads frames until a close frame and checks its code.
func expectClose(t *testing.T, br *bufio.Reader, want StatusCode) []byte {
	t.Helper()
	for {
		h, p, err := readRawFrame(br)
		if err != nil {
			t.Fatalf("want close frame %d, got read error %v", want, err)
		}
		if h.opcode != opClose {
			continue
		}
		if len(p) < 2 {
			if want == StatusNoStatusReceived {
				return p
			}
			t.Fatalf("close frame without a code, want %d", want)
		}
		if got := StatusCode(binary.BigEndian.Uint16(p)); got != want {
			t.Fatalf("close code %d (%q), want %d", got, p[2:], want)
		}
		return p
	}
}

// expectEOF checks that the peer closed the TCP connection.
func expectEOF(t *testing.T, br *bufio.Reader) {
	t.Helper()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("want TCP close (EOF), got %v", err)
	}
}

// ---- protocol errors: exact close code sent and error returned ----

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

// ---- messages, fragmentation, control frames ----

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

func TestMessageSizesRoundTrip(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, &Upgrader{}, echoHandler)
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []MessageType{TextMessage, BinaryMessage} {
		for _, n := range []int{0, 1, 125, 126, 127, 4095, 4096, 4097, 65535, 65536, 65537, 1 << 20} {
			p := make([]byte, n)
			for i := range p {
				p[i] = 'a' + byte(i%26)
			}
			if err := c.WriteMessage(typ, p); err != nil {
				t.Fatal(err)
			}
			gt, got, err := c.ReadMessage()
			if err != nil || gt != typ || !bytes.Equal(got, p) {
				t.Fatalf("%v %d: got %v len %d err %v", typ, n, gt, len(got), err)
			}
		}
	}
	// Streaming writer: a message written in odd-sized pieces.
	w, err := c.NextWriter(BinaryMessage)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for i := 0; i < 300; i++ {
		piece := bytes.Repeat([]byte{byte(i)}, i*7)
		want.Write(piece)
		w.Write(piece)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("write after Close succeeded")
	}
	if _, got, err := c.ReadMessage(); err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("streamed message: len %d err %v", len(got), err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func echoHandler(c *Conn) {
	for {
		typ, r, err := c.NextReader()
		if err != nil {
			return
		}
		w, err := c.NextWriter(typ)
		if err != nil {
			return
		}
		io.Copy(w, r)
		if w.Close() != nil {
			return
		}
	}
}

// NextWriter splits a long message into frames; a pong and a ping from
// other goroutines go out between them, never inside one.
func TestControlFramesBetweenFragments(t *testing.T) {
	checkGoroutines(t)
	c, nc, br := rawServer(t)
	w, err := c.NextWriter(BinaryMessage)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		w.Write(make([]byte, 100)) // fills the 4 KiB buffer: two frames go out
	}
	pingDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pingDone <- c.Ping(ctx, []byte("rtt"))
	}()
	// The server pings mid-message; the reader answers at once.
	readDone := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		readDone <- err
	}()
	nc.Write(rawFrame(true, 0, opPing, false, []byte("srv")))
	var seen []string
	deadline := time.After(5 * time.Second)
	for len(seen) < 4 {
		select {
		case <-deadline:
			t.Fatalf("frames seen: %v", seen)
		default:
		}
		h, p, err := readRawFrame(br)
		if err != nil {
			t.Fatal(err)
		}
		switch h.opcode {
		case opPing:
			seen = append(seen, "ping:"+string(p))
			nc.Write(rawFrame(true, 0, opPong, false, p))
		case opPong:
			seen = append(seen, "pong:"+string(p))
		default:
			seen = append(seen, fmt.Sprintf("data:%d:%v", h.opcode, h.fin))
		}
	}
	if err := <-pingDone; err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	h, p, err := readRawFrame(br)
	if err != nil || h.opcode != opContinuation || !h.fin {
		t.Fatalf("final frame %+v %v", h, err)
	}
	_ = p
	joined := strings.Join(seen, " ")
	for _, want := range []string{"ping:rtt", "pong:srv", "data:2:false"} {
		if !strings.Contains(joined, want) {
			t.Errorf("frames %q lack %q", joined, want)
		}
	}
	nc.Write(rawFrame(true, 0, opClose, false, closePayload(1000, "")))
	if err := <-readDone; CloseStatus(err) != 1000 {
		t.Fatalf("reader: %v", err)
	}
}

func TestPingHandlersAndRTT(t *testing.T) {
	checkGoroutines(t)
	pinged := make(chan string, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		c.SetPingHandler(func(p []byte) { pinged <- string(p) })
		c.ReadMessage()
	})
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	pongs := make(chan string, 1)
	c.SetPongHandler(func(p []byte) { pongs <- string(p) })
	go c.ReadMessage()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := c.Ping(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	t.Logf("ping round trip %v", time.Since(start))
	if p := <-pinged; p != "hello" {
		t.Fatalf("server saw ping %q", p)
	}
	if p := <-pongs; p != "hello" {
		t.Fatalf("pong handler saw %q", p)
	}
	if err := c.Ping(ctx, make([]byte, 126)); err == nil {
		t.Fatal("126-byte ping accepted")
	}
	c.Close()
}

// A ping whose pong never comes returns when its context ends.
func TestPingContext(t *testing.T) {
	checkGoroutines(t)
	c, _, br := rawServer(t)
	go func() {
		for {
			if _, _, err := readRawFrame(br); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Ping(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	c.CloseNow()
}

// ---- close handshake ----

func TestCloseInitiatedByServer(t *testing.T) {
	checkGoroutines(t)
	closeErr := make(chan error, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		closeErr <- c.CloseWithStatus(4000, "server says bye")
	})
	nc, br := rawDial(t, s)
	p := expectClose(t, br, 4000)
	if string(p[2:]) != "server says bye" {
		t.Fatalf("reason %q", p[2:])
	}
	// Data frames after the server's close are still read and dropped
	// until our close arrives.
	nc.Write(rawFrame(true, 0, opText, true, []byte("late")))
	nc.Write(rawFrame(true, 0, opClose, true, closePayload(4000, "")))
	if err := <-closeErr; err != nil {
		t.Fatalf("CloseWithStatus: %v", err)
	}
	// The server closes TCP first.
	expectEOF(t, br)
}

func TestCloseInitiatedByClient(t *testing.T) {
	checkGoroutines(t)
	readErr := make(chan error, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		_, _, err := c.ReadMessage()
		readErr <- err
		if err := c.WriteMessage(TextMessage, []byte("too late")); !errors.Is(err, ErrClosed) {
			t.Errorf("write after close: %v, want ErrClosed", err)
		}
	})
	nc, br := rawDial(t, s)
	nc.Write(rawFrame(true, 0, opClose, true, closePayload(4001, "client bye")))
	p := expectClose(t, br, 4001) // echoed
	_ = p
	expectEOF(t, br)
	err := <-readErr
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "client bye" {
		t.Fatalf("got %v", err)
	}
	// Later reads return the same error.
}

func TestCloseWithoutStatus(t *testing.T) {
	checkGoroutines(t)
	readErr := make(chan error, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		_, _, err := c.ReadMessage()
		readErr <- err
	})
	nc, br := rawDial(t, s)
	nc.Write(rawFrame(true, 0, opClose, true, nil))
	// An empty close is answered with an empty close.
	h, p, err := readRawFrame(br)
	if err != nil || h.opcode != opClose || len(p) != 0 {
		t.Fatalf("got %+v %q %v", h, p, err)
	}
	if code := CloseStatus(<-readErr); code != StatusNoStatusReceived {
		t.Fatalf("code %d", code)
	}
}

func TestCloseBothSidesOurs(t *testing.T) {
	checkGoroutines(t)
	serverErr := make(chan error, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		_, _, err := c.ReadMessage()
		serverErr <- err
	})
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWithStatus(StatusGoingAway, "tab closed"); err != nil {
		t.Fatal(err)
	}
	var ce *CloseError
	if err := <-serverErr; !errors.As(err, &ce) || ce.Code != 1001 || ce.Reason != "tab closed" {
		t.Fatalf("server saw %v", err)
	}
	if err := c.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
	if err := c.WriteMessage(TextMessage, nil); err == nil {
		t.Fatal("write after close succeeded")
	}
	if _, _, err := c.ReadMessage(); err == nil {
		t.Fatal("read after close succeeded")
	}
}

// A peer that never answers our close frame is dropped after the timeout.
func TestCloseTimeout(t *testing.T) {
	checkGoroutines(t)
	closeErr := make(chan error, 1)
	s := startServer(t, &Upgrader{CloseTimeout: 200 * time.Millisecond}, func(c *Conn) {
		closeErr <- c.Close()
	})
	_, br := rawDial(t, s)
	expectClose(t, br, 1000)
	start := time.Now()
	if err := <-closeErr; err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("close took %v", d)
	}
	expectEOF(t, br)
}

// Close while another goroutine reads: the reader sees the peer's close,
// Close returns when the handshake is done.
func TestCloseWhileReading(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, &Upgrader{}, echoHandler)
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				readErr <- err
				return
			}
		}
	}()
	c.WriteMessage(TextMessage, []byte("x"))
	time.Sleep(20 * time.Millisecond)
	if err := c.CloseWithStatus(4005, "done"); err != nil {
		t.Fatal(err)
	}
	if code := CloseStatus(<-readErr); code != 4005 {
		t.Fatalf("reader saw code %d", code)
	}
}

func TestCloseRejectsCodesNotForTheWire(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, &Upgrader{}, echoHandler)
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []StatusCode{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000} {
		if err := c.CloseWithStatus(code, ""); err == nil {
			t.Errorf("CloseWithStatus(%d) accepted", code)
		}
	}
	if err := c.CloseWithStatus(1000, strings.Repeat("x", 124)); err == nil {
		t.Error("124-byte reason accepted")
	}
	if err := c.CloseWithStatus(1000, "\xff"); err == nil {
		t.Error("invalid UTF-8 reason accepted")
	}
	// The connection still works after the refused calls.
	if err := c.WriteMessage(TextMessage, []byte("alive")); err != nil {
		t.Fatal(err)
	}
	if _, p, err := c.ReadMessage(); err != nil || string(p) != "alive" {
		t.Fatal(p, err)
	}
	c.Close()
}

// An abrupt disconnect gives a read error, not a hang or a CloseError.
func TestAbruptDisconnect(t *testing.T) {
	checkGoroutines(t)
	readErr := make(chan error, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		_, _, err := c.ReadMessage()
		readErr <- err
	})
	nc, _ := rawDial(t, s)
	nc.Write(rawFrame(false, 0, opText, true, []byte("half")))
	nc.Close()
	err := <-readErr
	if err == nil || CloseStatus(err) != -1 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v", err)
	}
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

// A peer that stops reading: the write deadline fires and the writer gets
// an error instead of blocking forever.
func TestWriteDeadlineWithStalledPeer(t *testing.T) {
	checkGoroutines(t)
	c, _, _ := rawServer(t) // the raw side never reads
	c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	big := make([]byte, 1<<20)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = c.WriteMessage(BinaryMessage, big)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a timeout", err)
	}
	if err := c.WriteMessage(TextMessage, []byte("x")); err == nil {
		t.Fatal("write after a failed write succeeded")
	}
}

// ---- concurrency ----

func TestConcurrentWriters(t *testing.T) {
	checkGoroutines(t)
	const writers, perWriter = 8, 50
	received := make(chan map[string]int, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		seen := map[string]int{}
		for {
			_, p, err := c.ReadMessage()
			if err != nil {
				received <- seen
				return
			}
			// Each message is one byte repeated: any interleaving shows.
			for _, b := range p {
				if b != p[0] {
					t.Errorf("message of %d bytes is mixed", len(p))
					break
				}
			}
			seen[fmt.Sprintf("%c", p[0])]++
		}
	})
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b := byte('a' + i)
			for j := 0; j < perWriter; j++ {
				p := bytes.Repeat([]byte{b}, 1+j*397)
				if i%2 == 0 {
					if err := c.WriteMessage(BinaryMessage, p); err != nil {
						t.Error(err)
						return
					}
					continue
				}
				w, err := c.NextWriter(BinaryMessage)
				if err != nil {
					t.Error(err)
					return
				}
				w.Write(p[:len(p)/2])
				w.Write(p[len(p)/2:])
				if err := w.Close(); err != nil {
					t.Error(err)
					return
				}
			}
		}(i)
	}
	// Pings from yet another goroutine while the writers run.
	go c.ReadMessage()
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := c.Ping(ctx, []byte{byte(i)}); err != nil {
			t.Error(err)
		}
		cancel()
	}
	wg.Wait()
	c.Close()
	seen := <-received
	for i := 0; i < writers; i++ {
		if n := seen[string(rune('a'+i))]; n != perWriter {
			t.Errorf("writer %d: %d messages arrived, want %d", i, n, perWriter)
		}
	}
}

// A flood of pings while a writer is blocked costs no memory: answers
// coalesce into the latest pong.
func TestPingFloodCoalesces(t *testing.T) {
	checkGoroutines(t)
	c, nc, br := rawServer(t)
	go c.ReadMessage()
	// Hold the frame lock as a blocked writer would.
	c.wlock <- struct{}{}
	for i := 0; i < 1000; i++ {
		nc.Write(rawFrame(true, 0, opPing, false, []byte(fmt.Sprint(i))))
	}
	time.Sleep(100 * time.Millisecond)
	c.unlockFrame()
	h, p, err := readRawFrame(br)
	if err != nil || h.opcode != opPong {
		t.Fatalf("got %+v %v", h, err)
	}
	// Every pong written after the unlock answers a recent ping; far fewer
	// than 1000 pongs are sent.
	pongs := 1
	nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	for {
		if _, _, err := readRawFrame(br); err != nil {
			break
		}
		pongs++
	}
	if string(p) != "999" && pongs == 1 {
		t.Errorf("only pong answers %q, not the latest ping", p)
	}
	if pongs > 100 {
		t.Errorf("%d pongs for a flood held behind a writer", pongs)
	}
	c.CloseNow()
}

// ---- allocations ----

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// loopbackPair returns two ends of a real TCP connection.
func loopbackPair(t testing.TB) (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-ch
	return a, b
}

func TestZeroAllocWriteMessage(t *testing.T) {
	if raceEnabled() {
		t.Skip("allocation counts need a build without -race (sync.Pool drops items at random under it); .ci/run runs this test without -race")
	}
	for _, server := range []bool{true, false} {
		a, b := loopbackPair(t)
		c := newConn(a, nil, connConfig{isServer: server})
		done := make(chan struct{})
		go func() { // drain without allocating
			defer close(done)
			buf := make([]byte, 64<<10)
			for {
				if _, err := b.Read(buf); err != nil {
					return
				}
			}
		}()
		for _, n := range []int{16, 1024, 16 << 10, 1 << 20} {
			p := make([]byte, n)
			c.WriteMessage(BinaryMessage, p)
			allocs := testing.AllocsPerRun(200, func() {
				if err := c.WriteMessage(BinaryMessage, p); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("server=%v: WriteMessage of %d bytes: %v allocs", server, n, allocs)
			}
			allocs = testing.AllocsPerRun(200, func() {
				w, _ := c.NextWriter(TextMessage)
				w.Write(p)
				w.Close()
			})
			if allocs != 0 {
				t.Errorf("server=%v: NextWriter of %d bytes: %v allocs", server, n, allocs)
			}
		}
		c.CloseNow()
		b.Close()
		<-done
	}
}

// recordingConn keeps every slice passed to Write, and a copy of it.
type recordingConn struct {
	net.Conn
	alias, copies [][]byte
}

func (r *recordingConn) Write(p []byte) (int, error) {
	r.alias = append(r.alias, p)
	r.copies = append(r.copies, bytes.Clone(p))
	return len(p), nil
}

// A large server frame goes to the socket from the caller's memory: the
// payload is never copied into a buffer first, whether it goes out with
// the header in one writev or, from splitFrameMin bytes on, in two calls.
func TestServerLargeWriteDoesNotCopyPayload(t *testing.T) {
	for _, n := range []int{8 << 10, splitFrameMin - 1, splitFrameMin, 1 << 20} {
		rc := &recordingConn{Conn: &loopConn{frame: []byte{0}}}
		c := newConn(rc, nil, connConfig{isServer: true})
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		if err := c.WriteMessage(BinaryMessage, p); err != nil {
			t.Fatal(err)
		}
		want := rawFrame(true, 0, opBinary, false, p)
		if got := bytes.Join(rc.copies, nil); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: the writes do not make the frame (%d bytes written, want %d)", n, len(got), len(want))
		}
		calls := 2 // header, payload (net.Buffers writes each buffer in turn off TCP)
		if n >= splitFrameMin {
			calls = 3 // header, first splitFrameHead bytes, the rest
		}
		if len(rc.alias) != calls {
			t.Fatalf("%d bytes: %d writes, want %d", n, len(rc.alias), calls)
		}
		// Every payload write must alias p: change p and look again.
		for i := range p {
			p[i] ^= 0xff
		}
		if got := bytes.Join(rc.alias[1:], nil); !bytes.Equal(got, p) {
			t.Fatalf("%d bytes: the payload was written from a copy, not from the caller's slice", n)
		}
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

// ---- net.Conn adapter ----

func TestNetConn(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		nc := NetConn(c, BinaryMessage)
		io.Copy(nc, nc) // echo the byte stream until the peer closes
		nc.Close()
	})
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	nc := NetConn(c, BinaryMessage)
	var _ net.Conn = nc
	msg := bytes.Repeat([]byte("stream "), 10000)
	go func() {
		nc.Write(msg[:1000])
		nc.Write(msg[1000:])
	}()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(nc, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("err %v", err)
	}
	if err := nc.Close(); err != nil {
		t.Fatal(err)
	}
}

// ---- benchmarks ----

func BenchmarkWriteMessage(b *testing.B) {
	for _, server := range []bool{true, false} {
		for _, n := range []int{16, 1024, 16 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("server=%v/%d", server, n), func(b *testing.B) {
				x, y := loopbackPair(b)
				c := newConn(x, nil, connConfig{isServer: server})
				go io.Copy(io.Discard, y)
				p := make([]byte, n)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					c.WriteMessage(BinaryMessage, p)
				}
				b.StopTimer()
				c.CloseNow()
				y.Close()
			})
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

// BenchmarkEchoServer is one request/response round trip through a server
// Conn echoing over loopback TCP: the raw client writes a masked frame and
// reads the reply. Most of the time is the kernel's; the profile of this
// benchmark shows the library's own share of an echo.
func BenchmarkEchoServer(b *testing.B) {
	for _, batching := range []bool{false, true} {
		for _, n := range []int{16, 1024} {
			b.Run(fmt.Sprintf("batching=%v/%d", batching, n), func(b *testing.B) {
				x, y := loopbackPair(b)
				c := newConn(x, nil, connConfig{isServer: true})
				c.SetWriteBatching(batching)
				done := make(chan struct{})
				go func() {
					defer close(done)
					buf := make([]byte, n)
					for {
						typ, r, err := c.NextReader()
						if err != nil {
							return
						}
						m, err := io.ReadFull(r, buf)
						if err != nil {
							return
						}
						if err := c.WriteMessage(typ, buf[:m]); err != nil {
							return
						}
					}
				}()
				req := rawFrame(true, 0, opBinary, true, make([]byte, n))
				reply := make([]byte, len(rawFrame(true, 0, opBinary, false, make([]byte, n))))
				b.SetBytes(int64(n))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := y.Write(req); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(y, reply); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				c.CloseNow()
				y.Close()
				<-done
			})
		}
	}
}

// loopConn is a net.Conn whose reads return frame over and over and whose
// writes vanish: a Conn over it runs its message path with no system call.
type loopConn struct {
	net.Conn
	frame []byte
	off   int
}

func (l *loopConn) Read(p []byte) (int, error) {
	n := copy(p, l.frame[l.off:])
	l.off = (l.off + n) % len(l.frame)
	return n, nil
}

func (l *loopConn) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkEchoInMemory is the library's own work in an echo, without the
// kernel: read one message into a reused buffer, write it back.
func BenchmarkEchoInMemory(b *testing.B) {
	for _, batching := range []bool{false, true} {
		for _, n := range []int{16, 1024} {
			b.Run(fmt.Sprintf("batching=%v/%d", batching, n), func(b *testing.B) {
				nc := &loopConn{frame: rawFrame(true, 0, opBinary, true, make([]byte, n))}
				c := newConn(nc, nil, connConfig{isServer: true})
				c.SetWriteBatching(batching)
				buf := make([]byte, n)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					typ, r, err := c.NextReader()
					if err != nil {
						b.Fatal(err)
					}
					m, err := io.ReadFull(r, buf)
					if err != nil {
						b.Fatal(err)
					}
					if err := c.WriteMessage(typ, buf[:m]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkClientRoundTripInMemory is the library's own work in a client
// round trip, without the kernel: write a masked message, read the
// (unmasked) reply into a reused buffer.
func BenchmarkClientRoundTripInMemory(b *testing.B) {
	for _, n := range []int{16, 1024, 16 << 10} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			nc := &loopConn{frame: rawFrame(true, 0, opBinary, false, make([]byte, n))}
			c := newConn(nc, nil, connConfig{isServer: false})
			msg := make([]byte, n)
			buf := make([]byte, n)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.WriteMessage(BinaryMessage, msg); err != nil {
					b.Fatal(err)
				}
				_, r, err := c.NextReader()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(r, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A Conn whose reading has ended gives its pooled read buffer back, so
// connections that end (closed, reset, failed) do not leave 64 KiB each to
// the garbage collector.
func TestReadBufferReturnedWhenReadingEnds(t *testing.T) {
	cases := []struct {
		name string
		peer func(y net.Conn)
	}{
		{"peer close frame", func(y net.Conn) {
			y.Write(rawFrame(true, 0, opClose, true, closePayload(StatusNormalClosure, "bye")))
		}},
		{"protocol error", func(y net.Conn) {
			y.Write(rawFrame(true, 0, opBinary, false, []byte("unmasked"))) // client frames must be masked
		}},
		{"reset", func(y net.Conn) {
			y.Write(rawFrame(false, 0, opBinary, true, []byte("half a message")))
			time.Sleep(20 * time.Millisecond)
			y.(*net.TCPConn).SetLinger(0)
			y.Close()
		}},
		{"EOF mid-message", func(y net.Conn) {
			y.Write(rawFrame(true, 0, opBinary, true, make([]byte, 100))[:50])
			time.Sleep(20 * time.Millisecond)
			y.Close()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, y := loopbackPair(t)
			defer y.Close()
			c := newConn(x, nil, connConfig{isServer: true})
			defer c.CloseNow()
			go tc.peer(y)
			go io.Copy(io.Discard, y) // take the close frame, if any
			var err error
			for err == nil {
				var r io.Reader
				if _, r, err = c.NextReader(); err == nil {
					_, err = io.Copy(io.Discard, r)
				}
			}
			c.rlock.Lock()
			buf, pooled := c.br.buf, c.br.pool
			c.rlock.Unlock()
			if buf != nil || pooled != nil {
				t.Errorf("after %v: the Conn still holds a %d-byte read buffer", err, len(buf))
			}
		})
	}
}
