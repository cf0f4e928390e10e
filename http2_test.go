//go:build !js

package websocket

// Tests of WebSockets over HTTP/2 (RFC 8441, http2.go).
//
// net/http's HTTP/2 server takes extended CONNECT requests only when the
// process starts with GODEBUG=http2xconnect=1, so the real-server tests run
// the server in a child process: this test binary again, running
// TestHelperH2Server with that setting. The child prints LISTEN <url>, one
// CONN and one END line (JSON) per WebSocket, and exits when its stdin
// closes. Node's http2 module (testdata/peers/h2_client.js) and headless
// Chromium drive it over HTTP/2; Go's own client (HTTP/1.1 only) checks that
// HTTP/1.1 still works next to it. The handshake checks and the stream
// adapter are also tested in-process with a fake HTTP/2 ResponseWriter.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// h2HelperEnv makes TestHelperH2Server serve instead of skipping.
const h2HelperEnv = "WSSTD_H2_HELPER"

// h2ConnInfo is what the child server reports about each Conn: on a CONN
// line when it opens, on an END line (with Code and Err) when its read
// loop ends. The "whoami" message is answered with it too.
type h2ConnInfo struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"` // the ?name= of the request
	Path        string `json:"path"`
	Proto       string `json:"proto"` // the request's Proto
	HTTP2       bool   `json:"http2"` // Conn.HTTP2()
	Subprotocol string `json:"subprotocol"`
	Deflate     bool   `json:"deflate"`
	Origin      string `json:"origin"`
	Local       string `json:"local"`
	Remote      string `json:"remote"`
	Code        int    `json:"code"` // CloseStatus of the error that ended the read loop
	Err         string `json:"err"`
}

// TestHelperH2Server is the child process's server, not a test: it skips
// unless h2HelperEnv is set.
func TestHelperH2Server(t *testing.T) {
	if os.Getenv(h2HelperEnv) != "1" {
		t.Skip("the HTTP/2 tests' server; runs only in their child process")
	}
	var (
		outMu  sync.Mutex
		nextID atomic.Int64
	)
	emit := func(kind string, info h2ConnInfo) {
		b, _ := json.Marshal(info)
		outMu.Lock()
		fmt.Printf("%s %s\n", kind, b)
		outMu.Unlock()
	}
	serve := func(c *Conn) {
		r := c.Request()
		info := h2ConnInfo{
			ID:          nextID.Add(1),
			Name:        r.URL.Query().Get("name"),
			Path:        r.URL.Path,
			Proto:       r.Proto,
			HTTP2:       c.HTTP2(),
			Subprotocol: c.Subprotocol(),
			Deflate:     c.PerMessageDeflate(),
			Origin:      r.Header.Get("Origin"),
			Local:       c.LocalAddr().String(),
			Remote:      c.RemoteAddr().String(),
		}
		emit("CONN", info)
		for {
			typ, msg, err := c.ReadMessage()
			if err == nil {
				if typ == TextMessage && string(msg) == "whoami" {
					msg, _ = json.Marshal(info)
				}
				err = c.WriteMessage(typ, msg)
			}
			if err != nil {
				info.Code, info.Err = int(CloseStatus(err)), err.Error()
				emit("END", info)
				return
			}
		}
	}
	u := &Upgrader{
		Subprotocols: []string{"chat"},
		Compression:  CompressionNoContextTakeover,
		ReadLimit:    4 << 20,
		Handler:      serve,
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", u)
	mux.HandleFunc("/upgrade", func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, http.Header{"X-Wsstd-Test": {"upgrade"}})
		if err != nil {
			return
		}
		defer c.Close() // the handler returns only once the Conn is done
		serve(c)
	})
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		http.ServeFile(w, r, "testdata/peers/h2_page.html")
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(os.Stderr, "h2 server: ", log.Lmicroseconds)
	srv.StartTLS()
	fmt.Printf("LISTEN %s\n", srv.URL)

	// Serve until the parent closes our stdin (or goes away), at most 10 min.
	gone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(gone)
	}()
	select {
	case <-gone:
	case <-time.After(10 * time.Minute):
	}
	os.Exit(0) // without waiting for open streams
}

// requireH2ExtendedConnect skips on Go releases whose HTTP/2 server cannot
// take extended CONNECT at all (before Go 1.24).
func requireH2ExtendedConnect(t *testing.T) {
	t.Helper()
	v := runtime.Version()
	if i := strings.Index(v, "go1."); i >= 0 {
		digits := v[i+4:]
		n := 0
		for n < len(digits) && digits[n] >= '0' && digits[n] <= '9' {
			n++
		}
		if minor, err := strconv.Atoi(digits[:n]); err == nil && minor < 24 {
			t.Skipf("%s's HTTP/2 server has no extended CONNECT (RFC 8441): Go 1.24 and later with GODEBUG=http2xconnect=1", v)
		}
	}
}

// h2Server is the child process running TestHelperH2Server.
type h2Server struct {
	*peerProc
	url string // https://127.0.0.1:port
}

// startH2Server starts the child and waits for its LISTEN line. It is
// stopped (stdin closed, then killed) when the test ends, and a data race
// it reported fails the test.
func startH2Server(t *testing.T) *h2Server {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	godebug := "http2xconnect=1"
	if v := os.Getenv("GODEBUG"); v != "" {
		godebug = v + "," + godebug
	}
	cmd := exec.Command(exe, "-test.run=^TestHelperH2Server$", "-test.count=1")
	cmd.Env = append(os.Environ(), h2HelperEnv+"=1", "GODEBUG="+godebug)
	p := &peerProc{name: "h2 server", cmd: cmd, out: newLineLog(), done: make(chan struct{})}
	cmd.Stdout = p.out
	cmd.Stderr = &p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the HTTP/2 server process: %v", err)
	}
	go func() {
		p.err = cmd.Wait()
		p.out.finish()
		close(p.done)
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
		if strings.Contains(p.stderr.String(), "DATA RACE") {
			t.Errorf("the HTTP/2 server process reported a data race")
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("h2 server stdout:\n%s", strings.Join(p.out.all(), "\n"))
			t.Logf("h2 server stderr:\n%s", p.stderr.String())
		}
	})
	line := p.waitLine(t, "LISTEN ", peerStartTimeout)
	return &h2Server{peerProc: p, url: strings.TrimSpace(strings.TrimPrefix(line, "LISTEN "))}
}

// wsURL is the server's URL with the wss scheme and path.
func (s *h2Server) wsURL(path string) string {
	return "wss" + strings.TrimPrefix(s.url, "https") + path
}

// record waits for the kind ("CONN" or "END") line of the Conn named name.
func (s *h2Server) record(t *testing.T, kind, name string, timeout time.Duration) h2ConnInfo {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.out.mu.Lock()
		lines, eof, changed := append([]string(nil), s.out.lines...), s.out.eof, s.out.changed
		s.out.mu.Unlock()
		for _, l := range lines {
			js, ok := strings.CutPrefix(l, kind+" ")
			if !ok {
				continue
			}
			var info h2ConnInfo
			if err := json.Unmarshal([]byte(js), &info); err != nil {
				t.Fatalf("bad %s line %q: %v", kind, l, err)
			}
			if info.Name == name {
				return info
			}
		}
		if eof {
			t.Fatalf("the HTTP/2 server exited without a %s line for %q", kind, name)
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("the HTTP/2 server printed no %s line for %q within %v", kind, name, timeout)
		}
	}
}

// lastJSON decodes the last line of lines that looks like JSON into v.
func lastJSON(t *testing.T, name string, lines []string, v any) string {
	t.Helper()
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "{") {
			if err := json.Unmarshal([]byte(l), v); err != nil {
				t.Fatalf("%s: bad JSON result %q: %v", name, l, err)
			}
			return l
		}
	}
	t.Fatalf("%s printed no JSON result; stdout: %q", name, lines)
	return ""
}

// h2StreamReport is one stream in h2_client.js's echo result.
type h2StreamReport struct {
	Status     int         `json:"status"`
	Protocol   string      `json:"protocol"`
	Extensions string      `json:"extensions"`
	Header     string      `json:"header"`
	Whoami     *h2ConnInfo `json:"whoami"`
	Echoes     int         `json:"echoes"`
	Fragmented bool        `json:"fragmented"`
	Pong       string      `json:"pong"`
	Compressed int         `json:"compressedIn"`
	Close      *struct {
		Code        int    `json:"code"`
		Reason      string `json:"reason"`
		StreamEnded bool   `json:"streamEnded"`
	} `json:"close"`
}

// TestHTTP2NodeClient runs several WebSockets at once on one HTTP/2
// connection from Node's http2 module: echoes of up to 200,000 bytes,
// compression on one stream, a fragmented message, ping/pong, one stream
// closed half-way while the others keep going, Upgrade called from a
// handler, and the server's view of every Conn.
func TestHTTP2NodeClient(t *testing.T) {
	t.Parallel()
	requireH2ExtendedConnect(t)
	requirePeer(t, peerNode, peerInstallHint)
	s := startH2Server(t)
	lines, runErr := runPeer(t, peerClientLimit, "node h2 client", "node", "h2_client.js", s.url+"/ws", "--timeout=60000")
	var res struct {
		OK                    bool                      `json:"ok"`
		Errors                []string                  `json:"errors"`
		EnableConnectProtocol bool                      `json:"enableConnectProtocol"`
		Streams               map[string]h2StreamReport `json:"streams"`
	}
	raw := lastJSON(t, "h2_client.js", lines, &res)
	t.Logf("h2_client.js result: %s", raw)
	if !res.EnableConnectProtocol {
		t.Fatal("the server did not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL")
	}
	if !res.OK || len(res.Errors) > 0 || runErr != nil {
		t.Fatalf("h2_client.js failed (exit %v): %q", runErr, res.Errors)
	}
	for _, name := range []string{"A", "B", "C", "D", "U"} {
		rep, ok := res.Streams[name]
		if !ok {
			t.Errorf("stream %s: no report", name)
			continue
		}
		if rep.Status != 200 || rep.Whoami == nil || !rep.Whoami.HTTP2 || rep.Close == nil || rep.Close.Code != 1000 || !rep.Close.StreamEnded {
			t.Errorf("stream %s: %+v", name, rep)
		}
		want := 2 * 7 // text and binary of each size
		if name != "C" {
			want++
			if !rep.Fragmented || rep.Pong != "ping-"+name {
				t.Errorf("stream %s: fragmented %v, pong %q", name, rep.Fragmented, rep.Pong)
			}
		} else {
			want = 2 * 4 // closed half-way
		}
		if rep.Echoes != want {
			t.Errorf("stream %s: %d echoes, want %d", name, rep.Echoes, want)
		}

		end := s.record(t, "END", name, 10*time.Second)
		if !end.HTTP2 || end.Proto != "HTTP/2.0" {
			t.Errorf("stream %s: the server's Conn reports HTTP2()=%v over %s", name, end.HTTP2, end.Proto)
		}
		if end.Code != 1000 {
			t.Errorf("stream %s: the server's read loop ended with %q", name, end.Err)
		}
		host := strings.TrimPrefix(s.url, "https://")
		if end.Local != host || !strings.HasPrefix(end.Remote, "127.0.0.1:") || end.Remote == host {
			t.Errorf("stream %s: LocalAddr %s, RemoteAddr %s (server %s)", name, end.Local, end.Remote, host)
		}
	}
	if a := s.record(t, "END", "A", time.Second); a.Subprotocol != "chat" {
		t.Errorf("stream A: server subprotocol %q", a.Subprotocol)
	}
	if b := s.record(t, "END", "B", time.Second); !b.Deflate || res.Streams["B"].Compressed == 0 {
		t.Errorf("stream B: server deflate %v, compressed messages received by the client %d", b.Deflate, res.Streams["B"].Compressed)
	}
	if d := s.record(t, "END", "D", time.Second); d.Origin != s.url {
		t.Errorf("stream D: Origin %q, want %q", d.Origin, s.url)
	}
	if u := s.record(t, "END", "U", time.Second); u.Path != "/upgrade" || res.Streams["U"].Header != "upgrade" {
		t.Errorf("stream U: path %q, response header %q", u.Path, res.Streams["U"].Header)
	}
}

// TestHTTP2NodeMalformed sends extended CONNECT requests that must be
// refused, with the statuses HTTP/1.1 uses where they apply.
func TestHTTP2NodeMalformed(t *testing.T) {
	t.Parallel()
	requireH2ExtendedConnect(t)
	requirePeer(t, peerNode, peerInstallHint)
	s := startH2Server(t)
	lines, runErr := runPeer(t, peerClientLimit, "node h2 client", "node", "h2_client.js", s.url+"/ws", "--mode=malformed", "--timeout=60000")
	type answer struct {
		Status  int    `json:"status"`
		Version string `json:"version"`
		Body    string `json:"body"`
		Error   string `json:"error"`
		Close   *struct {
			Code int `json:"code"`
		} `json:"close"`
	}
	var res struct {
		OK      bool              `json:"ok"`
		Errors  []string          `json:"errors"`
		Answers map[string]answer `json:"answers"`
	}
	raw := lastJSON(t, "h2_client.js", lines, &res)
	t.Logf("h2_client.js result: %s", raw)
	if !res.OK || runErr != nil {
		t.Fatalf("h2_client.js failed (exit %v): %q", runErr, res.Errors)
	}
	for _, tc := range []struct {
		name    string
		status  int
		version string
		body    string
	}{
		{"good", 200, "", ""},
		{"noVersion", http.StatusUpgradeRequired, "13", "Sec-WebSocket-Version"},
		{"version8", http.StatusUpgradeRequired, "13", "Sec-WebSocket-Version"},
		{"badProtocol", http.StatusBadRequest, "", ":protocol"},
		{"foreignOrigin", http.StatusForbidden, "", "origin"},
		{"badExtensions", http.StatusBadRequest, "", "Sec-WebSocket-Extensions"},
	} {
		a, ok := res.Answers[tc.name]
		if !ok {
			t.Errorf("%s: no answer", tc.name)
			continue
		}
		if a.Status != tc.status || a.Version != tc.version || !strings.Contains(a.Body, tc.body) {
			t.Errorf("%s: got %d (Sec-WebSocket-Version %q) %q, want %d (%q) containing %q", tc.name, a.Status, a.Version, a.Body, tc.status, tc.version, tc.body)
		}
	}
	if a := res.Answers["good"]; a.Close == nil || a.Close.Code != 1000 {
		t.Errorf("good: close %+v", a.Close)
	}
	if end := s.record(t, "END", "good", 10*time.Second); !end.HTTP2 || end.Code != 1000 {
		t.Errorf("good: server saw %+v", end)
	}
}

// TestHTTP2Chromium loads a page over HTTPS from the HTTP/2 server in
// headless Chromium and opens a WebSocket to the same host. The server
// advertises SETTINGS_ENABLE_CONNECT_PROTOCOL, so Chromium must send the
// WebSocket as an RFC 8441 extended CONNECT stream on the page's HTTP/2
// connection: a fallback to a new HTTP/1.1 connection (which it makes
// when the setting is missing) fails the test.
func TestHTTP2Chromium(t *testing.T) {
	t.Parallel()
	requireH2ExtendedConnect(t)
	requirePeer(t, peerChromium, peerInstallHint)
	s := startH2Server(t)
	lines, runErr := runPeer(t, peerBrowserLimit, "chromium",
		"env", "CHROMIUM_IGNORE_CERT_ERRORS=1", "node", "browser.js", s.url+"/page", "--timeout="+strconv.Itoa(peerPageTimeout))
	var res struct {
		OK           bool        `json:"ok"`
		Errors       []string    `json:"errors"`
		PageProtocol string      `json:"pageProtocol"`
		Whoami       *h2ConnInfo `json:"whoami"`
		Echoes       int         `json:"echoes"`
		Close        *struct {
			Code     int  `json:"code"`
			WasClean bool `json:"wasClean"`
		} `json:"close"`
	}
	raw := lastJSON(t, "browser.js", lines, &res)
	t.Logf("page result: %s", raw)
	if !res.OK || runErr != nil || res.Echoes != 2 || res.Close == nil || res.Close.Code != 1000 || !res.Close.WasClean {
		t.Fatalf("the page's WebSocket failed (exit %v): %q", runErr, res.Errors)
	}
	end := s.record(t, "END", "chromium", 10*time.Second)
	if end.Code != 1000 {
		t.Errorf("the server's read loop ended with %q", end.Err)
	}
	if res.Whoami == nil || res.Whoami.HTTP2 != end.HTTP2 {
		t.Errorf("whoami %+v disagrees with the server's record %+v", res.Whoami, end)
	}
	if !end.HTTP2 || end.Proto != "HTTP/2.0" {
		t.Errorf("Chromium loaded the page over %q but opened its WebSocket over %s (Conn.HTTP2() %v), not as an RFC 8441 extended CONNECT stream", res.PageProtocol, end.Proto, end.HTTP2)
	} else {
		t.Logf("Chromium loaded the page over %q and sent its WebSocket as an RFC 8441 extended CONNECT stream (%s)", res.PageProtocol, end.Proto)
	}
	if res.PageProtocol != "h2" {
		t.Errorf("the page was loaded over %q, want h2", res.PageProtocol)
	}
}

// TestHTTP2ServerHTTP1Client checks that the HTTP/2 server still serves
// WebSockets over HTTP/1.1 (Go's client never uses HTTP/2), and answers an
// HTTP/2 GET for the WebSocket endpoint 405 with Allow: CONNECT.
func TestHTTP2ServerHTTP1Client(t *testing.T) {
	t.Parallel()
	s := startH2Server(t)
	insecure := &tls.Config{InsecureSkipVerify: true}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	for _, path := range []string{"/ws", "/upgrade"} {
		name := "go" + path
		d := &Dialer{TLSClientConfig: insecure, Subprotocols: []string{"chat"}}
		c, resp, err := d.Dial(ctx, s.wsURL(path+"?name="+url.QueryEscape(name)), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if resp.ProtoMajor != 1 || resp.StatusCode != http.StatusSwitchingProtocols || c.HTTP2() || c.Subprotocol() != "chat" {
			t.Errorf("%s: %s %s, HTTP2() %v, subprotocol %q", name, resp.Proto, resp.Status, c.HTTP2(), c.Subprotocol())
		}
		if path == "/upgrade" && resp.Header.Get("X-Wsstd-Test") != "upgrade" {
			t.Errorf("%s: responseHeader missing from the 101: %v", name, resp.Header)
		}
		if err := c.WriteMessage(TextMessage, []byte("whoami")); err != nil {
			t.Fatal(err)
		}
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var who h2ConnInfo
		if err := json.Unmarshal(msg, &who); err != nil || who.HTTP2 || who.Proto != "HTTP/1.1" {
			t.Errorf("%s: whoami %s (%v)", name, msg, err)
		}
		big := interopBinary(70000)
		if err := c.WriteMessage(BinaryMessage, big); err != nil {
			t.Fatal(err)
		}
		if _, msg, err = c.ReadMessage(); err != nil || !bytes.Equal(msg, big) {
			t.Fatalf("%s: echo of 70000 bytes: %d bytes, %v", name, len(msg), err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("%s: Close: %v", name, err)
		}
		if end := s.record(t, "END", name, 10*time.Second); end.HTTP2 || end.Proto != "HTTP/1.1" || end.Code != 1000 {
			t.Errorf("%s: server saw %+v", name, end)
		}
	}

	// Over HTTP/2 a WebSocket can only be an extended CONNECT.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: insecure, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/ws", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodConnect {
		t.Errorf("GET over HTTP/2: %s %s, Allow %q, %q", resp.Proto, resp.Status, resp.Header.Get("Allow"), body)
	}
}
