//go:build !js

package websocket

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// serveLoopback serves h on a loopback port with a real http.Server and
// returns the server and its address. The server is closed after the test.
func serveLoopback(t *testing.T, h http.Handler) (*http.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-served
	})
	return srv, ln.Addr().String()
}

// TestShutdownServer stops a real http.Server that has a plain HTTP request
// in flight, a WebSocket from Upgrader-as-handler and one from Upgrade in a
// handler: ShutdownServer waits for the request to complete and for both
// peers to answer 1001, then returns nil, with nothing left running.
func TestShutdownServer(t *testing.T) {
	checkGoroutines(t)
	u := &Upgrader{Handler: func(c *Conn) {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}}
	inner := &Upgrader{}
	slowEntered := make(chan struct{})
	releaseSlow := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/ws", u)
	mux.HandleFunc("/inner", func(w http.ResponseWriter, r *http.Request) {
		c, err := inner.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(slowEntered)
		<-releaseSlow
		io.WriteString(w, "done")
	})
	srv, addr := serveLoopback(t, mux)

	readErrs := make(chan error, 2)
	for _, path := range []string{"/ws", "/inner"} {
		c, _, err := Dial(context.Background(), "ws://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					readErrs <- err
					return
				}
			}
		}()
	}
	waitFor(t, func() bool { return u.ActiveConns() == 1 && inner.ActiveConns() == 1 })

	type result struct {
		body string
		err  error
	}
	slow := make(chan result, 1)
	tr := &http.Transport{Proxy: nil}
	defer tr.CloseIdleConnections()
	go func() {
		resp, err := (&http.Client{Transport: tr}).Get("http://" + addr + "/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- result{string(b), err}
	}()
	<-slowEntered

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ShutdownServer(ctx, srv, u, inner) }()

	// Both WebSockets are told 1001 while the HTTP request still runs.
	for range 2 {
		select {
		case err := <-readErrs:
			if CloseStatus(err) != StatusGoingAway {
				t.Fatalf("a WebSocket client saw %v, want close 1001", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a WebSocket was not closed while the HTTP request ran")
		}
	}
	select {
	case err := <-done:
		t.Fatalf("ShutdownServer returned (%v) with an HTTP request in flight", err)
	default:
	}
	close(releaseSlow)
	if r := <-slow; r.err != nil || r.body != "done" {
		t.Fatalf("the request in flight got %q, %v; want it completed", r.body, r.err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ShutdownServer: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ShutdownServer did not return once everything was done")
	}
	if n := u.ActiveConns() + inner.ActiveConns(); n != 0 {
		t.Fatalf("%d WebSockets left", n)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("the listener still accepts connections")
	}
}

// TestShutdownServerUnansweredClose: a peer that never answers the close
// frame makes ShutdownServer return ctx's error when ctx expires, promptly,
// with the peer's connection closed.
func TestShutdownServerUnansweredClose(t *testing.T) {
	checkGoroutines(t)
	u := &Upgrader{CloseTimeout: time.Minute, Handler: func(c *Conn) { c.ReadMessage() }}
	srv, addr := serveLoopback(t, u)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(nc, handshakeRequest(addr))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	waitFor(t, func() bool { return u.ActiveConns() == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = ShutdownServer(ctx, srv, u)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ShutdownServer returned %v, want the ctx error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("ShutdownServer took %v after a 300ms ctx", d)
	}
	expectClose(t, br, StatusGoingAway)
	expectEOF(t, br)
	if u.ActiveConns() != 0 {
		t.Fatalf("%d WebSockets left", u.ActiveConns())
	}
}

// TestShutdownServerStopsAccepting: after ShutdownServer, with no
// connections at all, it returns nil and a new upgrade cannot connect.
func TestShutdownServerStopsAccepting(t *testing.T) {
	checkGoroutines(t)
	u := &Upgrader{Handler: func(c *Conn) { c.ReadMessage() }}
	srv, addr := serveLoopback(t, u)
	if err := ShutdownServer(context.Background(), srv, u); err != nil {
		t.Fatal(err)
	}
	// The port is closed (another process on the machine may reuse it, so
	// any failure will do): no upgrade may succeed.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, _, err := Dial(ctx, "ws://"+addr+"/", nil); err == nil {
		c.CloseNow()
		t.Fatal("Dial after ShutdownServer succeeded")
	}
}
