//go:build !js

package websocket

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tests of the README's client promises (issue 18).

// proxyEnvChild marks the child process TestHelperProxyEnv runs in.
const proxyEnvChild = "WSSTD_PROXY_ENV_CHILD"

// The zero Dialer takes its proxy from the environment (HTTP_PROXY for
// ws://, HTTPS_PROXY for wss://, NO_PROXY excluding hosts), as the README
// says. net/http reads those variables once per process and caches them
// (http.ProxyFromEnvironment), so the checks run in a child process that
// sets them before its first dial.
func TestPromiseDialerProxyFromEnvironment(t *testing.T) {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "REQUEST_METHOD", proxyEnvChild:
			continue // the child sets its own
		}
		env = append(env, kv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProxyEnv$", "-test.v", "-test.count=1", "-test.timeout=50s")
	cmd.Env = append(env, proxyEnvChild+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestHelperProxyEnv") {
		t.Fatalf("the child process failed: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "promises_client_test.go") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

// envProxy is a loopback HTTP CONNECT proxy that resolves names under
// .test to 127.0.0.1 (the test's servers), and records the targets it
// was asked for.
type envProxy struct {
	*hsRawServer
	mu      sync.Mutex
	targets []string
}

func (p *envProxy) connects() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

func newEnvProxy(t *testing.T) *envProxy {
	p := &envProxy{}
	p.hsRawServer = hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		p.mu.Lock()
		p.targets = append(p.targets, req.Method+" "+req.Host)
		p.mu.Unlock()
		host, port, err := net.SplitHostPort(req.Host)
		if req.Method != http.MethodConnect || err != nil || !strings.HasSuffix(host, ".test") {
			io.WriteString(nc, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
			return
		}
		tunnel(nc, br, net.JoinHostPort("127.0.0.1", port))
	})
	return p
}

// TestHelperProxyEnv is the child process of
// TestPromiseDialerProxyFromEnvironment, not a test: it skips unless
// proxyEnvChild is set.
func TestHelperProxyEnv(t *testing.T) {
	if os.Getenv(proxyEnvChild) != "1" {
		t.Skip("TestPromiseDialerProxyFromEnvironment's child; runs only in its own process")
	}
	checkGoroutines(t)
	httpProxy, httpsProxy := newEnvProxy(t), newEnvProxy(t)
	// Set before the process's first dial: net/http caches them then.
	t.Setenv("HTTP_PROXY", "http://"+httpProxy.addr)
	t.Setenv("HTTPS_PROXY", "http://"+httpsProxy.addr)
	t.Setenv("NO_PROXY", "other.example,direct.test")
	s := hsServe(t, hsEcho())
	_, port, _ := net.SplitHostPort(hsAddr(s))
	ts := hsServeTLS(t, hsEcho())
	_, tlsPort, _ := net.SplitHostPort(hsAddr(ts))

	// ws:// goes through HTTP_PROXY, with the zero Dialer (package Dial).
	c, _, err := Dial(hsCtx(t), "ws://wsstd.test:"+port+"/", nil)
	if err != nil {
		t.Fatalf("Dial ws:// with HTTP_PROXY set: %v", err)
	}
	hsCheckEcho(t, c, "through the environment's proxy")
	c.Close()
	if got := httpProxy.connects(); len(got) != 1 || got[0] != "CONNECT wsstd.test:"+port {
		t.Fatalf("HTTP_PROXY saw %q, want one CONNECT wsstd.test:%s", got, port)
	}
	t.Logf("ws:// went through HTTP_PROXY: %q", httpProxy.connects())

	// wss:// goes through HTTPS_PROXY, TLS inside the tunnel.
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	d := &Dialer{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "example.com"}}
	c, _, err = d.Dial(hsCtx(t), "wss://wsstd.test:"+tlsPort+"/", nil)
	if err != nil {
		t.Fatalf("Dial wss:// with HTTPS_PROXY set: %v", err)
	}
	hsCheckEcho(t, c, "tls through the environment's proxy")
	c.Close()
	if got := httpsProxy.connects(); len(got) != 1 || got[0] != "CONNECT wsstd.test:"+tlsPort {
		t.Fatalf("HTTPS_PROXY saw %q, want one CONNECT wsstd.test:%s", got, tlsPort)
	}
	t.Logf("wss:// went through HTTPS_PROXY: %q", httpsProxy.connects())

	// A host NO_PROXY names is dialed directly. The Dialer's own dial
	// function resolves .test names, and records what it dialed.
	var dialed []string
	d = &Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed = append(dialed, addr)
		if host, port, err := net.SplitHostPort(addr); err == nil && strings.HasSuffix(host, ".test") {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		var nd net.Dialer
		return nd.DialContext(ctx, network, addr)
	}}
	c, _, err = d.Dial(hsCtx(t), "ws://direct.test:"+port+"/", nil)
	if err != nil {
		t.Fatalf("Dial a NO_PROXY host: %v", err)
	}
	hsCheckEcho(t, c, "past the proxy")
	c.Close()
	if len(dialed) != 1 || dialed[0] != "direct.test:"+port {
		t.Fatalf("the Dialer dialed %q, want direct.test:%s (NO_PROXY names it)", dialed, port)
	}
	if got := httpProxy.connects(); len(got) != 1 {
		t.Fatalf("HTTP_PROXY saw %q: a NO_PROXY host went through it", got)
	}
	t.Logf("NO_PROXY host dialed directly: %q", dialed)
}
