//go:build !js

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsstd/websocket"
	"github.com/wsstd/websocket/internal/peerenv"
)

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func TestServesFiles(t *testing.T) {
	dir := t.TempDir()
	wasm := filepath.Join(dir, "main.wasm")
	execJS := filepath.Join(dir, "wasm_exec.js")
	os.WriteFile(wasm, []byte("\x00asm\x01\x00\x00\x00"), 0o644)
	os.WriteFile(execJS, []byte("// wasm_exec"), 0o644)
	s := httptest.NewServer(newMux(wasm, execJS))
	defer s.Close()

	for _, tc := range []struct{ path, ctype, body string }{
		{"/", "text/html", "main.wasm"},
		{"/main.wasm", "application/wasm", "\x00asm"},
		{"/wasm_exec.js", "text/javascript", "// wasm_exec"},
	} {
		resp, body := get(t, s.URL+tc.path)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s: %s, %q, body %q", tc.path, resp.Status, resp.Header.Get("Content-Type"), body)
		}
	}
	if resp, _ := get(t, s.URL+"/elsewhere"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /elsewhere: %s, want 404", resp.Status)
	}

	// Without a built main.wasm: 404 with the build command.
	s2 := httptest.NewServer(newMux(filepath.Join(dir, "missing.wasm"), execJS))
	defer s2.Close()
	if resp, body := get(t, s2.URL+"/main.wasm"); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, buildHint) {
		t.Errorf("GET /main.wasm when missing: %s %q", resp.Status, body)
	}
}

func TestEcho(t *testing.T) {
	s := httptest.NewServer(newMux("main.wasm", "wasm_exec.js"))
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, typ := range []websocket.MessageType{websocket.TextMessage, websocket.BinaryMessage} {
		if err := c.WriteMessage(typ, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if got, p, err := c.ReadMessage(); err != nil || got != typ || string(p) != "hi" {
			t.Fatalf("echo: %v %q %v", got, p, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBrowser builds the example for js/wasm and runs its page in headless
// Chromium through the repository's peer scripts (testdata/peers): the Go
// program in the page must dial /ws, send, and show the echo. Without
// Chromium or the scripts' npm packages it is skipped, or fails when $CI
// is set (install them with: bash .ci/install-peers.sh).
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds main.wasm and starts Chromium; skipped with -short")
	}
	peers, err := filepath.Abs(filepath.Join("..", "..", "..", "testdata", "peers"))
	if err != nil {
		t.Fatal(err)
	}
	if off := peerenv.ChromiumOff(); off != "" {
		t.Skip("browser test turned off by " + off)
	}
	if err := browserAvailable(peers); err != nil {
		msg := "headless Chromium is not available (" + err.Error() + "); install it with: bash .ci/install-peers.sh"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	execJS, err := findWasmExec()
	if err != nil {
		// Toolchains that the go command downloads (GOTOOLCHAIN) lack
		// misc/wasm before Go 1.24, and nothing else matches them.
		t.Skipf("this Go toolchain has no wasm_exec.js: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	dir := t.TempDir()
	wasm := filepath.Join(dir, "main.wasm")
	build := exec.CommandContext(ctx, "go", "build", "-o", wasm, "..")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go build: %v\n%s", err, out)
	}
	s := httptest.NewServer(newMux(wasm, execJS))
	defer s.Close()

	const want = "received: 4 bytes of binary: de ad be ef"
	cmd := exec.CommandContext(ctx, peerenv.NodePath(), "page_text.js", s.URL+"/", want, "--timeout=60000")
	cmd.Dir = peers
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.Output()
	text := string(out)
	t.Logf("page text:\n%s", text)
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("page_text.js: %v\n%s", err, stderr)
	}
	for _, w := range []string{"connected", "sent: Hello, Server!", "received: Hello, Server!", want} {
		if !strings.Contains(text, w) {
			t.Errorf("page log lacks %q", w)
		}
	}
	if strings.Contains(text, "error") {
		t.Errorf("page log shows an error")
	}
}

// browserAvailable reports whether Chromium and the peer scripts' npm
// packages are installed.
func browserAvailable(peers string) error {
	if _, err := os.Stat(peerenv.ChromiumPath()); err != nil {
		return err
	}
	cmd := exec.Command(peerenv.NodePath(), "-e", `require("playwright-core")`)
	cmd.Dir = peers
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("node cannot load playwright-core: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
