//go:build !js

package websocket

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// h2Request returns an extended CONNECT request as net/http's HTTP/2
// server makes it.
func h2Request(ctx context.Context, body io.ReadCloser) *http.Request {
	if body == nil {
		body = http.NoBody
	}
	r := &http.Request{
		Method:     http.MethodConnect,
		URL:        &url.URL{Path: "/ws"},
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header: http.Header{
			":protocol":             {"websocket"},
			"Sec-Websocket-Version": {"13"},
		},
		Host:          "example.com",
		RemoteAddr:    "192.0.2.1:1234",
		RequestURI:    "/ws",
		Body:          body,
		ContentLength: -1,
	}
	return r.WithContext(ctx)
}

var errFakeReset = errors.New("fake RST_STREAM")

// fakeH2Writer is an HTTP/2 ResponseWriter: writes go to out, a pipe to
// the client, so a client that does not read blocks them like flow
// control would; a write deadline in the past resets the "stream".
type fakeH2Writer struct {
	header  http.Header
	out     *io.PipeWriter
	writing atomic.Int32 // Write calls under way (blocked, if nobody reads)

	mu      sync.Mutex
	status  int
	flushes int
	readDL  []time.Time
	writeDL []time.Time
}

func (f *fakeH2Writer) Header() http.Header { return f.header }

func (f *fakeH2Writer) WriteHeader(code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status == 0 {
		f.status = code
	}
}

func (f *fakeH2Writer) Write(p []byte) (int, error) {
	f.WriteHeader(http.StatusOK)
	f.writing.Add(1)
	defer f.writing.Add(-1)
	return f.out.Write(p)
}

func (f *fakeH2Writer) FlushError() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushes++
	return nil
}

func (f *fakeH2Writer) SetReadDeadline(t time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readDL = append(f.readDL, t)
	return nil
}

func (f *fakeH2Writer) SetWriteDeadline(t time.Time) error {
	f.mu.Lock()
	f.writeDL = append(f.writeDL, t)
	f.mu.Unlock()
	if !t.IsZero() && t.Before(time.Now()) {
		f.out.CloseWithError(errFakeReset)
	}
	return nil
}

// pipeConn is the client's end of a fake HTTP/2 stream.
type pipeConn struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func (p *pipeConn) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeConn) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipeConn) Close() error {
	p.r.Close()
	return p.w.Close()
}
func (p *pipeConn) LocalAddr() net.Addr              { return h2Addr("client") }
func (p *pipeConn) RemoteAddr() net.Addr             { return h2Addr("server") }
func (p *pipeConn) SetDeadline(time.Time) error      { return nil }
func (p *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (p *pipeConn) SetWriteDeadline(time.Time) error { return nil }

// fakeH2 is a server Conn upgraded over a fake HTTP/2 stream, and the
// client's end of that stream.
type fakeH2 struct {
	fw     *fakeH2Writer
	server *Conn
	client *pipeConn
	cancel context.CancelFunc // ends the request's context
}

func newFakeH2(t *testing.T, u *Upgrader, setup func(*http.Request)) *fakeH2 {
	t.Helper()
	bodyR, bodyW := io.Pipe() // client -> server
	outR, outW := io.Pipe()   // server -> client
	fw := &fakeH2Writer{header: http.Header{}, out: outW}
	ctx := context.WithValue(context.Background(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8443})
	ctx, cancel := context.WithCancel(ctx)
	r := h2Request(ctx, bodyR)
	if setup != nil {
		setup(r)
	}
	c, err := u.Upgrade(fw, r, nil)
	if err != nil {
		cancel()
		t.Fatalf("Upgrade: %v", err)
	}
	f := &fakeH2{fw: fw, server: c, client: &pipeConn{r: outR, w: bodyW}, cancel: cancel}
	t.Cleanup(func() {
		cancel()
		c.CloseNow()
		f.client.Close()
		outW.Close()
	})
	return f
}

// endStream is the handler returning: END_STREAM towards the client.
func (f *fakeH2) endStream() { f.fw.out.Close() }

// TestHTTP2HandshakeErrors checks the statuses of refused HTTP/2
// handshakes, which match HTTP/1.1's where they apply.
func TestHTTP2HandshakeErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(*http.Request)
		u      *Upgrader
		respH  http.Header
		status int
		header [2]string // a response header that must be present
		reason string
	}{
		{name: "get", setup: func(r *http.Request) { r.Method = http.MethodGet }, status: 405, header: [2]string{"Allow", "CONNECT"}, reason: "extended CONNECT"},
		{name: "post", setup: func(r *http.Request) { r.Method = http.MethodPost }, status: 405, header: [2]string{"Allow", "CONNECT"}},
		{name: "plain CONNECT", setup: func(r *http.Request) { delete(r.Header, ":protocol") }, status: 400, reason: ":protocol"},
		{name: "other protocol", setup: func(r *http.Request) { r.Header.Set(":protocol", "h2c") }, status: 400, reason: "h2c"},
		{name: "no authority", setup: func(r *http.Request) { r.Host = "" }, status: 400, reason: ":authority"},
		{name: "no version", setup: func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }, status: 426, header: [2]string{"Sec-WebSocket-Version", "13"}},
		{name: "version 8", setup: func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, status: 426, header: [2]string{"Sec-WebSocket-Version", "13"}},
		{name: "two versions", setup: func(r *http.Request) { r.Header.Add("Sec-WebSocket-Version", "13") }, status: 426},
		{name: "foreign origin", setup: func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, status: 403, reason: "evil.example"},
		{name: "bad extensions", setup: func(r *http.Request) { r.Header.Set("Sec-WebSocket-Extensions", "permessage-deflate; =") }, status: 400, reason: "Extensions"},
		{name: "responseHeader", respH: http.Header{"Sec-Websocket-Accept": {"x"}}, status: 500, reason: "responseHeader"},
		{name: "no deadlines", status: 500, reason: "deadlines"}, // httptest.ResponseRecorder has none
		{name: "shutting down", u: func() *Upgrader { u := &Upgrader{}; u.Shutdown(context.Background()); return u }(), status: 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.u
			if u == nil {
				u = &Upgrader{}
			}
			r := h2Request(context.Background(), nil)
			if tc.setup != nil {
				tc.setup(r)
			}
			w := httptest.NewRecorder()
			c, err := u.Upgrade(w, r, tc.respH)
			if c != nil || err == nil {
				t.Fatalf("Upgrade succeeded")
			}
			if w.Code != tc.status {
				t.Errorf("status %d, want %d (%q)", w.Code, tc.status, w.Body.String())
			}
			if k := tc.header[0]; k != "" && w.Header().Get(k) != tc.header[1] {
				t.Errorf("%s: %q, want %q", k, w.Header().Get(k), tc.header[1])
			}
			if !strings.Contains(w.Body.String(), tc.reason) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("body %q, error %q: want both to contain %q", w.Body.String(), err, tc.reason)
			}
		})
	}
}

// TestHTTP2StreamConn runs a Conn over a fake HTTP/2 stream: the 200
// response, negotiation, deadlines, addresses, echo in both directions with
// compression, and the close handshake ending the stream.
func TestHTTP2StreamConn(t *testing.T) {
	u := &Upgrader{Subprotocols: []string{"chat"}, Compression: CompressionNoContextTakeover}
	f := newFakeH2(t, u, func(r *http.Request) {
		r.Header.Set("Sec-WebSocket-Protocol", "other, chat")
		r.Header.Set("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")
		r.Header.Set("Origin", "https://example.com")
	})
	fw, sc := f.fw, f.server

	fw.mu.Lock()
	if fw.status != 200 || fw.flushes == 0 {
		t.Errorf("response: status %d after %d flushes, want 200 flushed", fw.status, fw.flushes)
	}
	if len(fw.readDL) != 1 || !fw.readDL[0].IsZero() {
		t.Errorf("read deadlines %v: want the server's cleared", fw.readDL)
	}
	if len(fw.writeDL) != 2 || fw.writeDL[0].IsZero() || !fw.writeDL[1].IsZero() {
		t.Errorf("write deadlines %v: want one for the response, then none", fw.writeDL)
	}
	fw.mu.Unlock()
	if got := fw.header.Get("Sec-WebSocket-Protocol"); got != "chat" {
		t.Errorf("Sec-WebSocket-Protocol %q", got)
	}
	if got := fw.header.Get("Sec-WebSocket-Extensions"); !strings.HasPrefix(got, "permessage-deflate") {
		t.Errorf("Sec-WebSocket-Extensions %q", got)
	}
	for _, k := range []string{"Upgrade", "Connection", "Sec-Websocket-Accept"} {
		if _, ok := fw.header[k]; ok {
			t.Errorf("HTTP/2 response has %s", k)
		}
	}
	if !sc.HTTP2() || sc.Subprotocol() != "chat" || !sc.PerMessageDeflate() {
		t.Errorf("HTTP2() %v, Subprotocol %q, PerMessageDeflate %v", sc.HTTP2(), sc.Subprotocol(), sc.PerMessageDeflate())
	}
	if sc.LocalAddr().String() != "127.0.0.1:8443" || sc.RemoteAddr().String() != "192.0.2.1:1234" || sc.RemoteAddr().Network() != "tcp" {
		t.Errorf("LocalAddr %v, RemoteAddr %v", sc.LocalAddr(), sc.RemoteAddr())
	}
	if n := u.ActiveConns(); n != 1 {
		t.Errorf("ActiveConns %d, want 1", n)
	}
	if err := sc.SetDeadline(time.Now().Add(time.Hour)); err != nil {
		t.Errorf("SetDeadline: %v", err)
	}
	if err := sc.SetDeadline(time.Time{}); err != nil {
		t.Errorf("SetDeadline: %v", err)
	}

	// The handler: echo, then return (END_STREAM).
	served := make(chan error, 1)
	go func() {
		var err error
		for {
			var typ MessageType
			var msg []byte
			if typ, msg, err = sc.ReadMessage(); err != nil {
				break
			}
			if err = sc.WriteMessage(typ, msg); err != nil {
				break
			}
		}
		f.endStream()
		served <- err
	}()

	cc := newConn(f.client, nil, connConfig{deflate: &deflateParams{writeNoContext: true, readNoContext: true}})
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 300000} {
		for _, typ := range []MessageType{TextMessage, BinaryMessage} {
			p := interopText(n)
			if typ == BinaryMessage {
				p = interopBinary(n)
			}
			if err := cc.WriteMessage(typ, p); err != nil {
				t.Fatalf("client write %d: %v", n, err)
			}
			gt, got, err := cc.ReadMessage()
			if err != nil || gt != typ || !bytes.Equal(got, p) {
				t.Fatalf("echo of %d bytes (%v): %v, %d bytes, %v", n, typ, gt, len(got), err)
			}
		}
	}
	if err := cc.Close(); err != nil {
		t.Errorf("client Close: %v", err)
	}
	select {
	case err := <-served:
		if CloseStatus(err) != StatusNormalClosure {
			t.Errorf("server read loop ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not finish")
	}
	if n := u.ActiveConns(); n != 0 {
		t.Errorf("ActiveConns %d after the close, want 0", n)
	}
	if err := sc.WriteMessage(TextMessage, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("write after the close: %v, want ErrClosed", err)
	}
	if _, err := sc.nc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("stream write after Close: %v, want net.ErrClosed", err)
	}
	if err := sc.nc.SetReadDeadline(time.Time{}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("SetReadDeadline after Close: %v, want net.ErrClosed", err)
	}
}

// TestHTTP2CloseNowFreesBlockedWrite checks that CloseNow frees a write
// blocked on a stream whose peer does not read, by resetting the stream.
func TestHTTP2CloseNowFreesBlockedWrite(t *testing.T) {
	f := newFakeH2(t, &Upgrader{}, nil)
	done := make(chan error, 1)
	go func() { done <- f.server.WriteMessage(BinaryMessage, make([]byte, 1<<20)) }()
	// CloseNow once the write is blocked in the stream (nobody reads): a
	// CloseNow before it would fail the write without the reset under test.
	waitFor(t, func() bool { return f.fw.writing.Load() > 0 })
	f.server.CloseNow()
	select {
	case err := <-done:
		if err == nil {
			t.Error("the blocked write succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("CloseNow did not free the blocked write")
	}
	f.fw.mu.Lock()
	defer f.fw.mu.Unlock()
	if n := len(f.fw.writeDL); n == 0 || f.fw.writeDL[n-1].After(time.Now()) {
		t.Errorf("write deadlines %v: want the stream reset with one in the past", f.fw.writeDL)
	}
}

// TestHTTP2StreamEnded checks that once the request's context ends (the
// client reset the stream, or the handler returned) the ResponseWriter is
// left alone: writes fail instead of touching it.
func TestHTTP2StreamEnded(t *testing.T) {
	f := newFakeH2(t, &Upgrader{}, nil)
	go io.Copy(io.Discard, f.client) // a client that reads everything
	f.cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := f.server.WriteMessage(TextMessage, []byte("hello"))
		if err != nil {
			if !errors.Is(err, errStreamEnded) {
				t.Errorf("write after the stream ended: %v", err)
			}
			break
		}
		// Until the context's AfterFunc ran, writes go through.
		if time.Now().After(deadline) {
			t.Fatal("writes still succeed after the request's context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHTTP2Shutdown checks that Upgrader.Shutdown closes Conns on HTTP/2
// streams like the others.
func TestHTTP2Shutdown(t *testing.T) {
	u := &Upgrader{}
	f := newFakeH2(t, u, nil)
	go func() {
		f.server.ReadMessage() // answers the client's close
		f.endStream()
	}()
	cc := newConn(f.client, nil, connConfig{})
	read := make(chan error, 1)
	go func() {
		_, _, err := cc.ReadMessage()
		read <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-read; CloseStatus(err) != StatusGoingAway {
		t.Errorf("client read %v, want a close with StatusGoingAway", err)
	}
	if n := u.ActiveConns(); n != 0 {
		t.Errorf("ActiveConns %d after Shutdown", n)
	}
}
