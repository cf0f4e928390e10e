package main

import (
	"context"
	_ "embed"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wsstd/websocket"
)

//go:embed index.html
var indexHTML []byte

// message is what travels over the WebSocket, as JSON, both ways. Clients
// send {"type":"message","text":"..."}; the server fills in room and name
// itself and broadcasts. The server also sends "join" and "leave" notices.
type message struct {
	Type string `json:"type"` // "message", "join" or "leave"
	Room string `json:"room"`
	Name string `json:"name"`
	Text string `json:"text,omitempty"`
}

// config tunes the server; zero fields take the defaults of withDefaults.
type config struct {
	// QueueSize is how many messages may wait for a client's writer;
	// a client whose queue is full is dropped with 1008 "too slow".
	QueueSize int
	// WriteTimeout bounds writing one message to a client.
	WriteTimeout time.Duration
	// PingInterval is how often each client is pinged, by the library's
	// keepalive (websocket.Upgrader.PingInterval); negative disables pings.
	// A client that sends nothing within PingTimeout of a ping is dropped
	// with 1011.
	PingInterval time.Duration
	PingTimeout  time.Duration
	// CloseTimeout bounds the close handshake with a client.
	CloseTimeout time.Duration
	// ReadLimit is the largest message accepted from a client, in bytes.
	ReadLimit int64
	// Origins lists extra allowed browser origins (websocket.Upgrader's
	// OriginPatterns); the page's own origin is always allowed.
	Origins []string
	// Logf, if set, logs connections and drops.
	Logf func(format string, args ...any)
}

func (c config) withDefaults() config {
	if c.QueueSize <= 0 {
		c.QueueSize = 64
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.PingInterval == 0 {
		c.PingInterval = 30 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 10 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 5 * time.Second
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = 64 << 10
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c
}

const (
	maxNameLen  = 32 // runes in a room or user name
	defaultRoom = "lobby"
)

// server is the chat: an http.Handler serving the page at / and the
// WebSocket at /ws?room=NAME&name=NICK, and the hub of rooms.
type server struct {
	cfg config
	up  websocket.Upgrader
	mux *http.ServeMux

	mu     sync.Mutex
	rooms  map[string]map[*client]bool
	closed bool
	wg     sync.WaitGroup // one per WebSocket handler
}

// newServer returns a chat server. Close drops every client and waits for
// their goroutines.
func newServer(cfg config) *server {
	s := &server{cfg: cfg.withDefaults(), rooms: make(map[string]map[*client]bool)}
	s.up = websocket.Upgrader{
		ReadLimit:      s.cfg.ReadLimit,
		OriginPatterns: s.cfg.Origins,
		CloseTimeout:   s.cfg.CloseTimeout,
	}
	if s.cfg.PingInterval > 0 {
		s.up.PingInterval = s.cfg.PingInterval
		s.up.PingTimeout = s.cfg.PingTimeout
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/ws", s.serveWS)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close drops every client with 1001 "server shutting down", refuses new
// ones and waits until all of their goroutines have finished. The wait is
// bounded: a client that does not answer is cut off after WriteTimeout
// and CloseTimeout.
func (s *server) Close() {
	s.mu.Lock()
	s.closed = true
	for _, members := range s.rooms {
		for cl := range members {
			cl.stop(websocket.StatusGoingAway, "server shutting down")
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// members returns the names in room, for tests and logs.
func (s *server) members(room string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for cl := range s.rooms[room] {
		names = append(names, cl.name)
	}
	return names
}

// cleanName trims s and cuts it to maxNameLen runes; "" gives def.
func cleanName(s, def string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, ""))
	if utf8.RuneCountInString(s) > maxNameLen {
		s = string([]rune(s)[:maxNameLen])
	}
	if s == "" {
		return def
	}
	return s
}

func (s *server) serveWS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "chat server is shutting down", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	room := cleanName(r.URL.Query().Get("room"), defaultRoom)
	name := cleanName(r.URL.Query().Get("name"), "anonymous")
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		s.cfg.Logf("chat: %s: %v", r.RemoteAddr, err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	cl := &client{
		s:      s,
		conn:   conn,
		room:   room,
		name:   name,
		send:   make(chan message, s.cfg.QueueSize),
		ctx:    ctx,
		cancel: cancel,
	}
	s.cfg.Logf("chat: %s joined %q as %q", conn.RemoteAddr(), room, name)

	var g sync.WaitGroup
	g.Add(1)
	go func() { defer g.Done(); cl.writeLoop() }()
	s.join(cl)
	err = cl.readLoop()

	// The connection is closed or closing: tell the others, stop the
	// writer (it finishes the close handshake).
	s.leave(cl)
	cl.stop(websocket.StatusNormalClosure, "")
	g.Wait()
	cl.kill.Stop()
	conn.CloseNow()
	s.cfg.Logf("chat: %s (%q) left %q: %v", conn.RemoteAddr(), name, room, err)
}

// join adds cl to its room and announces it to every member, cl included.
func (s *server) join(cl *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		cl.stop(websocket.StatusGoingAway, "server shutting down")
		return
	}
	members := s.rooms[cl.room]
	if members == nil {
		members = make(map[*client]bool)
		s.rooms[cl.room] = members
	}
	members[cl] = true
	s.broadcastLocked(cl.room, message{Type: "join", Room: cl.room, Name: cl.name})
}

// leave removes cl from its room, if it is still there, and announces it.
func (s *server) leave(cl *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(cl)
}

// removeLocked removes cl from its room and sends the leave notice.
func (s *server) removeLocked(cl *client) {
	members := s.rooms[cl.room]
	if !members[cl] {
		return
	}
	delete(members, cl)
	if len(members) == 0 {
		delete(s.rooms, cl.room)
		return
	}
	s.broadcastLocked(cl.room, message{Type: "leave", Room: cl.room, Name: cl.name})
}

// broadcast sends m to every member of room.
func (s *server) broadcast(room string, m message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broadcastLocked(room, m)
}

// broadcastLocked queues m for every member of room without ever waiting:
// a member whose queue is full is dropped (1008 "too slow") and removed,
// and the others get its leave notice.
func (s *server) broadcastLocked(room string, m message) {
	var slow []*client
	for cl := range s.rooms[room] {
		select {
		case cl.send <- m:
		default:
			slow = append(slow, cl)
		}
	}
	for _, cl := range slow {
		s.cfg.Logf("chat: dropping %q in %q: send queue full", cl.name, cl.room)
		cl.stop(websocket.StatusPolicyViolation, "too slow")
		s.removeLocked(cl)
	}
}

// client is one connected member. Two goroutines serve it: the HTTP
// handler reads (readLoop) and writeLoop drains send; the library's
// keepalive checks that the peer is alive. Only writeLoop writes data and
// closes the connection.
type client struct {
	s          *server
	conn       *websocket.Conn
	room, name string
	send       chan message

	ctx    context.Context // canceled by stop
	cancel context.CancelFunc

	stopOnce sync.Once
	code     websocket.StatusCode // set by stop, read after ctx is done
	reason   string
	kill     *time.Timer // cuts the connection if closing takes too long
}

// stop asks writeLoop to close the connection with code and reason. Only
// the first call counts. As a backstop, the
// connection is cut if the close has not finished in time, so no
// goroutine of the client can hang on a dead peer.
func (cl *client) stop(code websocket.StatusCode, reason string) {
	cl.stopOnce.Do(func() {
		cl.code, cl.reason = code, reason
		cfg := cl.s.cfg
		cl.kill = time.AfterFunc(cfg.WriteTimeout+cfg.CloseTimeout+time.Second, func() { cl.conn.CloseNow() })
		cl.cancel()
	})
}

// readLoop reads the client's messages until the connection ends, and
// returns the error that ended it.
func (cl *client) readLoop() error {
	for {
		var m message
		err := cl.conn.ReadJSON(&m)
		if err != nil {
			if websocket.CloseStatus(err) < 0 && !errors.Is(err, websocket.ErrClosed) {
				// Either the connection failed, and then the close that
				// stop asks for does nothing (every read error of a Conn
				// closes it), or the message was not JSON of our shape.
				cl.stop(websocket.StatusInvalidFramePayloadData, "invalid JSON message")
			}
			return err
		}
		if m.Type != "message" {
			continue // clients only send messages; ignore the rest
		}
		select {
		case <-cl.ctx.Done():
			continue // dropped: its words no longer reach the room
		default:
		}
		cl.s.broadcast(cl.room, message{Type: "message", Room: cl.room, Name: cl.name, Text: m.Text})
	}
}

// writeLoop sends queued messages, each within WriteTimeout, until stop;
// then it closes the connection with stop's code.
//
// The write deadline bounds this goroutine's writes only: the library
// writes pongs and keepalive pings under deadlines of its own. A peer that
// reads nothing makes a message write fail within WriteTimeout, fills the
// send queue, or stops answering keepalive pings; any of them drops it.
func (cl *client) writeLoop() {
	timeout := cl.s.cfg.WriteTimeout
	for {
		select {
		case <-cl.ctx.Done():
			cl.conn.CloseWithStatus(cl.code, cl.reason)
			return
		default:
		}
		select {
		case m := <-cl.send:
			cl.conn.SetWriteDeadline(time.Now().Add(timeout))
			if err := cl.conn.WriteJSON(m); err != nil {
				cl.stop(websocket.StatusInternalError, "write failed")
				cl.conn.CloseNow()
				return
			}
		case <-cl.ctx.Done():
		}
	}
}
