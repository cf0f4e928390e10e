//go:build !js

package websocket

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"
	"unicode/utf8"
)

// handlePeerClose answers a close frame from the peer and returns the
// *CloseError that read calls report from now on.
func (c *Conn) handlePeerClose(p []byte) error {
	code, reason, err := parseClosePayload(p)
	if err != nil {
		return c.fail(err.(*ProtocolError))
	}
	ce := &CloseError{Code: code, Reason: reason}
	c.chMu.Lock()
	if c.closeRecv == nil {
		c.closeRecv = closedChan
	} else {
		select {
		case <-c.closeRecv:
		default:
			close(c.closeRecv)
		}
	}
	c.chMu.Unlock()
	// Echo the code and reason (RFC 6455 section 5.5.1) unless we started the close.
	echo := code
	if echo == StatusNoStatusReceived {
		echo = 0
	}
	_ = c.writeClose(echo, reason, time.Now().Add(c.closeTimeout))
	c.readErr = ce
	c.br.releaseAll()
	c.finishClose()
	return ce
}

// finishClose ends the transport after both close frames were exchanged:
// the server closes at once, the client waits a bounded time for the
// server to close first (RFC 6455 section 7.1.1). Caller holds rlock.
func (c *Conn) finishClose() {
	if !c.isServer {
		c.nc.SetReadDeadline(time.Now().Add(c.closeTimeout))
		var scratch [256]byte
		for {
			if _, err := c.nc.Read(scratch[:]); err != nil {
				break
			}
		}
	}
	c.closeTransport()
}

// fail fails the connection (RFC 6455 section 7.1.7): it sends a close
// frame with pe's code, closes the transport and makes pe the final read
// error. Caller holds rlock.
func (c *Conn) fail(pe *ProtocolError) error {
	if c.readErr != nil {
		return c.readErr
	}
	c.readErr = pe
	c.br.releaseAll()
	if c.writeClose(pe.Code, pe.Reason, time.Now().Add(time.Second)) == nil {
		c.linger()
	}
	c.closeTransport()
	return pe
}

// lingerLimit bounds the bytes a lingering close reads and throws away,
// and lingerQuiet ends it once the peer has sent nothing for that long:
// a reset can only hurt while bytes still arrive.
const (
	lingerLimit = 64 << 20
	lingerQuiet = 250 * time.Millisecond
)

// linger makes the close frame of a failed connection reach the peer.
// Closing a socket whose receive buffer holds unread bytes makes the
// kernel send a reset, and a peer that gets the reset before it has read
// our close frame drops the frame and reports 1006. So, like careful HTTP
// servers, shut down the write side (the peer reads the close frame, then
// end of stream) and read and discard what the peer still sends until it
// closes too or goes quiet, within the close timeout and lingerLimit
// bytes. It runs on the reading goroutine, which returns the error that
// failed the connection when it is done, and borrows a read buffer only
// while it reads. Caller holds rlock.
func (c *Conn) linger() {
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	end := time.Now().Add(c.closeTimeout)
	buf := c.br.bufs.get()
	defer c.br.bufs.put(buf)
	for n := 0; n < lingerLimit; {
		dl := time.Now().Add(lingerQuiet)
		if dl.After(end) {
			dl = end
		}
		if c.nc.SetReadDeadline(dl) != nil {
			return
		}
		m, err := c.nc.Read(*buf)
		if err != nil {
			return
		}
		n += m
	}
}

// writeClose sends a close frame once; later calls do nothing. Code 0
// sends an empty close payload.
func (c *Conn) writeClose(code StatusCode, reason string, deadline time.Time) error {
	if err := c.lock(c.wlock, deadline); err != nil {
		return err
	}
	defer c.unlockFrame()
	if c.closeSent {
		return nil
	}
	c.closeSent = true
	var p [maxControlPayload]byte
	n := 0
	if code != 0 {
		p[0], p[1] = byte(code>>8), byte(code)
		n = 2 + copy(p[2:], truncateReason(reason))
	}
	c.nc.SetWriteDeadline(deadline)
	return c.writeControlLocked(opClose, p[:n])
}

// truncateReason cuts reason to the 123 bytes a close frame has room for,
// on a UTF-8 boundary.
func truncateReason(reason string) string {
	if len(reason) <= maxControlPayload-2 {
		return reason
	}
	r := reason[:maxControlPayload-2]
	for len(r) > 0 && !utf8.ValidString(r) {
		r = r[:len(r)-1]
	}
	return r
}

// Close performs the close handshake with StatusNormalClosure.
func (c *Conn) Close() error {
	return c.CloseWithStatus(StatusNormalClosure, "")
}

// CloseWithStatus performs the close handshake: it sends a close frame with
// code and reason, waits up to the close timeout (DefaultCloseTimeout) for
// the peer's close frame, and then closes the connection. Messages that
// arrive meanwhile go to the application's reader, which then sees the
// peer's *CloseError; if the application does not read (it never called
// NextReader or ReadMessage, or no read call has been under way or made
// for about 10 ms), Close reads and discards them itself. It returns
// nil when the peer answered, and an error when it did not in time or the
// Conn was already closed. The code must be one that may be sent on the
// wire (1000-1003, 1007-1014, 3000-4999) and the reason at most 123 bytes
// of UTF-8; otherwise nothing is sent and an error returned.
func (c *Conn) CloseWithStatus(code StatusCode, reason string) error {
	if !code.validOnWire() {
		return fmt.Errorf("websocket: status code %d may not be sent in a close frame", int(code))
	}
	if err := checkCloseReason(reason); err != nil {
		return err
	}
	if c.isClosed() {
		return ErrClosed
	}
	deadline := time.Now().Add(c.closeTimeout)
	if err := c.writeClose(code, reason, deadline); err != nil {
		c.closeTransport()
		return err
	}
	// Wait for the peer's close frame. An application that reads keeps
	// its messages: its reader gets them, then the close. Only when nobody
	// reads for a moment (two polls) does Close read and discard data
	// itself; a reader that is just starting is not robbed.
	if !c.readStarted.Load() {
		// Never read from: give a reader goroutine that is just starting
		// a chance to run, then, if none showed up, read at once.
		runtime.Gosched()
		if !c.readStarted.Load() && c.rlock.TryLock() {
			err := c.drainUntilClose(deadline)
			c.rlock.Unlock()
			return err
		}
	}
	closeRecv := c.closeRecvChan()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	tick := time.NewTicker(closeReaderPoll)
	defer tick.Stop()
	idlePolls, lastCalls := 0, c.readCalls.Load()
	for {
		select {
		case <-tick.C:
			if !c.rlock.TryLock() {
				idlePolls = 0 // a read is under way
				continue
			}
			// Idle only if no read call came and went since the last
			// check either.
			if calls := c.readCalls.Load(); calls != lastCalls {
				lastCalls, idlePolls = calls, 0
			}
			if idlePolls++; idlePolls < 2 {
				c.rlock.Unlock()
				continue
			}
			err := c.drainUntilClose(deadline)
			c.rlock.Unlock()
			return err
		case <-closeRecv:
			<-c.closedCh() // the reader finishes the close
			return nil
		case <-t.C:
			c.closeTransport()
			return errCloseTimeout
		}
	}
}

// isClosed reports whether the transport is closed.
func (c *Conn) isClosed() bool { return c.transportClosed.Load() }

// closedCh returns a channel closed once the transport is closed. It is
// made on demand, for a wait: an idle Conn does not carry it.
func (c *Conn) closedCh() <-chan struct{} {
	c.chMu.Lock()
	defer c.chMu.Unlock()
	if c.closed == nil {
		c.closed = make(chan struct{})
	}
	return c.closed
}

// closeRecvChan returns the channel closed once the peer's close frame
// arrived. It is made on demand: an idle Conn does not carry it.
func (c *Conn) closeRecvChan() <-chan struct{} {
	c.chMu.Lock()
	defer c.chMu.Unlock()
	if c.closeRecv == nil {
		c.closeRecv = make(chan struct{})
	}
	return c.closeRecv
}

// closeReaderPoll is how often Close checks whether the application's
// reader has gone away; after two idle checks in a row (no read under way,
// none made between them) Close reads itself.
const closeReaderPoll = 5 * time.Millisecond

// drainUntilClose reads and discards frames until the peer's close frame
// arrives, then finishes the close. Caller holds rlock.
func (c *Conn) drainUntilClose(deadline time.Time) error {
	if c.readErr != nil {
		var ce *CloseError
		if errors.As(c.readErr, &ce) {
			c.closeTransport()
			return nil
		}
		c.closeTransport()
		return c.readErr
	}
	c.nc.SetReadDeadline(deadline)
	for {
		if err := c.discardMessage(); err != nil {
			return c.closeResult(err)
		}
		if err := c.nextDataFrame(); err != nil {
			return c.closeResult(err)
		}
	}
}

// closeResult maps the error that ended drainUntilClose to Close's result.
func (c *Conn) closeResult(err error) error {
	var ce *CloseError
	if errors.As(err, &ce) {
		return nil
	}
	c.closeTransport()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errCloseTimeout
	}
	return err
}

// CloseNow closes the connection at once, without a close handshake. The
// peer sees an abnormal closure (1006).
func (c *Conn) CloseNow() error {
	if c.isClosed() {
		return ErrClosed
	}
	c.closeTransport()
	return nil
}

// drop closes the connection because of cause, which read and write
// calls then report inside an error that matches ErrClosed. A Conn that
// was closed already keeps the reason it had.
func (c *Conn) drop(cause error) {
	if c.isClosed() {
		return
	}
	c.dropCause.CompareAndSwap(nil, &closedError{cause: cause})
	c.closeTransport()
}

// errClosed is the error of a call on a closed Conn: ErrClosed, or the
// reason the library dropped the connection.
func (c *Conn) errClosed() error {
	if e := c.dropCause.Load(); e != nil {
		return e
	}
	return ErrClosed
}

// closeTransport closes the underlying connection once.
func (c *Conn) closeTransport() {
	c.closeOnce.Do(func() {
		c.chMu.Lock()
		c.transportClosed.Store(true)
		if c.closed != nil {
			close(c.closed)
		} else {
			c.closed = closedChan
		}
		c.chMu.Unlock()
		if c.br.ka != nil {
			c.br.ka.timer.Stop()
		}
		c.nc.Close()
		if c.registry != nil {
			c.registry.remove(c)
		}
	})
}
