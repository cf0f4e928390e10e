//go:build !js

package websocket

// Starting and driving peer processes (the scripts in testdata/peers, run
// by Node, Python or headless Chromium) for the interop, HTTP/2, wasm and
// shutdown tests. Whether a peer is installed is checked by requirePeer
// and its helpers in interop_test.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineLog collects a process's stdout as lines that can be waited for.
type lineLog struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
	eof     bool
	changed chan struct{} // closed and replaced whenever something happens
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, strings.TrimRight(string(l.partial[:i]), "\r"))
		l.partial = l.partial[i+1:]
	}
	l.signal()
	return len(p), nil
}

// finish marks the end of the output. Caller must not hold mu.
func (l *lineLog) finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.lines = append(l.lines, string(l.partial))
		l.partial = nil
	}
	l.eof = true
	l.signal()
}

func (l *lineLog) signal() {
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *lineLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// lockedBuffer is a bytes.Buffer safe for a process to write while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// peerProc is a running peer script.
type peerProc struct {
	name   string
	cmd    *exec.Cmd
	out    *lineLog
	stderr lockedBuffer
	done   chan struct{} // closed once the process exited and its output is in
	err    error         // Wait's result, set before done is closed
	next   int           // index of the next line waitLine looks at
	port   int           // for servers: the port of LISTEN
}

// startPeerProc starts argv in testdata/peers. The process gets an
// interrupt when ctx is done, and is killed 5s later if still running; it
// is stopped the same way, and waited for, when the test ends.
func startPeerProc(t *testing.T, ctx context.Context, name string, argv ...string) *peerProc {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	p := &peerProc{name: name, out: newLineLog(), done: make(chan struct{})}
	argv = peerArgv(argv)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = peersDir
	cmd.Stdout = p.out
	cmd.Stderr = &p.stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	p.cmd = cmd
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: starting %v: %v", name, argv, err)
	}
	go func() {
		p.err = cmd.Wait()
		p.out.finish()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			t.Errorf("%s (pid %d) did not exit after being stopped", name, cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("%s stdout:\n%s", name, strings.Join(p.out.all(), "\n"))
			t.Logf("%s stderr:\n%s", name, p.stderr.String())
		}
	})
	return p
}

// waitLine returns the next stdout line starting with prefix, skipping
// other lines, or fails the test if none comes within timeout.
func (p *peerProc) waitLine(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.out.mu.Lock()
		for p.next < len(p.out.lines) {
			line := p.out.lines[p.next]
			p.next++
			if strings.HasPrefix(line, prefix) {
				p.out.mu.Unlock()
				return line
			}
		}
		eof, changed := p.out.eof, p.out.changed
		p.out.mu.Unlock()
		if eof {
			t.Fatalf("%s exited (%v) without printing a %q line; stderr:\n%s", p.name, p.err, prefix, p.stderr.String())
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("%s printed no %q line within %v; stdout so far: %q", p.name, prefix, timeout, p.out.all())
		}
	}
}

// startPeerServer starts a peer server script (ws_server.js, py_server.py)
// with args and waits for its LISTEN line.
func startPeerServer(t *testing.T, peer string, args ...string) *peerProc {
	t.Helper()
	var argv []string
	switch peer {
	case peerNode:
		argv = []string{"node", "ws_server.js"}
	case peerPython:
		argv = []string{"/usr/bin/python3", "py_server.py"}
	default:
		t.Fatalf("no server script for peer %q", peer)
	}
	requirePeer(t, peer, peerInstallHint)
	p := startPeerProc(t, context.Background(), peer+" server", append(argv, args...)...)
	line := p.waitLine(t, "LISTEN ", peerStartTimeout)
	port, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "LISTEN ")))
	if err != nil || port <= 0 || port > 65535 {
		t.Fatalf("%s: bad LISTEN line %q", p.name, line)
	}
	p.port = port
	return p
}

func (p *peerProc) url(path string) string {
	return fmt.Sprintf("ws://127.0.0.1:%d%s", p.port, path)
}

// runPeer runs a peer script to completion, bounded by limit, and returns
// its stdout lines and its exit error.
func runPeer(t *testing.T, limit time.Duration, name string, argv ...string) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	p := startPeerProc(t, ctx, name, argv...)
	select {
	case <-p.done:
	case <-time.After(limit + 10*time.Second):
		t.Fatalf("%s did not finish within %v", name, limit)
	}
	if ctx.Err() != nil {
		t.Errorf("%s was stopped after %v", name, limit)
	}
	if s := p.stderr.String(); s != "" && testing.Verbose() {
		t.Logf("%s stderr:\n%s", name, s)
	}
	return p.out.all(), p.err
}

// peerResult is the JSON line printed by ws_client.js, py_client.py and,
// as window.testResult, by matrix.html through browser.js.
type peerResult struct {
	OK     bool     `json:"ok"`
	Errors []string `json:"errors"`
	Close  *struct {
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	} `json:"close"`
	Protocol   string `json:"protocol"`
	Extensions string `json:"extensions"`
}

// runMatrixPeer runs a matrix client script and returns its parsed result.
func runMatrixPeer(t *testing.T, limit time.Duration, name string, argv ...string) peerResult {
	t.Helper()
	start := time.Now()
	lines, runErr := runPeer(t, limit, name, argv...)
	t.Logf("%s ran for %v (exit: %v)", name, time.Since(start).Round(time.Millisecond), runErr)
	var res peerResult
	var last string
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(strings.TrimSpace(lines[i]), "{") {
			last = lines[i]
			break
		}
	}
	if last == "" {
		t.Fatalf("%s printed no JSON result (exit: %v); stdout: %q", name, runErr, lines)
	}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("%s: bad JSON result %q: %v", name, last, err)
	}
	t.Logf("%s result: %s", name, last)
	if !res.OK || len(res.Errors) > 0 {
		t.Errorf("%s: matrix failed: %q", name, res.Errors)
	}
	if (runErr == nil) != res.OK {
		t.Errorf("%s: exit status %v does not match ok=%v", name, runErr, res.OK)
	}
	return res
}
