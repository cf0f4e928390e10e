//go:build !js

package websocket

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// closeErrPair returns a client Conn, its TCP connection, and the read
// error of the server's handler, which does what act says to its Conn.
func closeErrPair(t *testing.T, act func(c *Conn)) (*Conn, *net.TCPConn, <-chan error) {
	t.Helper()
	serverErr := make(chan error, 1)
	u := &Upgrader{ReadLimit: 1024, Handler: func(c *Conn) {
		if act != nil {
			act(c)
		}
		_, _, err := c.ReadMessage()
		serverErr <- err
	}}
	s := httptest.NewServer(u)
	t.Cleanup(s.Close)
	var tcp *net.TCPConn
	d := &Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			tcp = c.(*net.TCPConn)
		}
		return c, err
	}, Proxy: func(*http.Request) (*url.URL, error) { return nil, nil }}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := d.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return c, tcp, serverErr
}

func waitErr(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the server's read did not end")
		return nil
	}
}

// TestCloseErrorHelpers checks IsCloseError and IsUnexpectedCloseError on
// the errors real connections end with.
func TestCloseErrorHelpers(t *testing.T) {
	normal := []StatusCode{StatusNormalClosure, StatusGoingAway}
	type want struct{ isClose1000, isCloseAny, unexpected, unexpectedOr1006 bool }
	check := func(t *testing.T, label string, err error, w want) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", label)
		}
		got := want{
			IsCloseError(err, StatusNormalClosure),
			IsCloseError(err),
			IsUnexpectedCloseError(err, normal...),
			IsUnexpectedCloseError(err, StatusNormalClosure, StatusGoingAway, StatusAbnormalClosure),
		}
		if got != w {
			t.Errorf("%s: for %v (CloseStatus %v): IsCloseError(1000), IsCloseError(), IsUnexpectedCloseError(1000, 1001), ...(1000, 1001, 1006) = %v, want %v",
				label, err, CloseStatus(err), got, w)
		}
	}

	t.Run("peer closes 1000", func(t *testing.T) {
		c, _, _ := closeErrPair(t, func(c *Conn) { c.Close() })
		_, _, err := c.ReadMessage()
		check(t, "client", err, want{true, true, false, false})
	})
	t.Run("peer closes 4001", func(t *testing.T) {
		c, _, _ := closeErrPair(t, func(c *Conn) { c.CloseWithStatus(4001, "custom") })
		_, _, err := c.ReadMessage()
		check(t, "client", err, want{false, true, true, true})
	})
	t.Run("peer drops the connection", func(t *testing.T) {
		c, _, _ := closeErrPair(t, func(c *Conn) { c.CloseNow() })
		_, _, err := c.ReadMessage()
		check(t, "client", err, want{false, false, true, false})
		if CloseStatus(err) != -1 {
			t.Errorf("CloseStatus of a dropped connection: %v, want -1", CloseStatus(err))
		}
	})
	t.Run("peer resets the connection", func(t *testing.T) {
		_, tcp, serverErr := closeErrPair(t, nil)
		tcp.SetLinger(0) // close sends RST
		tcp.Close()
		check(t, "server", waitErr(t, serverErr), want{false, false, true, false})
	})
	t.Run("closed here", func(t *testing.T) {
		c, _, _ := closeErrPair(t, nil)
		c.CloseNow()
		_, _, err := c.ReadMessage()
		check(t, "client", err, want{false, false, false, false})
	})
	t.Run("deadline here", func(t *testing.T) {
		c, _, _ := closeErrPair(t, nil)
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, _, err := c.ReadMessage()
		check(t, "client", err, want{false, false, false, false})
	})
	t.Run("failed here", func(t *testing.T) {
		c, _, serverErr := closeErrPair(t, nil)
		// Over the server's ReadLimit: the server fails the connection
		// with 1009, its own decision; the client sees the peer's close.
		if err := c.WriteMessage(BinaryMessage, make([]byte, 2048)); err != nil {
			t.Fatal(err)
		}
		check(t, "server", waitErr(t, serverErr), want{false, false, false, false})
		_, _, err := c.ReadMessage()
		check(t, "client", err, want{false, true, true, true})
	})
	if IsCloseError(nil) || IsUnexpectedCloseError(nil) {
		t.Error("nil is a close error")
	}
}
