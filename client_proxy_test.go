//go:build !js

package websocket

// Tests of the Dialer through an HTTP CONNECT proxy (a loopback one
// written for the tests): plain and TLS, refused and stalled.

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

type hsProxy struct {
	*hsRawServer
	mu   sync.Mutex
	reqs []*http.Request
}

func (p *hsProxy) requests() []*http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*http.Request(nil), p.reqs...)
}

// hsNewProxy starts an HTTP CONNECT proxy on loopback. If refuse is not
// empty, it is the raw response to every request.
func hsNewProxy(t *testing.T, refuse string) *hsProxy {
	p := &hsProxy{}
	p.hsRawServer = hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		p.mu.Lock()
		p.reqs = append(p.reqs, req)
		p.mu.Unlock()
		if refuse != "" {
			io.WriteString(nc, refuse)
			io.Copy(io.Discard, br)
			return
		}
		if req.Method != http.MethodConnect {
			io.WriteString(nc, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
			return
		}
		tunnel(nc, br, req.Host)
	})
	return p
}

// tunnel is a CONNECT proxy's work once it accepted a request: it dials
// addr (answering 502 when that fails), answers 200 and copies bytes both
// ways until either side closes. br holds what the client sent after the
// request.
func tunnel(nc net.Conn, br *bufio.Reader, addr string) {
	target, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		io.WriteString(nc, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	io.WriteString(nc, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{})
	go func() {
		io.Copy(target, br)
		target.Close()
		nc.Close()
		close(done)
	}()
	io.Copy(nc, target)
	target.Close()
	nc.Close()
	<-done
}

func TestDialProxy(t *testing.T) {
	checkGoroutines(t)
	s := hsServe(t, hsEcho())
	target := hsAddr(s)
	for _, user := range []*url.Userinfo{nil, url.UserPassword("alice", "s3cret:!")} {
		p := hsNewProxy(t, "")
		d := &Dialer{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: p.addr, User: user})}
		c, resp, err := d.Dial(hsCtx(t), "ws://"+target+"/echo", nil)
		if err != nil {
			t.Fatalf("Dial through the proxy: %v", err)
		}
		if resp.StatusCode != 101 {
			t.Errorf("status = %d", resp.StatusCode)
		}
		hsCheckEcho(t, c, "through the proxy")
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		reqs := p.requests()
		if len(reqs) != 1 {
			t.Fatalf("proxy saw %d requests, want 1", len(reqs))
		}
		req := reqs[0]
		if req.Method != http.MethodConnect || req.RequestURI != target || req.Host != target {
			t.Errorf("proxy saw %s %s (Host %q), want CONNECT %s", req.Method, req.RequestURI, req.Host, target)
		}
		auth := req.Header.Get("Proxy-Authorization")
		if user == nil {
			if auth != "" {
				t.Errorf("Proxy-Authorization %q sent without user info in the proxy URL", auth)
			}
		} else if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret:!")); auth != want {
			t.Errorf("Proxy-Authorization = %q, want %q", auth, want)
		}
	}
}

func TestDialProxyTLS(t *testing.T) {
	checkGoroutines(t)
	s := hsServeTLS(t, hsEcho())
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	p := hsNewProxy(t, "")
	d := &Dialer{
		Proxy:           http.ProxyURL(&url.URL{Scheme: "http", Host: p.addr}),
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}
	c, _, err := d.Dial(hsCtx(t), "wss://"+hsAddr(s), nil)
	if err != nil {
		t.Fatalf("wss Dial through the proxy: %v", err)
	}
	hsCheckEcho(t, c, "tls through the proxy")
	c.Close()
	if reqs := p.requests(); len(reqs) != 1 || reqs[0].Method != "CONNECT" || reqs[0].Host != hsAddr(s) {
		t.Errorf("proxy saw %d requests (%v), want one CONNECT %s", len(reqs), reqs, hsAddr(s))
	}
}

func TestDialProxyRefused(t *testing.T) {
	checkGoroutines(t)
	rs := hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {})
	p := hsNewProxy(t, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
	d := &Dialer{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: p.addr})}
	c, _, err := d.Dial(hsCtx(t), "ws://"+rs.addr, nil)
	if c != nil {
		c.CloseNow()
		t.Fatal("Dial succeeded through a refusing proxy")
	}
	if err == nil || !strings.Contains(err.Error(), "407") {
		t.Errorf("Dial error = %v, want one mentioning 407", err)
	}
	if n := rs.accepted.Load(); n != 0 {
		t.Errorf("target saw %d connections, want none", n)
	}
	if reqs := p.requests(); len(reqs) != 1 || reqs[0].Method != "CONNECT" {
		t.Errorf("proxy saw %v, want one CONNECT", reqs)
	}
}

// TestDialProxyStall checks that the context bounds the CONNECT exchange
// with a proxy that never answers, and that the error says so.
func TestDialProxyStall(t *testing.T) {
	checkGoroutines(t)
	got := make(chan struct{}, 1)
	p := hsSilentServer(t, "", got)
	d := &Dialer{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: p.addr})}

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
	c, _, err := d.Dial(ctx, "ws://127.0.0.1:1", nil)
	returned := time.Now()
	close(done)
	cancel()
	if c != nil {
		c.CloseNow()
	}
	if cancelled.IsZero() {
		t.Fatalf("Dial returned (%v) before the proxy got the CONNECT", err)
	}
	hsCheckBounded(t, err, context.Canceled, returned.Sub(cancelled), 0, 500*time.Millisecond)

	d.HandshakeTimeout = 200 * time.Millisecond
	start := time.Now()
	c, _, err = d.Dial(context.Background(), "ws://127.0.0.1:1", nil)
	elapsed := time.Since(start)
	if c != nil {
		c.CloseNow()
	}
	select {
	case <-got:
	case <-time.After(time.Second):
		t.Error("the proxy never got the second CONNECT")
	}
	hsCheckBounded(t, err, context.DeadlineExceeded, elapsed, 150*time.Millisecond, 1500*time.Millisecond)
}
