//go:build !js

package websocket

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// writeControlWithin writes a control frame that the Conn sends on its own
// (a pong, a keepalive ping) or that Ping sends, bounded by deadline
// rather than by the application's write deadline, which it restores
// afterwards. Caller holds wlock.
func (c *Conn) writeControlWithin(op byte, payload []byte, deadline time.Time) error {
	c.dlMu.Lock()
	c.nc.SetWriteDeadline(deadline)
	c.dlMu.Unlock()
	err := c.writeControlLocked(op, payload)
	c.dlMu.Lock()
	c.nc.SetWriteDeadline(c.writeDeadline)
	c.dlMu.Unlock()
	return err
}

// SetPingHandler sets a function called, on the reading goroutine, with
// the payload of each ping received. The Conn answers pings with pongs
// whether or not a handler is set; the payload must not be retained.
func (c *Conn) SetPingHandler(f func(payload []byte)) {
	c.handlersMu.Lock()
	c.pingHandlers().onPing = f
	c.handlersMu.Unlock()
}

// SetPongHandler sets a function called, on the reading goroutine, with
// the payload of each pong received. The payload must not be retained.
func (c *Conn) SetPongHandler(f func(payload []byte)) {
	c.handlersMu.Lock()
	c.pingHandlers().onPong = f
	c.handlersMu.Unlock()
}

// pingHandlers returns c.handlers, made if need be. Caller holds
// handlersMu.
func (c *Conn) pingHandlers() *pingHandlers {
	if c.handlers == nil {
		c.handlers = new(pingHandlers)
	}
	return c.handlers
}

// handleControl reads a control frame's payload and acts on it.
func (c *Conn) handleControl(h frameHeader) error {
	n := int(h.length)
	if err := c.br.fill(n); err != nil {
		return c.readFailed(err)
	}
	// The payload is used in place; it stays valid until the next read.
	p := c.br.buf[c.br.r : c.br.r+n : c.br.r+n]
	c.br.r += n
	if h.masked {
		maskBytes(h.key, 0, p)
	}
	switch h.opcode {
	case opPing:
		c.queuePong(p)
		var f func([]byte)
		c.handlersMu.Lock()
		if h := c.handlers; h != nil {
			f = h.onPing
		}
		c.handlersMu.Unlock()
		if f != nil {
			f(p)
		}
	case opPong:
		var f func([]byte)
		c.handlersMu.Lock()
		if h := c.handlers; h != nil {
			f = h.onPong
			if ch, ok := h.pings[string(p)]; ok {
				close(ch)
				delete(h.pings, string(p))
			}
		}
		c.handlersMu.Unlock()
		if f != nil {
			f(p)
		}
	case opClose:
		return c.handlePeerClose(p)
	}
	return nil
}

// queuePong arranges for a pong answering payload. When a writer holds
// the frame lock the pong waits for it, replacing any older unsent pong
// (RFC 6455 section 5.5.3 allows answering only the latest ping), so a
// ping flood costs no memory and never blocks the reader behind a writer.
func (c *Conn) queuePong(payload []byte) {
	select {
	case c.wlock <- struct{}{}:
		// Uncontended: answer at once, superseding any queued pong.
		c.pongPending.Store(false)
		if !c.closeSent {
			_ = c.writeControlWithin(opPong, payload, time.Now().Add(c.closeTimeout))
		}
		c.unlockFrame()
		return
	default:
	}
	q := c.pongQ
	if q == nil {
		q = new(pongQueue)
		c.pongQ = q // before pongPending is first set: see flushPongLocked
	}
	q.mu.Lock()
	q.n = copy(q.buf[:], payload)
	c.pongPending.Store(true)
	q.mu.Unlock()
	// The writer may have released the lock meanwhile without seeing the
	// pong; try once more.
	select {
	case c.wlock <- struct{}{}:
		c.flushPongLocked()
		c.unlockFrame()
	default:
	}
}

// flushPongLocked writes the queued pong. Caller holds wlock.
func (c *Conn) flushPongLocked() {
	if !c.pongPending.Load() {
		return
	}
	// pongPending was set after the reader made pongQ.
	q := c.pongQ
	q.mu.Lock()
	if !c.pongPending.Load() {
		q.mu.Unlock()
		return
	}
	var p [maxControlPayload]byte
	n := copy(p[:], q.buf[:q.n])
	c.pongPending.Store(false)
	q.mu.Unlock()
	if c.closeSent {
		return
	}
	_ = c.writeControlWithin(opPong, p[:n], time.Now().Add(c.closeTimeout))
}

// writeControlLocked writes one control frame. Caller holds wlock.
func (c *Conn) writeControlLocked(op byte, payload []byte) error {
	if c.writeErr != nil {
		return c.writeErr
	}
	h := frameHeader{fin: true, opcode: op, length: int64(len(payload))}
	c.maskHeader(&h)
	n := putHeader(c.ctrlOut[:], h)
	m := copy(c.ctrlOut[n:], payload)
	if h.masked {
		maskBytes(h.key, 0, c.ctrlOut[n:n+m])
	}
	return c.writeRaw(c.ctrlOut[:n+m])
}

// Ping sends a ping with payload (at most 125 bytes) and waits until the
// matching pong arrives or ctx is done. Pongs are delivered by the
// goroutine reading from the Conn, so one must be running.
//
// Ping returns promptly once ctx is done, with an error that matches
// ctx.Err() (errors.Is), also while it waits for another writer. The ping
// frame is written under its own bound, ctx's deadline or the close
// timeout, whichever is sooner, never under the application's write
// deadline. For periodic liveness checks, set PingInterval on the
// Upgrader or Dialer instead.
func (c *Conn) Ping(ctx context.Context, payload []byte) error {
	if len(payload) > maxControlPayload {
		return errors.New("websocket: ping payload longer than 125 bytes")
	}
	ch := make(chan struct{})
	key := string(payload)
	c.handlersMu.Lock()
	h := c.pingHandlers()
	if h.pings == nil {
		h.pings = make(map[string]chan struct{})
	}
	if old, ok := h.pings[key]; ok {
		ch = old // share the wait with a ping of the same payload
	} else {
		h.pings[key] = ch
	}
	c.handlersMu.Unlock()
	err := c.sendPing(ctx, payload)
	if err == nil {
		select {
		case <-ch:
			return nil
		case <-c.closedCh():
			err = c.errClosed()
		case <-ctx.Done():
			err = fmt.Errorf("websocket: ping: no pong yet: %w", ctx.Err())
		}
	}
	c.handlersMu.Lock()
	if c.handlers.pings[key] == ch {
		delete(c.handlers.pings, key)
	}
	c.handlersMu.Unlock()
	return err
}

// sendPing writes a ping frame once the frame lock is free, giving up
// when ctx is done or the Conn closes.
func (c *Conn) sendPing(ctx context.Context, payload []byte) error {
	select {
	case c.wlock <- struct{}{}:
	case <-c.closedCh():
		return c.errClosed()
	case <-ctx.Done():
		return fmt.Errorf("websocket: ping: waiting for another writer: %w", ctx.Err())
	}
	defer c.unlockFrame()
	if c.closeSent {
		return ErrClosed
	}
	deadline := time.Now().Add(c.closeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	err := c.writeControlWithin(opPing, payload, deadline)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("websocket: ping: %w: %w", ctx.Err(), err)
	}
	return err
}
