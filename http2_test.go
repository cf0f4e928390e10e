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
	"errors"
	"fmt"
	"io"
	"log"
	"net"
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

// ---- In-process tests with a fake HTTP/2 ResponseWriter ----

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
	header http.Header
	out    *io.PipeWriter

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
	time.Sleep(50 * time.Millisecond) // let it block: nobody reads
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
