//go:build !js

package websocket

// Forward-proxy tests: our Dialer through real tinyproxy and squid (Debian
// packages, started here on loopback with generated configs), chosen by
// Dialer.Proxy or by HTTP_PROXY / HTTPS_PROXY / NO_PROXY, with and without
// credentials, to ws:// and to wss:// servers whose certificate comes from
// a private root generated here. A missing proxy skips the tests with the
// install command, or fails them when $CI is set:
//
//	bash .ci/install-proxies.sh

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// proxyTestHost is a name that only the test's proxies (squid, through its
// hosts_file) and the test's own dial function resolve, to 127.0.0.1: Go's
// environment proxies never apply to loopback addresses or localhost, so
// a test of them needs a target that does not look local.
const proxyTestHost = "ws.test"

// The credentials the authenticating proxies accept.
const proxyUser, proxyPassword = "alice", "s3cret"

// ---- Servers behind the proxies ----

// testPKI is a private root and a server certificate it signed, for
// proxyTestHost, localhost and 127.0.0.1.
type testPKI struct {
	pool    *x509.CertPool
	rootPEM string // file
	cert    tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rootTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wsstd test root"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: proxyTestHost},
		DNSNames:     []string{proxyTestHost, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, root, &leafKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{pool: x509.NewCertPool(), rootPEM: filepath.Join(t.TempDir(), "root.pem")}
	p.pool.AddCert(root)
	p.cert = tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
	if err := os.WriteFile(p.rootPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startProxyTargets starts an echo server over ws:// and one over wss://
// (with pki's certificate) and returns their ports.
func startProxyTargets(t *testing.T, pki *testPKI) (wsPort, wssPort string) {
	t.Helper()
	up := &Upgrader{Handler: func(c *Conn) {
		for {
			typ, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if c.WriteMessage(typ, p) != nil {
				return
			}
		}
	}}
	plain := httptest.NewServer(up)
	t.Cleanup(plain.Close)
	secure := httptest.NewUnstartedServer(up)
	secure.TLS = &tls.Config{Certificates: []tls.Certificate{pki.cert}}
	// The test dials it once on purpose without the private root.
	secure.Config.ErrorLog = log.New(io.Discard, "", 0)
	secure.StartTLS()
	t.Cleanup(secure.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		up.Shutdown(ctx)
	})
	_, wsPort, _ = net.SplitHostPort(plain.Listener.Addr().String())
	_, wssPort, _ = net.SplitHostPort(secure.Listener.Addr().String())
	return wsPort, wssPort
}

// proxyDial dials rawURL with d and checks one echo.
func proxyDial(d *Dialer, rawURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, _, err := d.Dial(ctx, rawURL, nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	if err := c.WriteMessage(TextMessage, []byte("through the proxy")); err != nil {
		return err
	}
	if _, p, err := c.ReadMessage(); err != nil || string(p) != "through the proxy" {
		return fmt.Errorf("echo: %q, %v", p, err)
	}
	return c.Close()
}

// testHostDial is a NetDialContext that resolves proxyTestHost to
// 127.0.0.1, as the proxies do.
func testHostDial(ctx context.Context, network, addr string) (net.Conn, error) {
	if host, port, err := net.SplitHostPort(addr); err == nil && host == proxyTestHost {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// ---- The proxies ----

// proxyDir returns a temp dir that a proxy which drops root privileges
// (squid runs as the "proxy" user) can use.
func proxyDir(t *testing.T) string {
	t.Helper()
	// Not under t.TempDir(), whose parent only its owner may enter.
	dir, err := os.MkdirTemp("", "wsstd-proxy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chownToProxyUser hands paths to Debian's "proxy" user when running as
// root, the user squid switches to.
func chownToProxyUser(t *testing.T, paths ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("proxy")
	if err != nil {
		t.Fatalf("squid runs as the proxy user when started as root: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range paths {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// startTinyproxy runs tinyproxy in the foreground; with auth it wants
// proxyUser and proxyPassword. It allows CONNECT to every port.
func startTinyproxy(t *testing.T, auth bool) (*url.URL, *peerProc) {
	t.Helper()
	bin := requireTool(t, "tinyproxy", "-v")
	dir := proxyDir(t)
	addr := freeLoopbackAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := fmt.Sprintf("Port %s\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogLevel Info\n", port)
	// No ConnectPort line: CONNECT may go to any port.
	if auth {
		conf += fmt.Sprintf("BasicAuth %s %s\n", proxyUser, proxyPassword)
	}
	path := filepath.Join(dir, "tinyproxy.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startPeerProc(t, context.Background(), "tinyproxy", bin, "-d", "-c", path)
	waitListening(t, p, addr)
	return &url.URL{Scheme: "http", Host: addr}, p
}

// squidProxy is a running squid and its access log.
type squidProxy struct {
	url       *url.URL
	accessLog string
}

// startSquid runs squid in the foreground (-N) with its pid, logs and
// (memory-only) cache in a temp dir; it resolves proxyTestHost through its
// own hosts file. With auth it wants proxyUser and proxyPassword, checked
// by a basic-auth helper script written here.
func startSquid(t *testing.T, auth bool) *squidProxy {
	t.Helper()
	bin := requireTool(t, "squid", "-v")
	dir := proxyDir(t)
	addr := freeLoopbackAddr(t)
	hosts := filepath.Join(dir, "hosts")
	if err := os.WriteFile(hosts, []byte("127.0.0.1 "+proxyTestHost+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &squidProxy{url: &url.URL{Scheme: "http", Host: addr}, accessLog: filepath.Join(dir, "access.log")}
	var b strings.Builder
	fmt.Fprintf(&b, "http_port %s\n", addr)
	fmt.Fprintf(&b, "pid_filename none\ncache_log /dev/null\naccess_log stdio:%s\n", s.accessLog)
	fmt.Fprintf(&b, "cache deny all\nnetdb_filename none\ncoredump_dir %s\nshutdown_lifetime 0 seconds\n", dir)
	fmt.Fprintf(&b, "hosts_file %s\npinger_enable off\n", hosts)
	if auth {
		helper := filepath.Join(dir, "auth.sh")
		script := fmt.Sprintf("#!/bin/sh\n# squid basic auth helper: one \"user password\" line in, OK or ERR out.\n"+
			"while read -r user pass; do\n  if [ \"$user\" = %q ] && [ \"$pass\" = %q ]; then echo OK; else echo ERR; fi\ndone\n",
			proxyUser, proxyPassword)
		if err := os.WriteFile(helper, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "auth_param basic program %s\nauth_param basic children 1\nauth_param basic realm wsstd-test\n", helper)
		b.WriteString("acl authed proxy_auth REQUIRED\nhttp_access allow authed\n")
	} else {
		b.WriteString("acl loopback src 127.0.0.1/32\nhttp_access allow loopback\n")
	}
	b.WriteString("http_access deny all\n")
	conf := filepath.Join(dir, "squid.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	chownToProxyUser(t, dir)
	p := startPeerProc(t, context.Background(), "squid", bin, "-N", "-d", "1", "-f", conf)
	waitListening(t, p, addr)
	return s
}

// connects returns the CONNECT targets in squid's access log.
func (s *squidProxy) connects() []string {
	b, _ := os.ReadFile(s.accessLog)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "CONNECT" {
				out = append(out, f[i+1])
			}
		}
	}
	return out
}

// waitConnects waits until squid logged every one of want (it logs a
// tunnel when it ends), and returns all it logged.
func (s *squidProxy) waitConnects(t *testing.T, want ...string) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := s.connects()
		missing := false
		for _, w := range want {
			if !contains(got, w) {
				missing = true
			}
		}
		if !missing {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("squid's access log has CONNECTs %q, want %q among them", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- Dialer.Proxy ----

func TestProxyExplicit(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	wsPort, wssPort := startProxyTargets(t, pki)
	for _, name := range []string{"tinyproxy", "squid"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var pu *url.URL
			var sq *squidProxy
			var tiny *peerProc
			if name == "tinyproxy" {
				pu, tiny = startTinyproxy(t, false)
			} else {
				sq = startSquid(t, false)
				pu = sq.url
			}
			d := &Dialer{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: pki.pool}}
			for _, u := range []string{"ws://127.0.0.1:" + wsPort + "/", "wss://127.0.0.1:" + wssPort + "/"} {
				if err := proxyDial(d, u); err != nil {
					t.Errorf("%s through %s: %v", u, name, err)
				}
			}
			// The proxy only tunnels: TLS is between us and the server,
			// so without the private root the certificate is refused.
			d.TLSClientConfig = nil
			err := proxyDial(d, "wss://127.0.0.1:"+wssPort+"/")
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Errorf("wss through %s without the private root: %v, want a certificate error", name, err)
			}
			// Both proxies log the tunnels they opened.
			if sq != nil {
				sq.waitConnects(t, "127.0.0.1:"+wsPort, "127.0.0.1:"+wssPort)
			} else {
				for _, port := range []string{wsPort, wssPort} {
					want := "CONNECT 127.0.0.1:" + port + " "
					if !strings.Contains(tiny.stderr.String()+strings.Join(tiny.out.all(), "\n"), want) {
						t.Errorf("tinyproxy logged no %q", want)
					}
				}
			}
		})
	}
}

// TestProxyCredentials: credentials in the proxy URL, and the error when
// they are missing or wrong.
func TestProxyCredentials(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	wsPort, wssPort := startProxyTargets(t, pki)
	for _, name := range []string{"tinyproxy", "squid"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var pu *url.URL
			if name == "tinyproxy" {
				pu, _ = startTinyproxy(t, true)
			} else {
				pu = startSquid(t, true).url
			}
			dial := func(user *url.Userinfo, target string) error {
				u := *pu
				u.User = user
				return proxyDial(&Dialer{Proxy: http.ProxyURL(&u), TLSClientConfig: &tls.Config{RootCAs: pki.pool}}, target)
			}
			for _, target := range []string{"ws://127.0.0.1:" + wsPort + "/", "wss://127.0.0.1:" + wssPort + "/"} {
				if err := dial(url.UserPassword(proxyUser, proxyPassword), target); err != nil {
					t.Errorf("%s with credentials: %v", target, err)
				}
			}
			target := "ws://127.0.0.1:" + wsPort + "/"
			err := dial(nil, target)
			t.Logf("%s without credentials: %v", name, err)
			if err == nil || !strings.Contains(err.Error(), "refused CONNECT") || !strings.Contains(err.Error(), "the proxy wants credentials") {
				t.Errorf("without credentials: %v, want a refusal that asks for credentials in the proxy URL", err)
			}
			err = dial(url.UserPassword(proxyUser, "wrong"), target)
			t.Logf("%s with a wrong password: %v", name, err)
			if err == nil || !strings.Contains(err.Error(), `rejected user "alice"`) {
				t.Errorf("with a wrong password: %v, want a refusal naming the rejected user", err)
			}
			if err != nil && strings.Contains(err.Error(), "wrong") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

// ---- Environment proxies ----

// net/http reads HTTP_PROXY, HTTPS_PROXY and NO_PROXY once per process,
// so each environment is tried in a child process: the test binary run
// again as TestProxyEnvChild.
const proxyChildEnv = "WSSTD_PROXY_TEST_CHILD"

// TestProxyEnvChild is the child: it dials every URL of $WSSTD_PROXY_TEST_CHILD
// (space-separated) with a Dialer whose Proxy is nil (the environment's),
// trusting the root in $WSSTD_PROXY_TEST_ROOT, and prints one line each.
func TestProxyEnvChild(t *testing.T) {
	urls := os.Getenv(proxyChildEnv)
	if urls == "" {
		t.Skip("run by TestProxyFromEnvironment")
	}
	pool := x509.NewCertPool()
	if b, err := os.ReadFile(os.Getenv("WSSTD_PROXY_TEST_ROOT")); err == nil {
		pool.AppendCertsFromPEM(b)
	}
	d := &Dialer{NetDialContext: testHostDial, TLSClientConfig: &tls.Config{RootCAs: pool}}
	for _, u := range strings.Fields(urls) {
		if err := proxyDial(d, u); err != nil {
			fmt.Printf("RESULT %s ERR %v\n", u, err)
		} else {
			fmt.Printf("RESULT %s OK\n", u)
		}
	}
}

// runProxyEnvChild runs TestProxyEnvChild with env added to a copy of the
// environment without its proxy variables, and returns URL -> "OK" or
// "ERR ...".
func runProxyEnvChild(t *testing.T, rootPEM string, env []string, urls ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestProxyEnvChild$", "-test.v", "-test.timeout=90s")
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "REQUEST_METHOD", proxyChildEnv:
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Env = append(cmd.Env, proxyChildEnv+"="+strings.Join(urls, " "), "WSSTD_PROXY_TEST_ROOT="+rootPEM)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child with %q: %v\n%s", env, err, out)
	}
	res := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if f := strings.SplitN(sc.Text(), " ", 3); len(f) == 3 && f[0] == "RESULT" {
			res[f[1]] = f[2]
		}
	}
	if len(res) != len(urls) {
		t.Fatalf("child with %q printed %d results for %d URLs:\n%s", env, len(res), len(urls), out)
	}
	return res
}

// TestProxyFromEnvironment: HTTPS_PROXY for wss://, HTTP_PROXY for ws://,
// NO_PROXY, credentials in the variable, and the documented exception:
// the environment's proxy never applies to localhost or loopback targets.
func TestProxyFromEnvironment(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	wsPort, wssPort := startProxyTargets(t, pki)
	sq := startSquid(t, true)
	withCreds := *sq.url
	withCreds.User = url.UserPassword(proxyUser, proxyPassword)
	ws := "ws://" + proxyTestHost + ":" + wsPort + "/"
	wss := "wss://" + proxyTestHost + ":" + wssPort + "/"
	loopback := []string{"ws://127.0.0.1:" + wsPort + "/", "ws://localhost:" + wsPort + "/", "wss://localhost:" + wssPort + "/"}

	// Each variable applies to its own scheme; the other goes direct
	// (proxyTestHost resolves through the child's dial function).
	res := runProxyEnvChild(t, pki.rootPEM, []string{"HTTPS_PROXY=" + withCreds.String()}, ws, wss)
	if res[ws] != "OK" || res[wss] != "OK" {
		t.Errorf("HTTPS_PROXY: %q", res)
	}
	if got := sq.waitConnects(t, proxyTestHost+":"+wssPort); len(got) != 1 {
		t.Errorf("with HTTPS_PROXY alone, squid tunnelled %q, want only the wss target", got)
	}

	// Loopback targets first: had they gone through squid, it would log
	// them before the proxied dial that follows.
	res = runProxyEnvChild(t, pki.rootPEM, []string{"HTTP_PROXY=" + withCreds.String(), "HTTPS_PROXY=" + withCreds.String()}, append(loopback, ws)...)
	for u, r := range res {
		if r != "OK" {
			t.Errorf("HTTP(S)_PROXY, %s: %s", u, r)
		}
	}
	got := sq.waitConnects(t, proxyTestHost+":"+wsPort)
	for _, c := range got {
		if !strings.HasPrefix(c, proxyTestHost+":") {
			t.Errorf("squid tunnelled %s: loopback targets must not use the environment's proxy", c)
		}
	}

	// NO_PROXY sends proxyTestHost direct; without credentials the proxy
	// refuses the other.
	res = runProxyEnvChild(t, pki.rootPEM, []string{"HTTP_PROXY=" + sq.url.String(), "HTTPS_PROXY=" + sq.url.String(), "NO_PROXY=" + proxyTestHost}, ws, wss)
	if res[ws] != "OK" || res[wss] != "OK" {
		t.Errorf("NO_PROXY=%s: %q", proxyTestHost, res)
	}
	res = runProxyEnvChild(t, pki.rootPEM, []string{"HTTPS_PROXY=" + sq.url.String()}, wss)
	if !strings.Contains(res[wss], "407") || !strings.Contains(res[wss], "the proxy wants credentials") {
		t.Errorf("HTTPS_PROXY without credentials: %s, want a 407 refusal asking for credentials", res[wss])
	}
	// Two tunnels and this refusal, nothing for NO_PROXY or loopback.
	deadline := time.Now().Add(10 * time.Second)
	for len(sq.connects()) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := sq.connects(); len(got) != 3 {
		t.Errorf("squid logged CONNECTs %q, want 3: two tunnels to %s and one refusal", got, proxyTestHost)
	}
}
