//go:build !js

package websocket

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// With PingInterval set, an idle server Conn pings the peer; a peer that
// answers keeps the connection up through several intervals.
func TestKeepalivePingsAndStaysUp(t *testing.T) {
	checkGoroutines(t)
	readErr := make(chan error, 1)
	s := startServer(t, &Upgrader{PingInterval: 50 * time.Millisecond}, func(c *Conn) {
		_, _, err := c.ReadMessage()
		readErr <- err
	})
	nc, br := rawDial(t, s)
	start := time.Now()
	for pings := 0; pings < 5; {
		h, p, err := readRawFrame(br)
		if err != nil {
			t.Fatalf("after %d pings: %v", pings, err)
		}
		if h.opcode != opPing {
			t.Fatalf("got opcode %d, want ping", h.opcode)
		}
		pings++
		nc.Write(rawFrame(true, 0, opPong, true, p))
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("5 pings within %v: the interval is not respected", d)
	}
	select {
	case err := <-readErr:
		t.Fatalf("connection failed although the peer answered: %v", err)
	default:
	}
	nc.Write(rawFrame(true, 0, opClose, true, closePayload(StatusNormalClosure, "")))
	expectClose(t, br, StatusNormalClosure)
	<-readErr
}

// A peer that stops answering is dropped after PingTimeout: it is sent
// 1011, and the reader's error says the peer stopped answering and matches
// ErrClosed, net.ErrClosed and os.ErrDeadlineExceeded.
func TestKeepaliveDropsSilentPeer(t *testing.T) {
	checkGoroutines(t)
	readErr := make(chan error, 1)
	s := startServer(t, &Upgrader{PingInterval: 50 * time.Millisecond, PingTimeout: 100 * time.Millisecond}, func(c *Conn) {
		_, _, err := c.ReadMessage()
		readErr <- err
	})
	_, br := rawDial(t, s)
	start := time.Now()
	h, _, err := readRawFrame(br)
	if err != nil || h.opcode != opPing {
		t.Fatalf("want a ping, got %+v %v", h, err)
	}
	expectClose(t, br, StatusInternalError)
	var rerr error
	select {
	case rerr = <-readErr:
	case <-time.After(5 * time.Second):
		t.Fatal("the reader did not return after keepalive gave up")
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("dropped %v after the ping, before PingTimeout", d)
	}
	if !errors.Is(rerr, ErrClosed) || !errors.Is(rerr, net.ErrClosed) || !errors.Is(rerr, os.ErrDeadlineExceeded) {
		t.Fatalf("reader's error %v: want ErrClosed, net.ErrClosed and os.ErrDeadlineExceeded", rerr)
	}
	if !strings.Contains(rerr.Error(), "keepalive") {
		t.Fatalf("reader's error %q does not name keepalive", rerr)
	}
}

// Any frame from the peer counts as a sign of life, not only a pong: a
// peer that keeps sending data but never answers pings stays connected.
func TestKeepaliveAnyFrameCounts(t *testing.T) {
	checkGoroutines(t)
	msgs := make(chan string, 100)
	s := startServer(t, &Upgrader{PingInterval: 40 * time.Millisecond, PingTimeout: 250 * time.Millisecond}, func(c *Conn) {
		for {
			_, p, err := c.ReadMessage()
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(p)
		}
	})
	nc, br := rawDial(t, s)
	var pings atomic.Int32
	go func() {
		for {
			h, _, err := readRawFrame(br)
			if err != nil {
				return
			}
			if h.opcode == opPing {
				pings.Add(1)
			}
		}
	}()
	for i := 0; pings.Load() < 3; i++ {
		if i == 500 {
			t.Fatal("no keepalive pings")
		}
		nc.Write(rawFrame(true, 0, opText, true, []byte("tick")))
		if m, ok := <-msgs; !ok || m != "tick" {
			t.Fatalf("after %d messages the connection ended", i)
		}
		time.Sleep(20 * time.Millisecond) // the peer's own pace, under PingTimeout
	}
	nc.Close()
	<-msgs
}

// The keepalive ping is written under its own deadline: an expired
// application write deadline does not stop it or fail the Conn.
func TestKeepaliveIgnoresStaleWriteDeadline(t *testing.T) {
	checkGoroutines(t)
	ready := make(chan struct{})
	s := startServer(t, &Upgrader{PingInterval: 30 * time.Millisecond}, func(c *Conn) {
		c.SetWriteDeadline(time.Now().Add(-time.Second))
		close(ready)
		c.ReadMessage()
	})
	nc, br := rawDial(t, s)
	<-ready
	for i := 0; i < 3; i++ {
		h, p, err := readRawFrame(br)
		if err != nil || h.opcode != opPing {
			t.Fatalf("ping %d: %+v %v", i, h, err)
		}
		nc.Write(rawFrame(true, 0, opPong, true, p))
	}
	nc.Close()
}

// A keepalive ping goes out between the frames of a message that a writer
// is streaming (it does not wait for the message to end); the client side
// keeps alive as the server side does.
func TestKeepaliveClientBetweenFragments(t *testing.T) {
	checkGoroutines(t)
	c, nc, br := rawServerDialer(t, &Dialer{PingInterval: 30 * time.Millisecond})
	defer nc.Close()
	w, err := c.NextWriter(BinaryMessage)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 64<<10)); err != nil { // sent as a frame of its own
		t.Fatal(err)
	}
	h, _, err := readRawFrame(br)
	if err != nil || h.opcode != opBinary || h.fin {
		t.Fatalf("want the message's first fragment, got %+v %v", h, err)
	}
	h, _, err = readRawFrame(br)
	if err != nil || h.opcode != opPing || !h.masked {
		t.Fatalf("want a masked keepalive ping while the message is open, got %+v %v", h, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for {
		h, _, err = readRawFrame(br)
		if err != nil {
			t.Fatal(err)
		}
		if h.opcode == opContinuation && h.fin {
			break
		}
	}
	c.CloseNow()
}

// keepaliveEcho reads one message into buf and writes it back: the steady
// state of a busy connection.
func keepaliveEcho(c *Conn, buf []byte) error {
	typ, r, err := c.NextReader()
	if err != nil {
		return err
	}
	m, err := io.ReadFull(r, buf)
	if err != nil {
		return err
	}
	return c.WriteMessage(typ, buf[:m])
}

// Keepalive costs a busy connection no allocation: an echo with
// PingInterval set allocates nothing, as one without does.
func TestAllocKeepaliveEcho(t *testing.T) {
	if raceEnabled() {
		t.Skip("allocation counts need a build without -race; .ci/run runs this test without -race")
	}
	nc := &loopConn{frame: rawFrame(true, 0, opBinary, true, make([]byte, 1024))}
	c := newConn(nc, nil, connConfig{isServer: true, pingInterval: time.Hour})
	defer c.br.ka.timer.Stop() // loopConn cannot be closed
	buf := make([]byte, 1024)
	if n := testing.AllocsPerRun(1000, func() {
		if err := keepaliveEcho(c, buf); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per echo with keepalive on, want 0", n)
	}
}

// BenchmarkEchoKeepalive is BenchmarkEchoInMemory with keepalive off and
// on, to compare in one run: the reading path's only added work is one
// atomic load per read from the transport.
func BenchmarkEchoKeepalive(b *testing.B) {
	for _, every := range []time.Duration{0, 30 * time.Second} {
		for _, n := range []int{16, 1024} {
			b.Run(fmt.Sprintf("ping=%v/%d", every, n), func(b *testing.B) {
				nc := &loopConn{frame: rawFrame(true, 0, opBinary, true, make([]byte, n))}
				c := newConn(nc, nil, connConfig{isServer: true, pingInterval: every})
				if c.br.ka != nil {
					defer c.br.ka.timer.Stop() // loopConn cannot be closed
				}
				buf := make([]byte, n)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := keepaliveEcho(c, buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
