//go:build !js

package websocket

import "time"

// Write batching: a Conn whose writes come from the goroutine that reads
// it (a request/response server, an echo) can let small messages wait in a
// batch and go out together when that goroutine next waits for data, so
// that replies to pipelined requests cost one system call, not one each.

// maxBatch bounds a batch; a message that would overflow it flushes it.
const maxBatch = 64 << 10

// maxBatched is the largest message that is batched; larger ones flush
// the batch and go out as usual.
const maxBatched = 16 << 10

// SetWriteBatching turns write batching on or off; it is off by default.
// While it is on, writes of small messages are held until the Conn's
// reader next waits for data: a Conn that nobody reads, or whose reader is
// busy, sends them only on Flush or when the batch fills. In detail,
// WriteMessage and WritePreparedMessage of messages up to
// 16 KiB do not write at once: the frames are kept, in order, and sent
// together when the Conn's reader next waits for data, before any other
// frame (a streamed message, a ping, a pong, the close frame), when 64 KiB
// are pending, or on Flush. Use it when a goroutine is always reading the
// Conn, typically the one that writes the replies: a message written by
// another goroutine while the reader is busy (not waiting for data) waits
// until the reader is done. A write error of a batched message is reported
// by a later call. Turning batching off flushes.
func (c *Conn) SetWriteBatching(on bool) {
	c.batching.Store(on)
	if on {
		c.br.waiting = c.readerWaits
		return
	}
	c.Flush()
}

// Flush sends the batched messages now. It returns the error that ended
// the connection, if any.
func (c *Conn) Flush() error {
	if err := c.lock(c.wlock, time.Time{}); err != nil {
		return err
	}
	err := c.flushBatchLocked()
	c.unlockFrame()
	return err
}

// readerWaits is called by the reader before a read that may block (true)
// and after it (false). Before it blocks, the batch goes out: at once when
// the frame lock is free, else by its holder when it unlocks.
func (c *Conn) readerWaits(before bool) {
	if !before {
		c.readerWaiting.Store(false)
		return
	}
	c.readerWaiting.Store(true)
	if c.batchLen.Load() == 0 {
		return
	}
	c.flushWanted.Store(true)
	select {
	case c.wlock <- struct{}{}:
		c.flushBatchLocked()
		c.unlockFrame()
	default:
	}
}

// batchMessage appends a data frame to the batch. Caller holds mlock and
// wlock; ok is false when the message is not for batching.
func (c *Conn) batchMessage(h frameHeader, payload []byte) (ok bool, err error) {
	if !c.batching.Load() || len(payload) > maxBatched {
		return false, nil
	}
	if err := c.dataWritable(); err != nil {
		return true, err
	}
	h.length = int64(len(payload))
	c.maskHeader(&h)
	if len(c.batch)+maxHeaderLen+len(payload) > maxBatch {
		if err := c.flushBatchLocked(); err != nil {
			return true, err
		}
	}
	if c.batchBuf == nil {
		c.batchBuf = batchBufs.get()
		c.batch = (*c.batchBuf)[:0]
	}
	var hdr [maxHeaderLen]byte
	n := putHeader(hdr[:], h)
	c.batch = append(c.batch, hdr[:n]...)
	start := len(c.batch)
	c.batch = append(c.batch, payload...)
	if h.masked {
		maskBytes(h.key, 0, c.batch[start:])
	}
	c.batchLen.Store(int64(len(c.batch)))
	if c.readerWaiting.Load() {
		// The reader is already waiting: nothing else will send it.
		return true, c.flushBatchLocked()
	}
	return true, nil
}

// batchBufs holds the buffers that batches borrow while they are pending.
var batchBufs = poolFor(maxBatch)

// flushBatchLocked writes the batch. Caller holds wlock.
func (c *Conn) flushBatchLocked() error {
	c.flushWanted.Store(false)
	if len(c.batch) == 0 {
		return c.writeErr
	}
	b := c.batch
	c.batch = c.batch[:0]
	c.batchLen.Store(0)
	var err error
	if c.writeErr == nil {
		if _, werr := c.nc.Write(b); werr != nil {
			err = c.writeFailed(werr)
		}
	} else {
		err = c.writeErr
	}
	batchBufs.put(c.batchBuf)
	c.batchBuf, c.batch = nil, nil
	return err
}
