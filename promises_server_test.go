//go:build !js

package websocket

import (
	"bytes"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tests of the README's promises about the Upgrader as a server (issue 18),
// with a raw client on real loopback TCP.

// syncBuffer is a bytes.Buffer safe for the log package and the test to
// use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A panic in Upgrader.Handler is logged and closes the connection with
// 1011 (internal error), not 1000, and the server then closes TCP.
func TestPromiseHandlerPanicCloses1011(t *testing.T) {
	checkGoroutines(t)
	var logged syncBuffer
	prev := log.Writer()
	log.SetOutput(&logged)
	t.Cleanup(func() { log.SetOutput(prev) })
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		panic("handler bug")
	})
	nc, br := rawDial(t, s)
	p := expectClose(t, br, StatusInternalError)
	if got := string(p[2:]); got != "internal error" {
		t.Errorf("close reason %q, want %q", got, "internal error")
	}
	nc.Write(rawFrame(true, 0, opClose, true, p))
	expectTCPClosed(t, nc, br, 5*time.Second)
	if !strings.Contains(logged.String(), "panic in Handler") || !strings.Contains(logged.String(), "handler bug") {
		t.Errorf("the panic was not logged: %q", logged.String())
	}
}

// ServeHTTP runs Handler on a goroutine of its own and returns while the
// Handler still runs, so that net/http frees its per-connection state.
func TestPromiseServeHTTPReturnsWhileHandlerRuns(t *testing.T) {
	checkGoroutines(t)
	release := make(chan struct{})
	var once sync.Once
	letGo := func() { once.Do(func() { close(release) }) }
	running := make(chan struct{})
	handlerDone := make(chan struct{})
	u := &Upgrader{Handler: func(c *Conn) {
		defer close(handlerDone)
		close(running)
		<-release
	}}
	served := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.ServeHTTP(w, r)
		close(served)
	}))
	t.Cleanup(s.Close)
	defer letGo() // lets the Handler end if the test fails early
	nc, br := rawDial(t, s)
	<-running
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("ServeHTTP has not returned while Handler runs")
	}
	select {
	case <-handlerDone:
		t.Fatal("the Handler ended before it was released")
	default:
	}
	// The Conn is alive after ServeHTTP returned: the Handler's return
	// closes it with 1000.
	letGo()
	expectClose(t, br, StatusNormalClosure)
	nc.Write(rawFrame(true, 0, opClose, true, closePayload(StatusNormalClosure, "")))
	expectTCPClosed(t, nc, br, 5*time.Second)
}

// Upgrade clears the deadlines http.Server's ReadTimeout and WriteTimeout
// left on the connection, and the one it used for its own handshake
// response (Upgrader.HandshakeTimeout): a WebSocket idle for longer than all
// of them still reads and writes. Waiting on time is the behaviour under
// test here: 700 ms idle against 300 ms timeouts. (net/http's Hijack also
// clears the server's deadlines, on every Go this module supports.)
func TestPromiseUpgradeClearsServerTimeouts(t *testing.T) {
	checkGoroutines(t)
	const timeout, idle = 300 * time.Millisecond, 700 * time.Millisecond
	u := &Upgrader{HandshakeTimeout: timeout, Handler: func(c *Conn) {
		for {
			typ, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, p); err != nil {
				return
			}
		}
	}}
	s := httptest.NewUnstartedServer(u)
	s.Config.ReadTimeout = timeout
	s.Config.WriteTimeout = timeout
	s.Start()
	t.Cleanup(s.Close)
	nc, br := rawDial(t, s)
	upgraded := time.Now()
	// Idle past both timeouts (measured from the handshake, when net/http
	// set them), then the server reads a message and writes its echo.
	time.Sleep(idle)
	msg := []byte("after idle")
	if _, err := nc.Write(rawFrame(true, 0, opText, true, msg)); err != nil {
		t.Fatal(err)
	}
	h, p, err := readRawFrame(br)
	if err != nil || h.opcode != opText || !bytes.Equal(p, msg) {
		t.Fatalf("%v after the upgrade: want the echo, got opcode %d %q %v", time.Since(upgraded).Round(time.Millisecond), h.opcode, p, err)
	}
	nc.Write(rawFrame(true, 0, opClose, true, closePayload(StatusNormalClosure, "")))
	expectClose(t, br, StatusNormalClosure)
	expectTCPClosed(t, nc, br, 5*time.Second)
}
