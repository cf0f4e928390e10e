//go:build !js

package websocket

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"
)

// A server that fails a connection while the peer is still sending (here:
// a message over the read limit) must get its close frame to the peer: it
// shuts down its write side and drains what the peer still sends before it
// closes, so that the kernel does not answer the unread bytes with a reset
// that would destroy the close frame. Node's ws sends the 4 MiB message in
// one frame while it reads; every one of 10 runs must see 1009.
func TestLingerNodeOversizedMessage(t *testing.T) {
	requirePeer(t, peerNode, peerInstallHint)
	u := &Upgrader{ReadLimit: 64 << 10}
	errs := make(chan error, 10)
	s := startServer(t, u, func(c *Conn) {
		_, _, err := c.ReadMessage()
		errs <- err
	})
	checkNodeOversize(t, wsURL(s)+"/", errs)
}

// The same through nginx with the README's config, whose lingering_close
// line keeps nginx from resetting Node's connection when the server's
// side ends: without it Node saw 1009 in 1 of 10 runs, 1006 in the rest.
func TestLingerNodeOversizedMessageBehindNginx(t *testing.T) {
	requirePeer(t, peerNode, peerInstallHint)
	b := startDeployBackend(t, func(u *Upgrader) { u.ReadLimit = 64 << 10 })
	listen := freeLoopbackAddr(t)
	base := startNginx(t, nginxSite(t, listen, b.addr()), listen)
	f := front{name: "nginx", base: base}
	checkNodeOversize(t, f.wsURL(), b.ends)
}

// checkNodeOversize has Node's ws send a 4 MiB message to url 10 times and
// fails t unless every run saw 1009, and the server (whose read errors
// arrive on errs) failed each read with a 1009 *ProtocolError.
func checkNodeOversize(t *testing.T, url string, errs <-chan error) {
	t.Helper()
	got := map[int]int{}
	for i := 0; i < 10; i++ {
		lines, err := runPeer(t, 20*time.Second, "ws_oversize.js", "node", "ws_oversize.js", url, strconv.Itoa(4<<20))
		if err != nil || len(lines) == 0 {
			t.Fatalf("run %d: ws_oversize.js: %v %q", i, err, lines)
		}
		var r struct {
			Code   int    `json:"code"`
			Reason string `json:"reason"`
			Error  string `json:"error"`
		}
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
			t.Fatalf("run %d: %v in %q", i, err, lines)
		}
		got[r.Code]++
		var pe *ProtocolError
		select {
		case err := <-errs:
			if !errors.As(err, &pe) || pe.Code != StatusMessageTooBig {
				t.Fatalf("run %d: server's read error %v, want a 1009 *ProtocolError", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d: the server's connection did not end", i)
		}
	}
	if got[int(StatusMessageTooBig)] != 10 {
		t.Fatalf("close codes seen by Node ws over 10 runs: %v; want 1009 every time", got)
	}
	t.Logf("1009 in 10 of 10 runs")
}

// The same with a raw Go client that reads only once its 4 MiB frame is
// written. Linux keeps received data readable after a reset, unlike Node,
// so what shows the lingering close here is that the peer's write is never
// reset: the server drains it, then the close frame and the end of the
// stream are read, in 10 runs of 10.
func TestLingerRawOversizedFrame(t *testing.T) {
	checkGoroutines(t)
	u := &Upgrader{ReadLimit: 64 << 10}
	s := startServer(t, u, func(c *Conn) { c.ReadMessage() })
	payload := make([]byte, 4<<20)
	for i := 0; i < 10; i++ {
		nc, br := rawDial(t, s)
		frame := rawFrame(true, 0, opBinary, true, payload)
		if _, err := nc.Write(frame); err != nil {
			t.Fatalf("run %d: writing the oversized frame: %v (the server reset the connection)", i, err)
		}
		h, p, err := readRawFrame(br)
		if err != nil {
			t.Fatalf("run %d: read the server's close frame: %v (a reset destroyed it?)", i, err)
		}
		if h.opcode != opClose || len(p) < 2 || StatusCode(binary.BigEndian.Uint16(p)) != StatusMessageTooBig {
			t.Fatalf("run %d: got opcode %d payload %q, want close 1009", i, h.opcode, p)
		}
		expectEOF(t, br)
		nc.Close()
	}
}

// A connection failed for invalid UTF-8 lingers too, and the reader's
// error comes back once the peer has closed its side, without waiting for
// the close timeout.
func TestLingerEndsWhenPeerCloses(t *testing.T) {
	checkGoroutines(t)
	u := &Upgrader{CloseTimeout: 10 * time.Second}
	done := make(chan time.Duration, 1)
	s := startServer(t, u, func(c *Conn) {
		_, _, err := c.ReadMessage()
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Code != StatusInvalidFramePayloadData {
			t.Errorf("read error %v, want 1007", err)
		}
		done <- 0
	})
	nc, br := rawDial(t, s)
	nc.Write(rawFrame(true, 0, opText, true, []byte{0xff, 0xfe}))
	start := time.Now()
	expectClose(t, br, StatusInvalidFramePayloadData)
	expectEOF(t, br) // the server shut down its write side
	nc.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the server's read did not return after the peer closed")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("failing the connection took %v", d)
	}
}

// Ping returns promptly with ctx's error while another writer blocks the
// frame lock behind a peer that reads nothing.
func TestPingHonoursContextBehindBlockedWriter(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, nc, _ := rawServer(t)
			defer nc.Close()
			// One message larger than the socket buffers: its writer
			// blocks in the kernel holding the frame lock.
			blocked := make(chan struct{})
			go func() {
				defer close(blocked)
				c.WriteMessage(BinaryMessage, make([]byte, 64<<20))
			}()
			waitFor(t, func() bool { return writerStuck(c) })
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			err := c.Ping(ctx, []byte("p"))
			if d := time.Since(start); d > time.Second {
				t.Errorf("Ping returned after %v", d)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Ping: %v, want an error matching %v", err, tc.want)
			}
			c.CloseNow()
			<-blocked
		})
	}
}

// writerStuck reports whether the Conn's frame lock has been held for a
// while, which with a full socket means a writer is blocked in the kernel.
func writerStuck(c *Conn) bool {
	for i := 0; i < 5; i++ {
		if len(c.wlock) == 0 {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// Ping writes its frame under its own deadline: an expired application
// write deadline left on the Conn neither fails the ping nor the Conn.
func TestPingIgnoresStaleWriteDeadline(t *testing.T) {
	checkGoroutines(t)
	c, nc, br := rawServer(t)
	c.SetWriteDeadline(time.Now().Add(-time.Second))
	go func() {
		for {
			h, p, err := readRawFrame(br)
			if err != nil {
				return
			}
			if h.opcode == opPing {
				nc.Write(rawFrame(true, 0, opPong, false, p))
			}
		}
	}()
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		readErr <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx, []byte("x")); err != nil {
		t.Fatalf("Ping with a stale write deadline: %v", err)
	}
	select {
	case err := <-readErr:
		t.Fatalf("the Conn failed: %v", err)
	default:
	}
	c.CloseNow()
	<-readErr
}

// CloseRead: a write-only server Conn answers pings, closes with 1008 on
// a data message, and its context ends with the connection.
func TestCloseRead(t *testing.T) {
	checkGoroutines(t)
	ctxs := make(chan context.Context, 1)
	release := make(chan struct{})
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		ctx := c.CloseRead(context.Background())
		ctxs <- ctx
		<-ctx.Done()
		if err := c.WriteMessage(TextMessage, []byte("late")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("write after the connection ended: %v, want net.ErrClosed", err)
		}
		<-release
	})
	defer close(release)
	nc, br := rawDial(t, s)
	ctx := <-ctxs
	nc.Write(rawFrame(true, 0, opPing, true, []byte("hi")))
	h, p, err := readRawFrame(br)
	if err != nil || h.opcode != opPong || string(p) != "hi" {
		t.Fatalf("want pong \"hi\", got %+v %q %v", h, p, err)
	}
	select {
	case <-ctx.Done():
		t.Fatal("context done while the connection is open")
	default:
	}
	nc.Write(rawFrame(true, 0, opText, true, []byte("unexpected")))
	expectClose(t, bufio.NewReader(br), StatusPolicyViolation)
	nc.Write(rawFrame(true, 0, opClose, true, closePayload(StatusPolicyViolation, "")))
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("CloseRead's context not done after the close handshake")
	}
}

// CloseRead's context also ends when the peer closes normally.
func TestCloseReadPeerCloses(t *testing.T) {
	checkGoroutines(t)
	done := make(chan struct{})
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		<-c.CloseRead(context.Background()).Done()
		close(done)
	})
	nc, br := rawDial(t, s)
	nc.Write(rawFrame(true, 0, opClose, true, closePayload(StatusNormalClosure, "bye")))
	expectClose(t, br, StatusNormalClosure)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("CloseRead's context not done after the peer closed")
	}
}
