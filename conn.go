//go:build !js

package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// defaultBufferSize is the size of the pooled read and write buffers.
const defaultBufferSize = 4096

// defaultParkedReadBufferSize is the default read buffer of a Conn whose
// socket lets it wait for data without a buffer (see park_unix.go). It is
// only borrowed while bytes are in flight, so it can be large: one read
// then takes a 64 KiB message with its header, or many pipelined ones.
const defaultParkedReadBufferSize = 64<<10 + maxHeaderLen

// Conn is a WebSocket connection, on the server or the client side.
//
// Writes (WriteMessage, NextWriter, Ping, Close) are safe to call from many
// goroutines at once: data messages go out whole, one after another, and
// control frames can be sent between the frames of a fragmented message.
// Reads (ReadMessage, NextReader) must happen from one goroutine at a time.
// A reading goroutine answers pings, delivers pongs and takes part in the
// close handshake, so an application that only writes should still read.
type Conn struct {
	nc       net.Conn
	isServer bool

	subprotocol string
	request     *http.Request
	response    *http.Response

	closeTimeout time.Duration

	// Locks are channels so that they can be waited on with a timeout.
	rlock sync.Mutex    // held by the one reader, during each read call
	mlock chan struct{} // held while a data message is being written
	wlock chan struct{} // held while a frame is being written

	// Reader state, guarded by rlock.
	br          readBuf
	readLimit   atomic.Int64
	readErr     error
	readCalls   atomic.Int64 // read calls finished, for Close's idle check
	readStarted atomic.Bool  // the application has called NextReader
	frameRemain int64        // unread payload bytes of the current data frame
	frameFin    bool
	frameKey    [4]byte
	framePos    int
	frameMasked bool
	inMessage   bool // a data message is being read
	msgType     MessageType
	msgFramed   int64 // payload bytes of the message's frames so far
	msgUTF8     utf8Validator
	msgOut      int64 // decompressed bytes of a compressed message so far
	mr          messageReader

	// permessage-deflate, when negotiated (deflate != nil).
	deflate        *deflateParams
	readCompressed bool // the message being read is compressed
	inf            inflater
	def            deflater
	writeCompress  atomic.Bool
	compressMin    atomic.Int64

	// The application's write deadline, restored after the Conn's own
	// control frames.
	dlMu          sync.Mutex
	writeDeadline time.Time

	// Writer state, guarded by wlock (frames) and mlock (messages).
	writeErr  error
	closeSent bool
	wbuf      []byte
	wpool     *[]byte
	wsize     int
	wbufs     *bufferPool // of wsize-byte buffers
	ctrlOut   [maxHeaderLen + maxControlPayload]byte
	iov       [2][]byte
	bufs      net.Buffers // points into iov; a field so writev does not allocate
	mw        messageWriter

	// Write batching (batch.go): frames waiting for the reader to wait.
	batching      atomic.Bool
	readerWaiting atomic.Bool
	flushWanted   atomic.Bool
	batchLen      atomic.Int64
	batch         []byte
	batchBuf      *[]byte

	// A pong answer queued by the reader while a writer held wlock.
	pongMu      sync.Mutex
	pongPending atomic.Bool
	pongLen     int
	pongBuf     *[maxControlPayload]byte // allocated on first contention

	// Close state.
	closeOnce  sync.Once
	registry   *registry     // the Upgrader's live-connection set, if any
	closed     chan struct{} // closed once the transport is closed
	closeRecv  chan struct{} // closed once the peer's close frame arrived
	recvOnce   sync.Once
	peerClose  *CloseError
	handlersMu sync.Mutex
	onPing     func([]byte)
	onPong     func([]byte)
	pings      map[string]chan struct{}
}

// connConfig holds what the Upgrader or Dialer sets on a new Conn.
type connConfig struct {
	isServer     bool
	readLimit    int64
	readBufSize  int
	writeBufSize int
	subprotocol  string
	closeTimeout time.Duration
	deflate      *deflateParams
}

// newConn makes a Conn over nc, any full-duplex byte stream. buffered holds
// bytes already read from nc past the handshake.
func newConn(nc net.Conn, buffered []byte, cfg connConfig) *Conn {
	c := &Conn{
		nc:           nc,
		isServer:     cfg.isServer,
		subprotocol:  cfg.subprotocol,
		closeTimeout: cfg.closeTimeout,
		mlock:        make(chan struct{}, 1),
		wlock:        make(chan struct{}, 1),
		closed:       make(chan struct{}),
		closeRecv:    make(chan struct{}),
	}
	if c.closeTimeout <= 0 {
		c.closeTimeout = DefaultCloseTimeout
	}
	limit := cfg.readLimit
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	c.readLimit.Store(limit)
	c.br.src = nc
	c.br.parker = newParker(nc, &c.br)
	c.br.size = cfg.readBufSize
	if c.br.size <= 0 {
		c.br.size = defaultBufferSize
		if c.br.parker != nil {
			// The buffer is only borrowed while data is in flight, so a
			// larger one costs idle connections nothing and saves system
			// calls on large and pipelined messages.
			c.br.size = defaultParkedReadBufferSize
		}
	}
	if c.br.size < maxHeaderLen+maxControlPayload {
		// A whole header, and a whole control frame, must fit.
		c.br.size = maxHeaderLen + maxControlPayload
	}
	c.wsize = cfg.writeBufSize
	if c.wsize <= 0 {
		c.wsize = defaultBufferSize
	}
	if c.wsize < maxHeaderLen+64 {
		c.wsize = maxHeaderLen + 64
	}
	c.wbufs = poolFor(c.wsize)
	c.br.bufs = poolFor(c.br.size)
	c.mr.c = c
	c.mw.c = c
	if len(buffered) > 0 {
		c.br.seed(buffered)
	}
	if cfg.deflate != nil {
		c.deflate = cfg.deflate
		c.inf.init(cfg.deflate) // deflate: window and context takeover
		c.def.init(c, cfg.deflate)
		c.writeCompress.Store(true)
		c.compressMin.Store(DefaultCompressionThreshold)
	}
	return c
}

// PerMessageDeflate reports whether the handshake negotiated
// permessage-deflate compression (RFC 7692) for this connection.
func (c *Conn) PerMessageDeflate() bool { return c.deflate != nil }

// SetWriteCompression chooses whether the messages written from now on are
// compressed, when permessage-deflate was negotiated (it is on by
// default). Turn it off around data that is already compressed.
func (c *Conn) SetWriteCompression(enabled bool) { c.writeCompress.Store(enabled) }

// SetCompressionThreshold sets the size under which WriteMessage sends a
// message uncompressed even when compression is on; the default is
// DefaultCompressionThreshold. NextWriter does not know the size in
// advance and always compresses.
func (c *Conn) SetCompressionThreshold(n int) { c.compressMin.Store(int64(n)) }

// Subprotocol returns the subprotocol agreed in the handshake, or "".
func (c *Conn) Subprotocol() string { return c.subprotocol }

// Request returns the HTTP request that opened a server-side Conn, or nil
// on the client side. Its Body must not be used.
func (c *Conn) Request() *http.Request { return c.request }

// Response returns the server's handshake response on a client-side Conn,
// or nil on the server side. Its Body must not be used.
func (c *Conn) Response() *http.Response { return c.response }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetDeadline sets the read and write deadlines, as net.Conn does. A read
// or write that times out fails the connection: a frame may have been cut
// in half, so the stream cannot be trusted afterwards.
func (c *Conn) SetDeadline(t time.Time) error {
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	c.writeDeadline = t
	return c.nc.SetDeadline(t)
}

// SetReadDeadline sets the deadline for reads, including the reads that
// wait for the next message. See SetDeadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline for writes. See SetDeadline.
//
// The deadline applies to the application's writes. Control frames that
// the Conn writes by itself (pong answers) are bounded by the close
// timeout instead, so an expired deadline left on the Conn does not fail
// it when a ping arrives.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	c.writeDeadline = t
	return c.nc.SetWriteDeadline(t)
}

// writeAutoControlLocked writes a control frame the Conn sends on its own
// (a pong), under its own deadline, then restores the application's.
// Caller holds wlock.
func (c *Conn) writeAutoControlLocked(op byte, payload []byte) error {
	c.dlMu.Lock()
	c.nc.SetWriteDeadline(time.Now().Add(c.closeTimeout))
	c.dlMu.Unlock()
	err := c.writeControlLocked(op, payload)
	c.dlMu.Lock()
	c.nc.SetWriteDeadline(c.writeDeadline)
	c.dlMu.Unlock()
	return err
}

// SetReadLimit sets the largest message, in bytes, that the Conn accepts.
// A message over the limit fails the connection with StatusMessageTooBig,
// as soon as a frame header announces that the limit will be passed.
// n <= 0 restores DefaultReadLimit.
func (c *Conn) SetReadLimit(n int64) {
	if n <= 0 {
		n = DefaultReadLimit
	}
	c.readLimit.Store(n)
}

// SetPingHandler sets a function called, on the reading goroutine, with
// the payload of each ping received. The Conn answers pings with pongs
// whether or not a handler is set; the payload must not be retained.
func (c *Conn) SetPingHandler(f func(payload []byte)) {
	c.handlersMu.Lock()
	c.onPing = f
	c.handlersMu.Unlock()
}

// SetPongHandler sets a function called, on the reading goroutine, with
// the payload of each pong received. The payload must not be retained.
func (c *Conn) SetPongHandler(f func(payload []byte)) {
	c.handlersMu.Lock()
	c.onPong = f
	c.handlersMu.Unlock()
}

// ---- Reading ----

// NextReader waits for the next data message and returns its type and a
// reader for its payload. The reader returns io.EOF at the end of the
// message and stays valid until the next call to NextReader or
// ReadMessage; any unread rest of the previous message is discarded.
//
// Control frames that arrive meanwhile are handled: pings are answered,
// pongs delivered, and a close frame is answered and returned as a
// *CloseError. Any error is final: later calls return it again.
func (c *Conn) NextReader() (MessageType, io.Reader, error) {
	typ, r, _, err := c.nextReader()
	return typ, r, err
}

// nextReader is NextReader that also returns the first frame's length,
// a hint for the message's size.
func (c *Conn) nextReader() (MessageType, io.Reader, int64, error) {
	if !c.readStarted.Load() {
		c.readStarted.Store(true)
	}
	c.rlock.Lock()
	err := c.startMessage()
	typ, hint := c.msgType, c.frameRemain
	c.readCalls.Add(1)
	c.rlock.Unlock()
	if err != nil {
		return 0, nil, 0, err
	}
	return typ, &c.mr, hint, nil
}

// startMessage moves the reader to the next data message. Caller holds rlock.
func (c *Conn) startMessage() error {
	if c.readErr != nil {
		return c.readErr
	}
	if c.inMessage || c.readCompressed {
		if err := c.discardMessage(); err != nil {
			return err
		}
	}
	// Wait for data here, high on the stack: an idle connection's
	// goroutine then stays within its smallest stack.
	if c.br.buffered() == 0 {
		if err := c.br.fill(1); err != nil {
			return c.readFailed(err)
		}
	}
	if err := c.nextDataFrame(); err != nil {
		return err
	}
	c.mr.done = false
	return nil
}

// ReadMessage reads the next data message whole. It is NextReader followed
// by reading all of the message into a new slice.
func (c *Conn) ReadMessage() (MessageType, []byte, error) {
	typ, r, hint, err := c.nextReader()
	if err != nil {
		return 0, nil, err
	}
	p, err := readAll(r, hint)
	return typ, p, err
}

// readAll is io.ReadAll with a first guess at the size.
func readAll(r io.Reader, hint int64) ([]byte, error) {
	size := 512
	if hint > 0 && hint < 1<<20 {
		size = int(hint) + 1
	}
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// messageReader reads one message's payload. There is one per Conn,
// reused, so reading costs no allocation.
type messageReader struct {
	c    *Conn
	seq  uint64
	done bool
}

// Read reads payload bytes of the current message.
func (r *messageReader) Read(p []byte) (int, error) {
	c := r.c
	c.rlock.Lock()
	defer func() {
		c.readCalls.Add(1)
		c.rlock.Unlock()
	}()
	if c.readErr != nil {
		return 0, c.readErr
	}
	if r.done {
		return 0, io.EOF
	}
	n, err := c.readMessage(p)
	if err == io.EOF {
		r.done = true
	}
	return n, err
}

// readMessage reads the current message's payload, decompressed if need be.
// Caller holds rlock.
func (c *Conn) readMessage(p []byte) (int, error) {
	if !c.readCompressed {
		return c.readPayload(p, false)
	}
	n, err := c.inf.read(p)
	if n > 0 {
		c.msgOut += int64(n)
		if c.msgOut > c.readLimit.Load() {
			return 0, c.fail(&ProtocolError{Code: StatusMessageTooBig,
				Reason: fmt.Sprintf("decompressed message larger than the read limit of %d bytes", c.readLimit.Load())})
		}
		if c.msgType == TextMessage && !c.msgUTF8.valid(p[:n]) {
			return 0, c.fail(errInvalidUTF8())
		}
	}
	switch {
	case err == io.EOF:
		c.readCompressed = false
		if c.msgType == TextMessage && !c.msgUTF8.complete() {
			return 0, c.fail(errTruncatedUTF8())
		}
		return n, io.EOF
	case err == errCorruptDeflate:
		return 0, c.fail(&ProtocolError{Code: StatusInvalidFramePayloadData, Reason: "invalid deflate data in a compressed message"})
	case err != nil:
		return 0, err
	}
	return n, nil
}

// discardMessage reads and drops the rest of the current message, if any.
// A compressed message is decompressed, so that the decompression history
// stays right and bad data still fails with the right code.
func (c *Conn) discardMessage() error {
	if c.readCompressed {
		scratch := make([]byte, 4096)
		for {
			_, err := c.readMessage(scratch)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	for c.inMessage {
		if _, err := c.readPayload(nil, true); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// nextDataFrame reads frames until the first frame of a data message,
// handling control frames on the way.
func (c *Conn) nextDataFrame() error {
	for {
		h, err := c.readHeader()
		if err != nil {
			return err
		}
		if isControl(h.opcode) {
			if err := c.handleControl(h); err != nil {
				return err
			}
			c.br.releaseIfEmpty()
			continue
		}
		if h.opcode == opContinuation {
			return c.fail(protocolErr("continuation frame without a message to continue"))
		}
		c.inMessage = true
		c.msgType = MessageType(h.opcode)
		c.msgFramed = 0
		c.msgOut = 0
		c.msgUTF8 = utf8Validator{}
		c.readCompressed = h.rsv&rsv1Bit != 0
		if c.readCompressed {
			c.inf.begin(c)
		}
		return c.startFrame(h)
	}
}

// startFrame takes a data frame's header as the current frame.
func (c *Conn) startFrame(h frameHeader) error {
	c.msgFramed += h.length
	limit := c.readLimit.Load()
	if c.readCompressed {
		// The limit is on the decompressed size; this only bounds the
		// compressed data, which deflate can grow slightly.
		limit += limit/8 + 1024
	}
	if c.msgFramed > limit || c.msgFramed < 0 {
		return c.fail(&ProtocolError{Code: StatusMessageTooBig,
			Reason: fmt.Sprintf("message larger than the read limit of %d bytes", c.readLimit.Load())})
	}
	c.frameRemain = h.length
	c.frameFin = h.fin
	c.frameMasked = h.masked
	c.frameKey = h.key
	c.framePos = 0
	return nil
}

// readPayload reads the current message's payload into p, moving on to its
// continuation frames. With discard it reads and drops the whole rest of
// the message. It returns io.EOF at the end of the message.
func (c *Conn) readPayload(p []byte, discard bool) (int, error) {
	for c.frameRemain == 0 {
		if c.frameFin {
			if c.msgType == TextMessage && !c.readCompressed && !c.msgUTF8.complete() {
				return 0, c.fail(errTruncatedUTF8())
			}
			c.inMessage = false
			c.br.releaseIfEmpty()
			return 0, io.EOF
		}
		h, err := c.readHeader()
		if err != nil {
			return 0, err
		}
		if isControl(h.opcode) {
			if err := c.handleControl(h); err != nil {
				return 0, err
			}
			continue
		}
		if h.opcode != opContinuation {
			return 0, c.fail(protocolErr("new data message started inside a fragmented message"))
		}
		if err := c.startFrame(h); err != nil {
			return 0, err
		}
	}
	if discard {
		// Read into the buffer and drop, validating as we go so a bad
		// message still fails with the right code.
		if err := c.br.fill(1); err != nil {
			return 0, c.readFailed(err)
		}
		n := c.br.buffered()
		if int64(n) > c.frameRemain {
			n = int(c.frameRemain)
		}
		chunk := c.br.buf[c.br.r : c.br.r+n]
		c.br.r += n
		return n, c.consume(chunk)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > c.frameRemain {
		p = p[:c.frameRemain]
	}
	n, err := c.br.read(p)
	if n > 0 {
		if cerr := c.consume(p[:n]); cerr != nil {
			return 0, cerr
		}
	}
	if err != nil {
		return n, c.readFailed(err)
	}
	return n, nil
}

// The failures of a text message that is not UTF-8 (1007).
func errInvalidUTF8() *ProtocolError {
	return &ProtocolError{Code: StatusInvalidFramePayloadData, Reason: "invalid UTF-8 in a text message"}
}

func errTruncatedUTF8() *ProtocolError {
	return &ProtocolError{Code: StatusInvalidFramePayloadData, Reason: "text message ends inside a UTF-8 sequence"}
}

// consume unmasks and validates payload bytes just read.
func (c *Conn) consume(b []byte) error {
	if c.frameMasked {
		c.framePos = maskBytes(c.frameKey, c.framePos, b)
	}
	c.frameRemain -= int64(len(b))
	if c.msgType == TextMessage && !c.readCompressed && !c.msgUTF8.valid(b) {
		return c.fail(errInvalidUTF8())
	}
	return nil
}

// readHeader reads and checks the next frame header.
func (c *Conn) readHeader() (frameHeader, error) {
	if err := c.br.fill(2); err != nil {
		return frameHeader{}, c.readFailed(err)
	}
	n := headerLen(c.br.buf[c.br.r+1])
	if err := c.br.fill(n); err != nil {
		return frameHeader{}, c.readFailed(err)
	}
	h, _, err := parseHeader(c.br.buf[c.br.r : c.br.r+n])
	if err != nil {
		return h, c.fail(err.(*ProtocolError))
	}
	c.br.r += n
	if err := checkHeader(&h, c.isServer, c.allowedRSV(&h)); err != nil {
		return h, c.fail(err.(*ProtocolError))
	}
	return h, nil
}

// allowedRSV returns the RSV bits that negotiated extensions permit on a
// frame with header h: permessage-deflate's RSV1 on the first frame of a
// data message only (RFC 7692 section 6), never on control frames or
// continuations.
func (c *Conn) allowedRSV(h *frameHeader) byte {
	if c.deflate != nil && (h.opcode == opText || h.opcode == opBinary) {
		return rsv1Bit
	}
	return 0
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
		c.handlersMu.Lock()
		f := c.onPing
		c.handlersMu.Unlock()
		if f != nil {
			f(p)
		}
	case opPong:
		c.handlersMu.Lock()
		f := c.onPong
		if ch, ok := c.pings[string(p)]; ok {
			close(ch)
			delete(c.pings, string(p))
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

// handlePeerClose answers a close frame from the peer and returns the
// *CloseError that read calls report from now on.
func (c *Conn) handlePeerClose(p []byte) error {
	code, reason, err := parseClosePayload(p)
	if err != nil {
		return c.fail(err.(*ProtocolError))
	}
	ce := &CloseError{Code: code, Reason: reason}
	c.recvOnce.Do(func() {
		c.peerClose = ce
		close(c.closeRecv)
	})
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

// readFailed turns a transport read error into the Conn's final read error.
func (c *Conn) readFailed(err error) error {
	if c.readErr != nil {
		return c.readErr
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	select {
	case <-c.closed:
		err = ErrClosed
	default:
		err = fmt.Errorf("websocket: read failed: %w", err)
	}
	c.readErr = err
	c.br.releaseAll()
	c.closeTransport()
	return err
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
	_ = c.writeClose(pe.Code, pe.Reason, time.Now().Add(time.Second))
	c.closeTransport()
	return pe
}

// ---- Writing ----

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
	case <-c.closed:
		return ErrClosed
	case <-timeout:
		return errors.New("websocket: timed out waiting for another writer")
	}
}

// unlockFrame releases wlock, then sends a pong the reader queued while it
// was held.
func (c *Conn) unlockFrame() {
	<-c.wlock
	if c.pongPending.Load() || c.flushWanted.Load() {
		select {
		case c.wlock <- struct{}{}:
			if c.flushWanted.Load() {
				c.flushBatchLocked()
			}
			c.flushPongLocked()
			<-c.wlock
		default:
			// The new holder will flush them when it unlocks.
		}
	}
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
			_ = c.writeAutoControlLocked(opPong, payload)
		}
		c.unlockFrame()
		return
	default:
	}
	c.pongMu.Lock()
	if c.pongBuf == nil {
		c.pongBuf = new([maxControlPayload]byte)
	}
	c.pongLen = copy(c.pongBuf[:], payload)
	c.pongPending.Store(true)
	c.pongMu.Unlock()
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
	c.pongMu.Lock()
	if !c.pongPending.Load() {
		c.pongMu.Unlock()
		return
	}
	var p [maxControlPayload]byte
	n := copy(p[:], c.pongBuf[:c.pongLen])
	c.pongPending.Store(false)
	c.pongMu.Unlock()
	if c.closeSent {
		return
	}
	_ = c.writeAutoControlLocked(opPong, p[:n])
}

// writeControlLocked writes one control frame. Caller holds wlock.
func (c *Conn) writeControlLocked(op byte, payload []byte) error {
	if c.writeErr != nil {
		return c.writeErr
	}
	h := frameHeader{fin: true, opcode: op, length: int64(len(payload))}
	if !c.isServer {
		h.masked = true
		h.key = newMaskKey()
	}
	n := putHeader(c.ctrlOut[:], h)
	m := copy(c.ctrlOut[n:], payload)
	if h.masked {
		maskBytes(h.key, 0, c.ctrlOut[n:n+m])
	}
	return c.writeRaw(c.ctrlOut[:n+m])
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

func (c *Conn) writeFailed(err error) error {
	select {
	case <-c.closed:
		err = ErrClosed
	default:
		err = fmt.Errorf("websocket: write failed: %w", err)
	}
	c.writeErr = err
	c.closeTransport()
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
		c.iov[0], c.iov[1] = c.ctrlOut[:n], head
		c.bufs = c.iov[:]
		_, err := c.bufs.WriteTo(c.nc)
		c.iov[0], c.iov[1] = nil, nil
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
// splitFrameHead bytes, then the rest. Measured over loopback against the
// bench's raw client, 1 MiB request/response echoes took about 40% less
// time than with one writev per frame (256 KiB, 512 KiB and 4 MiB: no
// difference beyond the noise); the price is one system call per frame of
// a quarter MiB or more.
const (
	splitFrameMin  = 256 << 10
	splitFrameHead = 16 << 10
)

// writeMasked writes a client frame, masking payload through scratch.
func (c *Conn) writeMasked(h frameHeader, payload, scratch []byte) error {
	h.masked = true
	h.key = newMaskKey()
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

// maskChunk is the size of the buffer a client borrows to mask a large
// payload: 256 KiB chunks keep the system calls per MiB at 4, which
// matters when many connections upload at once (measured in bench/).
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
	if typ != TextMessage && typ != BinaryMessage {
		return fmt.Errorf("websocket: invalid message type %v", typ)
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
	if typ != TextMessage && typ != BinaryMessage {
		return nil, fmt.Errorf("websocket: invalid message type %v", typ)
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
	if !c.isServer {
		h.masked = true
		h.key = newMaskKey()
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

// Ping sends a ping with payload (at most 125 bytes) and waits until the
// matching pong arrives or ctx is done. Pongs are delivered by the
// goroutine reading from the Conn, so one must be running.
func (c *Conn) Ping(ctx context.Context, payload []byte) error {
	if len(payload) > maxControlPayload {
		return errors.New("websocket: ping payload longer than 125 bytes")
	}
	ch := make(chan struct{})
	key := string(payload)
	c.handlersMu.Lock()
	if c.pings == nil {
		c.pings = make(map[string]chan struct{})
	}
	if old, ok := c.pings[key]; ok {
		ch = old // share the wait with a ping of the same payload
	} else {
		c.pings[key] = ch
	}
	c.handlersMu.Unlock()
	dl, _ := ctx.Deadline()
	if err := c.lock(c.wlock, dl); err != nil {
		return err
	}
	var err error
	if c.closeSent {
		err = ErrClosed
	} else {
		err = c.writeControlLocked(opPing, payload)
	}
	c.unlockFrame()
	if err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-c.closed:
		return ErrClosed
	case <-ctx.Done():
		c.handlersMu.Lock()
		if c.pings[key] == ch {
			delete(c.pings, key)
		}
		c.handlersMu.Unlock()
		return ctx.Err()
	}
}

// ---- Closing ----

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
	if len(reason) > maxControlPayload-2 || !utf8.ValidString(reason) {
		return errors.New("websocket: close reason must be valid UTF-8 of at most 123 bytes")
	}
	select {
	case <-c.closed:
		return ErrClosed
	default:
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
		case <-c.closeRecv:
			<-c.closed // the reader finishes the close
			return nil
		case <-t.C:
			c.closeTransport()
			return errors.New("websocket: close handshake timed out: peer sent no close frame")
		}
	}
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
		return errors.New("websocket: close handshake timed out: peer sent no close frame")
	}
	return err
}

// CloseNow closes the connection at once, without a close handshake. The
// peer sees an abnormal closure (1006).
func (c *Conn) CloseNow() error {
	select {
	case <-c.closed:
		return ErrClosed
	default:
	}
	c.closeTransport()
	return nil
}

// closeTransport closes the underlying connection once.
func (c *Conn) closeTransport() {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.nc.Close()
		if c.registry != nil {
			c.registry.remove(c)
		}
	})
}

// ---- Buffers ----

// readBuf is a buffered reader whose buffer comes from a pool and goes
// back to it whenever it is empty between messages.
type readBuf struct {
	src    io.Reader
	size   int
	bufs   *bufferPool // of size-byte buffers
	buf    []byte
	pool   *[]byte // buf's pool entry, nil when buf is not pooled
	r, w   int
	parker *rawParker // waits for data without a buffer, when the socket allows
	// waiting, when set, is told before (true) and after (false) each
	// read that may block (see batch.go).
	waiting func(before bool)
}

func (b *readBuf) buffered() int { return b.w - b.r }

// seed puts bytes read ahead of the Conn (during the handshake) in front.
func (b *readBuf) seed(p []byte) {
	if len(p) > b.size {
		b.buf = make([]byte, len(p))
	} else {
		b.pool = b.bufs.get()
		b.buf = *b.pool
	}
	b.r, b.w = 0, copy(b.buf, p)
}

// fill reads until at least n bytes (n <= size) are buffered.
func (b *readBuf) fill(n int) error {
	if b.w-b.r >= n {
		return nil
	}
	if b.buf == nil {
		b.r, b.w = 0, 0
		if b.parker != nil {
			b.notify(true)
			m, err := b.parker.park()
			b.notify(false)
			b.w = m
			if err != nil {
				return err
			}
		} else {
			b.pool = b.bufs.get()
			b.buf = *b.pool
		}
	}
	if b.w-b.r >= n {
		return nil
	}
	if len(b.buf)-b.r < n {
		b.w = copy(b.buf, b.buf[b.r:b.w])
		b.r = 0
	}
	for b.w-b.r < n {
		m, err := b.readSrc(b.buf[b.w:])
		b.w += m
		if err != nil {
			if b.w-b.r >= n {
				return nil
			}
			if err == io.EOF && b.w > b.r {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// notify tells the waiting hook, if any, that a read that may block starts
// (true) or ended (false).
func (b *readBuf) notify(before bool) {
	if b.waiting != nil {
		b.waiting(before)
	}
}

// readSrc reads from the source, telling the waiting hook.
func (b *readBuf) readSrc(p []byte) (int, error) {
	b.notify(true)
	n, err := b.src.Read(p)
	b.notify(false)
	return n, err
}

// read reads up to len(p) bytes, from the buffer if it holds any, else
// straight from the source when p is at least a buffer long.
func (b *readBuf) read(p []byte) (int, error) {
	if b.w > b.r {
		n := copy(p, b.buf[b.r:b.w])
		b.r += n
		return n, nil
	}
	if len(p) >= b.size {
		n, err := b.readSrc(p)
		if err == io.EOF && n > 0 {
			err = nil
		}
		return n, err
	}
	if err := b.fill(1); err != nil {
		return 0, err
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

// releaseAll returns the buffer to its pool, dropping whatever it holds:
// the Conn has its final read error and reads no more, and a Conn that
// ends must not take its buffer to the garbage collector.
func (b *readBuf) releaseAll() {
	if b.pool != nil {
		b.bufs.put(b.pool)
	}
	b.buf, b.pool = nil, nil
	b.r, b.w = 0, 0
}

// releaseIfEmpty returns the buffer to its pool when nothing is buffered.
func (b *readBuf) releaseIfEmpty() {
	if b.r == b.w && b.buf != nil {
		if b.pool != nil {
			b.bufs.put(b.pool)
		}
		b.buf, b.pool = nil, nil
		b.r, b.w = 0, 0
	}
}

// bufferPool hands out buffers of one size. A Conn looks its pools up
// once, so taking and returning a buffer on every message costs no map
// lookup. Buffers live in a sync.Pool, which is per P and grows with the
// number of Conns busy at once, behind a small reserve that any P can take
// from and garbage collection does not empty: a sync.Pool keeps a buffer
// returned on one P out of reach of the others, and drops its buffers at
// collections, both of which would make a steady state allocate now and
// then. Returned buffers refill the reserve first, so its channel's lock
// is taken only when the sync.Pool has nothing or the reserve has room.
type bufferPool struct {
	size    int
	reserve chan *[]byte
	p       sync.Pool // of *[]byte
}

// poolReserve is the number of buffers a pool keeps out of the GC's reach.
const poolReserve = 4

var bufferPools sync.Map // size -> *bufferPool

// poolFor returns the pool of size-byte buffers.
func poolFor(size int) *bufferPool {
	if p, ok := bufferPools.Load(size); ok {
		return p.(*bufferPool)
	}
	p, _ := bufferPools.LoadOrStore(size, &bufferPool{size: size, reserve: make(chan *[]byte, poolReserve)})
	return p.(*bufferPool)
}

func (p *bufferPool) get() *[]byte {
	if v := p.p.Get(); v != nil {
		return v.(*[]byte)
	}
	select {
	case b := <-p.reserve:
		return b
	default:
		b := make([]byte, p.size)
		return &b
	}
}

func (p *bufferPool) put(b *[]byte) {
	select {
	case p.reserve <- b:
	default:
		p.p.Put(b)
	}
}

// ---- net.Conn adapter ----

// NetConn returns a net.Conn whose byte stream travels in messages of type
// typ over c: each Write sends one message, and Read returns the payload of
// the received messages one after another, whatever their type. Read
// returns io.EOF once the peer closed with StatusNormalClosure or
// StatusGoingAway. Close closes c with StatusNormalClosure. Deadlines are
// c's, with the same caveat: a timed-out read or write fails the Conn.
func NetConn(c *Conn, typ MessageType) net.Conn {
	return &netConn{c: c, typ: typ}
}

type netConn struct {
	c   *Conn
	typ MessageType
	r   io.Reader // current message, nil between messages
}

func (n *netConn) Read(p []byte) (int, error) {
	for {
		if n.r == nil {
			_, r, err := n.c.NextReader()
			if err != nil {
				if code := CloseStatus(err); code == StatusNormalClosure || code == StatusGoingAway {
					return 0, io.EOF
				}
				return 0, err
			}
			n.r = r
		}
		m, err := n.r.Read(p)
		if err == io.EOF {
			n.r = nil
			if m > 0 || len(p) == 0 {
				return m, nil
			}
			continue
		}
		return m, err
	}
}

func (n *netConn) Write(p []byte) (int, error) {
	if err := n.c.WriteMessage(n.typ, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (n *netConn) Close() error                       { return n.c.Close() }
func (n *netConn) LocalAddr() net.Addr                { return n.c.LocalAddr() }
func (n *netConn) RemoteAddr() net.Addr               { return n.c.RemoteAddr() }
func (n *netConn) SetDeadline(t time.Time) error      { return n.c.SetDeadline(t) }
func (n *netConn) SetReadDeadline(t time.Time) error  { return n.c.SetReadDeadline(t) }
func (n *netConn) SetWriteDeadline(t time.Time) error { return n.c.SetWriteDeadline(t) }
