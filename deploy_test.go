//go:build !js

package websocket

// Deployment tests: the library's server behind real reverse proxies
// (Debian's nginx and Caddy, started here on loopback with the configs of
// testdata/deploy, the ones the README's "Deploying" section shows), driven
// by Node `ws`, headless Chromium and our own Dialer. A missing proxy skips
// the tests with the install command, or fails them when $CI is set:
//
//	bash .ci/install-proxies.sh && bash .ci/install-peers.sh

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	deployDir         = "testdata/deploy"
	proxyInstallHint  = "bash .ci/install-proxies.sh"
	proxyStartTimeout = 20 * time.Second
)

// ---- Tools ----

var toolChecks sync.Map // binary -> *peerCheck

// requireTool returns the path of the program name (looked up on PATH,
// then in /usr/sbin, where Debian puts daemons), after checking that it
// runs with args. A missing or broken program skips the test, or fails it
// when $CI is set.
func requireTool(t testing.TB, name string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/" + name); serr == nil {
			bin, err = "/usr/sbin/"+name, nil
		}
	}
	if err == nil {
		v, _ := toolChecks.LoadOrStore(bin, &peerCheck{})
		pc := v.(*peerCheck)
		pc.once.Do(func() { pc.err = checkCommand(bin, args...) })
		err = pc.err
	}
	if err == nil {
		return bin
	}
	msg := fmt.Sprintf("%s is not available (%v); install it with: %s", name, err, proxyInstallHint)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// freeLoopbackAddr returns a 127.0.0.1 address with a port that was free
// a moment ago, for a server that must be told its port up front.
func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitListening polls addr until it accepts a TCP connection, failing the
// test if p exits first or nothing listens within proxyStartTimeout.
func waitListening(t testing.TB, p *peerProc, addr string) {
	t.Helper()
	deadline := time.Now().Add(proxyStartTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v) before listening on %s; stderr:\n%s", p.name, p.err, addr, p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not listening on %s after %v: %v; stderr:\n%s", p.name, addr, proxyStartTimeout, err, p.stderr.String())
		}
	}
}

// deployConfig returns the file of testdata/deploy with each old string
// replaced by its new one; each must occur, so that a config edited out
// of shape fails here rather than testing something else.
func deployConfig(t testing.TB, file string, oldnew ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, file))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(oldnew); i += 2 {
		if !strings.Contains(s, oldnew[i]) {
			t.Fatalf("%s no longer contains %q", file, oldnew[i])
		}
		s = strings.ReplaceAll(s, oldnew[i], oldnew[i+1])
	}
	return s
}

// The addresses the configs in testdata/deploy name.
const (
	deployDocBackend = "127.0.0.1:8080"
	deployDocListen  = "127.0.0.1:8000"
	deployDocTLS     = "localhost:8443"
)

// startNginx runs nginx in the foreground as a single process (no master,
// so no user switch) with site, the server block, on listen. It returns
// the base URL.
func startNginx(t *testing.T, site, listen string) string {
	t.Helper()
	bin := requireTool(t, "nginx", "-v")
	dir := t.TempDir()
	sitePath := filepath.Join(dir, "site.conf")
	if err := os.WriteFile(sitePath, []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	main := fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr notice;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[2]s;
    proxy_temp_path %[2]s;
    fastcgi_temp_path %[2]s;
    uwsgi_temp_path %[2]s;
    scgi_temp_path %[2]s;
    include %[3]s;
}
`, dir, tmp, sitePath)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startPeerProc(t, context.Background(), "nginx", bin, "-e", "stderr", "-p", dir, "-c", conf,
		"-g", "daemon off; master_process off;")
	waitListening(t, p, listen)
	return "http://" + listen
}

// startCaddy starts Caddy with testdata/deploy/Caddyfile in front of
// backend, and returns its plain and TLS base URLs and the PEM file of
// the internal CA that signed its certificate.
func startCaddy(t *testing.T, backend string) (plain, secure, rootPEM string) {
	t.Helper()
	bin := requireTool(t, "caddy", "version")
	dir := t.TempDir()
	listen, tlsPort := freeLoopbackAddr(t), freeLoopbackAddr(t)
	_, port, _ := net.SplitHostPort(tlsPort)
	tlsAddr := "localhost:" + port
	conf := filepath.Join(dir, "Caddyfile")
	cfg := deployConfig(t, "Caddyfile", deployDocBackend, backend, deployDocListen, listen, deployDocTLS, tlsAddr)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// Caddy keeps its state (the internal CA, certificates) under these.
	p := startPeerProc(t, context.Background(), "caddy", "env", "HOME="+dir,
		"XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		bin, "run", "--config", conf, "--adapter", "caddyfile")
	waitListening(t, p, listen)
	waitListening(t, p, "127.0.0.1:"+port)
	rootPEM = filepath.Join(dir, "data", "caddy", "pki", "authorities", "local", "root.crt")
	if _, err := os.Stat(rootPEM); err != nil {
		t.Fatalf("caddy's internal CA: %v", err)
	}
	return "http://" + listen, "https://" + tlsAddr, rootPEM
}

// ---- The backend ----

// deployBackend is the library's server behind the proxies: an Upgrader
// with the default Origin policy at /ws, and deploy.html at /deploy.html.
// Its handler echoes every message and knows the conventions of the peer
// scripts: "ping-me", "close-me <code> <reason>", and "hold", which
// signals holds (the test then calls Shutdown).
type deployBackend struct {
	up      *Upgrader
	srv     *httptest.Server
	holds   chan struct{}
	ends    chan error  // each connection's final read error
	rejects chan string // OnReject's status and error
	wg      sync.WaitGroup
}

func startDeployBackend(t *testing.T, configure func(*Upgrader)) *deployBackend {
	t.Helper()
	b := &deployBackend{holds: make(chan struct{}, 16), ends: make(chan error, 64), rejects: make(chan string, 16)}
	b.up = &Upgrader{
		ReadLimit: 4 << 20,
		Handler:   b.handle,
		OnReject: func(r *http.Request, status int, err error) {
			select {
			case b.rejects <- fmt.Sprintf("%d %v", status, err):
			default:
			}
		},
	}
	if configure != nil {
		configure(b.up)
	}
	page := filepath.Join(deployDir, "deploy.html")
	mux := http.NewServeMux()
	mux.Handle("/ws", b.up)
	mux.HandleFunc("/deploy.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFile(w, r, page)
	})
	b.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		b.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.up.Shutdown(ctx)
		done := make(chan struct{})
		go func() { b.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("backend handlers still running 10s after the test")
		}
	})
	return b
}

func (b *deployBackend) addr() string { return b.srv.Listener.Addr().String() }

func (b *deployBackend) handle(c *Conn) {
	b.wg.Add(1)
	defer b.wg.Done()
	var pings sync.WaitGroup
	defer pings.Wait()
	for {
		typ, p, err := c.ReadMessage()
		if err != nil {
			b.ended(err)
			return
		}
		switch s := string(p); {
		case typ == TextMessage && s == "ping-me":
			pings.Add(1)
			go func() {
				defer pings.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				if c.Ping(ctx, []byte("srv-ping")) == nil {
					c.WriteMessage(TextMessage, []byte("pong-received"))
				}
			}()
			continue
		case typ == TextMessage && strings.HasPrefix(s, "close-me "):
			code, reason, _ := strings.Cut(strings.TrimPrefix(s, "close-me "), " ")
			n, _ := strconv.Atoi(code)
			c.CloseWithStatus(StatusCode(n), reason)
			b.ended(fmt.Errorf("closed by close-me %d", n))
			return
		case typ == TextMessage && s == "hold":
			b.holds <- struct{}{}
		}
		if err := c.WriteMessage(typ, p); err != nil {
			b.ended(err)
			return
		}
	}
}

func (b *deployBackend) ended(err error) {
	select {
	case b.ends <- err:
	default: // nobody is looking
	}
}

// expectEnd waits for a connection that ended with the peer's close
// code and reason (other endings are skipped).
func (b *deployBackend) expectEnd(t *testing.T, code StatusCode, reason string) {
	t.Helper()
	timeout := time.After(peerLineTimeout)
	var seen []string
	for {
		select {
		case err := <-b.ends:
			var ce *CloseError
			if errors.As(err, &ce) && ce.Code == code && ce.Reason == reason {
				return
			}
			seen = append(seen, fmt.Sprint(err))
		case <-timeout:
			t.Fatalf("backend: no connection ended with the peer's close %v %q within %v (saw %q)", code, reason, peerLineTimeout, seen)
		}
	}
}

// ---- Clients through a front ----

// front is one way in: a proxy's base URL, and the CA to trust for https.
type front struct {
	name   string
	base   string // http://host:port or https://host:port
	rootCA string // PEM file, for https
}

func (f front) wsURL() string {
	return "ws" + strings.TrimPrefix(f.base, "http") + "/ws"
}

// nodeArgv prefixes a Node command line with what makes Node trust f's CA.
func (f front) nodeArgv(argv ...string) []string {
	if f.rootCA == "" {
		return argv
	}
	return append([]string{"env", "NODE_EXTRA_CA_CERTS=" + f.rootCA}, argv...)
}

func (f front) dialer(t *testing.T) *Dialer {
	d := interopDialer()
	if f.rootCA != "" {
		pem, err := os.ReadFile(f.rootCA)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatalf("no certificate in %s", f.rootCA)
		}
		d.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return d
}

// startPages opens deploy.html (with query) through each front, all in
// one Chromium (pages.js): a browser launch is the slowest step here.
func startPages(t *testing.T, query string, fronts ...front) *peerProc {
	argv := []string{"node", "pages.js"}
	var names []string
	for _, f := range fronts {
		argv = append(argv, f.base+"/deploy.html"+query)
		names = append(names, f.name)
		if f.rootCA != "" && argv[0] != "env" {
			// Chromium on Linux keeps its trust store in the profile's
			// NSS database; the throw-away profile trusts nothing extra.
			argv = append([]string{"env", "CHROMIUM_IGNORE_CERT_ERRORS=1"}, argv...)
		}
	}
	argv = append(argv, fmt.Sprintf("--timeout=%d", peerPageTimeout))
	ctx, cancel := context.WithTimeout(context.Background(), peerBrowserLimit)
	t.Cleanup(cancel)
	return startPeerProc(t, ctx, "chromium via "+strings.Join(names, ", "), argv...)
}

// deployPageResult is window.testResult of deploy.html.
type deployPageResult struct {
	OK     bool     `json:"ok"`
	Errors []string `json:"errors"`
	Closes []struct {
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	} `json:"closes"`
	PageProtocol string `json:"pageProtocol"`
}

// pageResults waits for pages.js to finish and returns the result of
// each page, in the order of its URLs.
func pageResults(t *testing.T, p *peerProc, n int) []deployPageResult {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(peerBrowserLimit + 10*time.Second):
		t.Fatalf("%s did not finish", p.name)
	}
	var out []deployPageResult
	for _, line := range p.out.all() {
		var r struct {
			URL    string           `json:"url"`
			Result deployPageResult `json:"result"`
		}
		if json.Unmarshal([]byte(line), &r) == nil && r.URL != "" {
			t.Logf("chromium on %s: %s", r.URL, line)
			out = append(out, r.Result)
		}
	}
	if len(out) != n {
		t.Fatalf("%s printed %d results for %d pages (exit %v): %q; stderr:\n%s", p.name, len(out), n, p.err, p.out.all(), p.stderr.String())
	}
	return out
}

// checkFronts drives every client through every front of b: Node's ws
// (text, 1 MiB binary, its close 4001 and the server's 4002), our Dialer
// (text, 1 MiB binary), Chromium on deploy.html (the same); then, with a Node client and the page of each front
// holding a connection, b's Upgrader.Shutdown must reach them all as
// 1001 through the proxies.
func checkFronts(t *testing.T, b *deployBackend, fronts ...front) {
	requirePeer(t, peerNode, peerInstallHint)
	requirePeer(t, peerChromium, peerInstallHint)
	// Chromium starts slowest: launch the pages first.
	pages := startPages(t, "", fronts...)
	for _, f := range fronts {
		runMatrixPeer(t, peerClientLimit, "ws_echo_close.js via "+f.name,
			f.nodeArgv("node", "ws_echo_close.js", f.wsURL(), fmt.Sprintf("--timeout=%d", peerPageTimeout))...)
		b.expectEnd(t, 4001, "bye")

		lines, err := runPeer(t, peerClientLimit, "ws_wait_close.js via "+f.name,
			f.nodeArgv("node", "ws_wait_close.js", f.wsURL(), "close-me 4002 server-bye")...)
		if got := strings.Join(lines, "|"); err != nil || got != "OPEN|CLOSE 4002 server-bye" {
			t.Errorf("node via %s: %q (exit %v), want OPEN, CLOSE 4002 server-bye", f.name, got, err)
		}

		goClientEcho(t, f)
	}
	holders := make([]*peerProc, len(fronts))
	for i, f := range fronts {
		holders[i] = startPeerProc(t, context.Background(), "node holder via "+f.name,
			f.nodeArgv("node", "ws_wait_close.js", f.wsURL(), "hold")...)
	}
	// Every page and holder must hold before the shutdown.
	deadline := time.After(peerBrowserLimit)
	for held := 0; held < 2*len(fronts); {
		select {
		case <-b.holds:
			held++
		case <-deadline:
			t.Fatalf("only %d of %d connections reached \"hold\"", held, 2*len(fronts))
		case <-time.After(100 * time.Millisecond):
			// A client that exits first will never hold.
			for _, p := range append([]*peerProc{pages}, holders...) {
				select {
				case <-p.done:
					t.Fatalf("%s exited (%v) before holding: %q; stderr:\n%s", p.name, p.err, p.out.all(), p.stderr.String())
				default:
				}
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.up.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	results := pageResults(t, pages, len(fronts))
	for i, f := range fronts {
		if line := holders[i].waitLine(t, "CLOSE ", peerLineTimeout); line != "CLOSE 1001 "+ShutdownReason {
			t.Errorf("node holder via %s: %q, want CLOSE 1001 %s", f.name, line, ShutdownReason)
		}
		res := results[i]
		if !res.OK {
			t.Errorf("chromium via %s: %q", f.name, res.Errors)
		}
		if len(res.Closes) != 3 {
			t.Errorf("chromium via %s: %d closes, want 3 (4001, 4002, 1001)", f.name, len(res.Closes))
		}
		if strings.HasPrefix(f.base, "https:") && res.PageProtocol != "h2" {
			t.Errorf("chromium via %s: page loaded over %q, want h2", f.name, res.PageProtocol)
		}
	}
}

// goClientEcho runs our Dialer through f: a text and a 1 MiB binary echo,
// and a close whose code the backend must see.
func goClientEcho(t *testing.T, f front) {
	t.Helper()
	c := interopDial(t, f.dialer(t), f.wsURL())
	big := interopBinary(1 << 20)
	for _, m := range []struct {
		typ MessageType
		p   []byte
	}{{TextMessage, []byte("hello from Go")}, {BinaryMessage, big}} {
		if err := c.WriteMessage(m.typ, m.p); err != nil {
			t.Fatalf("go client via %s: write: %v", f.name, err)
		}
		typ, p, err := c.ReadMessage()
		if err != nil || typ != m.typ || !bytes.Equal(p, m.p) {
			t.Fatalf("go client via %s: echo of %d bytes: got %v, %d bytes, %v", f.name, len(m.p), typ, len(p), err)
		}
	}
	if err := c.CloseWithStatus(4003, "go-bye"); err != nil {
		t.Errorf("go client via %s: close: %v", f.name, err)
	}
}

// ---- The tests ----

func nginxSite(t *testing.T, listen, backend string, oldnew ...string) string {
	return deployConfig(t, "nginx.conf", append([]string{deployDocListen, listen, deployDocBackend, backend}, oldnew...)...)
}

const nginxHostLine = "proxy_set_header Host $http_host;"

// TestDeployReverseProxies: the README's nginx and Caddy configs in front
// of one backend, for browsers and other clients alike; one Shutdown
// reaches the clients of all three fronts.
func TestDeployReverseProxies(t *testing.T) {
	t.Parallel()
	b := startDeployBackend(t, nil)
	listen := freeLoopbackAddr(t)
	nginx := startNginx(t, nginxSite(t, listen, b.addr()), listen)
	plain, secure, rootCA := startCaddy(t, b.addr())
	checkFronts(t, b,
		front{name: "nginx", base: nginx},
		front{name: "caddy", base: plain},
		front{name: "caddy tls", base: secure, rootCA: rootCA})
	select {
	case r := <-b.rejects:
		t.Errorf("backend refused a handshake: %s", r)
	default:
	}
}

// TestDeployNginxWithoutHost: the usual WebSocket config without the Host
// line. nginx then sends its upstream's name as Host, the page's Origin
// does not match it, and the browser sees only a failed connection: the
// refusal must say why, in the response and to OnReject.
func TestDeployNginxWithoutHost(t *testing.T) {
	t.Parallel()
	b := startDeployBackend(t, nil)
	listen := freeLoopbackAddr(t)
	base := startNginx(t, nginxSite(t, listen, b.addr(), nginxHostLine, ""), listen)
	f := front{name: "nginx without Host", base: base}
	want := fmt.Sprintf("origin %q is not allowed: it does not match the Host header %q", base, b.addr())
	const hint = "proxy_set_header Host $http_host;"
	expectReject := func(who string) {
		t.Helper()
		select {
		case r := <-b.rejects:
			if !strings.HasPrefix(r, "403 ") || !strings.Contains(r, want) || !strings.Contains(r, hint) {
				t.Errorf("%s: OnReject got %q, want 403 and %q and %q", who, r, want, hint)
			}
		case <-time.After(peerLineTimeout):
			t.Fatalf("%s: OnReject was not called", who)
		}
	}

	// The response, as a client that sends the browser's Origin reads it.
	_, resp, err := f.dialer(t).Dial(context.Background(), f.wsURL(), http.Header{"Origin": {base}})
	var he *HandshakeError
	if !errors.As(err, &he) || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("dial with Origin %s: %v, want a 403 HandshakeError", base, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), want) || !strings.Contains(string(body), hint) {
		t.Errorf("403 body %q lacks %q or %q", body, want, hint)
	}
	t.Logf("403 body through nginx: %s", bytes.TrimSpace(body))

	expectReject("dial with Origin")

	// Clients without an Origin (not browsers) are not affected.
	c := interopDial(t, f.dialer(t), f.wsURL())
	c.Close()

	// What a browser gets.
	requirePeer(t, peerChromium, peerInstallHint)
	res := pageResults(t, startPages(t, "?steps=open", f), 1)[0]
	if res.OK || len(res.Closes) != 1 || res.Closes[0].Code != 1006 {
		t.Errorf("chromium: %+v, want the connection to fail with 1006", res)
	}
	expectReject("chromium")
}

// TestDeployNginxForwardedHost: instead of Host, nginx forwards the
// browser's host as X-Forwarded-Host, which the Upgrader honours only
// with TrustForwardedHost.
func TestDeployNginxForwardedHost(t *testing.T) {
	t.Parallel()
	plain := startDeployBackend(t, nil)
	trusting := startDeployBackend(t, func(u *Upgrader) { u.TrustForwardedHost = true })
	for _, tc := range []struct {
		b    *deployBackend
		want int
	}{{plain, http.StatusForbidden}, {trusting, http.StatusSwitchingProtocols}} {
		listen := freeLoopbackAddr(t)
		base := startNginx(t, nginxSite(t, listen, tc.b.addr(), nginxHostLine, "proxy_set_header X-Forwarded-Host $http_host;"), listen)
		f := front{name: "nginx with X-Forwarded-Host", base: base}
		c, resp, err := f.dialer(t).Dial(context.Background(), f.wsURL(), http.Header{"Origin": {base}})
		if resp == nil || resp.StatusCode != tc.want {
			t.Errorf("TrustForwardedHost=%v: dial: %v, want status %d", tc.b.up.TrustForwardedHost, err, tc.want)
		}
		if c != nil {
			c.Close()
		}
	}
}

// TestDeployNginxIdleTimeout: nginx cuts a WebSocket on which the server
// sent nothing for proxy_read_timeout (here 1s instead of the README's
// 60s); Upgrader.PingInterval keeps it open.
func TestDeployNginxIdleTimeout(t *testing.T) {
	t.Parallel()
	var conns []*Conn
	for _, every := range []time.Duration{0, 300 * time.Millisecond} {
		b := startDeployBackend(t, func(u *Upgrader) { u.PingInterval = every })
		listen := freeLoopbackAddr(t)
		base := startNginx(t, nginxSite(t, listen, b.addr(), "proxy_read_timeout 60s;", "proxy_read_timeout 1s;"), listen)
		f := front{name: "nginx", base: base}
		c := interopDial(t, f.dialer(t), f.wsURL())
		if err := c.WriteMessage(TextMessage, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if _, p, err := c.ReadMessage(); err != nil || string(p) != "hi" {
			t.Fatalf("echo: %q, %v", p, err)
		}
		conns = append(conns, c)
	}
	quiet, pinged := conns[0], conns[1]
	start := time.Now()
	type result struct {
		err     error
		elapsed time.Duration
	}
	results := make(chan result, 2)
	for _, c := range []*Conn{quiet, pinged} {
		c.SetReadDeadline(start.Add(3 * time.Second))
		go func() {
			_, _, err := c.ReadMessage() // answers the pings meanwhile
			results <- result{err, time.Since(start)}
		}()
	}
	var got [2]result
	for range got {
		r := <-results
		if errors.Is(r.err, os.ErrDeadlineExceeded) {
			got[1] = r
		} else {
			got[0] = r
		}
	}
	if got[0].err == nil || got[0].elapsed < 500*time.Millisecond || got[0].elapsed > 2500*time.Millisecond {
		t.Errorf("idle connection: read ended with %v after %v, want nginx to cut it after about 1s", got[0].err, got[0].elapsed)
	}
	if got[1].err == nil {
		t.Errorf("pinged connection: both reads ended before the deadline; the pinged one must stay open")
	}
	if !t.Failed() {
		t.Logf("idle connection cut after %v (%v); the pinged one was open until its 3s read deadline", got[0].elapsed.Round(time.Millisecond), got[0].err)
	}
}

// ---- Docs ----

// TestDeployDocsMatchConfigs: the README shows the tested configs
// verbatim.
func TestDeployDocsMatchConfigs(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"nginx.conf", "Caddyfile"} {
		b, err := os.ReadFile(filepath.Join(deployDir, file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(readme, b) {
			t.Errorf("README.md does not contain %s verbatim", filepath.Join(deployDir, file))
		}
	}
}

// TestDeployEchoExampleBehindNginx: examples/echo, as the README runs it,
// behind nginx. With the README's config a browser's handshake (its
// Origin names nginx) is echoed; without the Host line it is refused, and
// the example's log says why and what to change.
func TestDeployEchoExampleBehindNginx(t *testing.T) {
	t.Parallel()
	requireTool(t, "nginx", "-v")
	bin := filepath.Join(t.TempDir(), "echo")
	if out, err := exec.Command("go", "build", "-o", bin, "./examples/echo").CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/echo: %v\n%s", err, out)
	}
	backend := freeLoopbackAddr(t)
	echo := startPeerProc(t, context.Background(), "examples/echo", bin, "-addr", backend)
	waitListening(t, echo, backend)

	for _, tc := range []struct {
		name   string
		oldnew []string
		status int
	}{
		{"README config", nil, http.StatusSwitchingProtocols},
		{"without Host", []string{nginxHostLine, ""}, http.StatusForbidden},
	} {
		listen := freeLoopbackAddr(t)
		base := startNginx(t, nginxSite(t, listen, backend, tc.oldnew...), listen)
		f := front{name: "nginx, " + tc.name, base: base}
		c, resp, err := f.dialer(t).Dial(context.Background(), f.wsURL(), http.Header{"Origin": {base}})
		if resp == nil || resp.StatusCode != tc.status {
			t.Fatalf("%s: dial with Origin %s: %v, want status %d", tc.name, base, err, tc.status)
		}
		if c == nil {
			continue
		}
		c.SetDeadline(time.Now().Add(15 * time.Second))
		if err := c.WriteMessage(TextMessage, []byte("Hello, Server!")); err != nil {
			t.Fatal(err)
		}
		if _, p, err := c.ReadMessage(); err != nil || string(p) != "Hello, Server!" {
			t.Errorf("%s: echo %q, %v", tc.name, p, err)
		}
		c.Close()
	}
	const want = "refused /ws from 127.0.0.1:" // then nginx's port
	deadline := time.Now().Add(peerLineTimeout)
	for !strings.Contains(echo.stderr.String(), nginxHostLine) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if log := echo.stderr.String(); !strings.Contains(log, want) || !strings.Contains(log, "403 websocket: origin") || !strings.Contains(log, nginxHostLine) {
		t.Errorf("the example's log does not say why it refused the handshake:\n%s", log)
	} else {
		t.Logf("examples/echo logged:\n%s", log)
	}
}
