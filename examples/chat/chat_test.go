package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsstd/websocket"
)

// startChat runs a chat server on a loopback httptest server. It returns
// the server, its ws:// URL and the server's side of the TCP connections.
func startChat(t *testing.T, cfg config) (*server, string, *connTracker) {
	t.Helper()
	cfg.Logf = t.Logf
	s := newServer(cfg)
	hs := httptest.NewUnstartedServer(s)
	conns := &connTracker{m: make(map[string]net.Conn)}
	hs.Config.ConnState = conns.track
	hs.Start()
	t.Cleanup(func() {
		s.Close()
		hs.Close()
	})
	return s, "ws" + strings.TrimPrefix(hs.URL, "http"), conns
}

// connTracker finds the server's side of a connection by the client's
// address.
type connTracker struct {
	mu sync.Mutex
	m  map[string]net.Conn
}

func (ct *connTracker) track(c net.Conn, state http.ConnState) {
	if state == http.StateNew {
		ct.mu.Lock()
		ct.m[c.RemoteAddr().String()] = c
		ct.mu.Unlock()
	}
}

func (ct *connTracker) lookup(clientAddr string) net.Conn {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		ct.mu.Lock()
		c := ct.m[clientAddr]
		ct.mu.Unlock()
		if c != nil {
			return c
		}
	}
	return nil
}

// tclient is a chat member driven by a test. Its reader goroutine, once
// started, puts every message on msgs and the final error on errc.
type tclient struct {
	t    *testing.T
	name string
	c    *websocket.Conn
	msgs chan message
	errc chan error
	once sync.Once
	fc   *freezeConn
}

type dialOpts struct {
	noRead bool // do not start the reader; call read later
	// shrink, if set, finds the server's side of the connection, whose
	// kernel send buffer is made tiny, as is the client's receive buffer:
	// a client that does not read then backs up after some KiB rather
	// than megabytes.
	shrink *connTracker
}

func dial(t *testing.T, base, room, name string, o dialOpts) *tclient {
	t.Helper()
	tc := &tclient{t: t, name: name, msgs: make(chan message, 10000), errc: make(chan error, 1)}
	d := websocket.Dialer{
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var nd net.Dialer
			c, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if o.shrink != nil {
				c.(*net.TCPConn).SetReadBuffer(4 << 10)
				sc := o.shrink.lookup(c.LocalAddr().String())
				if sc == nil {
					c.Close()
					return nil, errors.New("server side of the connection not found")
				}
				sc.(*net.TCPConn).SetWriteBuffer(4 << 10)
			}
			tc.fc = &freezeConn{Conn: c, closed: make(chan struct{})}
			return tc.fc, nil
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := base + "/ws?" + url.Values{"room": {room}, "name": {name}}.Encode()
	c, _, err := d.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	tc.c = c
	t.Cleanup(func() { c.CloseNow() })
	if !o.noRead {
		tc.read()
	}
	return tc
}

// read starts the reader goroutine.
func (tc *tclient) read() {
	tc.once.Do(func() {
		go func() {
			defer close(tc.msgs)
			for {
				var m message
				if err := tc.c.ReadJSON(&m); err != nil {
					tc.errc <- err
					return
				}
				tc.msgs <- m
			}
		}()
	})
}

func (tc *tclient) say(text string) {
	tc.t.Helper()
	if err := tc.c.WriteJSON(message{Type: "message", Text: text}); err != nil {
		tc.t.Fatalf("%s: say %q: %v", tc.name, text, err)
	}
}

// next returns the next message, failing the test after timeout.
func (tc *tclient) next(timeout time.Duration) message {
	tc.t.Helper()
	select {
	case m, ok := <-tc.msgs:
		if !ok {
			tc.t.Fatalf("%s: connection ended: %v", tc.name, <-tc.errc)
		}
		return m
	case <-time.After(timeout):
		tc.t.Fatalf("%s: no message within %v; goroutines:\n%s", tc.name, timeout, stacks())
	}
	return message{}
}

// expect checks that the next message is want.
func (tc *tclient) expect(want message) {
	tc.t.Helper()
	if got := tc.next(5 * time.Second); got != want {
		tc.t.Fatalf("%s: got %+v, want %+v", tc.name, got, want)
	}
}

// closed waits for the connection to end and returns its error.
func (tc *tclient) closed(timeout time.Duration) error {
	tc.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case _, ok := <-tc.msgs:
			if !ok {
				return <-tc.errc
			}
		case <-deadline:
			tc.t.Fatalf("%s: connection still open after %v", tc.name, timeout)
		}
	}
}

// freezeConn is a connection whose reads can be stopped, as if the peer
// process hung: nothing is read, so pings go unanswered.
type freezeConn struct {
	net.Conn
	mu       sync.Mutex
	frozen   chan struct{} // non-nil while frozen; closed to thaw
	closed   chan struct{}
	closeOne sync.Once
}

func (f *freezeConn) freeze() {
	f.mu.Lock()
	if f.frozen == nil {
		f.frozen = make(chan struct{})
	}
	f.mu.Unlock()
}

func (f *freezeConn) thaw() {
	f.mu.Lock()
	if f.frozen != nil {
		close(f.frozen)
		f.frozen = nil
	}
	f.mu.Unlock()
}

func (f *freezeConn) Read(p []byte) (int, error) {
	f.mu.Lock()
	ch := f.frozen
	f.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-f.closed:
			return 0, net.ErrClosed
		}
	}
	return f.Conn.Read(p)
}

func (f *freezeConn) Close() error {
	f.closeOne.Do(func() { close(f.closed) })
	return f.Conn.Close()
}

func msg(room, name, text string) message {
	return message{Type: "message", Room: room, Name: name, Text: text}
}
func joined(room, name string) message { return message{Type: "join", Room: room, Name: name} }
func left(room, name string) message   { return message{Type: "leave", Room: room, Name: name} }

func TestRooms(t *testing.T) {
	_, base, _ := startChat(t, config{PingInterval: -1})
	alice := dial(t, base, "go", "alice", dialOpts{})
	alice.expect(joined("go", "alice"))
	bob := dial(t, base, "go", "bob", dialOpts{})
	alice.expect(joined("go", "bob"))
	bob.expect(joined("go", "bob"))
	carol := dial(t, base, "rust", "carol", dialOpts{})
	carol.expect(joined("rust", "carol"))

	alice.say("hi bob")
	alice.expect(msg("go", "alice", "hi bob"))
	bob.expect(msg("go", "alice", "hi bob"))
	// The server, not the client, decides room and name.
	if err := bob.c.WriteJSON(message{Type: "message", Room: "rust", Name: "mallory", Text: "hi alice"}); err != nil {
		t.Fatal(err)
	}
	bob.expect(msg("go", "bob", "hi alice"))
	alice.expect(msg("go", "bob", "hi alice"))
	// Types other than message are ignored.
	bob.c.WriteJSON(message{Type: "join", Name: "ghost"})

	// carol hears only her own room: her next message is her own.
	carol.say("anyone?")
	carol.expect(msg("rust", "carol", "anyone?"))

	if err := bob.c.Close(); err != nil {
		t.Fatalf("bob's close: %v", err)
	}
	alice.expect(left("go", "bob"))
	alice.say("bye")
	alice.expect(msg("go", "alice", "bye"))

	dave := dial(t, base, "rust", "dave", dialOpts{})
	carol.expect(joined("rust", "dave"))
	dave.expect(joined("rust", "dave"))
	select {
	case m := <-carol.msgs:
		t.Fatalf("carol got %+v from another room", m)
	case m := <-dave.msgs:
		t.Fatalf("dave got %+v from another room", m)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestSlowClientDropped(t *testing.T) {
	const writeTimeout = 10 * time.Second
	s, base, conns := startChat(t, config{QueueSize: 8, WriteTimeout: writeTimeout, CloseTimeout: 5 * time.Second, PingInterval: -1})
	alice := dial(t, base, "r", "alice", dialOpts{})
	alice.expect(joined("r", "alice"))
	bob := dial(t, base, "r", "bob", dialOpts{})
	alice.expect(joined("r", "bob"))
	bob.expect(joined("r", "bob"))
	slow := dial(t, base, "r", "slow", dialOpts{noRead: true, shrink: conns})
	alice.expect(joined("r", "slow"))
	bob.expect(joined("r", "slow"))

	// alice talks; each line must reach bob quickly although slow reads
	// nothing: a broadcast that waited for slow would take writeTimeout.
	text := strings.Repeat("blah ", 6000) // 30 KB a message
	var worst time.Duration
	dropped := false
	sent := 0
	for i := 0; i < 500 && !dropped; i++ {
		line := fmt.Sprintf("%d %s", i, text)
		start := time.Now()
		alice.say(line)
		sent++
		for {
			m := bob.next(5 * time.Second)
			if m == left("r", "slow") {
				dropped = true
				continue
			}
			if m != msg("r", "alice", line) {
				t.Fatalf("bob got %+v", m.Type)
			}
			break
		}
		if d := time.Since(start); d > worst {
			worst = d
		}
	}
	if !dropped {
		t.Fatalf("slow was not dropped after %d messages", sent)
	}
	t.Logf("slow dropped after %d messages; worst alice->bob delivery %v", sent, worst)
	if worst > writeTimeout/2 {
		t.Errorf("a delivery took %v: the slow client held up the room", worst)
	}
	if got := strings.Join(s.members("r"), ","); got != "alice,bob" && got != "bob,alice" {
		t.Errorf("members after the drop: %s", got)
	}
	// The room goes on.
	bob.say("still here")
	for {
		m := alice.next(5 * time.Second)
		if m == msg("r", "bob", "still here") {
			break
		}
		if (m.Type != "message" || m.Name != "alice") && m != left("r", "slow") {
			t.Fatalf("alice got %+v", m)
		}
	}
	// Once slow reads, it gets what fitted in the pipe, then 1008.
	slow.read()
	err := slow.closed(10 * time.Second)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "too slow" {
		t.Fatalf("slow's connection ended with %v, want 1008 too slow", err)
	}
}

func TestPingTimeoutDropped(t *testing.T) {
	s, base, _ := startChat(t, config{PingInterval: 100 * time.Millisecond, PingTimeout: 1500 * time.Millisecond, CloseTimeout: 5 * time.Second})
	alice := dial(t, base, "r", "alice", dialOpts{})
	alice.expect(joined("r", "alice"))
	zombie := dial(t, base, "r", "zombie", dialOpts{})
	alice.expect(joined("r", "zombie"))
	zombie.expect(joined("r", "zombie"))

	// While it reads, zombie answers the pings and stays.
	time.Sleep(2 * time.Second)
	if n := len(s.members("r")); n != 2 {
		t.Fatalf("%d members after answered pings, want 2", n)
	}
	select {
	case m := <-alice.msgs:
		t.Fatalf("alice got %+v while everyone answered pings", m)
	default:
	}

	zombie.fc.freeze()
	start := time.Now()
	alice.expect(left("r", "zombie"))
	t.Logf("zombie dropped %v after it stopped reading", time.Since(start))
	if n := len(s.members("r")); n != 1 {
		t.Fatalf("%d members after the drop, want 1", n)
	}
	zombie.fc.thaw()
	err := zombie.closed(10 * time.Second)
	if websocket.CloseStatus(err) != websocket.StatusInternalError {
		t.Fatalf("zombie's connection ended with %v, want 1011 from keepalive", err)
	}

	// alice, who kept answering, is still served.
	alice.say("alone")
	alice.expect(msg("r", "alice", "alone"))
}

func TestIdleClientPings(t *testing.T) {
	// Idle for several write timeouts, a client's pings are still
	// answered: the write deadline never lies in the past.
	_, base, _ := startChat(t, config{PingInterval: -1, WriteTimeout: 100 * time.Millisecond})
	a := dial(t, base, "r", "a", dialOpts{})
	a.expect(joined("r", "a"))
	time.Sleep(500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.c.Ping(ctx, []byte("hi")); err != nil {
		t.Fatalf("ping after idling: %v", err)
	}
	a.say("awake")
	a.expect(msg("r", "a", "awake"))
}

func TestInvalidJSONClosed(t *testing.T) {
	_, base, _ := startChat(t, config{PingInterval: -1})
	a := dial(t, base, "r", "a", dialOpts{})
	a.expect(joined("r", "a"))
	b := dial(t, base, "r", "b", dialOpts{})
	a.expect(joined("r", "b"))
	b.expect(joined("r", "b"))
	if err := b.c.WriteMessage(websocket.TextMessage, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if err := b.closed(5 * time.Second); websocket.CloseStatus(err) != websocket.StatusInvalidFramePayloadData {
		t.Fatalf("b's connection ended with %v, want 1007", err)
	}
	a.expect(left("r", "b"))
}

func TestPage(t *testing.T) {
	_, base, _ := startChat(t, config{PingInterval: -1})
	httpURL := "http" + strings.TrimPrefix(base, "ws")
	resp, err := http.Get(httpURL + "/?room=x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `new WebSocket(`) || !strings.Contains(string(body), `id="room"`) {
		t.Fatalf("page: %s, %d bytes", resp.Status, len(body))
	}
	resp, err = http.Get(httpURL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("/nope: %s", resp.Status)
	}
}

func TestShutdownNoLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		cfg := config{PingInterval: 20 * time.Millisecond, PingTimeout: 5 * time.Second, WriteTimeout: time.Second, CloseTimeout: 500 * time.Millisecond, Logf: t.Logf}
		s := newServer(cfg)
		hs := httptest.NewServer(s)
		defer hs.Close()
		base := "ws" + strings.TrimPrefix(hs.URL, "http")
		var clients []*tclient
		for i := 0; i < 6; i++ {
			room := fmt.Sprintf("room%d", i%2)
			c := dial(t, base, room, fmt.Sprintf("u%d", i), dialOpts{})
			clients = append(clients, c)
			c.say("hello")
		}
		// One member that stopped reading altogether.
		hung := dial(t, base, "room0", "hung", dialOpts{})
		// Freeze it once it is a member (u0, u2, u4 and hung).
		for deadline := time.Now().Add(5 * time.Second); len(s.members("room0")) < 4; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("room0 members %q, want hung among them", s.members("room0"))
			}
		}
		hung.fc.freeze()

		start := time.Now()
		s.Close()
		if d := time.Since(start); d > cfg.WriteTimeout+cfg.CloseTimeout+2*time.Second {
			t.Errorf("Close took %v", d)
		}
		for _, c := range clients {
			if err := c.closed(5 * time.Second); websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Errorf("%s: connection ended with %v, want 1001", c.name, err)
			}
		}
		hung.fc.thaw()
		hung.closed(5 * time.Second)

		// A closed server refuses newcomers.
		_, resp, err := websocket.Dial(context.Background(), base+"/ws", nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("dial after Close: %v", err)
		}
		for _, c := range append(clients, hung) {
			c.c.CloseNow()
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after shutdown:\n%s", before, n, stacks())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stacks() []byte {
	buf := make([]byte, 1<<20)
	return buf[:runtime.Stack(buf, true)]
}
