//go:build !js

package websocket

// Tests of the close handshake (close.go) from either side, its timeout,
// the codes that may be sent, and peers that vanish, reset or half-close.

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestCloseInitiatedByServer(t *testing.T) {
	checkGoroutines(t)
	closeErr := make(chan error, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		closeErr <- c.CloseWithStatus(4000, "server says bye")
	})
	nc, br := rawDial(t, s)
	p := expectClose(t, br, 4000)
	if string(p[2:]) != "server says bye" {
		t.Fatalf("reason %q", p[2:])
	}
	// Data frames after the server's close are still read and dropped
	// until our close arrives.
	nc.Write(rawFrame(true, 0, opText, true, []byte("late")))
	nc.Write(rawFrame(true, 0, opClose, true, closePayload(4000, "")))
	if err := <-closeErr; err != nil {
		t.Fatalf("CloseWithStatus: %v", err)
	}
	// The server closes TCP first.
	expectEOF(t, br)
}

func TestCloseInitiatedByClient(t *testing.T) {
	checkGoroutines(t)
	readErr := make(chan error, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		_, _, err := c.ReadMessage()
		readErr <- err
		if err := c.WriteMessage(TextMessage, []byte("too late")); !errors.Is(err, ErrClosed) {
			t.Errorf("write after close: %v, want ErrClosed", err)
		}
	})
	nc, br := rawDial(t, s)
	nc.Write(rawFrame(true, 0, opClose, true, closePayload(4001, "client bye")))
	p := expectClose(t, br, 4001) // echoed
	_ = p
	expectEOF(t, br)
	err := <-readErr
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "client bye" {
		t.Fatalf("got %v", err)
	}
	// Later reads return the same error.
}

func TestCloseWithoutStatus(t *testing.T) {
	checkGoroutines(t)
	readErr := make(chan error, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		_, _, err := c.ReadMessage()
		readErr <- err
	})
	nc, br := rawDial(t, s)
	nc.Write(rawFrame(true, 0, opClose, true, nil))
	// An empty close is answered with an empty close.
	h, p, err := readRawFrame(br)
	if err != nil || h.opcode != opClose || len(p) != 0 {
		t.Fatalf("got %+v %q %v", h, p, err)
	}
	if code := CloseStatus(<-readErr); code != StatusNoStatusReceived {
		t.Fatalf("code %d", code)
	}
}

func TestCloseBothSidesOurs(t *testing.T) {
	checkGoroutines(t)
	serverErr := make(chan error, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		_, _, err := c.ReadMessage()
		serverErr <- err
	})
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWithStatus(StatusGoingAway, "tab closed"); err != nil {
		t.Fatal(err)
	}
	var ce *CloseError
	if err := <-serverErr; !errors.As(err, &ce) || ce.Code != 1001 || ce.Reason != "tab closed" {
		t.Fatalf("server saw %v", err)
	}
	if err := c.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
	if err := c.WriteMessage(TextMessage, nil); err == nil {
		t.Fatal("write after close succeeded")
	}
	if _, _, err := c.ReadMessage(); err == nil {
		t.Fatal("read after close succeeded")
	}
}

// A peer that never answers our close frame is dropped after the timeout.
func TestCloseTimeout(t *testing.T) {
	checkGoroutines(t)
	closeErr := make(chan error, 1)
	s := startServer(t, &Upgrader{CloseTimeout: 200 * time.Millisecond}, func(c *Conn) {
		closeErr <- c.Close()
	})
	_, br := rawDial(t, s)
	expectClose(t, br, 1000)
	start := time.Now()
	if err := <-closeErr; err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("close took %v", d)
	}
	expectEOF(t, br)
}

// Close while another goroutine reads: the reader sees the peer's close,
// Close returns when the handshake is done.
func TestCloseWhileReading(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, &Upgrader{}, echoHandler)
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				readErr <- err
				return
			}
		}
	}()
	c.WriteMessage(TextMessage, []byte("x"))
	// Close once the reader has started, the case under test.
	waitFor(t, c.readStarted.Load)
	if err := c.CloseWithStatus(4005, "done"); err != nil {
		t.Fatal(err)
	}
	if code := CloseStatus(<-readErr); code != 4005 {
		t.Fatalf("reader saw code %d", code)
	}
}

func TestCloseRejectsCodesNotForTheWire(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, &Upgrader{}, echoHandler)
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []StatusCode{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000} {
		if err := c.CloseWithStatus(code, ""); err == nil {
			t.Errorf("CloseWithStatus(%d) accepted", code)
		}
	}
	if err := c.CloseWithStatus(1000, strings.Repeat("x", 124)); err == nil {
		t.Error("124-byte reason accepted")
	}
	if err := c.CloseWithStatus(1000, "\xff"); err == nil {
		t.Error("invalid UTF-8 reason accepted")
	}
	// The connection still works after the refused calls.
	if err := c.WriteMessage(TextMessage, []byte("alive")); err != nil {
		t.Fatal(err)
	}
	if _, p, err := c.ReadMessage(); err != nil || string(p) != "alive" {
		t.Fatal(p, err)
	}
	c.Close()
}

// An abrupt disconnect gives a read error, not a hang or a CloseError.
func TestAbruptDisconnect(t *testing.T) {
	checkGoroutines(t)
	readErr := make(chan error, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		_, _, err := c.ReadMessage()
		readErr <- err
	})
	nc, _ := rawDial(t, s)
	nc.Write(rawFrame(false, 0, opText, true, []byte("half")))
	nc.Close()
	err := <-readErr
	if err == nil || CloseStatus(err) != -1 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v", err)
	}
}

// A peer sends a close frame and goes at once, with a FIN or a RST. The
// handler's read returns the *CloseError, writes after it return ErrClosed,
// and no goroutine is left.
func TestFaultCloseThenVanish(t *testing.T) {
	for _, reset := range []bool{false, true} {
		name := "FIN"
		if reset {
			name = "RST"
		}
		t.Run(name, func(t *testing.T) {
			if reset && runtime.GOOS != "linux" {
				t.Skip("relies on Linux keeping received data readable after a RST")
			}
			checkGoroutines(t)
			type result struct {
				read                     error
				write, next, ping, close error
			}
			res := make(chan result, 1)
			gone := make(chan struct{})
			s := startServer(t, &Upgrader{}, func(c *Conn) {
				<-gone // the peer has sent its close and gone
				time.Sleep(50 * time.Millisecond)
				var r result
				_, _, r.read = c.ReadMessage()
				r.write = c.WriteMessage(TextMessage, []byte("too late"))
				if w, err := c.NextWriter(BinaryMessage); err != nil {
					r.next = err
				} else {
					w.Write([]byte("too late"))
					r.next = w.Close()
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				r.ping = c.Ping(ctx, []byte("x"))
				cancel()
				r.close = c.Close()
				res <- r
			})
			nc, _ := rawDial(t, s)
			nc.Write(rawFrame(true, 0, opClose, true, closePayload(4002, "gone")))
			if reset {
				nc.(*net.TCPConn).SetLinger(0)
			}
			nc.Close()
			close(gone)
			r := <-res
			var ce *CloseError
			if !errors.As(r.read, &ce) || ce.Code != 4002 || ce.Reason != "gone" {
				t.Errorf("read returned %v, want *CloseError 4002 \"gone\"", r.read)
			}
			for _, e := range []struct {
				op  string
				err error
			}{{"WriteMessage", r.write}, {"NextWriter+Close", r.next}, {"Ping", r.ping}, {"Close", r.close}} {
				if !errors.Is(e.err, ErrClosed) {
					t.Errorf("%s after the peer's close: %v, want ErrClosed", e.op, e.err)
				}
			}
		})
	}
}

// A client that half-closes its socket (FIN, still reading): the server's
// read fails with an unexpected EOF, the server closes, its handler ends.
func TestFaultHalfClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"between messages", rawFrame(true, 0, opText, true, []byte("whole"))},
		{"inside a frame", rawFrame(true, 0, opText, true, []byte("cut short"))[:8]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			errc := make(chan error, 1)
			s := startServer(t, &Upgrader{}, func(c *Conn) {
				var err error
				for err == nil {
					_, _, err = c.ReadMessage()
				}
				errc <- err
			})
			nc, br := rawDial(t, s)
			nc.Write(tc.data)
			if err := nc.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-errc:
				if !errors.Is(err, io.ErrUnexpectedEOF) || CloseStatus(err) != -1 {
					t.Fatalf("handler's read returned %v, want an unexpected EOF", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("handler's read did not return within 5s of the half-close")
			}
			expectTCPClosed(t, nc, br, 2*time.Second)
		})
	}
}
