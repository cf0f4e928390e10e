//go:build !js

package websocket

// Tests of the server side of the handshake (server.go): request checks,
// refusals, response headers, bytes behind the request, slowloris and
// oversized handshakes, and many connections where one is reset.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestUpgradeRequestChecks(t *testing.T) {
	checkGoroutines(t)
	u := &Upgrader{Handler: func(c *Conn) { c.CloseNow() }}
	s := hsServe(t, u)
	addr := hsAddr(s)
	get := "GET /ws HTTP/1.1"

	tests := []struct {
		name     string
		line     string
		mod      map[string][]string
		want     int
		wantBody string // a part of the plain-text reason
	}{
		{"valid", get, nil, 101, ""},
		{"POST", "POST /ws HTTP/1.1", map[string][]string{"Content-Length": {"0"}}, 405, "GET"},
		{"PUT", "PUT /ws HTTP/1.1", map[string][]string{"Content-Length": {"0"}}, 405, "GET"},
		{"HTTP/1.0", "GET /ws HTTP/1.0", nil, 400, "HTTP/1.1"},
		{"no Host", get, map[string][]string{"Host": nil}, 400, "Host"},
		{"no Connection", get, map[string][]string{"Connection": nil}, 400, "Connection"},
		{"Connection keep-alive", get, map[string][]string{"Connection": {"keep-alive"}}, 400, "Connection"},
		{"Connection close", get, map[string][]string{"Connection": {"close"}}, 400, "Connection"},
		{"Connection Upgraded", get, map[string][]string{"Connection": {"Upgraded"}}, 400, "Connection"},
		{"Connection token list", get, map[string][]string{"Connection": {"keep-alive, Upgrade"}}, 101, ""},
		{"Connection two lines", get, map[string][]string{"Connection": {"keep-alive", "upgrade"}}, 101, ""},
		{"Connection lower case", get, map[string][]string{"Connection": {"upgrade"}}, 101, ""},
		{"Upgrade WebSocket", get, map[string][]string{"Upgrade": {"WebSocket"}}, 101, ""},
		{"Upgrade list", get, map[string][]string{"Upgrade": {"foo/2, websocket"}}, 101, ""},
		{"no Upgrade", get, map[string][]string{"Upgrade": nil}, 400, "Upgrade"},
		{"Upgrade h2c", get, map[string][]string{"Upgrade": {"h2c"}}, 400, "Upgrade"},
		{"no key", get, map[string][]string{"Sec-WebSocket-Key": nil}, 400, "Sec-WebSocket-Key"},
		{"short key", get, map[string][]string{"Sec-WebSocket-Key": {"abc"}}, 400, "Sec-WebSocket-Key"},
		{"key not base64", get, map[string][]string{"Sec-WebSocket-Key": {"!!!!!!!!!!!!!!!!!!!!!!=="}}, 400, "Sec-WebSocket-Key"},
		{"key of 17 bytes", get, map[string][]string{"Sec-WebSocket-Key": {"AAAAAAAAAAAAAAAAAAAAAAA="}}, 400, "Sec-WebSocket-Key"},
		{"two keys", get, map[string][]string{"Sec-WebSocket-Key": {hsKey, "x3JJHMbDL1EzLkh9GBhXDw=="}}, 400, "Sec-WebSocket-Key"},
		{"two keys one line", get, map[string][]string{"Sec-WebSocket-Key": {hsKey + ", x3JJHMbDL1EzLkh9GBhXDw=="}}, 400, "Sec-WebSocket-Key"},
		{"version 8", get, map[string][]string{"Sec-WebSocket-Version": {"8"}}, 426, "13"},
		{"no version", get, map[string][]string{"Sec-WebSocket-Version": nil}, 426, "13"},
		{"two versions", get, map[string][]string{"Sec-WebSocket-Version": {"13", "8"}}, 426, "13"},
		{"version list", get, map[string][]string{"Sec-WebSocket-Version": {"13, 8"}}, 426, "13"},
		{"bad extensions", get, map[string][]string{"Sec-WebSocket-Extensions": {"permessage-deflate;;"}}, 400, "Sec-WebSocket-Extensions"},
		{"bad extension value", get, map[string][]string{"Sec-WebSocket-Extensions": {`x; a="b c"`}}, 400, "Sec-WebSocket-Extensions"},
		{"valid extensions", get, map[string][]string{"Sec-WebSocket-Extensions": {"permessage-deflate; client_max_window_bits", "x-foo"}}, 101, ""},
		{"no Origin", get, nil, 101, ""},
		{"same Origin", get, map[string][]string{"Origin": {"http://" + addr}}, 101, ""},
		{"same Origin other case", get, map[string][]string{"Origin": {"HTTP://" + strings.ToUpper("localhost") + ":1"}, "Host": {"localhost:1"}}, 101, ""},
		{"cross Origin", get, map[string][]string{"Origin": {"https://evil.example"}}, 403, "origin"},
		{"cross Origin port", get, map[string][]string{"Origin": {"http://127.0.0.1:1"}}, 403, "origin"},
		{"null Origin", get, map[string][]string{"Origin": {"null"}}, 403, "origin"},
		{"two Origins", get, map[string][]string{"Origin": {"http://" + addr, "https://evil.example"}}, 403, "origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := hsDo(t, addr, hsRequest(tt.line, addr, tt.mod))
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d (%q), want %d", resp.StatusCode, body, tt.want)
			}
			if tt.want == 101 {
				hsCheck101(t, resp)
				if got := resp.Header.Values("Sec-WebSocket-Extensions"); len(got) != 0 {
					t.Errorf("Sec-WebSocket-Extensions = %q in the response, want none", got)
				}
				return
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q, want text/plain", ct)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body = %q, want a reason mentioning %q", body, tt.wantBody)
			}
			if got := resp.Header.Values("Sec-WebSocket-Accept"); len(got) != 0 {
				t.Errorf("refusal carries Sec-WebSocket-Accept %q", got)
			}
			switch tt.want {
			case 426:
				if got := resp.Header.Values("Sec-WebSocket-Version"); len(got) != 1 || got[0] != "13" {
					t.Errorf("426 response has Sec-WebSocket-Version %q, want [13]", got)
				}
			case 405:
				if got := resp.Header.Get("Allow"); got != "GET" {
					t.Errorf("405 response has Allow %q, want GET", got)
				}
			}
		})
	}
}

// TestUpgradeReturnsError checks Upgrade's error result on a refused
// request and that the request is answered only once.
func TestUpgradeReturnsError(t *testing.T) {
	checkGoroutines(t)
	errc := make(chan error, 1)
	var u Upgrader
	s := hsServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, nil)
		if c != nil {
			c.CloseNow()
		}
		errc <- err
	}))
	addr := hsAddr(s)
	resp, _ := hsDo(t, addr, hsRequest("GET / HTTP/1.1", addr, map[string][]string{"Sec-WebSocket-Version": {"8"}}))
	if resp.StatusCode != 426 {
		t.Errorf("status = %d, want 426", resp.StatusCode)
	}
	if err := <-errc; err == nil || !strings.Contains(err.Error(), "13") {
		t.Errorf("Upgrade error = %v, want one about version 13", err)
	}
	resp, _ = hsDo(t, addr, hsRequest("GET / HTTP/1.1", addr, nil))
	hsCheck101(t, resp)
	if err := <-errc; err != nil {
		t.Errorf("Upgrade error = %v on a valid request", err)
	}
}

func TestUpgradeNoHandler(t *testing.T) {
	checkGoroutines(t)
	s := hsServe(t, &Upgrader{})
	addr := hsAddr(s)
	resp, _ := hsDo(t, addr, hsRequest("GET / HTTP/1.1", addr, nil))
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("ServeHTTP without Handler: status = %d, want 500", resp.StatusCode)
	}
}

func TestUpgradeResponseHeader(t *testing.T) {
	checkGoroutines(t)
	headers := map[string]http.Header{
		"accept":     {"Sec-Websocket-Accept": {"x"}},
		"protocol":   {"Sec-Websocket-Protocol": {"chat"}},
		"extensions": {"sec-websocket-extensions": {"permessage-deflate"}}, // not canonical
		"version":    {"Sec-WebSocket-Version": {"13"}},                    // not canonical
		"upgrade":    {"Upgrade": {"h2c"}},
		"connection": {"Connection": {"close"}},
		"cookie":     {"Set-Cookie": {"a=b"}, "X-Served-By": {"test"}},
	}
	errc := make(chan error, 1)
	var u Upgrader
	s := hsServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, headers[r.URL.Query().Get("h")])
		if c != nil {
			c.CloseNow()
		}
		errc <- err
	}))
	addr := hsAddr(s)
	for name := range headers {
		resp, body := hsDo(t, addr, hsRequest("GET /?h="+name+" HTTP/1.1", addr, nil))
		err := <-errc
		if name == "cookie" {
			hsCheck101(t, resp)
			if err != nil {
				t.Errorf("Upgrade with Set-Cookie: %v", err)
			}
			if got := resp.Header.Get("Set-Cookie"); got != "a=b" {
				t.Errorf("Set-Cookie = %q, want a=b", got)
			}
			if got := resp.Header.Get("X-Served-By"); got != "test" {
				t.Errorf("X-Served-By = %q, want test", got)
			}
			continue
		}
		if resp.StatusCode == 101 || err == nil {
			t.Errorf("responseHeader %v: status %d, Upgrade error %v; want a refusal", headers[name], resp.StatusCode, err)
		}
		if resp.StatusCode != 500 {
			t.Errorf("responseHeader %v: status %d (%q), want 500", headers[name], resp.StatusCode, body)
		}
	}
}

// TestUpgradeFrameBehindRequest writes the handshake request and two
// masked frames in one write: the frames land in the HTTP server's read
// buffer and must reach the Conn.
func TestUpgradeFrameBehindRequest(t *testing.T) {
	checkGoroutines(t)
	s := hsServe(t, hsEcho())
	addr := hsAddr(s)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(3 * time.Second))
	// The long message makes the whole more than the HTTP server's 4 KiB
	// read buffer: part of it is buffered, the rest still in the socket.
	long := strings.Repeat("0123456789", 600)
	msg := []byte(hsRequest("GET / HTTP/1.1", addr, nil))
	msg = append(msg, rawFrame(true, 0, 0x1, true, []byte("hello"))...)
	msg = append(msg, rawFrame(true, 0, 0x2, true, []byte("world"))...)
	msg = append(msg, rawFrame(true, 0, 0x1, true, []byte(long))...)
	if _, err := nc.Write(msg); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	hsCheck101(t, resp)
	for _, want := range []struct {
		op byte
		p  string
	}{{0x81, "hello"}, {0x82, "world"}, {0x81, long}} {
		op, p := hsReadFrame(t, br)
		if op != want.op || string(p) != want.p {
			t.Fatalf("echo = %#x %.20q (%d bytes), want %#x %.20q (%d bytes): frames sent behind the request were lost",
				op, p, len(p), want.op, want.p, len(want.p))
		}
	}
	// Close cleanly: the server answers our close frame and hangs up.
	if _, err := nc.Write(rawFrame(true, 0, 0x8, true, []byte{0x03, 0xe8})); err != nil {
		t.Fatal(err)
	}
	op, p := hsReadFrame(t, br)
	if op != 0x88 || !bytes.Equal(p, []byte{0x03, 0xe8}) {
		t.Errorf("close answer = %#x % x, want 0x88 03 e8", op, p)
	}
	if n, err := br.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("after the close handshake: read %d, %v; want EOF", n, err)
	}
}

// A handshake that dribbles in a byte every 100 ms is cut off by the
// http.Server's ReadHeaderTimeout; our Upgrader never runs.
func TestSlowlorisHandshake(t *testing.T) {
	checkGoroutines(t)
	var calls atomic.Int64
	u := &Upgrader{Handler: func(c *Conn) { t.Error("handler ran for a slowloris handshake") }}
	s := httptest.NewUnstartedServer(countingHandler(&calls, u))
	s.Config.ReadHeaderTimeout = 500 * time.Millisecond
	s.Start()
	defer s.Close()

	start := time.Now()
	nc, err := net.Dial("tcp", s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := handshakeRequest(s.Listener.Addr().String())
	stop := make(chan struct{})
	dribbled := make(chan int, 1)
	go func() {
		n := 0
		defer func() { dribbled <- n }()
		for i := 0; i < len(req); i++ {
			if _, err := nc.Write([]byte{req[i]}); err != nil {
				return
			}
			n++
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(nc)
	elapsed := time.Since(start)
	close(stop)
	n := <-dribbled
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after %v: want the server to close the connection, got %v", elapsed, err)
	}
	t.Logf("server closed the connection after %v, %d of %d request bytes sent; it answered %q", elapsed.Round(time.Millisecond), n, len(req), got)
	if elapsed < 400*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("connection closed after %v, want about 500ms (ReadHeaderTimeout)", elapsed)
	}
	if c := calls.Load(); c != 0 {
		t.Errorf("%d requests reached the handler", c)
	}
}

// A handshake with more than 1 MiB of headers is refused by net/http with
// 431 before our Upgrader sees it.
func TestLimitHugeHandshakeHeaders(t *testing.T) {
	for _, max := range []int{64 << 10, 0} { // 0: http.DefaultMaxHeaderBytes (1 MiB)
		t.Run(fmt.Sprintf("MaxHeaderBytes=%d", max), func(t *testing.T) {
			checkGoroutines(t)
			var calls atomic.Int64
			u := &Upgrader{Handler: func(c *Conn) { t.Error("handler ran") }}
			s := httptest.NewUnstartedServer(countingHandler(&calls, u))
			s.Config.MaxHeaderBytes = max
			s.Start()
			defer s.Close()

			nc, err := net.Dial("tcp", s.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			req := handshakeRequest(s.Listener.Addr().String())
			req = strings.TrimSuffix(req, "\r\n")
			pad := strings.Repeat("x", 1000)
			var b strings.Builder
			b.WriteString(req)
			for i := 0; b.Len() < 2<<20; i++ {
				fmt.Fprintf(&b, "X-Pad-%d: %s\r\n", i, pad)
			}
			b.WriteString("\r\n")
			wrote := make(chan error, 1)
			go func() {
				_, err := io.WriteString(nc, b.String())
				wrote <- err
			}()
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatalf("reading the response: %v", err)
			}
			resp.Body.Close()
			nc.Close()
			<-wrote
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Fatalf("status %s, want 431", resp.Status)
			}
			if c := calls.Load(); c != 0 {
				t.Errorf("%d requests reached the handler", c)
			}
		})
	}
}

// One client among many is reset (RST) in the middle of its echo loop;
// the others are unaffected and the reset connection's handler ends.
func TestFaultResetAmongMany(t *testing.T) {
	checkGoroutines(t)
	const others, rounds = 16, 200
	type ended struct {
		remote string
		err    error
	}
	ends := make(chan ended, others+1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		var err error
		for {
			var typ MessageType
			var p []byte
			if typ, p, err = c.ReadMessage(); err != nil {
				break
			}
			if err = c.WriteMessage(typ, p); err != nil {
				break
			}
		}
		ends <- ended{c.RemoteAddr().String(), err}
	})

	var victimTCP *net.TCPConn
	d := &Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var nd net.Dialer
		nc, err := nd.DialContext(ctx, network, addr)
		if err == nil {
			victimTCP = nc.(*net.TCPConn)
		}
		return nc, err
	}}
	victim, _, err := d.Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	victimAddr := victimTCP.LocalAddr().String()

	var progress atomic.Int64
	echoLoop := func(c *Conn, id, n int) error {
		c.SetDeadline(time.Now().Add(30 * time.Second))
		for i := 0; i < n; i++ {
			msg := []byte(fmt.Sprintf("client %d message %d", id, i))
			if err := c.WriteMessage(BinaryMessage, msg); err != nil {
				return err
			}
			_, got, err := c.ReadMessage()
			if err != nil {
				return err
			}
			if !bytes.Equal(got, msg) {
				return fmt.Errorf("echo %q, want %q", got, msg)
			}
			progress.Add(1)
		}
		return nil
	}
	clients := make([]*Conn, others)
	for i := range clients {
		if clients[i], _, err = Dial(context.Background(), wsURL(s), nil); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, others)
	for i, c := range clients {
		go func(i int, c *Conn) { errs <- echoLoop(c, i, rounds) }(i, c)
	}
	victimErr := make(chan error, 1)
	go func() { victimErr <- echoLoop(victim, -1, 1<<30) }()

	deadline := time.Now().Add(30 * time.Second)
	for progress.Load() < others*rounds/4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	victimTCP.SetLinger(0)
	victimTCP.Close()
	if err := <-victimErr; err == nil {
		t.Error("the reset client's echo loop ended without an error")
	}
	victim.CloseNow()
	for i := 0; i < others; i++ {
		if err := <-errs; err != nil {
			t.Errorf("a client not reset failed: %v", err)
		}
	}
	timeout := time.After(10 * time.Second)
	select {
	case e := <-ends:
		if e.remote != victimAddr {
			t.Errorf("first handler to end served %s, not the reset client %s (error %v)", e.remote, victimAddr, e.err)
		}
		var ce *CloseError
		if e.err == nil || errors.As(e.err, &ce) {
			t.Errorf("reset connection's handler ended with %v, want a read error", e.err)
		}
		t.Logf("reset connection's handler ended with: %v", e.err)
	case <-timeout:
		t.Fatal("the reset connection's handler did not end within 10s")
	}
	closeErrs := make(chan error, others)
	for _, c := range clients {
		go func(c *Conn) { closeErrs <- c.Close() }(c)
	}
	for range clients {
		if err := <-closeErrs; err != nil {
			t.Errorf("closing a client: %v", err)
		}
	}
	for i := 0; i < others; i++ {
		select {
		case e := <-ends:
			if CloseStatus(e.err) != StatusNormalClosure {
				t.Errorf("handler for %s ended with %v", e.remote, e.err)
			}
		case <-timeout:
			t.Fatal("handlers still running 10s after their clients closed")
		}
	}
}
