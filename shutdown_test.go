//go:build !js

package websocket

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestShutdownClosesEveryConnWith1001(t *testing.T) {
	checkGoroutines(t)
	const n = 20
	var handlers sync.WaitGroup
	u := &Upgrader{}
	s := startServer(t, u, func(c *Conn) {
		handlers.Add(1)
		defer handlers.Done()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				if CloseStatus(err) != StatusGoingAway {
					t.Errorf("handler saw %v, want 1001", err)
				}
				return
			}
		}
	})
	clientErrs := make(chan error, n)
	for i := 0; i < n; i++ {
		c, _, err := Dial(context.Background(), wsURL(s), nil)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					clientErrs <- err
					return
				}
			}
		}()
	}
	waitFor(t, func() bool { return u.ActiveConns() == n })
	select {
	case <-u.ShuttingDown():
		t.Fatal("ShuttingDown closed before Shutdown")
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	<-u.ShuttingDown()
	for i := 0; i < n; i++ {
		var ce *CloseError
		if err := <-clientErrs; !errors.As(err, &ce) || ce.Code != StatusGoingAway || ce.Reason != ShutdownReason {
			t.Fatalf("client saw %v", err)
		}
	}
	handlers.Wait()
	if u.ActiveConns() != 0 {
		t.Fatalf("%d conns left", u.ActiveConns())
	}
	// New upgrades are refused with 503.
	resp := rawUpgradeRequest(t, s)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("upgrade during shutdown: %s", resp.Status)
	}
}

// rawUpgradeRequest sends a valid handshake and returns the response.
func rawUpgradeRequest(t *testing.T, s *httptest.Server) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", newKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// One peer that never answers the close: the others get their close frame
// at once, Shutdown returns when ctx expires, and the stuck TCP connection
// is closed.
func TestShutdownWithStuckPeer(t *testing.T) {
	checkGoroutines(t)
	u := &Upgrader{CloseTimeout: time.Minute}
	s := startServer(t, u, func(c *Conn) {
		c.ReadMessage()
	})
	_, stuck := rawDial(t, s) // reads nothing, answers nothing
	good, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	goodErr := make(chan error, 1)
	go func() {
		_, _, err := good.ReadMessage()
		goodErr <- err
	}()
	waitFor(t, func() bool { return u.ActiveConns() == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = u.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown returned %v, want the ctx error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	select {
	case err := <-goodErr:
		if CloseStatus(err) != StatusGoingAway {
			t.Fatalf("good client saw %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("the responsive client was delayed by the stuck one")
	}
	expectClose(t, stuck, StatusGoingAway)
	expectEOF(t, stuck)
	if u.ActiveConns() != 0 {
		t.Fatalf("%d conns left", u.ActiveConns())
	}
}

// A message being written while Shutdown runs goes out whole before the
// close frame, or not at all.
func TestShutdownDuringWrites(t *testing.T) {
	checkGoroutines(t)
	u := &Upgrader{}
	writing := make(chan struct{})
	s := startServer(t, u, func(c *Conn) {
		go c.ReadMessage() // the reader completes the close handshake
		close(writing)
		msg := []byte(strings.Repeat("m", 3000))
		for {
			if err := c.WriteMessage(TextMessage, msg); err != nil {
				return
			}
			w, err := c.NextWriter(BinaryMessage)
			if err != nil {
				return
			}
			for i := 0; i < 5; i++ {
				if _, err := w.Write(msg); err != nil {
					break
				}
			}
			if w.Close() != nil {
				return
			}
		}
	})
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	<-writing
	done := make(chan error, 1)
	flowing := make(chan struct{}) // closed once both kinds of message arrived
	go func() {
		var seen [BinaryMessage + 1]bool
		for {
			typ, p, err := c.ReadMessage()
			if err != nil {
				done <- err
				return
			}
			want := 3000
			if typ == BinaryMessage {
				want = 15000
			}
			if len(p) != want {
				done <- errors.New("torn message")
				return
			}
			if !seen[typ] {
				seen[typ] = true
				if seen[TextMessage] && seen[BinaryMessage] {
					close(flowing)
				}
			}
		}
	}()
	// Shut down while whole and streamed messages are flowing.
	select {
	case <-flowing:
	case err := <-done:
		t.Fatalf("client before the shutdown: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no text and binary message in 5 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; CloseStatus(err) != StatusGoingAway {
		t.Fatalf("client: %v", err)
	}
}

// Closed connections leave the registry at once.
func TestRegistryEmptiesAfterManyConns(t *testing.T) {
	checkGoroutines(t)
	u := &Upgrader{}
	s := startServer(t, u, func(c *Conn) { c.ReadMessage() })
	for i := 0; i < 200; i++ {
		c, _, err := Dial(context.Background(), wsURL(s), nil)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			c.Close()
		} else {
			c.CloseNow()
		}
	}
	waitFor(t, func() bool { return u.ActiveConns() == 0 })
}

// The one-line wiring into http.Server.Shutdown.
func TestShutdownWithHTTPServer(t *testing.T) {
	checkGoroutines(t)
	u := &Upgrader{Handler: func(c *Conn) { c.ReadMessage() }}
	s := httptest.NewUnstartedServer(u)
	s.Config.RegisterOnShutdown(func() { u.Shutdown(context.Background()) })
	s.Start()
	defer s.Close()
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		readErr <- err
	}()
	waitFor(t, func() bool { return u.ActiveConns() == 1 })
	s.Config.Shutdown(context.Background())
	if err := <-readErr; CloseStatus(err) != StatusGoingAway {
		t.Fatalf("client saw %v", err)
	}
}

// A real peer, Node's ws, sees the shutdown's close code and reason.
func TestShutdownNodePeer(t *testing.T) {
	requirePeer(t, peerNode, peerInstallHint)
	u := &Upgrader{}
	s := startServer(t, u, func(c *Conn) {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	var peers []*peerProc
	for i := 0; i < 3; i++ {
		p := startPeerProc(t, context.Background(), "ws client", "node", "ws_wait_close.js", wsURL(s))
		p.waitLine(t, "OPEN", peerStartTimeout)
		peers = append(peers, p)
	}
	waitFor(t, func() bool { return u.ActiveConns() == 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		if line := p.waitLine(t, "CLOSE", 5*time.Second); line != "CLOSE 1001 "+ShutdownReason {
			t.Fatalf("node saw %q", line)
		}
	}
}
