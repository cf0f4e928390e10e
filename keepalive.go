//go:build !js

package websocket

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

// keepalive pings an otherwise quiet peer and drops the connection when it
// stops answering. It runs on a runtime timer, not a goroutine of its own:
// the timer's function sends the ping or gives up, and the reading
// goroutine tells it that the peer is alive by marking heard.
type keepalive struct {
	interval time.Duration
	timeout  time.Duration
	timer    *time.Timer
	heard    atomic.Bool // bytes arrived since the last ping was sent
	waiting  bool        // a ping is out; touched by the timer's function only
}

// startKeepalive arms the keepalive timer of a new Conn.
func (c *Conn) startKeepalive(interval, timeout time.Duration) {
	if timeout <= 0 {
		timeout = interval
	}
	ka := &keepalive{interval: interval, timeout: timeout}
	c.br.ka = ka
	ka.timer = time.AfterFunc(interval, c.keepaliveTick)
}

// markHeard records that the peer sent something. It is called for every
// read from the transport, so it costs one load when nothing changes.
func (ka *keepalive) markHeard() {
	if !ka.heard.Load() {
		ka.heard.Store(true)
	}
}

// keepaliveTick runs on the timer: it either checks that the peer answered
// the last ping, or sends the next one. The timer is only re-armed from
// here, so two ticks never run at once.
func (c *Conn) keepaliveTick() {
	ka := c.br.ka
	if c.isClosed() {
		return
	}
	if ka.waiting {
		if !ka.heard.Load() {
			c.keepaliveFailed()
			return
		}
		ka.waiting = false
		if d := ka.interval - ka.timeout; d > 0 {
			ka.timer.Reset(d)
			return
		}
	}
	ka.heard.Store(false)
	ka.waiting = true
	c.queueKeepalivePing()
	ka.timer.Reset(ka.timeout)
}

// queueKeepalivePing sends an empty ping now if no frame is being written,
// or leaves it to the writer holding the frame lock, which sends it when it
// lets go: keepalive never makes a writer wait.
func (c *Conn) queueKeepalivePing() {
	c.pingWanted.Store(true)
	select {
	case c.wlock <- struct{}{}:
		c.flushPingLocked()
		c.unlockFrame()
	default:
	}
}

// flushPingLocked writes the keepalive ping if one is wanted. Caller holds
// wlock.
func (c *Conn) flushPingLocked() {
	if !c.pingWanted.Swap(false) || c.closeSent {
		return
	}
	_ = c.writeControlWithin(opPing, nil, time.Now().Add(c.closeTimeout))
}

// keepaliveFailed drops a connection whose peer stopped answering: it
// tries to tell the peer (1011, as RFC 6455 allows for an unexpected
// condition) without waiting for a writer, then closes the transport.
func (c *Conn) keepaliveFailed() {
	cause := fmt.Errorf("keepalive: the peer sent nothing for %v after a ping: %w", c.br.ka.timeout, os.ErrDeadlineExceeded)
	c.dropCause.CompareAndSwap(nil, &closedError{cause: cause})
	select {
	case c.wlock <- struct{}{}:
		if !c.closeSent {
			c.closeSent = true
			var p [2]byte
			p[0], p[1] = byte(StatusInternalError>>8), byte(StatusInternalError&0xff)
			c.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_ = c.writeControlLocked(opClose, p[:])
		}
		<-c.wlock
	default:
	}
	c.closeTransport()
}
