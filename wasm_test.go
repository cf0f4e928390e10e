//go:build !js

package websocket

// TestWasm runs the js/wasm client's tests (client_js_test.go) for real:
// it builds them as a js/wasm test binary, starts the server they talk to
// (our Upgrader, below), and runs the binary in Node (through
// testdata/wasm/go_js_wasm_exec, which gives Node 20 its WebSocket) and in
// headless Chromium (testdata/wasm/index.html, driven by
// testdata/peers/browser.js). Each engine must pass every TestWasm* test of
// client_js_test.go: a skipped one fails here. A missing engine skips its
// subtest, or fails it when $CI is set, like the interop tests.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	wasmBuildLimit = 5 * time.Minute
	wasmRunLimit   = 3 * time.Minute
	wasmTestFile   = "client_js_test.go"

	// wasmServerURLEnv is client_js_test.go's wasmServerEnv.
	wasmServerURLEnv = "WSSTD_WASM_SERVER"
)

func TestWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a js/wasm test binary; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build the js/wasm tests: %v", err)
	}
	wantTests := wasmTestNames(t)
	goroot := goEnvGOROOT(t, goBin)
	wasmExecJS := wasmSupportFile(goroot, "wasm_exec.js")
	if wasmExecJS == "" || wasmSupportFile(goroot, "wasm_exec_node.js") == "" {
		// Toolchains that the go command downloads (GOTOOLCHAIN) lack
		// misc/wasm before Go 1.24; the support files must match the
		// toolchain that builds the binary, so there is no substitute.
		t.Skipf("the Go toolchain at %s has no wasm_exec.js and wasm_exec_node.js (lib/wasm or misc/wasm)", goroot)
	}
	bin := buildWasmTests(t, goBin)
	s := startWasmServer(t, bin, wasmExecJS)

	t.Run("Node", func(t *testing.T) {
		t.Parallel()
		requirePeer(t, peerNode, peerInstallHint)
		ctx, cancel := context.WithTimeout(context.Background(), wasmRunLimit)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join("testdata", "wasm", "go_js_wasm_exec"),
			bin, "-test.v", "-test.timeout=150s")
		cmd.Env = append(os.Environ(), "GOROOT="+goroot, wasmServerURLEnv+"="+s.URL, "WSSTD_WASM_ENGINE=node")
		cmd.WaitDelay = 10 * time.Second
		start := time.Now()
		out, err := cmd.CombinedOutput()
		t.Logf("node ran the js/wasm tests in %v (exit: %v)", time.Since(start).Round(time.Millisecond), err)
		checkWasmRun(t, "node", string(out), err == nil, wantTests)
	})

	t.Run("Chromium", func(t *testing.T) {
		t.Parallel()
		requirePeer(t, peerChromium, peerInstallHint)
		page := s.URL + "/wasm/?arg=-test.v&arg=-test.timeout=150s"
		start := time.Now()
		lines, runErr := runPeer(t, wasmRunLimit, "browser.js", "node", "browser.js", page,
			fmt.Sprintf("--timeout=%d", (wasmRunLimit-20*time.Second).Milliseconds()))
		t.Logf("chromium ran the js/wasm tests in %v (exit: %v)", time.Since(start).Round(time.Millisecond), runErr)
		var res struct {
			OK       bool     `json:"ok"`
			ExitCode int      `json:"exitCode"`
			Output   string   `json:"output"`
			Errors   []string `json:"errors"`
		}
		last := ""
		for i := len(lines) - 1; i >= 0; i-- {
			if strings.HasPrefix(strings.TrimSpace(lines[i]), "{") {
				last = lines[i]
				break
			}
		}
		if last == "" {
			t.Fatalf("browser.js printed no result (exit: %v); stdout: %q", runErr, lines)
		}
		if err := json.Unmarshal([]byte(last), &res); err != nil {
			t.Fatalf("browser.js: bad result %q: %v", last, err)
		}
		if len(res.Errors) > 0 {
			t.Errorf("page errors: %q", res.Errors)
		}
		checkWasmRun(t, "chromium", res.Output, res.OK && runErr == nil, wantTests)
	})
}

// wasmTestNames lists the TestWasm* functions of client_js_test.go.
func wasmTestNames(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile(wasmTestFile)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^func (TestWasm\w*)\(t \*testing\.T\)`).FindAllSubmatch(src, -1) {
		names = append(names, string(m[1]))
	}
	if len(names) == 0 {
		t.Fatalf("no TestWasm functions in %s", wasmTestFile)
	}
	return names
}

// goEnvGOROOT returns the GOROOT of the toolchain goBin runs.
func goEnvGOROOT(t *testing.T, goBin string) string {
	t.Helper()
	out, err := exec.Command(goBin, "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// buildWasmTests builds the package's js/wasm test binary and returns its
// path.
func buildWasmTests(t *testing.T, goBin string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wasmBuildLimit)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "websocket.test.wasm")
	cmd := exec.CommandContext(ctx, goBin, "test", "-c", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go test -c: %v\n%s", err, out)
	}
	t.Logf("built the js/wasm test binary in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// wasmSupportFile finds one of Go's js/wasm support files: in lib/wasm
// since Go 1.24, in misc/wasm before. It returns "" if there is none.
func wasmSupportFile(goroot, name string) string {
	for _, dir := range []string{"lib", "misc"} {
		p := filepath.Join(goroot, dir, "wasm", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// checkWasmRun checks a js/wasm test run's output: the binary passed and
// every wanted test passed (none skipped, none missing).
func checkWasmRun(t *testing.T, engine, output string, ok bool, want []string) {
	t.Helper()
	if !ok || t.Failed() || testing.Verbose() {
		t.Logf("%s output:\n%s", engine, output)
	}
	if !ok {
		t.Errorf("%s: the js/wasm tests failed", engine)
	}
	for _, name := range want {
		if !strings.Contains(output, "--- PASS: "+name+" ") {
			t.Errorf("%s: %s did not pass (skipped, missing or failed)", engine, name)
		}
	}
}

// ---- The server the js/wasm tests talk to ----

// wasmTestServer is an httptest server with our Upgrader behind the
// endpoints client_js_test.go uses, and the page that runs the test
// binary in a browser.
type wasmTestServer struct {
	*httptest.Server
	done chan struct{} // closed when the test ends: stops /ws/hang

	mu      sync.Mutex
	closing bool
	live    map[*Conn]struct{}
	wg      sync.WaitGroup
	records map[string]chan string // id -> how the connection ended
}

func startWasmServer(t *testing.T, bin, wasmExecJS string) *wasmTestServer {
	t.Helper()
	s := &wasmTestServer{done: make(chan struct{}), live: make(map[*Conn]struct{}), records: make(map[string]chan string)}
	up := &Upgrader{
		Subprotocols:   []string{"chat"},
		OriginPatterns: []string{"*"},
		ReadLimit:      4 << 20,
		Handler:        s.handle,
	}
	files := map[string]struct{ path, ctype string }{
		"/wasm/":             {filepath.Join("testdata", "wasm", "index.html"), "text/html; charset=utf-8"},
		"/wasm/wasm_exec.js": {wasmExecJS, "text/javascript; charset=utf-8"},
		"/wasm/test.wasm":    {bin, "application/wasm"},
	}
	deflateUp := &Upgrader{
		OriginPatterns: []string{"*"},
		Compression:    CompressionNoContextTakeover,
		Handler:        s.handle,
	}
	mux := http.NewServeMux()
	mux.Handle("/ws/echo", up)
	mux.Handle("/ws/deflate", deflateUp)
	mux.Handle("/ws/sink", up)
	mux.Handle("/ws/ctl", up)
	mux.Handle("/ws/report", up)
	mux.HandleFunc("/ws/refuse", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "refused by the test server", http.StatusForbidden)
	})
	mux.HandleFunc("/ws/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	})
	mux.HandleFunc("/wasm/", func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.ctype)
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFile(w, r, f.path)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(s.done)
		s.Server.Close()
		s.mu.Lock()
		s.closing = true
		for c := range s.live {
			c.CloseNow()
		}
		s.mu.Unlock()
		finished := make(chan struct{})
		go func() { s.wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(15 * time.Second):
			t.Errorf("wasm test server handlers still running 15s after the test")
		}
	})
	return s
}

// record returns the channel of connection id's outcome.
func (s *wasmTestServer) record(id string) chan string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.records[id]
	if !ok {
		ch = make(chan string, 1)
		s.records[id] = ch
	}
	return ch
}

func (s *wasmTestServer) handle(c *Conn) {
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
	id := r.URL.Query().Get("id")
	var outcome string
	switch r.URL.Path {
	case "/ws/report":
		select {
		case outcome = <-s.record(id):
		case <-time.After(10 * time.Second):
			outcome = "error: no record of connection " + id
		case <-s.done:
			return
		}
		c.WriteMessage(TextMessage, []byte(outcome))
		c.Close()
		return
	case "/ws/echo", "/ws/deflate":
		outcome = s.echo(c)
	case "/ws/ctl":
		outcome = s.control(c)
	case "/ws/sink":
		var n int
		for {
			_, p, err := c.ReadMessage()
			if err != nil {
				outcome = fmt.Sprintf("%s after %d bytes", outcomeOf(err), n)
				break
			}
			n += len(p)
		}
	}
	if id != "" {
		select {
		case s.record(id) <- outcome:
		default:
		}
	}
}

// outcomeOf describes how a read loop ended: "CODE REASON" for the
// peer's close frame.
func outcomeOf(err error) string {
	var ce *CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("%d %s", int(ce.Code), ce.Reason)
	}
	return "error: " + err.Error()
}

func (s *wasmTestServer) echo(c *Conn) string {
	for {
		typ, p, err := c.ReadMessage()
		if err != nil {
			return outcomeOf(err)
		}
		if err := c.WriteMessage(typ, p); err != nil {
			return "error: " + err.Error()
		}
	}
}

func (s *wasmTestServer) control(c *Conn) string {
	for {
		_, p, err := c.ReadMessage()
		if err != nil {
			return outcomeOf(err)
		}
		f := strings.Fields(string(p))
		arg := func(i int) int {
			if i >= len(f) {
				return 0
			}
			n, _ := strconv.Atoi(f[i])
			return n
		}
		switch {
		case len(f) == 0:
		case f[0] == "send":
			err = c.WriteMessage(BinaryMessage, bytes.Repeat([]byte{'b'}, arg(1)))
		case f[0] == "flood":
			for i := 0; i < arg(1) && err == nil; i++ {
				err = c.WriteMessage(BinaryMessage, bytes.Repeat([]byte{byte(i)}, arg(2)))
			}
		case f[0] == "close":
			_, reason, _ := strings.Cut(strings.TrimPrefix(string(p), "close "), " ")
			err = c.CloseWithStatus(StatusCode(arg(1)), reason)
			return fmt.Sprintf("closed by the server: %v", err)
		case f[0] == "drop":
			c.CloseNow()
			return "dropped by the server"
		}
		if err != nil {
			return "error: " + err.Error()
		}
	}
}
