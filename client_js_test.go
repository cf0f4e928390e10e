//go:build js && wasm

package websocket

// Tests of the js/wasm client, run in Node and in headless Chromium by
// TestWasm (wasm_test.go), which builds this test binary and serves the
// endpoints below. To run them by hand against that server:
//
//	GOOS=js GOARCH=wasm go test -exec="$PWD/testdata/wasm/go_js_wasm_exec" .
//
// with WSSTD_WASM_SERVER=http://host:port naming a running test server;
// without it, the tests that need a server are skipped.
//
// The server's endpoints (see wasmServer in wasm_test.go):
//
//	/ws/echo?id=X    echoes every message; subprotocol "chat"
//	/ws/deflate?id=X echoes, with permessage-deflate
//	/ws/sink?id=X    reads and counts: reports "CODE REASON after N bytes"
//	/ws/ctl?id=X     text commands: "send N" (a binary message of N bytes),
//	                 "flood COUNT SIZE", "close CODE REASON", "drop"
//	/ws/report?id=X  sends "CODE REASON" of how connection X ended (the
//	                 peer's close frame), or "error: ...", then closes
//	/ws/refuse       answers 403
//	/ws/hang         never answers the handshake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// wasmServerEnv names the environment variable with the test server's URL.
const wasmServerEnv = "WSSTD_WASM_SERVER"

func wasmServer(t *testing.T) string {
	t.Helper()
	s := os.Getenv(wasmServerEnv)
	if s == "" {
		t.Skipf("$%s is not set: run through TestWasm (wasm_test.go), which starts the test server", wasmServerEnv)
	}
	return "ws" + strings.TrimPrefix(strings.TrimSuffix(s, "/"), "http")
}

var wasmIDs atomic.Int64

// wasmID returns an id for the report endpoint, unique across engines.
func wasmID(t *testing.T) string {
	return fmt.Sprintf("%s-%s-%d-%d", os.Getenv("WSSTD_WASM_ENGINE"), strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano(), wasmIDs.Add(1))
}

func wasmDial(t *testing.T, d *Dialer, path string) *Conn {
	t.Helper()
	if d == nil {
		d = &Dialer{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := d.Dial(ctx, wasmServer(t)+path, nil)
	if err != nil {
		t.Fatalf("Dial %s: %v", path, err)
	}
	if resp != nil {
		t.Errorf("Dial returned a response on js: %v", resp)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// wasmReport returns how the server saw connection id end.
func wasmReport(t *testing.T, id string) string {
	t.Helper()
	c := wasmDial(t, nil, "/ws/report?id="+id)
	typ, p, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("report %s: %v", id, err)
	}
	if typ != TextMessage {
		t.Fatalf("report %s: %v message", id, typ)
	}
	c.Close()
	return string(p)
}

func wasmPattern(n int, text bool) []byte {
	b := make([]byte, n)
	for i := range b {
		if text {
			b[i] = byte(32 + i%95)
		} else {
			b[i] = byte(i % 251)
		}
	}
	return b
}

func TestWasmDialRejectsHeaders(t *testing.T) {
	_, _, err := Dial(context.Background(), "ws://127.0.0.1:1/", http.Header{"Authorization": {"x"}})
	if err == nil || !strings.Contains(err.Error(), "browsers do not let pages set them") {
		t.Fatalf("Dial with a header: %v, want the headers error", err)
	}
	// An empty header is fine (and fails later, at the unreachable port).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err = Dial(ctx, "ws://127.0.0.1:1/", http.Header{})
	if err == nil || strings.Contains(err.Error(), "headers") {
		t.Fatalf("Dial with an empty header to a closed port: %v", err)
	}
}

func TestWasmDialBadURL(t *testing.T) {
	for _, u := range []string{"ftp://example.com/", "ws://", "ws://user:pw@example.com/", "://x"} {
		if _, _, err := Dial(context.Background(), u, nil); err == nil {
			t.Errorf("Dial(%q) succeeded", u)
		}
	}
	for _, p := range [][]string{{"a b"}, {"chat", "chat"}, {""}} {
		d := Dialer{Subprotocols: p}
		if _, _, err := d.Dial(context.Background(), "ws://127.0.0.1:1/", nil); err == nil || !strings.Contains(err.Error(), "subprotocol") {
			t.Errorf("Dial with subprotocols %q: %v, want a subprotocol error", p, err)
		}
	}
}

func TestWasmEcho(t *testing.T) {
	c := wasmDial(t, nil, "/ws/echo?id="+wasmID(t))
	utf8Text := []byte(strings.Repeat("héllo wörld — 日本語 — 🎉 ", 2000))
	for _, n := range []int{0, 125, 126, 65535, 65536, 1 << 20} {
		for _, typ := range []MessageType{TextMessage, BinaryMessage} {
			want := wasmPattern(n, typ == TextMessage)
			if err := c.WriteMessage(typ, want); err != nil {
				t.Fatalf("WriteMessage %v %d: %v", typ, n, err)
			}
			gotTyp, got, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("ReadMessage %v %d: %v", typ, n, err)
			}
			if gotTyp != typ || !bytes.Equal(got, want) {
				t.Fatalf("echo of %v %d bytes: got %v %d bytes", typ, n, gotTyp, len(got))
			}
		}
	}
	// Multi-byte text, through NextWriter and NextReader.
	w, err := c.NextWriter(TextMessage)
	if err != nil {
		t.Fatal(err)
	}
	for p := utf8Text; len(p) > 0; {
		k := min(1000, len(p)) // cuts characters: fine, the message is sent whole
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("NextWriter Close: %v", err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Errorf("Write after Close succeeded")
	}
	typ, r, err := c.NextReader()
	if err != nil || typ != TextMessage {
		t.Fatalf("NextReader: %v %v", typ, err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, utf8Text) {
		t.Fatalf("NextReader: %d bytes, %v; want %d bytes", len(got), err, len(utf8Text))
	}
	// Binary through NextWriter, 1 MiB in 10,000-byte writes.
	want := wasmPattern(1<<20, false)
	w, err = c.NextWriter(BinaryMessage)
	if err != nil {
		t.Fatal(err)
	}
	for p := want; len(p) > 0; {
		k := min(10000, len(p))
		w.Write(p[:k])
		p = p[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	typ, r, err = c.NextReader()
	if err != nil || typ != BinaryMessage {
		t.Fatalf("NextReader: %v %v", typ, err)
	}
	got, _ = io.ReadAll(r)
	if !bytes.Equal(got, want) {
		t.Fatalf("binary NextWriter echo: %d bytes, want %d", len(got), len(want))
	}
	// JSON helpers work on js too.
	type doc struct {
		ID   int      `json:"id"`
		Tags []string `json:"tags"`
	}
	if err := c.WriteJSON(doc{7, []string{"a", "ü"}}); err != nil {
		t.Fatal(err)
	}
	var d doc
	if err := c.ReadJSON(&d); err != nil || d.ID != 7 || len(d.Tags) != 2 || d.Tags[1] != "ü" {
		t.Fatalf("ReadJSON: %+v %v", d, err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestWasmWriteErrors(t *testing.T) {
	c := wasmDial(t, nil, "/ws/echo?id="+wasmID(t))
	if err := c.WriteMessage(TextMessage, []byte{0xff, 'a'}); err == nil {
		t.Errorf("WriteMessage of invalid UTF-8 text succeeded")
	}
	if err := c.WriteMessage(MessageType(9), []byte("x")); err == nil {
		t.Errorf("WriteMessage of type 9 succeeded")
	}
	if _, err := c.NextWriter(MessageType(0)); err == nil {
		t.Errorf("NextWriter of type 0 succeeded")
	}
	// The Conn still works.
	if err := c.WriteMessage(TextMessage, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if _, p, err := c.ReadMessage(); err != nil || string(p) != "still here" {
		t.Fatalf("ReadMessage: %q %v", p, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(TextMessage, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteMessage after Close: %v, want ErrClosed", err)
	}
	if _, err := c.NextWriter(TextMessage); !errors.Is(err, ErrClosed) {
		t.Errorf("NextWriter after Close: %v, want ErrClosed", err)
	}
	if err := c.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
	if _, _, err := c.ReadMessage(); CloseStatus(err) != StatusNormalClosure {
		t.Errorf("ReadMessage after Close: %v, want the echoed close 1000", err)
	}
}

func TestWasmClientCloseStatus(t *testing.T) {
	id := wasmID(t)
	c := wasmDial(t, nil, "/ws/echo?id="+id)
	for _, code := range []StatusCode{999, 1001, 1002, 1005, 1006, 1008, 1011, 2999, 5000} {
		if err := c.CloseWithStatus(code, ""); err == nil {
			t.Fatalf("CloseWithStatus(%d) succeeded; browsers may not send it", code)
		}
	}
	if err := c.CloseWithStatus(4000, strings.Repeat("x", 124)); err == nil {
		t.Fatalf("CloseWithStatus with a 124-byte reason succeeded")
	}
	if err := c.CloseWithStatus(4000, "\xff"); err == nil {
		t.Fatalf("CloseWithStatus with an invalid UTF-8 reason succeeded")
	}
	// Nothing was sent: the Conn still works.
	if err := c.WriteMessage(BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if _, p, err := c.ReadMessage(); err != nil || !bytes.Equal(p, []byte{1, 2, 3}) {
		t.Fatalf("ReadMessage: %v %v", p, err)
	}
	if err := c.CloseWithStatus(4001, "bye"); err != nil {
		t.Fatalf("CloseWithStatus(4001, bye): %v", err)
	}
	_, _, err := c.ReadMessage()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "bye" {
		t.Errorf("ReadMessage after CloseWithStatus: %v, want the echo 4001 bye", err)
	}
	if got := wasmReport(t, id); got != "4001 bye" {
		t.Errorf("server saw %q, want \"4001 bye\"", got)
	}
}

func TestWasmServerClose(t *testing.T) {
	c := wasmDial(t, nil, "/ws/ctl?id="+wasmID(t))
	if err := c.WriteMessage(TextMessage, []byte("close 4002 see you later")); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.ReadMessage()
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 4002 || ce.Reason != "see you later" {
		t.Fatalf("ReadMessage: %v, want *CloseError 4002 \"see you later\"", err)
	}
	if CloseStatus(err) != 4002 {
		t.Errorf("CloseStatus: %v", CloseStatus(err))
	}
	if _, _, err2 := c.ReadMessage(); err2 != err {
		t.Errorf("second ReadMessage: %v, want the same error", err2)
	}
	if err := c.WriteMessage(TextMessage, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteMessage after the server's close: %v, want ErrClosed", err)
	}
	if err := c.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("Close after the server's close: %v, want ErrClosed", err)
	}
}

func TestWasmServerCloseAfterMessages(t *testing.T) {
	c := wasmDial(t, nil, "/ws/ctl?id="+wasmID(t))
	c.WriteMessage(TextMessage, []byte("flood 3 10"))
	c.WriteMessage(TextMessage, []byte("close 1000 done"))
	// Read once the close has arrived, after the messages.
	wasmWaitState(t, c, func() bool { return c.closed })
	for i := 0; i < 3; i++ {
		typ, p, err := c.ReadMessage()
		if err != nil || typ != BinaryMessage || len(p) != 10 {
			t.Fatalf("message %d: %v %d bytes %v", i, typ, len(p), err)
		}
	}
	if _, _, err := c.ReadMessage(); CloseStatus(err) != StatusNormalClosure {
		t.Fatalf("ReadMessage: %v, want close 1000", err)
	}
}

func TestWasmAbnormalClosure(t *testing.T) {
	c := wasmDial(t, nil, "/ws/ctl?id="+wasmID(t))
	if err := c.WriteMessage(TextMessage, []byte("drop")); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.ReadMessage()
	var ce *CloseError
	if err == nil || errors.As(err, &ce) {
		t.Fatalf("ReadMessage after the server dropped the connection: %v, want an error that is not a *CloseError", err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error %v does not wrap io.ErrUnexpectedEOF", err)
	}
	t.Logf("abnormal closure: %v", err)
}

func TestWasmRefusedHandshake(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := Dial(ctx, wasmServer(t)+"/ws/refuse", nil)
	if err == nil {
		c.CloseNow()
		t.Fatal("Dial to an endpoint answering 403 succeeded")
	}
	if c != nil || resp != nil {
		t.Errorf("Dial returned %v, %v with its error", c, resp)
	}
	if CloseStatus(err) != -1 || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("refused handshake: %v", err)
	}
	t.Logf("refused handshake: %v", err)
}

func TestWasmDialContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := Dial(ctx, wasmServer(t)+"/ws/hang", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial to a server that never answers: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Dial returned after %v", d)
	}
	d := Dialer{HandshakeTimeout: 200 * time.Millisecond}
	if _, _, err := d.Dial(context.Background(), wasmServer(t)+"/ws/hang", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial with HandshakeTimeout: %v, want context.DeadlineExceeded", err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if _, _, err := Dial(cctx, wasmServer(t)+"/ws/echo", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial with a cancelled context: %v", err)
	}
}

func TestWasmSubprotocol(t *testing.T) {
	c := wasmDial(t, &Dialer{Subprotocols: []string{"nope", "chat"}}, "/ws/echo?id="+wasmID(t))
	if got := c.Subprotocol(); got != "chat" {
		t.Errorf("Subprotocol() = %q, want chat", got)
	}
	t.Logf("permessage-deflate negotiated by the engine: %v", c.PerMessageDeflate())
	c.Close()
	c = wasmDial(t, nil, "/ws/echo?id="+wasmID(t))
	if got := c.Subprotocol(); got != "" {
		t.Errorf("Subprotocol() without an offer = %q, want \"\"", got)
	}
	c.Close()
	// Chromium and Node fail the handshake when the server picks none of
	// the offered subprotocols; Firefox and WebKit accept it, with no
	// subprotocol, as the native client does.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := Dialer{Subprotocols: []string{"other"}}
	c, _, err := d.Dial(ctx, wasmServer(t)+"/ws/echo?id="+wasmID(t), nil)
	switch engine := os.Getenv("WSSTD_WASM_ENGINE"); {
	case engine == "firefox" || engine == "webkit":
		if err != nil {
			t.Errorf("%s: Dial offering only a subprotocol the server does not speak: %v, want a Conn without subprotocol", engine, err)
		} else if got := c.Subprotocol(); got != "" {
			t.Errorf("%s: Subprotocol() = %q after the server chose none", engine, got)
		}
	case err == nil:
		t.Errorf("Dial offering only a subprotocol the server does not speak succeeded (Subprotocol() = %q)", c.Subprotocol())
	}
	if c != nil {
		c.Close()
	}
}

func TestWasmPerMessageDeflate(t *testing.T) {
	c := wasmDial(t, nil, "/ws/deflate?id="+wasmID(t))
	deflate := c.PerMessageDeflate()
	t.Logf("%s negotiated permessage-deflate: %v", os.Getenv("WSSTD_WASM_ENGINE"), deflate)
	if engine := os.Getenv("WSSTD_WASM_ENGINE"); (engine == "chromium" || engine == "firefox" || engine == "webkit") && !deflate {
		t.Errorf("%s did not negotiate permessage-deflate with a server that accepts it", engine)
	}
	want := bytes.Repeat([]byte("compressible "), 10000)
	if err := c.WriteMessage(TextMessage, want); err != nil {
		t.Fatal(err)
	}
	if _, p, err := c.ReadMessage(); err != nil || !bytes.Equal(p, want) {
		t.Fatalf("echo: %d bytes, %v", len(p), err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWasmReadLimit(t *testing.T) {
	id := wasmID(t)
	c := wasmDial(t, &Dialer{ReadLimit: 1000}, "/ws/ctl?id="+id)
	c.WriteMessage(TextMessage, []byte("send 1000"))
	if _, p, err := c.ReadMessage(); err != nil || len(p) != 1000 {
		t.Fatalf("a message at the limit: %d bytes, %v", len(p), err)
	}
	c.WriteMessage(TextMessage, []byte("send 1001"))
	_, _, err := c.ReadMessage()
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Code != StatusMessageTooBig {
		t.Fatalf("a message over the limit: %v, want a *ProtocolError with 1009", err)
	}
	if got := wasmReport(t, id); !strings.HasPrefix(got, "4009 ") {
		t.Errorf("server saw %q, want close code 4009", got)
	}
	// SetReadLimit on an open Conn.
	c = wasmDial(t, nil, "/ws/ctl?id="+wasmID(t))
	c.SetReadLimit(10)
	c.WriteMessage(TextMessage, []byte("send 11"))
	if _, _, err := c.ReadMessage(); !errors.As(err, &pe) || pe.Code != StatusMessageTooBig {
		t.Fatalf("after SetReadLimit(10), 11 bytes: %v", err)
	}
}

func TestWasmReadQueueOverflow(t *testing.T) {
	defer func(old int64) { readQueueLimit = old }(readQueueLimit)
	readQueueLimit = 10 * (1000 + queueOverhead)
	id := wasmID(t)
	// The queue's bound is at least the read limit: lower both.
	c := wasmDial(t, &Dialer{ReadLimit: 1000}, "/ws/ctl?id="+id)
	c.WriteMessage(TextMessage, []byte("flood 30 1000"))
	// Do not read until the queue has overflowed and failed the Conn.
	wasmWaitState(t, c, func() bool { return c.readErr != nil })
	n := 0
	var err error
	for {
		var p []byte
		if _, p, err = c.ReadMessage(); err != nil {
			break
		}
		if len(p) != 1000 {
			t.Fatalf("message of %d bytes", len(p))
		}
		n++
	}
	var pe *ProtocolError
	if n != 10 || !errors.As(err, &pe) || pe.Code != StatusPolicyViolation {
		t.Fatalf("read %d messages then %v; want 10 then a *ProtocolError with 1008", n, err)
	}
	if got := wasmReport(t, id); !strings.HasPrefix(got, "4008 ") {
		t.Errorf("server saw %q, want close code 4008", got)
	}
}

func TestWasmCloseWhileReading(t *testing.T) {
	c := wasmDial(t, nil, "/ws/echo?id="+wasmID(t))
	done := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		done <- err
	}()
	// Close once the reader waits for a message, the case under test.
	wasmWaitBlocked(t, "(*Conn).ReadMessage")
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if CloseStatus(err) != StatusNormalClosure {
			t.Errorf("blocked ReadMessage returned %v, want close 1000", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadMessage still blocked after Close")
	}
}

func TestWasmCloseNow(t *testing.T) {
	id := wasmID(t)
	c := wasmDial(t, nil, "/ws/echo?id="+id)
	c.WriteMessage(TextMessage, []byte("unread"))
	// CloseNow with the echo queued and unread: it must not be read after.
	wasmWaitState(t, c, func() bool { return len(c.queue) > c.qhead })
	if err := c.CloseNow(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadMessage(); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadMessage after CloseNow: %v, want ErrClosed", err)
	}
	if err := c.CloseNow(); !errors.Is(err, ErrClosed) {
		t.Errorf("second CloseNow: %v, want ErrClosed", err)
	}
	if err := c.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("Close after CloseNow: %v, want ErrClosed", err)
	}
	if got := wasmReport(t, id); got != "1005 " {
		t.Errorf("server saw %q, want 1005 (a close frame without a code)", got)
	}
}

// TestWasmWriteFlowControl writes far more than the browser's send buffer
// may hold: each write returns only once no more than writeHighWater bytes
// wait in it, and everything arrives.
func TestWasmWriteFlowControl(t *testing.T) {
	id := wasmID(t)
	c := wasmDial(t, nil, "/ws/sink?id="+id)
	msg := wasmPattern(1<<20, false)
	const n = 24
	maxBuffered := 0
	for i := 0; i < n; i++ {
		if err := c.WriteMessage(BinaryMessage, msg); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		b := c.ws.Get("bufferedAmount").Int()
		maxBuffered = max(maxBuffered, b)
		if b > writeHighWater {
			t.Fatalf("write %d returned with %d bytes buffered", i, b)
		}
	}
	t.Logf("most bytes buffered after a write: %d", maxBuffered)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := wasmReport(t, id), fmt.Sprintf("1000  after %d bytes", n<<20); got != want {
		t.Errorf("server saw %q, want %q", got, want)
	}
}

// TestWasmManyConns opens and closes connections in a loop: every Conn's
// callbacks are released (a leak would show as "call to released function"
// panics or growing memory in the engine).
func TestWasmManyConns(t *testing.T) {
	for i := 0; i < 50; i++ {
		c := wasmDial(t, nil, "/ws/echo?id="+wasmID(t))
		msg := []byte(fmt.Sprint("n", i))
		if err := c.WriteMessage(TextMessage, msg); err != nil {
			t.Fatal(err)
		}
		if _, p, err := c.ReadMessage(); err != nil || !bytes.Equal(p, msg) {
			t.Fatalf("conn %d: %q %v", i, p, err)
		}
		if i%2 == 0 {
			if err := c.Close(); err != nil {
				t.Fatalf("conn %d: Close: %v", i, err)
			}
		} else {
			c.CloseNow()
		}
		for _, h := range []string{"onopen", "onmessage", "onerror", "onclose"} {
			if v := c.ws.Get(h); !v.IsNull() {
				t.Fatalf("conn %d: %s still set after closing: %v", i, h, v)
			}
		}
	}
}

// wasmWaitState waits until cond, checked with c.mu held, is true: the Conn
// wakes c.wake whenever its queue, read error or state changes. After 10 s
// it fails the test.
func wasmWaitState(t *testing.T, c *Conn, cond func() bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		ok := cond()
		wake := c.wake
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-wake:
		case <-timeout:
			t.Fatal("the Conn did not reach the state waited for in 10 s")
		}
	}
}

// wasmWaitBlocked waits until a goroutine is blocked (waiting on a channel)
// inside the function fn.
func wasmWaitBlocked(t *testing.T, fn string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		buf := make([]byte, 1<<20)
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, fn) && (strings.Contains(g, "[select") || strings.Contains(g, "[chan receive")) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine blocked in %s after 10 s", fn)
		}
	}
}
