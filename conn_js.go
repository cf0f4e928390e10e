//go:build js && wasm

package websocket

// The js/wasm Conn: the same client API as the native build, carried by
// the browser's own WebSocket object (or Node's, which needs Node 22, or
// Node 20 run with --experimental-websocket).
//
// What the browser API cannot do is absent from this build, so that code
// relying on it fails to compile instead of silently doing nothing:
//
//   - the server side (Upgrader, Shutdown) and NetConn;
//   - pings and pongs (Ping, SetPingHandler, SetPongHandler): the browser
//     answers the server's pings itself and never shows them;
//   - deadlines (SetDeadline, SetReadDeadline, SetWriteDeadline) and the
//     network addresses (LocalAddr, RemoteAddr): use a context and CloseNow;
//   - handshake details: custom request headers (Dial returns an error for
//     a non-empty header), proxies, TLS settings, buffer sizes, the server's
//     response (Dial's *http.Response is always nil, Conn has no Response)
//     and HandshakeError: a browser does not tell a page why a handshake
//     failed;
//   - compression settings (Dialer.Compression, SetWriteCompression,
//     SetCompressionThreshold): the browser negotiates permessage-deflate on
//     its own; PerMessageDeflate reports whether it did.
//
// Other differences, documented where they apply: close codes are limited
// to 1000 and 3000-4999, messages are never fragmented on the way out,
// received messages are queued in memory (bounded by ReadQueueLimit), and
// CloseNow cannot drop a connection without a close frame.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"
	"unicode/utf8"
)

// ReadQueueLimit bounds the memory that received but unread messages may
// take, in bytes, on js/wasm. The browser API has no flow control: the
// browser reads every message off the network and hands it to the page
// whether or not the application is reading, so the Conn queues them. Each
// queued message counts as its length plus 64 bytes. The bound in force is
// the larger of ReadQueueLimit and the read limit, so that one message
// within the read limit always fits. A message that would pass the bound
// fails the connection: reads return the messages queued before it, then a
// *ProtocolError with StatusPolicyViolation, and the server is sent close
// code 4008 (browsers may not send 1008).
const ReadQueueLimit = 64 << 20

// queueOverhead is what each queued message counts for beyond its payload.
const queueOverhead = 64

// readQueueLimit is ReadQueueLimit, variable so that tests can lower it.
var readQueueLimit int64 = ReadQueueLimit

// The close codes the js/wasm Conn sends when it fails the connection,
// in place of 1008 and 1009 which browsers are not allowed to send: the
// browser's close() accepts only 1000 and 3000-4999. These are in the
// private-use range; they mirror the registered codes' last digits.
const (
	jsStatusPolicyViolation StatusCode = 4008
	jsStatusMessageTooBig   StatusCode = 4009
)

// writeHighWater is how many bytes may wait in the browser's send buffer
// (WebSocket.bufferedAmount) when a write returns.
const writeHighWater = 1 << 20

// jsTry runs f, turning a JavaScript exception into an error.
func jsTry(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if je, ok := r.(js.Error); ok {
				err = je
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}

// Conn is a client WebSocket connection carried by the browser's WebSocket
// (js/wasm build).
//
// Writes (WriteMessage, NextWriter's Close, Close) are safe to call from
// many goroutines at once; each message goes out whole. Reads (ReadMessage,
// NextReader) should happen from one goroutine at a time.
//
// The browser delivers messages through callbacks; the Conn queues them
// (see ReadQueueLimit) until they are read. Methods that wait (reads, Dial,
// Close, and a write while the browser's send buffer is full) must not be
// called from a js.FuncOf callback, which must never block: call them from
// a goroutine of their own.
type Conn struct {
	ws           js.Value
	closeTimeout time.Duration
	readLimit    atomic.Int64
	handlers     []struct {
		name string
		fn   js.Func
	}
	releaseOnce sync.Once
	openCh      chan error    // the outcome of the opening handshake
	closedCh    chan struct{} // closed once the connection is over

	mu          sync.Mutex
	opened      bool
	subprotocol string
	extensions  string
	queue       []jsMessage // received messages; queue[qhead:] unread
	qhead       int
	queuedBytes int64
	readErr     error         // final read error, returned once the queue is empty
	wake        chan struct{} // closed and replaced when queue or readErr changes
	closeSent   bool          // the browser's close() was called
	closed      bool          // closedCh is closed
	clean       bool          // the close handshake completed (close event wasClean)
}

// jsMessage is one received message.
type jsMessage struct {
	typ  MessageType
	data []byte
}

// onOpen handles the open event.
func (c *Conn) onOpen(this js.Value, args []js.Value) any {
	c.mu.Lock()
	c.opened = true
	c.subprotocol = c.ws.Get("protocol").String()
	if e := c.ws.Get("extensions"); e.Type() == js.TypeString {
		c.extensions = e.String()
	}
	c.mu.Unlock()
	select {
	case c.openCh <- nil:
	default:
	}
	return nil
}

// onError handles the error event. Before the connection opens it fails
// Dial (some implementations send no close event then); afterwards the
// close event that follows it carries the outcome.
func (c *Conn) onError(this js.Value, args []js.Value) any {
	c.mu.Lock()
	opened := c.opened
	c.mu.Unlock()
	if !opened {
		select {
		case c.openCh <- errDialFailed:
		default:
		}
	}
	return nil
}

// onClose handles the close event: the connection is over.
func (c *Conn) onClose(this js.Value, args []js.Value) any {
	ev := args[0]
	code := StatusCode(ev.Get("code").Int())
	reason := ev.Get("reason").String()
	wasClean := ev.Get("wasClean").Bool()

	c.mu.Lock()
	if !c.opened {
		c.mu.Unlock()
		select {
		case c.openCh <- errDialFailed:
		default:
		}
		return nil
	}
	var err error
	if wasClean && code != StatusAbnormalClosure {
		err = &CloseError{Code: code, Reason: reason}
	} else {
		err = fmt.Errorf("websocket: read failed: connection closed abnormally (%v) without a close frame: %w", code, io.ErrUnexpectedEOF)
	}
	c.clean = wasClean && code != StatusAbnormalClosure
	c.finishLocked(err, false)
	c.mu.Unlock()
	c.release()
	return nil
}

// onMessage handles the message event: it queues the message, or fails
// the connection when the message is over the read limit or the queue full.
func (c *Conn) onMessage(this js.Value, args []js.Value) any {
	data := args[0].Get("data")
	limit := c.readLimit.Load()
	var m jsMessage
	var size int64
	switch {
	case data.Type() == js.TypeString:
		// Encode in JavaScript, to check the size before copying.
		m.typ = TextMessage
		u8 := js.Global().Get("TextEncoder").New().Call("encode", data)
		size = int64(u8.Length())
		if size > limit {
			break
		}
		m.data = make([]byte, size)
		js.CopyBytesToGo(m.data, u8)
	case data.InstanceOf(js.Global().Get("ArrayBuffer")):
		m.typ = BinaryMessage
		size = int64(data.Get("byteLength").Int())
		if size > limit {
			break
		}
		u8 := js.Global().Get("Uint8Array").New(data)
		m.data = make([]byte, size)
		js.CopyBytesToGo(m.data, u8)
	default:
		c.fail(&ProtocolError{Code: StatusUnsupportedData, Reason: "the browser delivered a message that is neither text nor an ArrayBuffer"}, jsStatusPolicyViolation)
		return nil
	}
	if size > limit {
		c.fail(&ProtocolError{Code: StatusMessageTooBig,
			Reason: fmt.Sprintf("message larger than the read limit of %d bytes", limit)}, jsStatusMessageTooBig)
		return nil
	}

	c.mu.Lock()
	if c.readErr != nil || c.closed {
		c.mu.Unlock() // failed or closed: nobody will read it
		return nil
	}
	bound := max(readQueueLimit, limit+queueOverhead)
	if c.queuedBytes+size+queueOverhead > bound {
		c.mu.Unlock()
		c.fail(&ProtocolError{Code: StatusPolicyViolation,
			Reason: fmt.Sprintf("read queue full: more than %d bytes of messages received and not read", bound)}, jsStatusPolicyViolation)
		return nil
	}
	c.queue = append(c.queue, m)
	c.queuedBytes += size + queueOverhead
	c.wakeLocked()
	c.mu.Unlock()
	return nil
}

// fail fails the connection: pe becomes the final read error (after the
// messages already queued) and the browser closes with wireCode, since it
// may not send pe.Code itself.
func (c *Conn) fail(pe *ProtocolError, wireCode StatusCode) {
	c.mu.Lock()
	if c.readErr != nil || c.closed {
		c.mu.Unlock()
		return
	}
	c.readErr = pe
	first := !c.closeSent
	c.closeSent = true
	c.wakeLocked()
	c.mu.Unlock()
	if first {
		reason := pe.Reason
		if len(reason) > maxControlPayload-2 {
			reason = reason[:maxControlPayload-2]
			for !utf8.ValidString(reason) {
				reason = reason[:len(reason)-1]
			}
		}
		_ = jsTry(func() { c.ws.Call("close", int(wireCode), reason) })
	}
}

// wakeLocked wakes the goroutines waiting for the queue. Caller holds mu.
func (c *Conn) wakeLocked() {
	close(c.wake)
	c.wake = make(chan struct{})
}

// finishLocked ends the connection: err becomes the final read error
// unless one is set, and with drop the unread messages are thrown away.
// Caller holds mu.
func (c *Conn) finishLocked(err error, drop bool) {
	if c.readErr == nil {
		c.readErr = err
	}
	if drop {
		c.queue, c.qhead, c.queuedBytes = nil, 0, 0
	}
	if !c.closed {
		c.closed = true
		close(c.closedCh)
	}
	c.wakeLocked()
}

// release detaches and frees the event callbacks, once. A handler that is
// detached first can never be called after being freed.
func (c *Conn) release() {
	c.releaseOnce.Do(func() {
		for _, h := range c.handlers {
			c.ws.Set(h.name, js.Null())
		}
		for _, h := range c.handlers {
			h.fn.Release()
		}
	})
}

// abandon closes a connection that Dial gives up on.
func (c *Conn) abandon(err error) {
	c.mu.Lock()
	c.closeSent = true
	if err == nil {
		err = ErrClosed
	}
	c.finishLocked(err, true)
	c.mu.Unlock()
	c.release()
	_ = jsTry(func() { c.ws.Call("close") })
}

// Subprotocol returns the subprotocol agreed in the handshake, or "".
func (c *Conn) Subprotocol() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.subprotocol
}

// PerMessageDeflate reports whether the browser negotiated
// permessage-deflate compression (RFC 7692) for this connection. The
// browser decides on its own whether to offer it; it cannot be configured.
func (c *Conn) PerMessageDeflate() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Contains(c.extensions, "permessage-deflate")
}

// SetReadLimit sets the largest message, in bytes, that the Conn accepts.
// n <= 0 restores DefaultReadLimit. The browser has already received a
// message in full when the Conn sees it, so the limit bounds what the
// Conn keeps, not what the browser reads: a message over the limit fails
// the connection (reads return a *ProtocolError with StatusMessageTooBig,
// after the messages queued before it) and the server is sent close code
// 4009, since browsers may not send 1009.
func (c *Conn) SetReadLimit(n int64) {
	if n <= 0 {
		n = DefaultReadLimit
	}
	c.readLimit.Store(n)
}

// next waits for the next queued message.
func (c *Conn) next() (jsMessage, error) {
	for {
		c.mu.Lock()
		if c.qhead < len(c.queue) {
			m := c.queue[c.qhead]
			c.queue[c.qhead] = jsMessage{}
			c.qhead++
			c.queuedBytes -= int64(len(m.data)) + queueOverhead
			if c.qhead == len(c.queue) {
				c.queue, c.qhead = c.queue[:0], 0
			}
			c.mu.Unlock()
			return m, nil
		}
		if c.readErr != nil {
			err := c.readErr
			c.mu.Unlock()
			return jsMessage{}, err
		}
		wake := c.wake
		c.mu.Unlock()
		<-wake
	}
}

// ReadMessage returns the next data message whole.
//
// When the server closes the connection, ReadMessage returns a *CloseError
// with the code and reason of the server's close frame, as the close event
// reports them (StatusNoStatusReceived when the frame had no code). A
// connection that ends without a close handshake (the close event's code
// 1006, or wasClean false) gives an error that wraps io.ErrUnexpectedEOF
// and is not a *CloseError, as a lost connection does natively. Any error
// is final: later calls return it again.
func (c *Conn) ReadMessage() (MessageType, []byte, error) {
	m, err := c.next()
	if err != nil {
		return 0, nil, err
	}
	return m.typ, m.data, nil
}

// NextReader waits for the next data message and returns its type and a
// reader for its payload, which returns io.EOF at the end of the message.
// The browser delivers messages whole, so the reader reads from memory and
// stays valid after the next call. Errors are those of ReadMessage.
func (c *Conn) NextReader() (MessageType, io.Reader, error) {
	m, err := c.next()
	if err != nil {
		return 0, nil, err
	}
	return m.typ, bytes.NewReader(m.data), nil
}

// WriteMessage sends p as one message of type typ. Text messages must be
// valid UTF-8 (the browser takes text as a string: invalid bytes would be
// replaced, so they give an error instead). The Conn does not keep p.
//
// It returns once the browser has taken the message and no more than
// 1 MiB is waiting in the browser's send buffer, waiting (by polling
// bufferedAmount) for the buffer to drain when needed; so a loop of writes
// to a slow server does not pile up memory. It returns ErrClosed once the
// close handshake has begun: the browser would drop the message silently.
func (c *Conn) WriteMessage(typ MessageType, p []byte) error {
	if err := checkMessageType(typ); err != nil {
		return err
	}
	return c.send(typ, p)
}

func (c *Conn) send(typ MessageType, p []byte) error {
	if typ == TextMessage && !utf8.Valid(p) {
		return errors.New("websocket: text message is not valid UTF-8")
	}
	c.mu.Lock()
	closing := c.closeSent || c.closed
	c.mu.Unlock()
	if closing || c.ws.Get("readyState").Int() != 1 { // 1: OPEN
		return ErrClosed
	}
	var v js.Value
	if typ == TextMessage {
		v = js.ValueOf(string(p))
	} else {
		u8 := js.Global().Get("Uint8Array").New(len(p))
		js.CopyBytesToJS(u8, p)
		v = u8.Get("buffer")
	}
	if err := jsTry(func() { c.ws.Call("send", v) }); err != nil {
		return fmt.Errorf("websocket: write failed: %w", err)
	}
	// Flow control: the browser buffers without limit.
	wait := time.Millisecond
	for {
		if c.ws.Get("bufferedAmount").Int() <= writeHighWater {
			return nil
		}
		select {
		case <-c.closedCh:
			return ErrClosed
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// NextWriter returns a writer for a new message of type typ. The browser
// API has no way to send a message in fragments, so the writer buffers
// everything written and Close sends it as one message, as WriteMessage
// does (including its errors); nothing is sent before Close. Messages of
// other writers may go out meanwhile: each message is sent whole, when its
// writer is closed.
func (c *Conn) NextWriter(typ MessageType) (io.WriteCloser, error) {
	if err := checkMessageType(typ); err != nil {
		return nil, err
	}
	c.mu.Lock()
	closing := c.closeSent || c.closed
	c.mu.Unlock()
	if closing {
		return nil, ErrClosed
	}
	return &jsMessageWriter{c: c, typ: typ}, nil
}

// jsMessageWriter buffers one message until Close.
type jsMessageWriter struct {
	c    *Conn
	typ  MessageType
	buf  bytes.Buffer
	done bool
}

func (w *jsMessageWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, errStaleWriter
	}
	return w.buf.Write(p)
}

// Close sends the buffered message.
func (w *jsMessageWriter) Close() error {
	if w.done {
		return errStaleWriter
	}
	w.done = true
	err := w.c.send(w.typ, w.buf.Bytes())
	w.buf = bytes.Buffer{}
	return err
}

// Close performs the close handshake with StatusNormalClosure.
func (c *Conn) Close() error {
	return c.CloseWithStatus(StatusNormalClosure, "")
}

// CloseWithStatus performs the close handshake: the browser sends a close
// frame with code and reason, and CloseWithStatus waits up to the close
// timeout (DefaultCloseTimeout) for the close event. It returns nil when
// the handshake completed, an error when it did not in time or the
// connection ended otherwise, and ErrClosed when the Conn was closed
// already (by the server, for example). Messages that arrive meanwhile stay
// queued for a reader, followed by the server's *CloseError.
//
// Browsers let a page send only 1000 (StatusNormalClosure) and 3000-4999;
// any other code gives an error and nothing is sent, as does a reason that
// is not valid UTF-8 of at most 123 bytes.
func (c *Conn) CloseWithStatus(code StatusCode, reason string) error {
	if code != StatusNormalClosure && (code < 3000 || code > 4999) {
		return fmt.Errorf("websocket: status code %d may not be sent by a browser: use 1000 or 3000-4999", int(code))
	}
	if err := checkCloseReason(reason); err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	first := !c.closeSent
	c.closeSent = true
	c.mu.Unlock()
	if first {
		if err := jsTry(func() { c.ws.Call("close", int(code), reason) }); err != nil {
			c.giveUp()
			return fmt.Errorf("websocket: close: %w", err)
		}
	}
	t := time.NewTimer(c.closeTimeout)
	defer t.Stop()
	select {
	case <-c.closedCh:
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.clean {
			return nil
		}
		if errors.Is(c.readErr, io.ErrUnexpectedEOF) {
			return c.readErr
		}
		return ErrClosed
	case <-t.C:
		c.giveUp()
		return errCloseTimeout
	}
}

// giveUp ends the Conn without waiting for the browser any longer.
func (c *Conn) giveUp() {
	c.mu.Lock()
	c.finishLocked(ErrClosed, false)
	c.mu.Unlock()
	c.release()
}

// CloseNow closes the connection at once, without waiting. A browser
// cannot drop a connection without a close frame, so CloseNow starts the
// browser's close handshake without a status code (the server sees
// StatusNoStatusReceived, 1005, rather than the 1006 of the native build)
// and returns. Unread messages are dropped, and reads return ErrClosed
// (or the error that had already ended the connection).
func (c *Conn) CloseNow() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	first := !c.closeSent
	c.closeSent = true
	c.finishLocked(ErrClosed, true)
	c.mu.Unlock()
	c.release()
	if first {
		_ = jsTry(func() { c.ws.Call("close") })
	}
	return nil
}
