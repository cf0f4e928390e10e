package main

import (
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/wsstd/websocket"
)

//go:embed index.html
var indexHTML []byte

// event is what the server sends to clients, as JSON. Chat messages and
// presence (join, leave) travel through the broker exactly in this form,
// so a node forwards what it receives without decoding it. "welcome" is
// sent by a node to its own new client only.
type event struct {
	Type string `json:"type"` // "welcome", "message", "join" or "leave"
	Room string `json:"room"`
	Name string `json:"name,omitempty"`
	// From identifies the sending connection, cluster-wide: its node's
	// id, "-", a counter. Seq numbers the messages of one sender from 1,
	// so a receiver can check that it got each exactly once and in order.
	From  string   `json:"from"`
	Seq   uint64   `json:"seq,omitempty"`
	Node  string   `json:"node,omitempty"`
	Text  string   `json:"text,omitempty"`
	Peers []string `json:"peers,omitempty"` // welcome: servers to fail over to
}

// inbound is what clients send: {"type":"message","text":"..."}.
type inbound struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// config tunes a node; zero fields take the defaults of withDefaults.
type config struct {
	// Node names this node in client ids and presence events; it must be
	// unique in the cluster.
	Node string
	// Prefix starts every subject: room R is Prefix+".room."+base64url(R).
	Prefix string
	// Queue is how many messages may wait for one client; a client whose
	// queue is full is closed with 1013 "too slow".
	Queue int
	// WriteTimeout bounds writing one message to a client.
	WriteTimeout time.Duration
	// PingInterval is how often the library's keepalive pings an idle
	// client (negative: never); one that sends nothing within PingTimeout
	// of a ping is dropped.
	PingInterval, PingTimeout time.Duration
	// CloseTimeout bounds the close handshake with a client.
	CloseTimeout time.Duration
	// ReadLimit is the largest message accepted from a client.
	ReadLimit int64
	// Origins are extra allowed browser origins (Upgrader.OriginPatterns),
	// needed when a page fails over to a server on another host:port.
	Origins []string
	// Peers are the addresses (host:port) a page may reconnect to when
	// this server goes away; they are sent in the welcome event.
	Peers []string
	// SendBuffer, if positive, sets the kernel send buffer of each
	// accepted TCP connection (see connState): a smaller buffer finds a
	// client that stopped reading sooner and costs less kernel memory.
	SendBuffer int
	// Logf, if set, logs connections and drops.
	Logf func(format string, args ...any)
}

func (c config) withDefaults() config {
	if c.Prefix == "" {
		c.Prefix = "chat"
	}
	if c.Queue <= 0 {
		c.Queue = 256
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
	// closeTooSlow is the code for a client that fell too far behind:
	// 1013 Try Again Later says "this server is fine, come back", which is
	// exactly what a client that missed messages should do: reconnect and
	// start afresh. (1008 would say it broke a rule, and not to retry.)
	closeTooSlow = websocket.StatusTryAgainLater
)

// node is one chat server: the page at /, the WebSocket at
// /ws?room=NAME&name=NICK and /metrics, over its own broker connection.
// It keeps no state that another node needs: rooms exist in each node
// only while it has local members, as broker subscriptions.
type node struct {
	cfg config
	nc  *nats.Conn
	up  websocket.Upgrader
	mux *http.ServeMux
	met metrics

	mu      sync.Mutex
	rooms   map[string]*room
	closing bool
	wg      sync.WaitGroup // one per WebSocket handler
	ids     atomic.Uint64
}

// room is a room with local members: one broker subscription whose
// messages go to every member's queue.
type room struct {
	name    string
	subject string
	sub     *nats.Subscription
	// members is replaced, never modified, under node.mu, so the
	// subscription's callback reads it without a lock.
	members atomic.Pointer[[]*member]
}

func newNode(cfg config, nc *nats.Conn) *node {
	n := &node{cfg: cfg.withDefaults(), nc: nc, rooms: make(map[string]*room)}
	n.up = websocket.Upgrader{
		Handler:        n.serve,
		ReadLimit:      n.cfg.ReadLimit,
		OriginPatterns: n.cfg.Origins,
		CloseTimeout:   n.cfg.CloseTimeout,
	}
	if n.cfg.PingInterval > 0 {
		// The library's keepalive: no goroutine or timer of ours per client.
		n.up.PingInterval = n.cfg.PingInterval
		n.up.PingTimeout = n.cfg.PingTimeout
	}
	n.mux = http.NewServeMux()
	n.mux.Handle("/ws", &n.up)
	n.mux.HandleFunc("/metrics", n.serveMetrics)
	n.mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	n.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	return n
}

func (n *node) ServeHTTP(w http.ResponseWriter, r *http.Request) { n.mux.ServeHTTP(w, r) }

// Shutdown stops the node: new upgrades are refused, every client is sent
// 1001 (the library's Upgrader.Shutdown) and its leave is published, then
// the broker connection is drained (subscriptions stop, what was published
// is flushed) and closed. ctx bounds the whole.
func (n *node) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	n.closing = true
	n.mu.Unlock()
	err := n.up.Shutdown(ctx)
	// Handlers end within WriteTimeout+CloseTimeout at worst (see stop).
	n.wg.Wait()
	closed := make(chan struct{})
	n.nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if derr := n.nc.Drain(); derr != nil {
		n.nc.Close()
		return errors.Join(err, derr)
	}
	select {
	case <-closed:
	case <-ctx.Done():
		n.nc.Close()
		err = errors.Join(err, ctx.Err())
	}
	return err
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

// subject returns the broker subject of a room. Room names may hold any
// character, subjects not (no dots, spaces or wildcards), hence base64url.
func (n *node) subject(roomName string) string {
	return n.cfg.Prefix + ".room." + base64.RawURLEncoding.EncodeToString([]byte(roomName))
}

// serve is the Upgrader's Handler: one client, from join to leave.
func (n *node) serve(conn *websocket.Conn) {
	n.mu.Lock()
	if n.closing {
		n.mu.Unlock()
		conn.CloseWithStatus(websocket.StatusGoingAway, websocket.ShutdownReason)
		return
	}
	n.wg.Add(1)
	n.mu.Unlock()
	defer n.wg.Done()
	n.met.accepted.Add(1)

	q := conn.Request().URL.Query()
	m := &member{
		n:    n,
		conn: conn,
		id:   n.cfg.Node + "-" + strconv.FormatUint(n.ids.Add(1), 10),
		room: cleanName(q.Get("room"), defaultRoom),
		name: cleanName(q.Get("name"), "anonymous"),
		send: make(chan *websocket.PreparedMessage, n.cfg.Queue),
		done: make(chan struct{}),
	}
	// The welcome goes first into the queue, before any broker message.
	welcome, _ := json.Marshal(event{Type: "welcome", Room: m.room, Name: m.name, From: m.id, Node: n.cfg.Node, Peers: n.cfg.Peers})
	pm, _ := websocket.NewPreparedMessage(websocket.TextMessage, welcome)
	m.send <- pm

	// writeBatch sends what is queued with one system call. Batching is
	// turned on here, before the writer starts and before the first read:
	// SetWriteBatching is not safe while a read is under way.
	conn.SetWriteBatching(true)
	// The writer starts once the member has joined: the welcome then
	// tells the client that the room's subscription is in place.
	err := n.join(m)
	var g sync.WaitGroup
	g.Add(1)
	go func() { defer g.Done(); m.writeLoop() }()
	if err == nil {
		n.cfg.Logf("cluster %s: %s joined %q as %q (%s)", n.cfg.Node, conn.RemoteAddr(), m.room, m.name, m.id)
		err = m.readLoop()
		n.leave(m)
	} else {
		m.stop(websocket.StatusInternalError, "broker unavailable")
	}
	m.stop(websocket.StatusNormalClosure, "")
	g.Wait()
	m.stopKill()
	conn.CloseNow()
	n.cfg.Logf("cluster %s: %s (%s) left %q: %v", n.cfg.Node, m.id, m.name, m.room, err)
}

// join subscribes to m's room if m is its first local member, adds m and
// then publishes m's join. The subscription is registered with the broker
// before the join is published on the same connection, so m receives its
// own join and everything published after it.
func (n *node) join(m *member) error {
	n.mu.Lock()
	r := n.rooms[m.room]
	if r == nil {
		r = &room{name: m.room, subject: n.subject(m.room)}
		r.members.Store(&[]*member{})
		sub, err := n.nc.Subscribe(r.subject, func(msg *nats.Msg) { n.deliver(r, msg.Data) })
		if err != nil {
			n.mu.Unlock()
			return err
		}
		// The default limits would drop messages for a slow callback;
		// ours never blocks, so only memory bounds it.
		sub.SetPendingLimits(-1, 256<<20)
		// Subscribe only queues the interest; wait until the broker has
		// it, so that the member, welcomed after join returns, hears
		// everything other nodes publish from then on.
		if err := n.nc.FlushTimeout(5 * time.Second); err != nil {
			sub.Unsubscribe()
			n.mu.Unlock()
			return err
		}
		r.sub = sub
		n.rooms[m.room] = r
	}
	old := *r.members.Load()
	next := append(append(make([]*member, 0, len(old)+1), old...), m)
	r.members.Store(&next)
	n.mu.Unlock()
	return n.publish(r.subject, event{Type: "join", Room: m.room, Name: m.name, From: m.id, Node: n.cfg.Node})
}

// leave removes m from its room (unsubscribing when the room has no local
// member left) and publishes m's leave.
// Only the first call counts: a member dropped as too slow leaves at once,
// and its handler calls leave again when the connection ends.
func (n *node) leave(m *member) {
	n.mu.Lock()
	if m.left {
		n.mu.Unlock()
		return
	}
	m.left = true
	r := n.rooms[m.room]
	old := *r.members.Load()
	next := make([]*member, 0, len(old))
	for _, o := range old {
		if o != m {
			next = append(next, o)
		}
	}
	r.members.Store(&next)
	if len(next) == 0 {
		r.sub.Unsubscribe()
		delete(n.rooms, m.room)
	}
	n.mu.Unlock()
	n.publish(r.subject, event{Type: "leave", Room: m.room, Name: m.name, From: m.id, Node: n.cfg.Node})
}

func (n *node) publish(subject string, e event) error {
	data, err := json.Marshal(e)
	if err == nil {
		err = n.nc.Publish(subject, data)
	}
	if err != nil {
		n.cfg.Logf("cluster %s: publish to %s: %v", n.cfg.Node, subject, err)
	}
	return err
}

// deliver runs on the room subscription's goroutine, one broker message at
// a time (so in the broker's order): it frames the message once and queues
// it for every local member without ever waiting. A member whose queue is
// full is closed with closeTooSlow and leaves the room; the room goes on.
func (n *node) deliver(r *room, data []byte) {
	n.met.brokerIn.Add(1)
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, data)
	if err != nil {
		n.cfg.Logf("cluster %s: dropping a broker message on %s: %v", n.cfg.Node, r.subject, err)
		return
	}
	for _, m := range *r.members.Load() {
		select {
		case m.send <- pm:
		default:
			if m.stop(closeTooSlow, "too slow") {
				n.met.slowDropped.Add(1)
				n.cfg.Logf("cluster %s: closing %s (%s) in %q: send queue full", n.cfg.Node, m.id, m.name, m.room)
				// It leaves the room now, not when its close handshake
				// ends: that waits for a peer that does not read.
				n.leave(m)
			}
		}
	}
}
