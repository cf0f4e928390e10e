package main

import (
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/wsstd/websocket"
)

// member is one connected client. Two goroutines serve it: the Upgrader's
// handler reads (readLoop), writeLoop drains send; the library's keepalive
// checks that the peer is alive. Only writeLoop writes data and closes.
type member struct {
	n          *node
	conn       *websocket.Conn
	id         string
	room, name string
	send       chan *websocket.PreparedMessage
	seq        uint64 // of the last message published; readLoop only
	left       bool   // left its room; under node.mu

	done     chan struct{} // closed by stop
	stopOnce sync.Once
	code     websocket.StatusCode // set by stop, read after done
	reason   string
	killMu   sync.Mutex
	kill     *time.Timer // cuts the connection if closing takes too long
}

// stop asks writeLoop to close the connection with code and reason. Only the first call counts; it reports whether this was
// it. As a backstop the connection is cut if the close has not finished in
// time, so no goroutine can hang on a peer that reads nothing.
func (m *member) stop(code websocket.StatusCode, reason string) bool {
	first := false
	m.stopOnce.Do(func() {
		first = true
		m.code, m.reason = code, reason
		cfg := m.n.cfg
		m.killMu.Lock()
		m.kill = time.AfterFunc(cfg.WriteTimeout+cfg.CloseTimeout+time.Second, func() { m.conn.CloseNow() })
		m.killMu.Unlock()
		close(m.done)
	})
	return first
}

func (m *member) stopKill() {
	m.killMu.Lock()
	defer m.killMu.Unlock()
	if m.kill != nil {
		m.kill.Stop()
	}
}

// readLoop publishes the client's messages to the room's subject until the
// connection ends, and returns the error that ended it.
func (m *member) readLoop() error {
	subject := m.n.subject(m.room)
	for {
		_, data, err := m.conn.ReadMessage()
		if err != nil {
			return err
		}
		var in inbound
		if json.Unmarshal(data, &in) != nil {
			m.stop(websocket.StatusInvalidFramePayloadData, "invalid JSON message")
			continue // read on until the close handshake ends
		}
		if in.Type != "message" {
			continue
		}
		select {
		case <-m.done:
			continue // leaving: its words no longer reach the room
		default:
		}
		m.seq++
		m.n.met.in.Add(1)
		if err := m.n.publish(subject, event{Type: "message", Room: m.room, Name: m.name, From: m.id, Seq: m.seq, Text: in.Text}); err != nil {
			m.stop(websocket.StatusInternalError, "broker unavailable")
		}
	}
}

// writeLoop sends queued messages, each batch within WriteTimeout, until
// stop; then it closes the connection with stop's code.
//
// Batching is on (serve turns it on): writeBatch flushes, and the library
// sends the pending frames first whenever a ping, pong or close frame goes
// out. The write deadline bounds this goroutine's writes only: the library
// writes pongs and keepalive pings under deadlines of its own. A peer that
// reads nothing makes a write fail within WriteTimeout, fills the send
// queue, or stops answering keepalive pings; any of them drops it.
func (m *member) writeLoop() {
	timeout := m.n.cfg.WriteTimeout
	for {
		select {
		case <-m.done:
			m.conn.CloseWithStatus(m.code, m.reason)
			return
		default:
		}
		select {
		case pm := <-m.send:
			m.conn.SetWriteDeadline(time.Now().Add(timeout))
			if err := m.writeBatch(pm); err != nil {
				if !errors.Is(err, websocket.ErrClosed) {
					m.n.cfg.Logf("cluster %s: writing to %s: %v", m.n.cfg.Node, m.id, err)
				}
				m.stop(websocket.StatusInternalError, "write failed")
				m.conn.CloseNow()
				return
			}
		case <-m.done:
		}
	}
}

// maxBatch bounds the messages written with one Flush.
const maxBatch = 64

// writeBatch writes pm and whatever else is queued already (up to maxBatch
// messages) and sends them with one Flush: a room's burst costs a client
// one system call, not one per message, so its writer keeps up with the
// broker and its queue holds only what the network cannot take.
func (m *member) writeBatch(pm *websocket.PreparedMessage) error {
	n := 0
	for {
		if err := m.conn.WritePreparedMessage(pm); err != nil {
			return err
		}
		n++
		if n == maxBatch {
			break
		}
		select {
		case pm = <-m.send:
			continue
		default:
		}
		break
	}
	m.n.met.out.Add(uint64(n))
	return m.conn.Flush()
}
