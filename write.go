//go:build !js

package websocket

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// lock acquires l, giving up when the Conn closes or the deadline passes
// (a zero deadline waits for the Conn only).
func (c *Conn) lock(l chan struct{}, deadline time.Time) error {
	select {
	case l <- struct{}{}:
		return nil
	default:
	}
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case l <- struct{}{}:
		return nil
	case <-c.closedCh():
		return c.errClosed()
	case <-timeout:
		return errors.New("websocket: timed out waiting for another writer")
	}
}

// unlockFrame releases wlock, then sends what was left for its holder: a
// pong the reader queued, a keepalive ping, a batch to flush.
func (c *Conn) unlockFrame() {
	<-c.wlock
	if c.pongPending.Load() || c.flushWanted.Load() || c.pingWanted.Load() {
		select {
		case c.wlock <- struct{}{}:
			if c.flushWanted.Load() {
				c.flushBatchLocked()
			}
			c.flushPongLocked()
			c.flushPingLocked()
			<-c.wlock
		default:
			// The new holder will flush them when it unlocks.
		}
	}
}

// writeRaw writes b to the transport; a failure is final for writing and
// closes the transport, since a partial frame corrupts the stream.
func (c *Conn) writeRaw(b []byte) error {
	if len(c.batch) > 0 {
		// Batched frames go first, to keep the order of the wire.
		if err := c.flushBatchLocked(); err != nil {
			return err
		}
	}
	if _, err := c.nc.Write(b); err != nil {
		return c.writeFailed(err)
	}
	return nil
}

// writeFailed records a transport write error as final for writing and
// drops the connection, so that the reader's next error names the cause.
func (c *Conn) writeFailed(err error) error {
	if c.isClosed() {
		err = c.errClosed()
	} else {
		c.drop(fmt.Errorf("a write failed: %w", err))
		err = fmt.Errorf("websocket: write failed: %w", err)
	}
	c.writeErr = err
	return err
}

// dataWritable reports why no data frame may be written now: the close
// handshake began, or an earlier write failed. Caller holds wlock.
func (c *Conn) dataWritable() error {
	if c.closeSent {
		return ErrClosed // the close handshake began: no more data
	}
	return c.writeErr
}

// writeFrame writes one frame carrying payload from the caller's memory,
// which it does not modify. Caller holds wlock.
func (c *Conn) writeFrame(h frameHeader, payload []byte, scratch []byte) error {
	if err := c.dataWritable(); err != nil {
		return err
	}
	h.length = int64(len(payload))
	if c.isServer {
		n := putHeader(c.ctrlOut[:], h)
		if n+len(payload) <= len(scratch) {
			// Small frame: one copy, one write.
			copy(scratch, c.ctrlOut[:n])
			copy(scratch[n:], payload)
			return c.writeRaw(scratch[:n+len(payload)])
		}
		// Large frame: header and payload in one writev (two calls past
		// splitFrameMin), no copy.
		if len(c.batch) > 0 {
			if err := c.flushBatchLocked(); err != nil {
				return err
			}
		}
		head, rest := payload, payload[len(payload):]
		if len(payload) >= splitFrameMin {
			head, rest = payload[:splitFrameHead], payload[splitFrameHead:]
		}
		wv := writevs.Get().(*writevState)
		wv.iov[0], wv.iov[1] = c.ctrlOut[:n], head
		wv.bufs = wv.iov[:]
		_, err := wv.bufs.WriteTo(c.nc)
		wv.iov[0], wv.iov[1] = nil, nil
		writevs.Put(wv)
		if err == nil && len(rest) > 0 {
			_, err = c.nc.Write(rest)
		}
		if err != nil {
			return c.writeFailed(err)
		}
		return nil
	}
	// Client: mask a copy, chunk by chunk through scratch; a large
	// payload borrows a larger buffer so it takes few system calls.
	if len(payload) > len(scratch)-maxHeaderLen {
		big := maskChunks.get()
		err := c.writeMasked(h, payload, *big)
		maskChunks.put(big)
		return err
	}
	return c.writeMasked(h, payload, scratch)
}

// A server frame with a payload of splitFrameMin bytes or more goes out in
// two system calls, neither copying the payload: the header with the first
// splitFrameHead bytes, then the rest. One writev of a huge frame makes the
// kernel pin and queue it whole before the peer sees a byte; a small first
// write gets the peer reading sooner (bench/results.md has the figures).
const (
	splitFrameMin  = 256 << 10
	splitFrameHead = 16 << 10
)

// maskHeader gives a client frame's header a fresh masking key (RFC 6455
// section 5.3) and reports whether it did; server frames go unmasked.
func (c *Conn) maskHeader(h *frameHeader) bool {
	if c.isServer {
		return false
	}
	h.masked = true
	h.key = newMaskKey()
	return true
}

// writeMasked writes a client frame, masking payload through scratch.
func (c *Conn) writeMasked(h frameHeader, payload, scratch []byte) error {
	c.maskHeader(&h)
	n := putHeader(scratch, h)
	pos := 0
	for {
		m := copy(scratch[n:], payload)
		pos = maskBytes(h.key, pos, scratch[n:n+m])
		payload = payload[m:]
		if err := c.writeRaw(scratch[:n+m]); err != nil {
			return err
		}
		if len(payload) == 0 {
			return nil
		}
		n = 0
	}
}

// writevState is what a large server frame's writev needs: the header and
// the payload's head, and the net.Buffers that WriteTo consumes. Passed to
// the transport, a net.Buffers made per frame would escape and allocate;
// frames borrow one from writevs instead, so that no Conn carries it.
type writevState struct {
	iov  [2][]byte
	bufs net.Buffers // points into iov
}

var writevs = sync.Pool{New: func() any { return new(writevState) }}

// maskChunk is the size of the buffer a client borrows to mask a large
// payload: 256 KiB chunks keep the system calls per MiB at 4, which
// matters when many connections upload at once.
const maskChunk = 256 << 10

// maskChunks holds the masking buffers (a reserve of four is 1 MiB).
var maskChunks = poolFor(maskChunk)

// acquireWriteBuf makes sure c.wbuf holds a pooled buffer. Caller holds mlock.
func (c *Conn) acquireWriteBuf() {
	if c.wbuf == nil {
		c.wpool = c.wbufs.get()
		c.wbuf = *c.wpool
	}
}

// releaseWriteBuf returns c.wbuf to its pool. Caller holds mlock.
func (c *Conn) releaseWriteBuf() {
	if c.wpool != nil {
		c.wbufs.put(c.wpool)
		c.wpool, c.wbuf = nil, nil
	}
}

// WriteMessage sends p as one message of type typ, in a single frame. It
// waits for a message being written by another goroutine to finish. Text
// messages must be valid UTF-8. The Conn does not keep p.
func (c *Conn) WriteMessage(typ MessageType, p []byte) error {
	if err := checkMessageType(typ); err != nil {
		return err
	}
	if err := c.lock(c.mlock, time.Time{}); err != nil {
		return err
	}
	defer func() { <-c.mlock }()
	if c.deflate != nil && c.writeCompress.Load() && int64(len(p)) >= c.compressMin.Load() {
		w := c.beginMessage(typ)
		if _, err := w.Write(p); err != nil {
			w.abort()
			return err
		}
		return w.finish()
	}
	if err := c.lock(c.wlock, time.Time{}); err != nil {
		return err
	}
	if ok, err := c.batchMessage(frameHeader{fin: true, opcode: byte(typ)}, p); ok {
		c.unlockFrame()
		return err
	}
	var err error
	switch {
	case len(p) <= maxControlPayload && c.isServer:
		// A small frame fits the control-frame scratch, which wlock
		// guards: no pooled buffer needed.
		err = c.writeFrame(frameHeader{fin: true, opcode: byte(typ)}, p, c.ctrlOut[maxHeaderLen:])
	case len(p) <= maxControlPayload:
		// The client masks into the scratch, header first.
		err = c.writeFrame(frameHeader{fin: true, opcode: byte(typ)}, p, c.ctrlOut[:])
	default:
		c.acquireWriteBuf()
		err = c.writeFrame(frameHeader{fin: true, opcode: byte(typ)}, p, c.wbuf)
		c.releaseWriteBuf()
	}
	c.unlockFrame()
	return err
}

// NextWriter returns a writer for a new message of type typ. Its writes are
// buffered and sent as frames of a fragmented message whenever the buffer
// fills, so a message of any size needs no more memory than the buffer;
// Close sends the final frame. Until then other data messages wait, but
// control frames (pongs, close) still go out between the fragments.
func (c *Conn) NextWriter(typ MessageType) (io.WriteCloser, error) {
	if err := checkMessageType(typ); err != nil {
		return nil, err
	}
	if err := c.lock(c.mlock, time.Time{}); err != nil {
		return nil, err
	}
	return c.beginMessage(typ), nil
}

// beginMessage sets up the message writer. Caller holds mlock.
func (c *Conn) beginMessage(typ MessageType) *messageWriter {
	c.acquireWriteBuf()
	w := &c.mw
	w.open = true
	w.op = byte(typ)
	w.n = maxHeaderLen
	w.compress = c.deflate != nil && c.writeCompress.Load()
	w.rsv = 0
	if w.compress {
		w.rsv = rsv1Bit
		c.def.begin(w)
	}
	return w
}

// messageWriter streams one message. There is one per Conn, reused.
type messageWriter struct {
	c        *Conn
	open     bool
	op       byte // opcode of the next frame: the type, then continuation
	rsv      byte // RSV bits of the next frame: RSV1 on a compressed message's first
	n        int  // end of buffered data in c.wbuf; data starts at maxHeaderLen
	compress bool // the message goes through c.def
}

// Write buffers p, sending full buffers as frames.
func (w *messageWriter) Write(p []byte) (int, error) {
	if !w.open {
		return 0, errStaleWriter
	}
	c := w.c
	if w.compress {
		return c.def.write(p) // deflate: keeps the history
	}
	total := 0
	for len(p) > 0 {
		if w.n == len(c.wbuf) {
			if err := w.flush(false); err != nil {
				return total, err
			}
		}
		// A large write with an empty buffer goes out as its own frame.
		if w.n == maxHeaderLen && len(p) >= len(c.wbuf)-maxHeaderLen {
			if err := w.writeDirect(p); err != nil {
				return total, err
			}
			return total + len(p), nil
		}
		m := copy(c.wbuf[w.n:], p)
		w.n += m
		p = p[m:]
		total += m
	}
	return total, nil
}

// writeDirect sends p as one non-final frame without copying it.
func (w *messageWriter) writeDirect(p []byte) error {
	c := w.c
	if err := c.lock(c.wlock, time.Time{}); err != nil {
		return err
	}
	err := c.writeFrame(frameHeader{opcode: w.op, rsv: w.rsv}, p, nil)
	c.unlockFrame()
	w.op, w.rsv = opContinuation, 0
	return err
}

// flush sends the buffered data as one frame, in place: the header goes
// into the space reserved before the data.
func (w *messageWriter) flush(fin bool) error { return w.flushKeep(fin, 0) }

// flushKeep is flush that holds back the last keep bytes of the buffer
// for the next frame.
func (w *messageWriter) flushKeep(fin bool, keep int) error {
	c := w.c
	if err := c.lock(c.wlock, time.Time{}); err != nil {
		return err
	}
	defer c.unlockFrame()
	if err := c.dataWritable(); err != nil {
		return err
	}
	payload := c.wbuf[maxHeaderLen : w.n-keep]
	h := frameHeader{fin: fin, rsv: w.rsv, opcode: w.op, length: int64(len(payload))}
	if c.maskHeader(&h) {
		maskBytes(h.key, 0, payload)
	}
	var hdr [maxHeaderLen]byte
	hn := putHeader(hdr[:], h)
	start := maxHeaderLen - hn
	copy(c.wbuf[start:], hdr[:hn])
	w.op, w.rsv = opContinuation, 0
	err := c.writeRaw(c.wbuf[start : maxHeaderLen+len(payload)])
	w.n = maxHeaderLen + copy(c.wbuf[maxHeaderLen:], c.wbuf[maxHeaderLen+len(payload):maxHeaderLen+len(payload)+keep])
	return err
}

// Close sends the final frame of the message and lets the next message go.
func (w *messageWriter) Close() error {
	if !w.open {
		return errStaleWriter
	}
	err := w.finish()
	<-w.c.mlock
	return err
}

// finish ends the message without releasing mlock.
func (w *messageWriter) finish() error {
	w.open = false
	c := w.c
	if w.compress {
		if err := c.def.finish(w); err != nil {
			w.abort()
			return err
		}
	}
	err := w.flush(true)
	c.releaseWriteBuf()
	return err
}

// abort gives back the writer's resources after a failed write.
func (w *messageWriter) abort() {
	w.open = false
	if w.compress {
		w.c.def.release()
	}
	w.c.releaseWriteBuf()
}
