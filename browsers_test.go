//go:build unix && !js

package websocket

// The interop and example-page tests in every browser engine a user runs:
// Chromium (through playwright-core, as in interop_test.go), Firefox ESR
// (headless, fresh profile) and WebKitGTK's MiniBrowser (Safari's engine,
// under Xvfb). None is driven through an automation protocol that only one
// engine has: each opens a page served by the Go test server, the page runs
// the checks in JavaScript and POSTs its log and result to a collector (see
// runBrowserPage). All three are Debian packages (.ci/install-peers.sh).
//
// The browsers' own background traffic (updates, telemetry, safe browsing)
// is sent to a dead proxy on loopback, which counts the attempts; only
// 127.0.0.1 and localhost bypass it.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// browserEngines are the engines runBrowserPage can drive.
var browserEngines = []string{peerChromium, peerFirefox, peerWebKit}

// browserResult is what a page reported: matrix.html's fields, decoded,
// and the whole JSON for pages that report more.
type browserResult struct {
	peerResult
	ServerClose *struct {
		Code     int    `json:"code"`
		Reason   string `json:"reason"`
		WasClean bool   `json:"wasClean"`
	} `json:"serverClose"`
	UserAgent string `json:"userAgent"`

	Raw        json.RawMessage // the page's result as it sent it
	Log        []string        // the page's log lines, in order
	ProxyTries int             // requests the browser sent to the dead proxy
}

// runBrowserPage opens pageURL in engine (peerChromium, peerFirefox or
// peerWebKit) and returns the result the page reports. The page must follow
// matrix.html's convention: with ?report=URL (added here) it POSTs log lines
// to URL/log and its JSON result to URL/result. The browser is stopped
// before runBrowserPage returns. The test fails if no result comes within
// peerBrowserLimit; checking the result is up to the caller.
func runBrowserPage(t *testing.T, engine, pageURL string) browserResult {
	t.Helper()
	return runBrowserPageLimit(t, engine, pageURL, peerBrowserLimit)
}

// browserSlots bounds the browsers runBrowserPage runs at once: each one
// is several processes that would otherwise crowd the machine and slow
// every other test (and their timing) down.
var browserSlots = make(chan struct{}, 1)

// runBrowserPageLimit is runBrowserPage with a limit of its own.
func runBrowserPageLimit(t *testing.T, engine, pageURL string, limit time.Duration) browserResult {
	t.Helper()
	requirePeer(t, engine, peerInstallHint)
	browserSlots <- struct{}{}
	defer func() { <-browserSlots }()
	col := startPageCollector(t)
	proxy := startDeadProxy(t)

	u, err := url.Parse(pageURL)
	if err != nil {
		t.Fatalf("page URL %q: %v", pageURL, err)
	}
	q := u.Query()
	q.Set("report", col.URL)
	u.RawQuery = q.Encode()

	start := time.Now()
	b := startBrowser(t, engine, u.String(), proxy.addr)
	var res browserResult
	select {
	case raw := <-col.result:
		res.Raw = raw
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Errorf("%s: bad result %q: %v", engine, raw, err)
		}
	case <-b.done:
		t.Errorf("%s exited (%v) before the page reported a result", engine, b.err)
	case <-time.After(limit):
		t.Errorf("%s: the page reported no result within %v", engine, limit)
	}
	b.stop(t)
	res.Log = col.lines()
	var asked string
	res.ProxyTries, asked = proxy.summary()
	t.Logf("%s: page ran for %v; %s", engine, time.Since(start).Round(time.Millisecond), res.UserAgent)
	if res.ProxyTries > 0 {
		t.Logf("%s: %d request(s) to the dead proxy: %s", engine, res.ProxyTries, asked)
	}
	if res.Raw == nil || t.Failed() {
		t.Logf("%s page log:\n%s", engine, strings.Join(res.Log, "\n"))
		t.Logf("%s output:\n%s", engine, b.out.String())
		if res.Raw == nil {
			t.FailNow()
		}
	}
	return res
}

// ---- The collector the pages report to ----

type pageCollector struct {
	*httptest.Server
	result chan []byte

	mu  sync.Mutex
	log map[int]string // by the page's sequence number
}

func startPageCollector(t *testing.T) *pageCollector {
	c := &pageCollector{result: make(chan []byte, 1), log: make(map[int]string)}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			return
		}
		switch r.URL.Path {
		case "/result":
			select {
			case c.result <- body:
			default: // only the first result counts
			}
		case "/log":
			// fetch does not keep the page's order: lines carry a number.
			n, line, _ := strings.Cut(string(body), " ")
			i, _ := strconv.Atoi(n)
			c.mu.Lock()
			c.log[i] = line
			c.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *pageCollector) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]int, 0, len(c.log))
	for k := range c.log {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = c.log[k]
	}
	return out
}

// deadProxy listens on loopback and answers every request 502 without
// forwarding anything: a proxy that lets nothing through, for the
// browsers' background traffic. It records what was asked for.
type deadProxy struct {
	addr string
	mu   sync.Mutex
	asks map[string]int // request line target -> count
}

func startDeadProxy(t *testing.T) *deadProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &deadProxy{addr: ln.Addr().String(), asks: make(map[string]int)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(2 * time.Second))
				line, _ := bufio.NewReader(io.LimitReader(c, 4096)).ReadString('\n')
				f := strings.Fields(line)
				target := "(nothing)"
				if len(f) >= 2 {
					target = f[0] + " " + f[1]
				}
				p.mu.Lock()
				p.asks[target]++
				p.mu.Unlock()
				io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return p
}

// summary lists what the browser asked the proxy for, most asked first.
func (p *deadProxy) summary() (int, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	type ask struct {
		target string
		n      int
	}
	var all []ask
	total := 0
	for k, n := range p.asks {
		all = append(all, ask{k, n})
		total += n
	}
	sort.Slice(all, func(i, j int) bool {
		return all[i].n > all[j].n || all[i].n == all[j].n && all[i].target < all[j].target
	})
	var parts []string
	for _, a := range all {
		parts = append(parts, fmt.Sprintf("%s x%d", a.target, a.n))
	}
	return total, strings.Join(parts, ", ")
}

// ---- Browser processes ----

// browserProc is a browser (or Xvfb) started in a process group of its
// own, so that stopping it also stops the processes it started.
type browserProc struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error
	once sync.Once
}

func startProcGroup(t *testing.T, name string, env []string, extra []*os.File, argv ...string) *browserProc {
	t.Helper()
	p := &browserProc{name: name, out: new(lockedBuffer), done: make(chan struct{})}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = peersDir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	cmd.ExtraFiles = extra
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Output pipes held by a stray child must not keep Wait forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: starting %v: %v", name, argv, err)
	}
	p.cmd = cmd
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends the process group: SIGTERM, then SIGKILL after 5 s.
func (p *browserProc) stop(t *testing.T) {
	p.once.Do(func() {
		pgid := p.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				t.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, pgid)
			}
		}
		// Children that left the group's leader behind.
		syscall.Kill(-pgid, syscall.SIGKILL)
	})
}

// startBrowser starts engine on pageURL with its background traffic sent
// to the dead proxy at proxy.
func startBrowser(t *testing.T, engine, pageURL, proxy string) *browserProc {
	t.Helper()
	switch engine {
	case peerChromium:
		// Chromium never sends loopback requests to a proxy.
		return startProcGroup(t, engine, []string{
			"CHROMIUM=" + chromiumBin(),
			"CHROMIUM_EXTRA_FLAGS=--proxy-server=http://" + proxy,
		}, nil, nodeBin(), "browser.js", pageURL, fmt.Sprintf("--timeout=%d", peerPageTimeout))
	case peerFirefox:
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "user.js"), firefoxPrefs(proxy), 0o644); err != nil {
			t.Fatal(err)
		}
		return startProcGroup(t, engine, []string{
			"HOME=" + dir,
			"MOZ_CRASHREPORTER_DISABLE=1",
			"MOZ_DISABLE_AUTO_SAFE_MODE=1",
		}, nil, firefoxBin(), "--headless", "--no-remote", "--new-instance", "--profile", dir, pageURL)
	case peerWebKit:
		display := startXvfb(t)
		dir := t.TempDir()
		return startProcGroup(t, engine, []string{
			"DISPLAY=" + display,
			"HOME=" + dir,
			"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
			"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
			"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
			"http_proxy=http://" + proxy,
			"https_proxy=http://" + proxy,
			"no_proxy=127.0.0.1,localhost",
			"NO_AT_BRIDGE=1", // no accessibility bus to look for
		}, nil, webkitBin(), "--private",
			"--proxy=http://"+proxy, "--ignore-host=127.0.0.1", "--ignore-host=localhost",
			"--enable-write-console-messages-to-stdout=true", pageURL)
	}
	t.Fatalf("unknown browser engine %q", engine)
	return nil
}

// firefoxPrefs returns a user.js for a throw-away profile: every proxy is
// the dead one except for loopback, and nothing updates, reports or
// fetches lists in the background.
func firefoxPrefs(proxy string) []byte {
	host, p, _ := net.SplitHostPort(proxy)
	port, _ := strconv.Atoi(p)
	prefs := []struct {
		name  string
		value any
	}{
		{"network.proxy.type", 1},
		{"network.proxy.http", host}, {"network.proxy.http_port", port},
		{"network.proxy.ssl", host}, {"network.proxy.ssl_port", port},
		{"network.proxy.socks", host}, {"network.proxy.socks_port", port},
		{"network.proxy.no_proxies_on", "127.0.0.1,localhost"},
		{"network.proxy.allow_hijacking_localhost", false},
		{"app.update.auto", false},
		{"app.update.disabledForTesting", true},
		{"app.normandy.enabled", false},
		{"extensions.update.enabled", false},
		{"extensions.getAddons.cache.enabled", false},
		{"toolkit.telemetry.enabled", false},
		{"toolkit.telemetry.unified", false},
		{"toolkit.telemetry.server", ""},
		{"datareporting.policy.dataSubmissionEnabled", false},
		{"datareporting.healthreport.uploadEnabled", false},
		{"browser.safebrowsing.malware.enabled", false},
		{"browser.safebrowsing.phishing.enabled", false},
		{"browser.safebrowsing.downloads.enabled", false},
		{"browser.safebrowsing.provider.mozilla.updateURL", ""},
		{"browser.shell.checkDefaultBrowser", false},
		{"browser.startup.homepage_override.mstone", "ignore"},
		{"browser.aboutwelcome.enabled", false},
		{"browser.newtabpage.enabled", false},
		{"browser.search.update", false},
		{"browser.region.network.url", ""},
		{"network.captive-portal-service.enabled", false},
		{"network.connectivity-service.enabled", false},
		{"network.dns.disablePrefetch", true},
		{"network.prefetch-next", false},
		{"services.settings.server", ""},
		{"media.gmp-manager.updateEnabled", false},
		{"datareporting.usage.uploadEnabled", false},
	}
	var b strings.Builder
	b.WriteString("// Written by browsers_test.go for a throw-away profile.\n")
	for _, p := range prefs {
		v, _ := json.Marshal(p.value)
		fmt.Fprintf(&b, "user_pref(%q, %s);\n", p.name, v)
	}
	return []byte(b.String())
}

// startXvfb starts a virtual X server on a free display and returns its
// name (":N") once it accepts clients.
func startXvfb(t *testing.T) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// -displayfd: Xvfb picks a free display and writes its number to fd 3
	// when it is ready.
	startProcGroup(t, "Xvfb", nil, []*os.File{w}, xvfbBin(), "-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "1280x800x24")
	w.Close()
	r.SetReadDeadline(time.Now().Add(peerStartTimeout))
	line, err := bufio.NewReader(r).ReadString('\n')
	n, convErr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || convErr != nil {
		t.Fatalf("Xvfb gave no display number (%q, %v)", line, err)
	}
	return ":" + strconv.Itoa(n)
}

// ---- Tests ----

// TestBrowsersInterop runs matrix.html in every engine against our server,
// with compression off and in both permessage-deflate modes (one server
// each, all three in one browser start through matrix_runs.html): echoes
// of text and binary up to 1 MiB, a subprotocol, a server ping, the page's
// close (4001 "bye") and the server's (4002 "server-bye").
func TestBrowsersInterop(t *testing.T) {
	t.Parallel()
	pages := map[string]string{
		"/matrix.html":      filepath.Join(peersDir, "matrix.html"),
		"/matrix_runs.html": filepath.Join(peersDir, "matrix_runs.html"),
	}
	modes := []CompressionMode{CompressionDisabled, CompressionNoContextTakeover, CompressionContextTakeover}
	for _, engine := range browserEngines {
		t.Run(engine, func(t *testing.T) {
			requirePeer(t, engine, peerInstallHint)
			q := url.Values{"protocol": {"chat"}, "serverclose": {"1"}}
			servers := make([]*goEchoServer, len(modes))
			for i, mode := range modes {
				servers[i] = startGoEchoServerMode(t, pages, mode)
				q.Add("url", servers[i].wsURL())
			}
			res := runBrowserPage(t, engine, servers[0].URL+"/matrix_runs.html?"+q.Encode())
			var out struct {
				Runs []struct {
					URL string `json:"url"`
					browserResult
				} `json:"runs"`
			}
			if err := json.Unmarshal(res.Raw, &out); err != nil || len(out.Runs) != len(modes) {
				t.Fatalf("%s: %d matrix runs reported (%v), want %d; errors %q", engine, len(out.Runs), err, len(modes), res.Errors)
			}
			for i, mode := range modes {
				checkBrowserMatrix(t, engine, mode, servers[i], out.Runs[i].browserResult)
			}
		})
	}
}

// checkBrowserMatrix checks one matrix.html run in engine against s.
func checkBrowserMatrix(t *testing.T, engine string, mode CompressionMode, s *goEchoServer, res browserResult) {
	t.Helper()
	label := engine + " with " + compressionModeName(mode)
	if !res.OK || len(res.Errors) > 0 {
		t.Errorf("%s: matrix failed: %q", label, res.Errors)
	}
	if res.Protocol != "chat" {
		t.Errorf("%s: subprotocol %q, want chat", label, res.Protocol)
	}
	if res.Close == nil || res.Close.Code != 4001 || res.Close.Reason != "bye" {
		t.Errorf("%s: saw close %+v, want 4001 \"bye\" echoed", label, res.Close)
	}
	if sc := res.ServerClose; sc == nil || sc.Code != 4002 || sc.Reason != "server-bye" || !sc.WasClean {
		t.Errorf("%s: saw the server's close as %+v, want a clean 4002 \"server-bye\"", label, sc)
	}
	rec := s.waitRecord(t, peerLineTimeout)
	checkServerClose(t, rec, 4001, "bye")
	if rec.subprotocol != "chat" || rec.pings != 1 {
		t.Errorf("%s: Go server: subprotocol %q, ping-me %d times; want chat, 1", label, rec.subprotocol, rec.pings)
	}
	t.Logf("%s: offered Sec-WebSocket-Extensions %q; the page reports %q", label, rec.offeredExt, res.Extensions)
	if !strings.Contains(rec.offeredExt, "permessage-deflate") {
		t.Errorf("%s did not offer permessage-deflate (offered %q)", label, rec.offeredExt)
	}
	wantDeflate := mode != CompressionDisabled
	if rec.deflate != wantDeflate || strings.Contains(res.Extensions, "permessage-deflate") != wantDeflate {
		t.Errorf("%s: server PerMessageDeflate %v, page's extensions %q; want deflate %v", label, rec.deflate, res.Extensions, wantDeflate)
	}
	rec2 := s.waitRecord(t, peerLineTimeout)
	if rec2.closeErr != nil {
		t.Errorf("%s: Go server: CloseWithStatus(4002): %v, want the close handshake completed", label, rec2.closeErr)
	}
}

func compressionModeName(m CompressionMode) string {
	switch m {
	case CompressionDisabled:
		return "nodeflate"
	case CompressionNoContextTakeover:
		return "deflate-nocontext"
	case CompressionContextTakeover:
		return "deflate-context"
	}
	return "mode" + strconv.Itoa(int(m))
}

// TestBrowsersEchoExample uses the echo example's page in every engine as
// a person would (echo_page.html drives it through its DOM): the state and
// what was negotiated shown, type and send, round-trip time, close, no
// "sent" after the close, reconnect, send again.
func TestBrowsersEchoExample(t *testing.T) {
	t.Parallel()
	pages := map[string]string{
		"/":               filepath.Join("examples", "echo", "index.html"),
		"/echo_page.html": filepath.Join(peersDir, "echo_page.html"),
	}
	for _, engine := range browserEngines {
		t.Run(engine, func(t *testing.T) {
			// The example with -compress: the page shows the extension.
			s := startGoEchoServerMode(t, pages, CompressionNoContextTakeover)
			res := runBrowserPage(t, engine, s.URL+"/echo_page.html")
			if !res.OK || len(res.Errors) > 0 {
				t.Errorf("%s: echo page: %q", engine, res.Errors)
			}
			var page struct {
				Extensions string `json:"extensions"`
				Protocol   string `json:"protocol"`
				RTT        string `json:"rtt"`
			}
			json.Unmarshal(res.Raw, &page)
			t.Logf("%s: the page showed subprotocol %q, extensions %q, round trip %s", engine, page.Protocol, page.Extensions, page.RTT)
			if !strings.HasPrefix(page.Extensions, "permessage-deflate") || page.Protocol != "(none)" {
				t.Errorf("%s: the page shows subprotocol %q and extensions %q; want (none) and permessage-deflate", engine, page.Protocol, page.Extensions)
			}
			for i := 0; i < 2; i++ {
				rec := s.waitRecord(t, peerLineTimeout)
				checkServerClose(t, rec, StatusNormalClosure, "bye from the page")
				if !rec.deflate {
					t.Errorf("Go server: connection %d did not negotiate permessage-deflate", i+1)
				}
			}
		})
	}
}

// TestEchoPageChromiumPerson drives the echo example's page in Chromium
// through playwright-core, with real key presses and clicks
// (echo_page.js). Nothing is written to the repository.
func TestEchoPageChromiumPerson(t *testing.T) {
	t.Parallel()
	requirePeer(t, peerChromium, peerInstallHint)
	s := startGoEchoServerMode(t, map[string]string{"/": filepath.Join("examples", "echo", "index.html")}, CompressionNoContextTakeover)
	lines, runErr := runPeer(t, peerBrowserLimit, "echo_page.js", "node", "echo_page.js", s.URL+"/",
		fmt.Sprintf("--timeout=%d", peerPageTimeout))
	var res struct {
		OK      bool     `json:"ok"`
		Errors  []string `json:"errors"`
		Steps   []string `json:"steps"`
		PageLog string   `json:"pageLog"`
	}
	last := ""
	if len(lines) > 0 {
		last = lines[len(lines)-1]
	}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("echo_page.js printed no JSON result (exit %v): %q", runErr, lines)
	}
	t.Logf("steps: %s", strings.Join(res.Steps, "; "))
	if !res.OK || runErr != nil || len(res.Errors) > 0 {
		t.Errorf("echo page in Chromium: %q (exit %v); page log:\n%s", res.Errors, runErr, res.PageLog)
	}
	for i := 0; i < 2; i++ {
		rec := s.waitRecord(t, peerLineTimeout)
		checkServerClose(t, rec, StatusNormalClosure, "bye from the page")
	}
}

// A browser that is missing must not hang or pass silently.
func TestBrowsersMissingEngine(t *testing.T) {
	t.Setenv("WSSTD_FIREFOX", "/nonexistent/firefox")
	if err := checkBrowserPeer(peerFirefox); err == nil {
		t.Fatal("checkBrowserPeer found a Firefox at /nonexistent/firefox")
	} else if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, exec.ErrNotFound) {
		t.Logf("missing Firefox: %v", err)
	}
	t.Setenv("WSSTD_FIREFOX", "off")
	if err := peerOff(peerFirefox); err == nil {
		t.Fatal("WSSTD_FIREFOX=off does not turn Firefox off")
	}
}

// TestBrowsersChatExample has two people talk in the chat example in every
// engine (chat_page.html drives two copies of its page through their
// forms): Join, say, answer, Leave. The example runs as built, behind a
// reverse proxy that also serves the harness page, so that the harness
// and the chat pages share an origin; the proxy keeps the browser's Host,
// which the chat's origin check compares with Origin.
func TestBrowsersChatExample(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "chat")
	if out, err := exec.Command("go", "build", "-o", bin, "./examples/chat").CombinedOutput(); err != nil {
		t.Fatalf("building examples/chat: %v\n%s", err, out)
	}
	harness := filepath.Join(peersDir, "chat_page.html")
	for _, engine := range browserEngines {
		t.Run(engine, func(t *testing.T) {
			requirePeer(t, engine, peerInstallHint)
			chat := startProcGroup(t, "examples/chat", nil, nil, bin, "-addr", "127.0.0.1:0")
			addr := waitServing(t, chat)
			target := &url.URL{Scheme: "http", Host: addr}
			proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(target)
				r.Out.Host = r.In.Host
			}}
			mux := http.NewServeMux()
			mux.Handle("/", proxy)
			mux.HandleFunc("/chat_page.html", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "no-store")
				http.ServeFile(w, r, harness)
			})
			s := httptest.NewServer(mux)
			t.Cleanup(s.Close)

			res := runBrowserPage(t, engine, s.URL+"/chat_page.html")
			if !res.OK || len(res.Errors) > 0 {
				t.Errorf("%s: chat page: %q", engine, res.Errors)
			}
			var talk struct{ Alice, Bob []string }
			json.Unmarshal(res.Raw, &talk)
			t.Logf("%s: alice's page: %q; bob's page: %q", engine, talk.Alice, talk.Bob)
			if !t.Failed() {
				return
			}
			t.Logf("examples/chat output:\n%s", chat.out.String())
		})
	}
}

// waitServing returns the address an example logged as "serving on
// http://ADDR", polling its output until peerStartTimeout.
func waitServing(t *testing.T, p *browserProc) string {
	t.Helper()
	deadline := time.Now().Add(peerStartTimeout)
	for {
		out := p.out.String()
		if _, rest, ok := strings.Cut(out, "serving on http://"); ok {
			if addr, _, ok := strings.Cut(rest, " "); ok {
				return addr
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v): %s", p.name, p.err, out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not say where it serves within %v: %s", p.name, peerStartTimeout, out)
		}
	}
}

// TestWasmBrowsers runs the js/wasm client tests (client_js_test.go, as
// TestWasm builds them) in Firefox and WebKit; TestWasm runs them in Node
// and Chromium.
func TestWasmBrowsers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a js/wasm test binary; skipped with -short")
	}
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build the js/wasm tests: %v", err)
	}
	wantTests := wasmTestNames(t)
	goroot := goEnvGOROOT(t, goBin)
	wasmExecJS := wasmSupportFile(goroot, "wasm_exec.js")
	if wasmExecJS == "" {
		t.Skipf("the Go toolchain at %s has no wasm_exec.js", goroot)
	}
	for _, engine := range []string{peerFirefox, peerWebKit} {
		requirePeer(t, engine, peerInstallHint)
	}
	bin := buildWasmTests(t, goBin)
	s := startWasmServer(t, bin, wasmExecJS)
	for _, engine := range []string{peerFirefox, peerWebKit} {
		t.Run(engine, func(t *testing.T) {
			page := s.URL + "/wasm/?arg=-test.v&arg=-test.timeout=150s&engine=" + engine
			res := runBrowserPageLimit(t, engine, page, wasmRunLimit)
			var run struct {
				OK       bool     `json:"ok"`
				ExitCode int      `json:"exitCode"`
				Output   string   `json:"output"`
				Errors   []string `json:"errors"`
			}
			if err := json.Unmarshal(res.Raw, &run); err != nil {
				t.Fatalf("%s: bad result: %v", engine, err)
			}
			if len(run.Errors) > 0 {
				t.Errorf("%s: page errors: %q", engine, run.Errors)
			}
			checkWasmRun(t, engine, run.Output, run.OK, wantTests)
		})
	}
}

// TestBrowsersOversizeMessage has each engine send 4 MiB messages to a
// server whose read limit is 64 KiB (big_message.html, 5 connections one
// after another; Chromium fragments such a message, Firefox and WebKit send
// one frame). The server fails each connection with 1009, and the page
// must see 1009 every time: the lingering close keeps the kernel from
// destroying the close frame with a reset while the browser still sends.
func TestBrowsersOversizeMessage(t *testing.T) {
	t.Parallel()
	const runs = 5
	page := filepath.Join(peersDir, "big_message.html")
	for _, engine := range browserEngines {
		t.Run(engine, func(t *testing.T) {
			requirePeer(t, engine, peerInstallHint)
			serverErrs := make(chan error, runs)
			mux := http.NewServeMux()
			mux.Handle("/ws", &Upgrader{ReadLimit: 64 << 10, Handler: func(c *Conn) {
				_, _, err := c.ReadMessage()
				serverErrs <- err
			}})
			mux.HandleFunc("/big_message.html", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "no-store")
				http.ServeFile(w, r, page)
			})
			s := httptest.NewServer(mux)
			t.Cleanup(s.Close)

			res := runBrowserPage(t, engine, fmt.Sprintf("%s/big_message.html?size=%d&runs=%d", s.URL, 4<<20, runs))
			var out struct {
				Closes []struct {
					Code     int    `json:"code"`
					Reason   string `json:"reason"`
					WasClean bool   `json:"wasClean"`
				} `json:"closes"`
			}
			json.Unmarshal(res.Raw, &out)
			if !res.OK || len(out.Closes) != runs {
				t.Fatalf("%s: %d closes reported, errors %q", engine, len(out.Closes), res.Errors)
			}
			seen := map[int]int{}
			for i, c := range out.Closes {
				seen[c.Code]++
				if c.Code != int(StatusMessageTooBig) {
					t.Errorf("%s: run %d: the page saw close %d %q, want 1009", engine, i+1, c.Code, c.Reason)
				}
			}
			t.Logf("%s: the page saw 1009 in %d of %d runs, 1006 in %d", engine, seen[1009], runs, seen[1006])
			for i := 0; i < runs; i++ {
				select {
				case err := <-serverErrs:
					var pe *ProtocolError
					if !errors.As(err, &pe) || pe.Code != StatusMessageTooBig {
						t.Errorf("%s: server read: %v, want a *ProtocolError with 1009", engine, err)
					}
				case <-time.After(peerLineTimeout):
					t.Fatalf("%s: the server saw %d connections end, want %d", engine, i, runs)
				}
			}
		})
	}
}
