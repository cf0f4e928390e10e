//go:build !js

package websocket

// Tests of the client (client.go): the request the Dialer sends, the
// responses it refuses, its timeouts and cancellation, bytes behind the
// response, an endless response, and TLS.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestDialRequest(t *testing.T) {
	checkGoroutines(t)
	reqs := make(chan *http.Request, 2)
	rs := hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		reqs <- req
		io.WriteString(nc, hs101(req.Header.Get("Sec-WebSocket-Key")))
		io.Copy(io.Discard, br)
	})
	h := http.Header{
		"Origin":        {"http://example.com"},
		"X-Custom":      {"a", "b"},
		"Authorization": {"Bearer t"},
	}
	hcopy := h.Clone()
	var keys []string
	for i := 0; i < 2; i++ {
		c, resp, err := Dial(hsCtx(t), "ws://"+rs.addr+"/path?q=1", h)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		if resp == nil || resp.StatusCode != 101 || c.Response() != resp {
			t.Errorf("Dial response = %v, Conn.Response() = %v", resp, c.Response())
		}
		c.CloseNow()
		req := <-reqs
		if req.Method != "GET" || req.Proto != "HTTP/1.1" || req.RequestURI != "/path?q=1" {
			t.Errorf("request line = %s %s %s, want GET /path?q=1 HTTP/1.1", req.Method, req.RequestURI, req.Proto)
		}
		if req.Host != rs.addr {
			t.Errorf("Host = %q, want %q", req.Host, rs.addr)
		}
		for k, want := range map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-Websocket-Version": "13"} {
			if got := req.Header[k]; len(got) != 1 || got[0] != want {
				t.Errorf("%s = %q, want [%s]", k, got, want)
			}
		}
		key := req.Header["Sec-Websocket-Key"]
		if len(key) != 1 || !validKey(key[0]) {
			t.Errorf("Sec-WebSocket-Key = %q, want one base64 encoding of 16 bytes", key)
		} else {
			keys = append(keys, key[0])
		}
		for _, k := range []string{"Sec-Websocket-Protocol", "Sec-Websocket-Extensions"} {
			if got, ok := req.Header[k]; ok {
				t.Errorf("%s = %q sent, want none", k, got)
			}
		}
		if got := req.Header.Values("X-Custom"); !reflect.DeepEqual(got, []string{"a", "b"}) {
			t.Errorf("X-Custom = %q, want [a b]", got)
		}
		if got := req.Header.Get("Origin"); got != "http://example.com" {
			t.Errorf("Origin = %q", got)
		}
		if got := req.Header.Get("Authorization"); got != "Bearer t" {
			t.Errorf("Authorization = %q", got)
		}
	}
	if len(keys) == 2 && keys[0] == keys[1] {
		t.Errorf("two handshakes used the same key %q", keys[0])
	}
	if !reflect.DeepEqual(h, hcopy) {
		t.Errorf("Dial modified the caller's header: %v, was %v", h, hcopy)
	}

	// The URL's empty path becomes "/", the http scheme is taken as ws, a
	// Host header replaces the URL's host and Subprotocols are offered.
	d := &Dialer{Subprotocols: []string{"a", "b"}}
	c, _, err := d.Dial(hsCtx(t), "http://"+rs.addr, http.Header{"Host": {"example.org"}})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	c.CloseNow()
	req := <-reqs
	if req.RequestURI != "/" || req.Host != "example.org" {
		t.Errorf("request %s with Host %q, want / with Host example.org", req.RequestURI, req.Host)
	}
	if got := headerTokens(req.Header, "Sec-WebSocket-Protocol"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Sec-WebSocket-Protocol offered %q, want [a b]", got)
	}
}

func TestDialRefusesHandshakeHeaders(t *testing.T) {
	checkGoroutines(t)
	rs := hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {})
	for _, k := range []string{"Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol"} {
		h := http.Header{}
		h.Set(k, "x")
		c, resp, err := Dial(hsCtx(t), "ws://"+rs.addr, h)
		if err == nil || c != nil || resp != nil {
			t.Errorf("Dial with header %s: %v, %v, %v; want an error", k, c, resp, err)
			if c != nil {
				c.CloseNow()
			}
		}
	}
	// Header maps written as literals keep the keys' spelling; the RFC's
	// spelling is not the canonical one and must be refused too.
	for _, h := range []http.Header{
		{"Sec-WebSocket-Protocol": {"chat"}},
		{"Sec-WebSocket-Extensions": {"permessage-deflate"}},
		{"Sec-WebSocket-Key": {hsKey}},
		{"sec-websocket-version": {"8"}},
		{"upgrade": {"h2c"}},
	} {
		c, _, err := Dial(hsCtx(t), "ws://"+rs.addr, h)
		if err == nil {
			c.CloseNow()
		}
		if err == nil || !strings.Contains(err.Error(), "set by the Dialer") {
			t.Errorf("Dial with header %v: error %v; want it refused as set by the Dialer "+
				"(Dial looks up only canonical keys, so a literal key reaches the wire)", h, err)
		}
	}
	for _, u := range []string{"ftp://" + rs.addr, "ws://user:pw@" + rs.addr, "ws:///path", "ws://%zz"} {
		if c, _, err := Dial(hsCtx(t), u, nil); err == nil {
			t.Errorf("Dial(%q) succeeded", u)
			c.CloseNow()
		}
	}
	if n := rs.accepted.Load(); n != 0 {
		t.Errorf("the server saw %d connections, want none", n)
	}
}

func TestDialBadResponse(t *testing.T) {
	checkGoroutines(t)
	tests := []struct {
		name       string
		offer      []string
		response   func(key string) string
		wantStatus int
		wantReason string
	}{
		{"wrong accept", nil, func(string) string {
			return hs101("AAAAAAAAAAAAAAAAAAAAAA==")
		}, 101, "Accept"},
		{"RFC accept for another key", nil, func(string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + hsAccept + "\r\n\r\n"
		}, 101, "Accept"},
		{"no accept", nil, func(string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		}, 101, "Accept"},
		{"two accepts", nil, func(key string) string {
			return hs101(key, "Sec-WebSocket-Accept: "+computeAccept(key))
		}, 101, "Accept"},
		{"no Upgrade", nil, func(key string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + computeAccept(key) + "\r\n\r\n"
		}, 101, "Upgrade"},
		{"Upgrade h2c", nil, func(key string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + computeAccept(key) + "\r\n\r\n"
		}, 101, "Upgrade"},
		{"no Connection", nil, func(key string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + computeAccept(key) + "\r\n\r\n"
		}, 101, "Connection"},
		{"subprotocol not offered", nil, func(key string) string {
			return hs101(key, "Sec-WebSocket-Protocol: chat")
		}, 101, "chat"},
		{"other subprotocol", []string{"chat"}, func(key string) string {
			return hs101(key, "Sec-WebSocket-Protocol: superchat")
		}, 101, "superchat"},
		{"two subprotocols", []string{"chat", "superchat"}, func(key string) string {
			return hs101(key, "Sec-WebSocket-Protocol: chat, superchat")
		}, 101, "subprotocol"},
		{"extension not offered", nil, func(key string) string {
			return hs101(key, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover")
		}, 101, "permessage-deflate"},
		{"malformed extension", nil, func(key string) string {
			return hs101(key, "Sec-WebSocket-Extensions: ;;")
		}, 101, "Extensions"},
		{"200", nil, func(string) string {
			return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 22\r\n\r\nnot a websocket server"
		}, 200, "200"},
		{"200 long body", nil, func(string) string {
			return "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n" + strings.Repeat("x", 10000)
		}, 200, "200"},
		{"404 close-delimited", nil, func(string) string {
			return "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nnot a websocket server"
		}, 404, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
				io.WriteString(nc, tt.response(req.Header.Get("Sec-WebSocket-Key")))
				if tt.wantStatus == 404 {
					return // the body ends with the connection
				}
				io.Copy(io.Discard, br)
			})
			d := &Dialer{Subprotocols: tt.offer}
			c, resp, err := d.Dial(hsCtx(t), "ws://"+rs.addr, nil)
			if c != nil {
				c.CloseNow()
				t.Fatalf("Dial succeeded; want a *HandshakeError")
			}
			var he *HandshakeError
			if !errors.As(err, &he) {
				t.Fatalf("Dial error = %v (%T), want a *HandshakeError", err, err)
			}
			if resp == nil || he.Response != resp {
				t.Fatalf("Dial response = %v, HandshakeError.Response = %v; want the same non-nil response", resp, he.Response)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("StatusCode = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if !strings.Contains(err.Error(), tt.wantReason) {
				t.Errorf("error %q does not mention %q", err, tt.wantReason)
			}
			if tt.wantStatus != 101 {
				want := "not a websocket server"
				if tt.name == "200 long body" {
					want = strings.Repeat("x", 4096) // "up to 4 KiB of its body"
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil || string(body) != want {
					t.Errorf("response body = %.40q (%d bytes), %v; want %.40q (%d bytes)", body, len(body), err, want, len(want))
				}
			}
		})
	}
}

func TestDialRedirectNotFollowed(t *testing.T) {
	checkGoroutines(t)
	rs := hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		if req.URL.Path == "/other" {
			io.WriteString(nc, hs101(req.Header.Get("Sec-WebSocket-Key")))
		} else {
			io.WriteString(nc, "HTTP/1.1 302 Found\r\nLocation: /other\r\nContent-Length: 0\r\n\r\n")
		}
		io.Copy(io.Discard, br)
	})
	c, resp, err := Dial(hsCtx(t), "ws://"+rs.addr+"/start", nil)
	if c != nil {
		c.CloseNow()
		t.Fatal("Dial followed the redirect")
	}
	var he *HandshakeError
	if !errors.As(err, &he) || resp == nil || resp.StatusCode != 302 {
		t.Fatalf("Dial = %v, %v; want a *HandshakeError with a 302 response", resp, err)
	}
	if !strings.Contains(err.Error(), "redirect") || !strings.Contains(err.Error(), "/other") {
		t.Errorf("error %q does not mention the redirect to /other", err)
	}
	if got := resp.Header.Get("Location"); got != "/other" {
		t.Errorf("Location = %q", got)
	}
	if n, m := rs.accepted.Load(), rs.requests.Load(); n != 1 || m != 1 {
		t.Errorf("server saw %d connections and %d requests, want exactly one", n, m)
	}
}

// hsSilentServer reads the request, signals on got (if not nil) and then
// never answers (it writes partial, if not empty, first).
func hsSilentServer(t *testing.T, partial string, got chan<- struct{}) *hsRawServer {
	return hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		if partial != "" {
			io.WriteString(nc, partial)
		}
		if got != nil {
			got <- struct{}{}
		}
		io.Copy(io.Discard, br) // until the client hangs up
	})
}

// hsCheckBounded checks that Dial failed, not with a *HandshakeError, and
// that it returned after between min and max. If want is not nil, the
// error must also match it with errors.Is; otherwise it must be some
// timeout.
func hsCheckBounded(t *testing.T, err error, want error, elapsed, min, max time.Duration) {
	t.Helper()
	if err == nil {
		t.Fatal("Dial succeeded against a silent server")
	}
	var he *HandshakeError
	if errors.As(err, &he) {
		t.Errorf("error %v is a *HandshakeError; want a context error", err)
	}
	var ne net.Error
	if want != nil && !errors.Is(err, want) {
		t.Errorf("error %q (%T) is not %v", err, err, want)
	} else if want == nil && !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("error %q (%T) is not a timeout", err, err)
	}
	if elapsed < min || elapsed > max {
		t.Errorf("Dial returned after %v, want between %v and %v", elapsed, min, max)
	}
}

func TestDialContextTimeout(t *testing.T) {
	checkGoroutines(t)
	for _, partial := range []string{"", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"} {
		rs := hsSilentServer(t, partial, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		c, resp, err := Dial(ctx, "ws://"+rs.addr, nil)
		elapsed := time.Since(start)
		cancel()
		if c != nil {
			c.CloseNow()
		}
		if resp != nil {
			t.Errorf("response %v from a silent server", resp)
		}
		// Whether the error is context.DeadlineExceeded is checked by
		// TestDialTimeoutIsContextError.
		hsCheckBounded(t, err, nil, elapsed, 150*time.Millisecond, 1500*time.Millisecond)
	}
}

func TestDialHandshakeTimeout(t *testing.T) {
	checkGoroutines(t)
	rs := hsSilentServer(t, "", nil)
	d := &Dialer{HandshakeTimeout: 200 * time.Millisecond}
	start := time.Now()
	c, _, err := d.Dial(context.Background(), "ws://"+rs.addr, nil)
	elapsed := time.Since(start)
	if c != nil {
		c.CloseNow()
	}
	hsCheckBounded(t, err, nil, elapsed, 150*time.Millisecond, 1500*time.Millisecond)

	// The HandshakeTimeout does not outlive Dial: the Conn works after it.
	s := hsServe(t, hsEcho())
	start = time.Now()
	c, _, err = d.Dial(context.Background(), "ws://"+hsAddr(s), nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	// Time passing is the behaviour under test: the HandshakeTimeout is
	// over since Dial began, and what its context started has run.
	time.Sleep(time.Until(start.Add(d.HandshakeTimeout + 50*time.Millisecond)))
	waitAfterFuncs(t)
	hsCheckEchoAsIs(t, c, "still here")
}

func TestDialCancelMidHandshake(t *testing.T) {
	checkGoroutines(t)
	for _, partial := range []string{"", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"} {
		got := make(chan struct{}, 1)
		rs := hsSilentServer(t, partial, got)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		var cancelled time.Time
		go func() {
			select {
			case <-got:
				cancelled = time.Now()
				cancel()
			case <-done:
			}
		}()
		c, _, err := Dial(ctx, "ws://"+rs.addr, nil)
		returned := time.Now()
		close(done)
		cancel()
		if c != nil {
			c.CloseNow()
		}
		if cancelled.IsZero() {
			t.Fatalf("Dial returned (%v) before the server got the request", err)
		}
		hsCheckBounded(t, err, context.Canceled, returned.Sub(cancelled), 0, 500*time.Millisecond)
	}
}

// TestDialTimeoutIsContextError checks that a handshake ended by the
// context's deadline (or HandshakeTimeout) fails with an error that
// errors.Is context.DeadlineExceeded, as it does for cancellation. The
// failure is a race between the connection deadline and the context's
// timer, so the test tries many times with short timeouts.
func TestDialTimeoutIsContextError(t *testing.T) {
	checkGoroutines(t)
	rs := hsSilentServer(t, "", nil)
	const n = 20
	bad := 0
	var example error
	for i := 0; i < n; i++ {
		var d Dialer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		if i%2 == 1 {
			d.HandshakeTimeout = 20 * time.Millisecond
			cancel()
			ctx, cancel = context.WithCancel(context.Background())
		}
		c, _, err := d.Dial(ctx, "ws://"+rs.addr, nil)
		cancel()
		if c != nil {
			c.CloseNow()
			t.Fatal("Dial succeeded against a silent server")
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			bad++
			example = err
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d timed-out Dials failed with an error that is not context.DeadlineExceeded, e.g. %q (%T): "+
			"the connection deadline set from the context can fire before the context is done", bad, n, example, example)
	}
}

// TestDialConnAfterContext checks that the Dial context no longer affects
// the Conn once Dial has returned.
func TestDialConnAfterContext(t *testing.T) {
	checkGoroutines(t)
	s := hsServe(t, hsEcho())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	c, _, err := Dial(ctx, "ws://"+hsAddr(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cancel()
	// Anything the Dial left registered on ctx has now run.
	waitAfterFuncs(t)
	hsCheckEchoAsIs(t, c, "after cancel")
}

// TestDialFrameBehindResponse has the server send a frame in the same
// write as its 101 response: the frame lands in the Dialer's HTTP read
// buffer and must reach the Conn.
func TestDialFrameBehindResponse(t *testing.T) {
	checkGoroutines(t)
	long := strings.Repeat("0123456789", 600)
	rs := hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		b := []byte(hs101(req.Header.Get("Sec-WebSocket-Key")))
		b = append(b, rawFrame(true, 0, 0x1, false, []byte("hello"))...)
		b = append(b, rawFrame(true, 0, 0x2, false, []byte("world"))...)
		b = append(b, rawFrame(true, 0, 0x1, false, []byte(long))...) // beyond the Dialer's 4 KiB buffer
		nc.Write(b)
		io.Copy(io.Discard, br)
	})
	c, _, err := Dial(hsCtx(t), "ws://"+rs.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	for _, want := range []struct {
		typ MessageType
		p   string
	}{{TextMessage, "hello"}, {BinaryMessage, "world"}, {TextMessage, long}} {
		typ, p, err := c.ReadMessage()
		if err != nil || typ != want.typ || string(p) != want.p {
			t.Fatalf("ReadMessage = %v, %.20q (%d bytes), %v; want %v %.20q (%d bytes): frames sent behind the 101 were lost",
				typ, p, len(p), err, want.typ, want.p, len(want.p))
		}
	}
}

// A server (or proxy) that answers with an endless handshake response:
// Dial must fail within its context's deadline without buffering the flood.
func TestLimitDialEndlessResponse(t *testing.T) {
	const (
		floodCap   = 8 << 20 // the raw server stops after this much
		allowedMem = 4 << 20 // what Dial may allocate meanwhile
		ctxTimeout = 1500 * time.Millisecond
	)
	for _, tc := range []struct {
		name         string
		start, chunk string
		proxy        bool // the raw server is an HTTP proxy answering CONNECT
	}{
		{"endless status line", "HTTP/1.1 101 ", "Switching", false},
		{"endless header line", "HTTP/1.1 101 Switching Protocols\r\nX-Endless: ", "aaaaaaaa", false},
		{"endless header lines", "HTTP/1.1 101 Switching Protocols\r\n", "X-A: b\r\n", false},
		{"proxy CONNECT with endless header line", "HTTP/1.1 200 Connection established\r\nX-Endless: ", "aaaaaaaa", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var written atomic.Int64
			served := make(chan struct{})
			go func() {
				defer close(served)
				nc, err := ln.Accept()
				if err != nil {
					return
				}
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := http.ReadRequest(bufio.NewReader(nc)); err != nil {
					return
				}
				io.WriteString(nc, tc.start)
				chunk := []byte(strings.Repeat(tc.chunk, (64<<10)/len(tc.chunk)))
				for written.Load() < floodCap {
					n, err := nc.Write(chunk)
					written.Add(int64(n))
					if err != nil {
						return
					}
				}
				io.Copy(io.Discard, nc) // until the client goes
			}()

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			ctx, cancel := context.WithTimeout(context.Background(), ctxTimeout)
			defer cancel()
			start := time.Now()
			var d Dialer
			target := "ws://" + ln.Addr().String() + "/"
			if tc.proxy {
				proxy := &url.URL{Scheme: "http", Host: ln.Addr().String()}
				d.Proxy = func(*http.Request) (*url.URL, error) { return proxy, nil }
				target = "ws://backend.example/"
			}
			c, _, err := d.Dial(ctx, target, nil)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if err == nil {
				c.CloseNow()
				t.Fatal("Dial succeeded")
			}
			<-served
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("Dial failed after %v with %v; the server sent %d bytes, Dial allocated %d bytes",
				elapsed.Round(time.Millisecond), err, written.Load(), alloc)
			if elapsed > ctxTimeout+time.Second {
				t.Errorf("Dial returned after %v, beyond its context's deadline of %v", elapsed, ctxTimeout)
			}
			if alloc > allowedMem {
				t.Errorf("Dial allocated %d MiB reading a handshake response that never ends (the server sent %d MiB): "+
					"http.ReadResponse does not bound the status line or headers; read the response through a size-limited reader",
					alloc>>20, written.Load()>>20)
			}
		})
	}
}

func TestDialTLS(t *testing.T) {
	checkGoroutines(t)
	tlsSeen := make(chan bool, 1)
	u := hsEcho()
	echo := u.Handler
	u.Handler = func(c *Conn) {
		tlsSeen <- c.Request() != nil && c.Request().TLS != nil
		echo(c)
	}
	s := hsServeTLS(t, u)
	addr := hsAddr(s)

	// The test certificate is not trusted by default.
	c, resp, err := Dial(hsCtx(t), "wss://"+addr, nil)
	if c != nil {
		c.CloseNow()
		t.Fatal("wss Dial trusted the test server's certificate")
	}
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) {
		t.Errorf("Dial error = %v (%T), want a *tls.CertificateVerificationError", err, err)
	}
	var he *HandshakeError
	if errors.As(err, &he) || resp != nil {
		t.Errorf("TLS failure reported as a handshake refusal: %v, %v", resp, err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	cfg := &tls.Config{RootCAs: pool}
	d := &Dialer{TLSClientConfig: cfg}
	for _, scheme := range []string{"wss", "https"} {
		c, _, err := d.Dial(hsCtx(t), scheme+"://"+addr, nil)
		if err != nil {
			t.Fatalf("%s Dial with the server's root: %v", scheme, err)
		}
		if !<-tlsSeen {
			t.Errorf("server Conn's Request has no TLS state")
		}
		hsCheckEcho(t, c, "over TLS")
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if cfg.ServerName != "" || cfg.NextProtos != nil {
		t.Errorf("Dial modified TLSClientConfig: ServerName %q, NextProtos %q", cfg.ServerName, cfg.NextProtos)
	}

	// A ws:// URL to the TLS port does not speak TLS and fails.
	c, _, err = d.Dial(hsCtx(t), "ws://"+addr, nil)
	if err == nil {
		c.CloseNow()
		t.Errorf("ws Dial to a TLS server succeeded")
	}
}
