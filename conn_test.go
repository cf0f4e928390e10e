//go:build !js

package websocket

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// Both ends of an upgraded connection report what was negotiated and where
// they are: the subprotocol, the handshake request or response, and
// addresses that mirror each other.
func TestConnAccessors(t *testing.T) {
	checkGoroutines(t)
	server := make(chan *Conn, 1)
	done := make(chan struct{})
	u := &Upgrader{Subprotocols: []string{"chat"}}
	s := startServer(t, u, func(c *Conn) {
		server <- c
		<-done
	})
	d := &Dialer{Subprotocols: []string{"other", "chat"}}
	c, _, err := d.Dial(context.Background(), wsURL(s), http.Header{"X-Trace": {"t1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	defer close(done)
	sc := <-server

	if c.Subprotocol() != "chat" || sc.Subprotocol() != "chat" {
		t.Errorf("subprotocol: client %q, server %q; want chat on both", c.Subprotocol(), sc.Subprotocol())
	}
	if r := sc.Request(); r == nil || r.Header.Get("X-Trace") != "t1" {
		t.Errorf("server Request() = %v, want the handshake request with X-Trace", r)
	}
	if r := c.Response(); r == nil || r.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("client Response() = %v, want the 101 response", r)
	}
	if c.Request() != nil || sc.Response() != nil {
		t.Errorf("client Request() = %v, server Response() = %v; want nil for the side that did not make them", c.Request(), sc.Response())
	}
	if c.LocalAddr().String() != sc.RemoteAddr().String() || c.RemoteAddr().String() != sc.LocalAddr().String() {
		t.Errorf("addresses: client %v -> %v, server %v -> %v; want mirrored", c.LocalAddr(), c.RemoteAddr(), sc.LocalAddr(), sc.RemoteAddr())
	}
	if c.PerMessageDeflate() || sc.PerMessageDeflate() {
		t.Error("PerMessageDeflate is true without compression configured")
	}
}

// SetDeadline bounds both directions: a read and a write that cannot
// finish return os.ErrDeadlineExceeded.
func TestConnSetDeadline(t *testing.T) {
	c, nc, _ := rawServer(t)
	defer nc.Close()
	if err := c.SetDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadMessage(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	c2, nc2, _ := rawServer(t)
	defer nc2.Close()
	c2.SetDeadline(time.Now().Add(100 * time.Millisecond))
	var err error
	big := make([]byte, 1<<20)
	for err == nil {
		err = c2.WriteMessage(BinaryMessage, big) // the raw peer never reads
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
}

// Errors from a closed Conn match net.ErrClosed, as a net.Conn's do.
func TestErrClosedMatchesNetErrClosed(t *testing.T) {
	c, _, _ := rawServer(t)
	c.CloseNow()
	err := c.WriteMessage(TextMessage, []byte("x"))
	if !errors.Is(err, net.ErrClosed) || !errors.Is(err, ErrClosed) {
		t.Fatalf("write after CloseNow: %v, want net.ErrClosed and ErrClosed", err)
	}
	if _, _, err := c.ReadMessage(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after CloseNow: %v, want net.ErrClosed", err)
	}
	if !errors.Is(ErrClosed, net.ErrClosed) {
		t.Fatal("ErrClosed does not match net.ErrClosed")
	}
}

// When a write times out, the library drops the connection, and the
// reading goroutine's error says so and wraps the deadline error instead
// of a bare "use of closed connection".
func TestDroppedConnNamesItsCause(t *testing.T) {
	c, nc, _ := rawServer(t)
	defer nc.Close()
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		readErr <- err
	}()
	c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	big := make([]byte, 1<<20)
	var werr error
	for werr == nil {
		werr = c.WriteMessage(BinaryMessage, big) // the peer never reads
	}
	if !errors.Is(werr, os.ErrDeadlineExceeded) {
		t.Fatalf("write error %v, want a deadline error", werr)
	}
	var err error
	select {
	case err = <-readErr:
	case <-time.After(5 * time.Second):
		t.Fatal("the reader did not return after the connection was dropped")
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, net.ErrClosed) || !errors.Is(err, ErrClosed) {
		t.Fatalf("reader's error %v: want it to match os.ErrDeadlineExceeded, net.ErrClosed and ErrClosed", err)
	}
	if !strings.Contains(err.Error(), "write") {
		t.Fatalf("reader's error %q does not say a write failed", err)
	}
}
