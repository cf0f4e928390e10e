//go:build !js

package websocket

// Interop tests against real peers: the Node `ws` package, Python
// `websockets` and headless Chromium, all driven through the scripts in
// testdata/peers. A missing peer skips its tests with the install command,
// or fails them when $CI is set. Install everything with
//
//	bash .ci/install-peers.sh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	peersDir         = "testdata/peers"
	peerInstallHint  = "bash .ci/install-peers.sh"
	peerStartTimeout = 30 * time.Second // until a peer server prints LISTEN
	peerLineTimeout  = 15 * time.Second // for any later line of a peer server
	peerClientLimit  = 90 * time.Second // whole run of a client peer
	peerBrowserLimit = 120 * time.Second
	peerPageTimeout  = 60000 // ms, passed to the scripts as --timeout
)

// The peers requirePeer knows.
const (
	peerNode     = "node ws"
	peerPython   = "python websockets"
	peerChromium = "chromium"
)

// The interop matrix, as in ws_client.js, py_client.py and matrix.html.
var (
	interopSizes = []int{0, 125, 126, 65535, 65536, 1 << 20}
	interopUTF8  = strings.Repeat("héllo wörld — 日本語 — 🎉 ", 2000) // 74,000 bytes
)

func interopBinary(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func interopText(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(32 + i%95)
	}
	return b
}

// ---- Peer availability ----

type peerCheck struct {
	once sync.Once
	err  error
}

var peerChecks sync.Map // what -> *peerCheck

// requirePeer skips the test (or fails it when $CI is set) unless the peer
// named what (peerNode, peerPython, peerChromium, peerFirefox, peerWebKit)
// can run here, or the environment turns it off (see peerenv_test.go).
func requirePeer(t testing.TB, what, installHint string) {
	t.Helper()
	v, _ := peerChecks.LoadOrStore(what, &peerCheck{})
	pc := v.(*peerCheck)
	pc.once.Do(func() { pc.err = checkPeer(what) })
	if pc.err == nil {
		return
	}
	var off errPeerOff
	if errors.As(pc.err, &off) {
		skipPeer(t, what, fmt.Sprintf("interop peer %q turned off by %v", what, pc.err))
	}
	msg := fmt.Sprintf("interop peer %q is not available (%v); install the peers with: %s (or set %s to its path)", what, pc.err, installHint, peerEnv[what])
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	skipPeer(t, what, msg)
}

func checkPeer(what string) error {
	if err := peerOff(what); err != nil {
		return err
	}
	switch what {
	case peerNode:
		return checkNodeModule("ws")
	case peerPython:
		return checkCommand(pythonBin(), "-c", "import websockets")
	case peerChromium:
		if _, err := os.Stat(chromiumBin()); err != nil {
			return err
		}
		return checkNodeModule("playwright-core")
	case peerFirefox, peerWebKit:
		return checkBrowserPeer(what)
	}
	return fmt.Errorf("unknown peer %q", what)
}

func checkNodeModule(module string) error {
	if _, err := exec.LookPath(nodeBin()); err != nil {
		return err
	}
	return checkCommand(nodeBin(), "-e", fmt.Sprintf("require(%q)", module))
}

func checkCommand(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = peersDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// ---- Go echo server for the peers ----

// echoRecord is what the Go echo server saw on one connection.
type echoRecord struct {
	path        string
	subprotocol string
	offeredExt  string // the client's Sec-WebSocket-Extensions header
	origin      string
	deflate     bool  // PerMessageDeflate()
	err         error // what ended the read loop
	closeErr    error // result of CloseWithStatus for close-me
	pings       int   // ping-me requests served
	pingErrs    []error
}

// goEchoServer is an httptest server with our Upgrader at /ws, echoing
// every message with its type, plus the ping-me and close-me conventions
// of the peer scripts, and serving pages from disk.
type goEchoServer struct {
	*httptest.Server
	records chan echoRecord

	mu      sync.Mutex
	closing bool
	live    map[*Conn]struct{}
	wg      sync.WaitGroup
}

// startGoEchoServer starts the server; pages maps URL paths to files
// served as HTML.
func startGoEchoServer(t *testing.T, pages map[string]string) *goEchoServer {
	t.Helper()
	return startGoEchoServerMode(t, pages, CompressionDisabled)
}

// startGoEchoServerMode is startGoEchoServer with the Upgrader's
// Compression set to mode.
func startGoEchoServerMode(t *testing.T, pages map[string]string, mode CompressionMode) *goEchoServer {
	t.Helper()
	s := &goEchoServer{records: make(chan echoRecord, 64), live: make(map[*Conn]struct{})}
	mux := http.NewServeMux()
	mux.Handle("/ws", &Upgrader{
		Subprotocols:   []string{"chat"},
		OriginPatterns: []string{"127.0.0.1:*", "localhost:*"},
		ReadLimit:      4 << 20,
		Compression:    mode,
		Handler:        s.handle,
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		file, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, err := os.ReadFile(file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.Server.Close()
		s.mu.Lock()
		s.closing = true
		for c := range s.live {
			c.CloseNow()
		}
		s.mu.Unlock()
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Errorf("Go echo handlers still running 15s after the test")
		}
	})
	return s
}

func (s *goEchoServer) handle(c *Conn) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		c.CloseNow()
		return
	}
	s.wg.Add(1)
	s.live[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.live, c)
		s.mu.Unlock()
		s.wg.Done()
	}()

	r := c.Request()
	rec := echoRecord{
		path:        r.URL.Path,
		subprotocol: c.Subprotocol(),
		offeredExt:  strings.Join(r.Header.Values("Sec-WebSocket-Extensions"), ", "),
		origin:      r.Header.Get("Origin"),
		deflate:     c.PerMessageDeflate(),
	}
	var pingMu sync.Mutex
	var pingWG sync.WaitGroup
	for {
		typ, p, err := c.ReadMessage()
		if err != nil {
			rec.err = err
			break
		}
		if typ == TextMessage && string(p) == "ping-me" {
			// Ping waits for the pong, which this goroutine's reads deliver.
			rec.pings++
			pingWG.Add(1)
			go func() {
				defer pingWG.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				err := c.Ping(ctx, []byte("srv-ping"))
				if err == nil {
					err = c.WriteMessage(TextMessage, []byte("pong-received"))
				}
				if err != nil {
					pingMu.Lock()
					rec.pingErrs = append(rec.pingErrs, err)
					pingMu.Unlock()
				}
			}()
			continue
		}
		if typ == TextMessage && bytes.HasPrefix(p, []byte("close-me ")) {
			code, reason, _ := strings.Cut(strings.TrimPrefix(string(p), "close-me "), " ")
			n, err := strconv.Atoi(code)
			if err != nil {
				n, reason = int(StatusInternalError), "bad close-me request"
			}
			rec.closeErr = c.CloseWithStatus(StatusCode(n), reason)
			rec.err = errors.New("closed by close-me")
			break
		}
		if err := interopEcho(c, typ, p); err != nil {
			rec.err = err
			break
		}
	}
	pingWG.Wait()
	s.records <- rec
}

// interopEcho sends p back: small messages in one frame, large ones
// fragmented through NextWriter, binary in chunks large enough to go out
// as frames of their own, text in small chunks that go through the write
// buffer and cut multi-byte characters across frames.
func interopEcho(c *Conn, typ MessageType, p []byte) error {
	if len(p) <= 64<<10 {
		return c.WriteMessage(typ, p)
	}
	chunk := 10000
	if typ == TextMessage {
		chunk = 1000
	}
	w, err := c.NextWriter(typ)
	if err != nil {
		return err
	}
	for len(p) > 0 {
		n := min(chunk, len(p))
		if _, err := w.Write(p[:n]); err != nil {
			w.Close()
			return err
		}
		p = p[n:]
	}
	return w.Close()
}

// waitRecord returns the record of the next connection to /ws that ended.
func (s *goEchoServer) waitRecord(t *testing.T, timeout time.Duration) echoRecord {
	t.Helper()
	for {
		select {
		case rec := <-s.records:
			if rec.path == "/ws" {
				return rec
			}
		case <-time.After(timeout):
			t.Fatalf("the Go echo server saw no connection end within %v", timeout)
		}
	}
}

func (s *goEchoServer) wsURL() string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/ws" }

// checkServerClose checks that the Go echo handler ended with the peer's
// close frame carrying code and reason.
func checkServerClose(t *testing.T, rec echoRecord, code StatusCode, reason string) {
	t.Helper()
	var ce *CloseError
	if !errors.As(rec.err, &ce) {
		t.Errorf("Go server: read loop ended with %v, want the peer's close %v %q", rec.err, code, reason)
	} else if ce.Code != code || ce.Reason != reason {
		t.Errorf("Go server: peer closed with %v %q, want %v %q", ce.Code, ce.Reason, code, reason)
	}
	if len(rec.pingErrs) > 0 {
		t.Errorf("Go server: ping-me failed: %v", rec.pingErrs)
	}
}

// ---- 1. Our server, peer clients ----

func TestInteropServerNodeClient(t *testing.T) {
	t.Parallel()
	requirePeer(t, peerNode, peerInstallHint)
	s := startGoEchoServer(t, nil)
	res := runMatrixPeer(t, peerClientLimit, "ws_client.js", "node", "ws_client.js", s.wsURL(),
		"--subprotocol=chat", fmt.Sprintf("--timeout=%d", peerPageTimeout))
	if res.Protocol != "chat" {
		t.Errorf("node client: subprotocol %q, want chat", res.Protocol)
	}
	rec := s.waitRecord(t, peerLineTimeout)
	checkServerClose(t, rec, 4001, "bye")
	if rec.subprotocol != "chat" || rec.pings != 1 {
		t.Errorf("Go server: subprotocol %q, ping-me %d times; want chat, 1", rec.subprotocol, rec.pings)
	}
}

func TestInteropServerPythonClient(t *testing.T) {
	t.Parallel()
	requirePeer(t, peerPython, peerInstallHint)
	s := startGoEchoServer(t, nil)
	res := runMatrixPeer(t, peerClientLimit, "py_client.py", "/usr/bin/python3", "py_client.py", s.wsURL(),
		"--subprotocol=chat", fmt.Sprintf("--timeout=%d", peerPageTimeout))
	if res.Protocol != "chat" {
		t.Errorf("python client: subprotocol %q, want chat", res.Protocol)
	}
	rec := s.waitRecord(t, peerLineTimeout)
	checkServerClose(t, rec, 4001, "bye")
	if rec.subprotocol != "chat" || rec.pings != 1 {
		t.Errorf("Go server: subprotocol %q, ping-me %d times; want chat, 1", rec.subprotocol, rec.pings)
	}
}

// TestInteropServerChromium runs matrix.html in Chromium against our
// server. Chromium offers permessage-deflate, which the server does not
// negotiate (yet): the matrix must pass whatever the server answers.
func TestInteropServerChromium(t *testing.T) {
	t.Parallel()
	requirePeer(t, peerChromium, peerInstallHint)
	matrix := filepath.Join(peersDir, "matrix.html")
	s := startGoEchoServer(t, map[string]string{"/": matrix, "/matrix.html": matrix})
	res := runMatrixPeer(t, peerBrowserLimit, "browser.js", "node", "browser.js",
		s.URL+"/matrix.html?path=/ws&protocol=chat", fmt.Sprintf("--timeout=%d", peerPageTimeout))
	if res.Close == nil || res.Close.Code != 4001 || res.Close.Reason != "bye" {
		t.Errorf("browser: saw close %+v, want 4001 \"bye\" echoed", res.Close)
	}
	if res.Protocol != "chat" {
		t.Errorf("browser: subprotocol %q, want chat", res.Protocol)
	}
	rec := s.waitRecord(t, peerLineTimeout)
	checkServerClose(t, rec, 4001, "bye")
	t.Logf("browser offered Sec-WebSocket-Extensions %q, got extensions %q; Origin %q", rec.offeredExt, res.Extensions, rec.origin)
	if !strings.Contains(rec.offeredExt, "permessage-deflate") {
		t.Errorf("browser did not offer permessage-deflate (offered %q): this test no longer covers a compression offer", rec.offeredExt)
	}
	if rec.subprotocol != "chat" || rec.pings != 1 {
		t.Errorf("Go server: subprotocol %q, ping-me %d times; want chat, 1", rec.subprotocol, rec.pings)
	}
}

// TestInteropServerChromiumEchoExample loads the echo example's page,
// served from disk with the interop echo handler at /ws.
func TestInteropServerChromiumEchoExample(t *testing.T) {
	t.Parallel()
	requirePeer(t, peerChromium, peerInstallHint)
	s := startGoEchoServer(t, map[string]string{"/": filepath.Join("examples", "echo", "index.html")})
	const want = "received: Hello, Server!"
	lines, err := runPeer(t, peerBrowserLimit, "page_text.js", "node", "page_text.js", s.URL+"/", want,
		fmt.Sprintf("--timeout=%d", peerPageTimeout))
	text := strings.Join(lines, "\n")
	t.Logf("page text:\n%s", text)
	if err != nil {
		t.Errorf("page_text.js: %v", err)
	}
	for _, w := range []string{"connected", "sent: Hello, Server!", want} {
		if !strings.Contains(text, w) {
			t.Errorf("page log lacks %q", w)
		}
	}
	if strings.Contains(text, "error") {
		t.Errorf("page log shows an error")
	}
	rec := s.waitRecord(t, peerLineTimeout)
	t.Logf("Go server: the page's connection ended with %v", rec.err)
}

// ---- 5. Compression offers from non-browser peers ----

// TestInteropServerDeflateOffer has the Node and Python clients offer
// permessage-deflate; the matrix must pass whatever the server answers.
// (Chromium always offers it: see TestInteropServerChromium.)
func TestInteropServerDeflateOffer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		peer, name string
		argv       []string
	}{
		{peerNode, "node", []string{"node", "ws_client.js"}},
		{peerPython, "python", []string{"/usr/bin/python3", "py_client.py"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requirePeer(t, tc.peer, peerInstallHint)
			s := startGoEchoServer(t, nil)
			argv := append(append([]string(nil), tc.argv...), s.wsURL(), "--deflate", fmt.Sprintf("--timeout=%d", peerPageTimeout))
			res := runMatrixPeer(t, peerClientLimit, tc.argv[1], argv...)
			rec := s.waitRecord(t, peerLineTimeout)
			t.Logf("%s offered %q, got extensions %q", tc.name, rec.offeredExt, res.Extensions)
			if !strings.Contains(rec.offeredExt, "permessage-deflate") {
				t.Errorf("%s did not offer permessage-deflate with --deflate (offered %q)", tc.name, rec.offeredExt)
			}
			checkServerClose(t, rec, 4001, "bye")
		})
	}
}

// ---- 2. Our client, peer servers ----

func TestInteropClientNodeServer(t *testing.T) {
	t.Parallel()
	runClientMatrix(t, peerNode)
}

func TestInteropClientPythonServer(t *testing.T) {
	t.Parallel()
	runClientMatrix(t, peerPython)
}

// interopDialer returns a Dialer for the local peers: no proxy, a read
// limit above the matrix's largest message.
func interopDialer() *Dialer {
	return &Dialer{
		ReadLimit:        4 << 20,
		HandshakeTimeout: 15 * time.Second,
		Proxy:            func(*http.Request) (*url.URL, error) { return nil, nil },
	}
}

func interopDial(t *testing.T, d *Dialer, u string) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := d.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	// Bound every read; a deadline that passes fails the Conn.
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return c
}

// runClientMatrix runs the interop matrix from our client against a peer
// echo server.
func runClientMatrix(t *testing.T, peer string) {
	runClientMatrixWith(t, peer, interopDialer())
}

// runClientMatrixWith runs the matrix with d (its Subprotocols are set
// here) against the peer's echo server started with the extra serverArgs.
// It returns the matrix's Conn, closed, and the extensions the server's
// OPEN line reported ("-" for none); with d.Compression set, checking them
// is up to the caller.
func runClientMatrixWith(t *testing.T, peer string, d *Dialer, serverArgs ...string) (*Conn, string) {
	srv := startPeerServer(t, peer, append([]string{"--mode=echo", "--subprotocols=chat,superchat"}, serverArgs...)...)
	d.Subprotocols = []string{"superchat", "chat"}
	c := interopDial(t, d, srv.url("/matrix"))
	// ws_server.js picks by the server's preference (chat); Python's
	// websockets ranks by the sum of both positions, a tie here. Either
	// way our client must report what the server chose.
	line := srv.waitLine(t, "OPEN ", peerLineTimeout)
	chosen := strings.Fields(line + " ? ?")[2]
	if got := c.Subprotocol(); got != chosen || (got != "chat" && got != "superchat") {
		t.Errorf("subprotocol %q, server chose %q (%s); want the same, one of those offered", got, chosen, line)
	}
	if peer == peerNode && chosen != "chat" {
		t.Errorf("node server chose %q, want chat (its preference)", chosen)
	}
	ext := "?"
	if f := strings.SplitN(line, " ", 4); len(f) == 4 {
		ext = f[3]
	}
	if !strings.HasPrefix(line, "OPEN /matrix ") || (d.Compression == CompressionDisabled && ext != "-") {
		t.Errorf("server: %q, want \"OPEN /matrix <protocol> -\"", line)
	}
	var srvPings atomic.Int32
	c.SetPingHandler(func(p []byte) {
		if string(p) == "srv-ping" {
			srvPings.Add(1)
		}
	})

	roundTrip := func(label string, typ MessageType, p []byte) {
		t.Helper()
		if err := c.WriteMessage(typ, p); err != nil {
			t.Fatalf("%s: write: %v", label, err)
		}
		gotTyp, got, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("%s: read: %v", label, err)
		}
		if gotTyp != typ || !bytes.Equal(got, p) {
			t.Errorf("%s: echo is %v of %d bytes, want %v of %d bytes", label, gotTyp, len(got), typ, len(p))
		}
	}
	for _, n := range interopSizes {
		roundTrip(fmt.Sprintf("binary %d", n), BinaryMessage, interopBinary(n))
		roundTrip(fmt.Sprintf("text %d", n), TextMessage, interopText(n))
	}
	roundTrip("utf8 text", TextMessage, []byte(interopUTF8))

	// Fragmented messages from NextWriter: binary in large writes, UTF-8
	// text in small writes cut inside multi-byte characters.
	streamTrip := func(label string, typ MessageType, p []byte, chunk int) {
		t.Helper()
		w, err := c.NextWriter(typ)
		if err != nil {
			t.Fatalf("%s: NextWriter: %v", label, err)
		}
		for rest := p; len(rest) > 0; {
			n := min(chunk, len(rest))
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatalf("%s: write: %v", label, err)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatalf("%s: close writer: %v", label, err)
		}
		gotTyp, got, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("%s: read: %v", label, err)
		}
		if gotTyp != typ || !bytes.Equal(got, p) {
			t.Errorf("%s: echo is %v of %d bytes, want %v of %d bytes", label, gotTyp, len(got), typ, len(p))
		}
	}
	streamTrip("fragmented binary 1MiB", BinaryMessage, interopBinary(1<<20), 10007)
	streamTrip("fragmented utf8 text", TextMessage, []byte(interopUTF8), 1001)

	// Server-initiated ping: our reader answers it.
	if err := c.WriteMessage(TextMessage, []byte("ping-me")); err != nil {
		t.Fatalf("ping-me: %v", err)
	}
	if typ, p, err := c.ReadMessage(); err != nil || typ != TextMessage || string(p) != "pong-received" {
		t.Fatalf("ping-me: got %v %q %v, want text \"pong-received\"", typ, p, err)
	}
	if n := srvPings.Load(); n != 1 {
		t.Errorf("ping handler saw %d srv-ping pings, want 1", n)
	}

	// Our ping: Ping needs a concurrent reader to deliver the pong. The
	// reader goroutine keeps reading until the close handshake ends.
	type readResult struct {
		typ MessageType
		p   []byte
		err error
	}
	reads := make(chan readResult, 4)
	go func() {
		for {
			typ, p, err := c.ReadMessage()
			reads <- readResult{typ, p, err}
			if err != nil {
				close(reads)
				return
			}
		}
	}()
	readerDone := false
	defer func() {
		if !readerDone {
			c.CloseNow()
			for range reads {
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := c.Ping(ctx, []byte("cli-ping"))
	cancel()
	if err != nil {
		t.Errorf("Ping: %v", err)
	}
	if err := c.WriteMessage(TextMessage, []byte("after-ping")); err != nil {
		t.Fatalf("after-ping: %v", err)
	}
	if r := <-reads; r.err != nil || r.typ != TextMessage || string(r.p) != "after-ping" {
		t.Fatalf("after-ping: got %v %q %v", r.typ, r.p, r.err)
	}

	// Our close, with the reader goroutine still reading: the peer echoes
	// code and reason, and reports the code and reason it received.
	if err := c.CloseWithStatus(4001, "bye"); err != nil {
		t.Errorf("CloseWithStatus(4001, bye): %v", err)
	}
	r := <-reads
	for range reads {
	}
	readerDone = true
	var ce *CloseError
	if !errors.As(r.err, &ce) || ce.Code != 4001 || ce.Reason != "bye" {
		t.Errorf("reader after our close: %v, want *CloseError{4001, bye} (the peer's echo)", r.err)
	}
	if line := srv.waitLine(t, "CLOSED ", peerLineTimeout); line != "CLOSED 4001 bye" {
		t.Errorf("server: %q, want \"CLOSED 4001 bye\"", line)
	}

	// The server's close: close-me on a second connection.
	d2 := *d
	d2.Subprotocols = nil
	c2 := interopDial(t, &d2, srv.url("/close-me"))
	if line, want := srv.waitLine(t, "OPEN ", peerLineTimeout), "OPEN /close-me - "+ext; line != want {
		t.Errorf("server: %q, want %q", line, want)
	}
	if err := c2.WriteMessage(TextMessage, []byte("close-me 4002 server-bye")); err != nil {
		t.Fatalf("close-me: %v", err)
	}
	_, p, err := c2.ReadMessage()
	if !errors.As(err, &ce) || ce.Code != 4002 || ce.Reason != "server-bye" {
		t.Errorf("after close-me: read %q, %v; want *CloseError{4002, server-bye}", p, err)
	}
	if _, _, err2 := c2.ReadMessage(); err2 != err {
		t.Errorf("second read after the close: %v, want the same error %v", err2, err)
	}
	// We echo the code (RFC 6455 section 5.5.1), so the server sees 4002.
	if line := srv.waitLine(t, "CLOSED ", peerLineTimeout); !strings.HasPrefix(line, "CLOSED 4002") {
		t.Errorf("server: %q, want \"CLOSED 4002 ...\"", line)
	}
	if err := c2.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("Close after the close handshake: %v, want ErrClosed", err)
	}
	return c, ext
}

// ---- 3. The seed scenario ----

func TestInteropClientNodeHello(t *testing.T) {
	t.Parallel()
	srv := startPeerServer(t, peerNode, "--mode=hello")
	c := interopDial(t, interopDialer(), srv.url("/"))
	if err := c.WriteMessage(TextMessage, []byte("Hello, Server!")); err != nil {
		t.Fatal(err)
	}
	typ, p, err := c.ReadMessage()
	if err != nil || typ != TextMessage || string(p) != "Hello, Client!" {
		t.Fatalf("got %v %q %v, want text \"Hello, Client!\"", typ, p, err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if line := srv.waitLine(t, "CLOSED ", peerLineTimeout); line != "CLOSED 1000" {
		t.Errorf("server: %q, want \"CLOSED 1000\"", line)
	}
}

// ---- 4. Malformed frames from peer servers ----

// malformedKinds lists the frames ws_server.js (and, where marked,
// py_server.py) can send, with the code our client must fail with. A
// 64-bit length with its most significant bit set is a protocol error for
// this library (1002), not a message too big.
var malformedKinds = []struct {
	kind   string
	code   StatusCode
	python bool
}{
	{"opcode3", StatusProtocolError, true},
	{"opcodeb", StatusProtocolError, false},
	{"ping126", StatusProtocolError, true},
	{"fragping", StatusProtocolError, true},
	{"rsv1", StatusProtocolError, true},
	{"rsv2", StatusProtocolError, false},
	{"badcont", StatusProtocolError, true},
	{"nocont", StatusProtocolError, false},
	{"masked", StatusProtocolError, true},
	{"close1", StatusProtocolError, true},
	{"close1005", StatusProtocolError, false},
	{"badutf8", StatusInvalidFramePayloadData, true},
	{"closeutf8", StatusInvalidFramePayloadData, false},
	{"len64msb", StatusProtocolError, false},
}

func TestInteropClientMalformedNode(t *testing.T) {
	t.Parallel()
	requirePeer(t, peerNode, peerInstallHint)
	for _, tc := range malformedKinds {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			runMalformed(t, peerNode, tc.kind, tc.code)
		})
	}
}

func TestInteropClientMalformedPython(t *testing.T) {
	t.Parallel()
	requirePeer(t, peerPython, peerInstallHint)
	for _, tc := range malformedKinds {
		if !tc.python {
			continue
		}
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			runMalformed(t, peerPython, tc.kind, tc.code)
		})
	}
}

// runMalformed connects to a peer server that sends a malformed frame and
// checks that our client fails the connection with code, which the peer
// must receive in our close frame.
func runMalformed(t *testing.T, peer, kind string, code StatusCode) {
	srv := startPeerServer(t, peer, "--mode=malformed", "--frame="+kind)
	c := interopDial(t, interopDialer(), srv.url("/"+kind))
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	// Some frames (nocont, badutf8) begin a message that only fails while
	// it is read: read messages until the Conn fails.
	var err error
	for i := 0; i < 10; i++ {
		var r io.Reader
		if _, r, err = c.NextReader(); err != nil {
			break
		}
		if _, err = io.Copy(io.Discard, r); err != nil {
			break
		}
	}
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("%s: read error %v (%T), want a *ProtocolError with code %v", kind, err, err, code)
	}
	if pe.Code != code {
		t.Errorf("%s: ProtocolError code %v (%s), want %v", kind, pe.Code, pe.Reason, code)
	}
	if _, _, err2 := c.NextReader(); err2 != error(pe) {
		t.Errorf("%s: NextReader after the failure: %v, want the same *ProtocolError", kind, err2)
	}
	want := fmt.Sprintf("PEERCLOSE %d", int(code))
	if line := srv.waitLine(t, "PEERCLOSE ", peerLineTimeout); line != want {
		t.Errorf("%s: server: %q, want %q", kind, line, want)
	}
}
