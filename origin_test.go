//go:build !js

package websocket

// Tests of the server's origin checks: the patterns, a CheckOrigin
// function, and cross-site WebSocket hijacking tried from a real browser.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestUpgradeOriginPatterns(t *testing.T) {
	checkGoroutines(t)
	tests := []struct {
		patterns []string
		origin   string
		want     int
	}{
		{[]string{"*.example.com"}, "https://foo.example.com", 101},
		{[]string{"*.example.com"}, "http://a.example.com", 101},
		{[]string{"*.example.com"}, "https://FOO.Example.COM", 101},
		{[]string{"*.example.com"}, "https://example.com", 403},
		{[]string{"*.example.com"}, "https://foo.example.org", 403},
		{[]string{"*.example.com"}, "https://fooexample.com", 403},
		{[]string{"*.example.com"}, "https://evil.com/.example.com", 403},
		{[]string{"*.example.com"}, "https://foo.example.com.evil.com", 403},
		{[]string{"*"}, "https://anything.example:8443", 101},
		{[]string{"*"}, "http://127.0.0.1:1", 101},
		{[]string{"https://foo.example"}, "https://foo.example", 101},
		{[]string{"https://foo.example"}, "http://foo.example", 403},
		{[]string{"https://foo.example"}, "https://bar.example", 403},
		{[]string{"https://foo.example"}, "https://foo.example:444", 403},
		{[]string{"https://*.example.com"}, "https://a.example.com", 101},
		{[]string{"https://*.example.com"}, "http://a.example.com", 403},
		{[]string{"localhost:*"}, "http://localhost:3000", 101},
		{[]string{"localhost:*"}, "http://localhost.evil:3000", 403},
		{[]string{"a.example", "b.example"}, "https://b.example", 101},
		{[]string{"[bad"}, "https://x.example", 403}, // a bad pattern matches nothing
		{nil, "https://x.example", 403},
	}
	for _, tt := range tests {
		u := &Upgrader{OriginPatterns: tt.patterns, Handler: func(c *Conn) { c.CloseNow() }}
		s := hsServe(t, u)
		addr := hsAddr(s)
		resp, body := hsDo(t, addr, hsRequest("GET / HTTP/1.1", addr, map[string][]string{"Origin": {tt.origin}}))
		if resp.StatusCode != tt.want {
			t.Errorf("OriginPatterns %q, Origin %q: status = %d (%q), want %d", tt.patterns, tt.origin, resp.StatusCode, body, tt.want)
		}
		// Same-origin and origin-less requests pass whatever the patterns.
		for _, o := range []string{"", "http://" + addr} {
			mod := map[string][]string{}
			if o != "" {
				mod["Origin"] = []string{o}
			}
			resp, _ := hsDo(t, addr, hsRequest("GET / HTTP/1.1", addr, mod))
			if resp.StatusCode != 101 {
				t.Errorf("OriginPatterns %q, Origin %q: status = %d, want 101", tt.patterns, o, resp.StatusCode)
			}
		}
		s.Close()
	}
}

func TestUpgradeCheckOrigin(t *testing.T) {
	checkGoroutines(t)
	var calls atomic.Int32
	u := &Upgrader{
		OriginPatterns: []string{"*"}, // ignored: CheckOrigin decides alone
		CheckOrigin: func(r *http.Request) bool {
			calls.Add(1)
			return r.Header.Get("Origin") == "https://ok.example" && r.URL.Path == "/ws"
		},
		Handler: func(c *Conn) { c.CloseNow() },
	}
	s := hsServe(t, u)
	addr := hsAddr(s)
	tests := []struct {
		origin string
		want   int
	}{
		{"https://ok.example", 101},
		{"https://other.example", 403},
		{"http://" + addr, 403}, // even same-origin
		{"", 403},               // even without Origin
	}
	for _, tt := range tests {
		mod := map[string][]string{}
		if tt.origin != "" {
			mod["Origin"] = []string{tt.origin}
		}
		before := calls.Load()
		resp, body := hsDo(t, addr, hsRequest("GET /ws HTTP/1.1", addr, mod))
		if resp.StatusCode != tt.want {
			t.Errorf("CheckOrigin, Origin %q: status = %d (%q), want %d", tt.origin, resp.StatusCode, body, tt.want)
		}
		if n := calls.Load() - before; n != 1 {
			t.Errorf("CheckOrigin called %d times for one request, want 1", n)
		}
	}
	// CheckOrigin is not consulted for requests that are not handshakes.
	before := calls.Load()
	resp, _ := hsDo(t, addr, hsRequest("GET /ws HTTP/1.1", addr, map[string][]string{"Upgrade": nil, "Origin": {"https://ok.example"}}))
	if resp.StatusCode != 400 {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	if calls.Load() != before {
		t.Errorf("CheckOrigin called for an invalid handshake")
	}
}

// hijackPage is served by server A. It opens a WebSocket to server B
// (cross-origin: another port) and one to A's own /ws (same origin).
const hijackPage = `<!doctype html>
<meta charset="utf-8">
<title>cross-site WebSocket hijacking</title>
<script>
'use strict';
function attempt(url) {
  return new Promise((resolve) => {
    const r = { url, opened: false, error: false, code: null, echo: null };
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      r.exception = String(e);
      resolve(r);
      return;
    }
    const timer = setTimeout(() => { r.timeout = true; try { ws.close(); } catch (e) {} resolve(r); }, 15000);
    ws.onopen = () => { r.opened = true; ws.send('hello from ' + location.origin); };
    ws.onmessage = (e) => { r.echo = e.data; ws.close(1000, 'done'); };
    ws.onerror = () => { r.error = true; };
    ws.onclose = (e) => { r.code = e.code; clearTimeout(timer); resolve(r); };
  });
}
const cross = new URLSearchParams(location.search).get('cross');
Promise.all([attempt(cross), attempt('ws://' + location.host + '/ws')]).then(([cross, same]) => {
  window.testResult = { ok: !cross.opened && same.opened, origin: location.origin, cross, same };
  window.testDone = true;
});
</script>
`

// statusRecorder records the status a handler answers with; Unwrap lets
// the Upgrader hijack through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func TestHijackCrossSiteChromium(t *testing.T) {
	t.Parallel()
	requirePeer(t, peerChromium, peerInstallHint)

	type seen struct {
		origin   string
		status   int
		upgraded bool
	}
	var mu sync.Mutex
	var seenA, seenB []seen
	record := func(list *[]seen, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &statusRecorder{ResponseWriter: w}
			h.ServeHTTP(rec, r)
			mu.Lock()
			*list = append(*list, seen{origin: r.Header.Get("Origin"), status: rec.status, upgraded: rec.status == 0})
			mu.Unlock()
		})
	}
	echoed := make(chan string, 4)
	echoUpgrader := func() *Upgrader { // the default Origin policy
		return &Upgrader{Handler: func(c *Conn) {
			typ, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			echoed <- string(p)
			c.WriteMessage(typ, p)
			c.ReadMessage()
		}}
	}
	b := httptest.NewServer(record(&seenB, echoUpgrader()))
	defer b.Close()
	muxA := http.NewServeMux()
	muxA.Handle("/ws", record(&seenA, echoUpgrader()))
	muxA.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, hijackPage)
	})
	a := httptest.NewServer(muxA)
	defer a.Close()

	page := a.URL + "/?cross=" + url.QueryEscape(wsURL(b)+"/ws")
	lines, runErr := runPeer(t, peerBrowserLimit, "browser.js", "node", "browser.js", page, fmt.Sprintf("--timeout=%d", peerPageTimeout))
	var last string
	for _, l := range lines {
		if strings.HasPrefix(l, "{") {
			last = l
		}
	}
	var res struct {
		OK     bool     `json:"ok"`
		Errors []string `json:"errors"`
		Origin string   `json:"origin"`
		Cross  struct {
			Opened bool   `json:"opened"`
			Error  bool   `json:"error"`
			Code   int    `json:"code"`
			Echo   string `json:"echo"`
		} `json:"cross"`
		Same struct {
			Opened bool   `json:"opened"`
			Code   int    `json:"code"`
			Echo   string `json:"echo"`
		} `json:"same"`
	}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("browser.js printed no result (exit %v): %q", runErr, lines)
	}
	t.Logf("page result: %s", last)
	if len(res.Errors) > 0 {
		t.Fatalf("page errors: %q", res.Errors)
	}
	if res.Cross.Opened || !res.Cross.Error || res.Cross.Code != 1006 {
		t.Errorf("cross-origin WebSocket from %s to %s: opened=%v error=%v close code %d; want it refused (error, 1006)",
			res.Origin, wsURL(b), res.Cross.Opened, res.Cross.Error, res.Cross.Code)
	}
	want := "hello from " + res.Origin
	if !res.Same.Opened || res.Same.Echo != want || res.Same.Code != 1000 {
		t.Errorf("same-origin WebSocket: opened=%v echo %q close code %d; want opened, %q echoed, 1000",
			res.Same.Opened, res.Same.Echo, res.Same.Code, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seenB) != 1 || seenB[0].status != http.StatusForbidden || seenB[0].origin != a.URL {
		t.Errorf("server B saw %+v, want one request with Origin %s answered 403", seenB, a.URL)
	}
	if len(seenA) != 1 || !seenA[0].upgraded || seenA[0].origin != a.URL {
		t.Errorf("server A's /ws saw %+v, want one upgraded request with Origin %s", seenA, a.URL)
	}
	select {
	case m := <-echoed:
		if m != want {
			t.Errorf("server echoed %q", m)
		}
	default:
		t.Error("no server handler received the page's message")
	}
	select {
	case m := <-echoed:
		t.Errorf("a second handler received %q: the cross-origin connection was upgraded", m)
	default:
	}
}

// ---- forwarded hosts and refusal messages ----

// TestForwardedHost: which forwarded hosts TrustForwardedHost honours.
// Only one unambiguous value counts; Forwarded wins over X-Forwarded-Host.
func TestForwardedHost(t *testing.T) {
	for _, tc := range []struct {
		h    http.Header
		want string
	}{
		{http.Header{}, ""},
		{http.Header{"X-Forwarded-Host": {"a.example:8000"}}, "a.example:8000"},
		{http.Header{"X-Forwarded-Host": {" a.example "}}, "a.example"},
		{http.Header{"X-Forwarded-Host": {"a.example, b.example"}}, ""},
		{http.Header{"X-Forwarded-Host": {"a.example", "b.example"}}, ""},
		{http.Header{"Forwarded": {"for=1.2.3.4;host=a.example:8000;proto=https"}}, "a.example:8000"},
		{http.Header{"Forwarded": {`host="a.example:8000"`}}, "a.example:8000"},
		{http.Header{"Forwarded": {"HOST=a.example"}}, "a.example"},
		{http.Header{"Forwarded": {"host=a.example, host=b.example"}}, ""},
		{http.Header{"Forwarded": {"for=1.2.3.4"}, "X-Forwarded-Host": {"b.example"}}, ""},
		{http.Header{"Forwarded": {"host=a.example"}, "X-Forwarded-Host": {"b.example"}}, "a.example"},
	} {
		if got := forwardedHost(tc.h); got != tc.want {
			t.Errorf("forwardedHost(%v) = %q, want %q", tc.h, got, tc.want)
		}
	}
}

// TestUpgradeOnReject: every refusal reaches OnReject with the status
// and the reason that the response carries; an accepted handshake and a
// forwarded host without TrustForwardedHost behave as before.
func TestUpgradeOnReject(t *testing.T) {
	type reject struct {
		status int
		err    string
	}
	var mu sync.Mutex
	var got []reject
	u := &Upgrader{
		Handler: func(c *Conn) {},
		OnReject: func(r *http.Request, status int, err error) {
			mu.Lock()
			got = append(got, reject{status, err.Error()})
			mu.Unlock()
		},
	}
	s := hsAddr(hsServe(t, u))
	trusting := hsAddr(hsServe(t, &Upgrader{Handler: func(c *Conn) {}, TrustForwardedHost: true}))

	for _, tc := range []struct {
		name   string
		srv    string
		header map[string][]string
		status int
		reason string
	}{
		{"cross origin", s, map[string][]string{"Origin": {"https://page.example"}}, 403,
			`origin "https://page.example" is not allowed: it does not match the Host header "` + s + `", and no OriginPatterns entry allows it; behind a reverse proxy, forward the browser's Host header (nginx: proxy_set_header Host $http_host;)`},
		{"forwarded, not trusted", s, map[string][]string{"Origin": {"https://page.example"}, "X-Forwarded-Host": {"page.example"}}, 403, "is not allowed: it does not match the Host header"},
		{"forwarded, trusted", trusting, map[string][]string{"Origin": {"https://page.example"}, "X-Forwarded-Host": {"page.example"}}, 101, ""},
		{"other forwarded, trusted", trusting, map[string][]string{"Origin": {"https://page.example"}, "X-Forwarded-Host": {"evil.example"}}, 403, `nor the forwarded host "evil.example"`},
		{"opaque origin", s, map[string][]string{"Origin": {"null"}}, 403, `which only the OriginPatterns entry "*" allows`},
		{"bad version", s, map[string][]string{"Sec-WebSocket-Version": {"8"}}, 426, "unsupported Sec-WebSocket-Version"},
	} {
		mu.Lock()
		got = nil
		mu.Unlock()
		resp, body := hsDo(t, tc.srv, hsRequest("GET / HTTP/1.1", tc.srv, tc.header))
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.reason) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, resp.StatusCode, body, tc.status, tc.reason)
		}
		if tc.srv != s {
			continue
		}
		mu.Lock()
		if tc.status == 101 && len(got) != 0 || tc.status != 101 && (len(got) != 1 || got[0].status != tc.status || got[0].err != "websocket: "+strings.TrimSpace(body)) {
			t.Errorf("%s: OnReject saw %+v, want one call with %d and the body's reason", tc.name, got, tc.status)
		}
		mu.Unlock()
	}

	// Shutdown's refusals too.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	u.Shutdown(ctx)
	mu.Lock()
	got = nil
	mu.Unlock()
	if resp, _ := hsDo(t, s, hsRequest("GET / HTTP/1.1", s, nil)); resp.StatusCode != 503 {
		t.Errorf("after Shutdown: %d, want 503", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].status != 503 {
		t.Errorf("after Shutdown: OnReject saw %+v, want one 503", got)
	}
}
