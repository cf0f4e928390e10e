//go:build !js

package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Tests of the README's close-handshake promises (issue 18), with a raw
// peer on real loopback TCP.

// isTimeout reports whether err is a read deadline expiring.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// After the close handshake the client waits for the server to close TCP
// first (RFC 6455 section 7.1.1) and closes itself only when the close
// timeout runs out; when the server does close first, the client closes
// at once. The raw server watches for the client's FIN.
func TestPromiseClientWaitsForServerToCloseTCP(t *testing.T) {
	const closeTimeout = 400 * time.Millisecond
	for _, who := range []string{"client closes", "server closes"} {
		t.Run(who+", server keeps TCP open", func(t *testing.T) {
			checkGoroutines(t)
			c, nc, br := rawServerFor(t, &Dialer{CloseTimeout: closeTimeout}, "")
			closed := make(chan error, 1)
			// answered is taken before the raw server's close frame goes
			// out, so the client's close timeout cannot start before it.
			var answered time.Time
			if who == "client closes" {
				go func() { closed <- c.Close() }()
				p := expectClose(t, br, StatusNormalClosure)
				answered = time.Now()
				nc.Write(rawFrame(true, 0, opClose, false, p))
			} else {
				go func() {
					_, _, err := c.ReadMessage()
					closed <- err
				}()
				answered = time.Now()
				nc.Write(rawFrame(true, 0, opClose, false, closePayload(StatusGoingAway, "bye")))
				expectClose(t, br, StatusGoingAway)
			}
			// Half the close timeout later, the client's side is still
			// open: no FIN.
			nc.SetReadDeadline(answered.Add(closeTimeout / 2))
			if b, err := br.ReadByte(); !isTimeout(err) {
				t.Fatalf("the client did not wait for the server to close TCP: read %q, %v after %v", b, err, time.Since(answered))
			}
			// Then, once the close timeout ran out, it closes.
			nc.SetReadDeadline(answered.Add(closeTimeout + 3*time.Second))
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("want the client's FIN after the close timeout, got %v", err)
			}
			if waited := time.Since(answered); waited < closeTimeout*3/4 {
				t.Fatalf("the client closed TCP %v after the handshake, before its close timeout %v", waited, closeTimeout)
			}
			err := <-closed
			if who == "client closes" && err != nil {
				t.Errorf("Close = %v, want nil (the server answered)", err)
			}
			if ce := (*CloseError)(nil); who == "server closes" && (!errors.As(err, &ce) || ce.Code != StatusGoingAway || ce.Reason != "bye") {
				t.Errorf("ReadMessage = %v, want the server's CloseError 1001 \"bye\"", err)
			}
		})
	}
	t.Run("server closes TCP first", func(t *testing.T) {
		checkGoroutines(t)
		c, nc, br := rawServerFor(t, &Dialer{CloseTimeout: 10 * time.Second}, "")
		closed := make(chan error, 1)
		start := time.Now()
		go func() { closed <- c.Close() }()
		p := expectClose(t, br, StatusNormalClosure)
		nc.Write(rawFrame(true, 0, opClose, false, p))
		nc.Close()
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("Close = %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close still waits 5 s after the server closed TCP")
		}
		if !c.isClosed() {
			t.Fatal("Close returned with the client's socket open")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Close took %v after the server closed TCP", d)
		}
	})
}

// A close frame from the peer is echoed with its code and reason, byte for
// byte (RFC 6455 section 5.5.1), by servers and clients.
func TestPromiseCloseReasonEchoedExactly(t *testing.T) {
	// 123 bytes, the most a close frame has room for, with multi-byte
	// UTF-8 up to its last byte.
	reason := "bye ✓ " + strings.Repeat("é", 57)
	reason += strings.Repeat("x", 123-len(reason))
	if len(reason) != 123 {
		t.Fatalf("reason is %d bytes", len(reason))
	}
	for _, tc := range []struct {
		code   StatusCode
		reason string
	}{
		{4001, reason},
		{StatusGoingAway, "shutting down"},
		{StatusPolicyViolation, ""},
	} {
		want := closePayload(tc.code, tc.reason)
		t.Run(fmt.Sprintf("server/%d", tc.code), func(t *testing.T) {
			checkGoroutines(t)
			readErr := make(chan error, 1)
			s := startServer(t, &Upgrader{}, func(c *Conn) {
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						readErr <- err
						return
					}
				}
			})
			nc, br := rawDial(t, s)
			nc.Write(rawFrame(true, 0, opClose, true, want))
			got := expectClose(t, br, tc.code)
			if !bytes.Equal(got, want) {
				t.Fatalf("echoed close payload %q, want %q", got, want)
			}
			var ce *CloseError
			if err := <-readErr; !errors.As(err, &ce) || ce.Code != tc.code || ce.Reason != tc.reason {
				t.Fatalf("the handler's ReadMessage = %v", err)
			}
			expectTCPClosed(t, nc, br, 5*time.Second)
		})
		t.Run(fmt.Sprintf("client/%d", tc.code), func(t *testing.T) {
			checkGoroutines(t)
			c, nc, br := rawServer(t)
			readErr := make(chan error, 1)
			go func() {
				_, _, err := c.ReadMessage()
				readErr <- err
			}()
			nc.Write(rawFrame(true, 0, opClose, false, want))
			h, got, err := readRawFrame(br)
			if err != nil || h.opcode != opClose || !h.masked {
				t.Fatalf("want a masked close frame, got opcode %d masked %v, %v", h.opcode, h.masked, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("echoed close payload %q, want %q", got, want)
			}
			nc.Close() // the server closes TCP first; the client follows
			var ce *CloseError
			if err := <-readErr; !errors.As(err, &ce) || ce.Code != tc.code || ce.Reason != tc.reason {
				t.Fatalf("ReadMessage = %v", err)
			}
		})
	}
}
