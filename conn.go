//go:build !js

package websocket

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
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
	// The fields are ordered so that the small ones share words: an idle
	// Conn is mostly this struct, so its size is what a server pays per
	// connection.
	nc       net.Conn
	isServer bool

	// Reader flags, guarded by rlock (readStarted is atomic).
	frameFin       bool
	frameMasked    bool
	inMessage      bool // a data message is being read
	readCompressed bool // the message being read is compressed
	frameKey       [4]byte
	msgUTF8        utf8Validator
	readStarted    atomic.Bool // the application has called NextReader

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
	frameRemain int64        // unread payload bytes of the current data frame
	msgType     MessageType
	msgFramed   int64 // payload bytes of the message's frames so far
	msgOut      int64 // decompressed bytes of a compressed message so far
	mr          messageReader

	// permessage-deflate, when negotiated (deflate != nil); inf and def
	// are nil otherwise, so that a Conn without compression does not
	// carry their state.
	deflate     *deflateParams
	inf         *inflater
	def         *deflater
	compressMin atomic.Int64

	// The application's write deadline, restored after the Conn's own
	// control frames.
	dlMu          sync.Mutex
	writeDeadline time.Time

	// Writer state, guarded by wlock (frames) and mlock (messages).
	writeErr  error
	wbuf      []byte
	wpool     *[]byte
	wbufs     *bufferPool // of wsize-byte buffers
	mw        messageWriter
	ctrlOut   [maxHeaderLen + maxControlPayload]byte
	closeSent bool

	// Write batching (batch.go): frames waiting for the reader to wait.
	batching      atomic.Bool
	readerWaiting atomic.Bool
	flushWanted   atomic.Bool
	pongPending   atomic.Bool // a pong answer is queued in pongQ
	framePos      int32       // reader state (rlock): the mask key position; here to fill a word
	batchLen      atomic.Int64
	batch         []byte
	batchBuf      *[]byte

	// A pong answer queued by the reader while a writer held wlock.
	pongQ      *pongQueue  // made on first contention; see pongPending
	pingWanted atomic.Bool // a keepalive ping waits for wlock
	// writeCompress: whether data messages are compressed, when
	// permessage-deflate was negotiated (SetWriteCompression).
	writeCompress atomic.Bool

	// Close state.
	closeOnce sync.Once
	chMu      sync.Mutex // guards closed and closeRecv
	// transportClosed is set once the transport is closed; closed is
	// closed then. closed is made only for a wait (closedCh), or is
	// closedChan when the transport closed first.
	transportClosed atomic.Bool
	dropCause       atomic.Pointer[closedError] // why the library closed it, if it did
	registry        *registry                   // the Upgrader's live-connection set, if any
	closed          chan struct{}
	// closeRecv is closed once the peer's close frame arrived. It is made
	// only when CloseWithStatus waits for that frame (closeRecvChan),
	// or is closedChan when the frame came first.
	closeRecv  chan struct{}
	handlersMu sync.Mutex
	handlers   *pingHandlers // nil until one is set; guarded by handlersMu
}

// pongQueue holds the pong answer the reader queued while a writer held
// wlock. The reader makes it, on the first contention, before it first
// sets pongPending; writers look at it only once they saw pongPending.
type pongQueue struct {
	mu  sync.Mutex
	n   int
	buf [maxControlPayload]byte
}

// pingHandlers holds what SetPingHandler, SetPongHandler and Ping set, made
// on the first of those calls. Guarded by handlersMu.
type pingHandlers struct {
	onPing func([]byte)
	onPong func([]byte)
	pings  map[string]chan struct{}
}

// compressors holds a compressing Conn's inflater and deflater, in one
// allocation.
type compressors struct {
	inf inflater
	def deflater
}

// closedChan is a closed channel.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// connConfig holds what the Upgrader or Dialer sets on a new Conn.
type connConfig struct {
	isServer     bool
	readLimit    int64
	readBufSize  int
	writeBufSize int
	subprotocol  string
	closeTimeout time.Duration
	deflate      *deflateParams
	pingInterval time.Duration
	pingTimeout  time.Duration
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
	c.br.initParker(nc)
	rsize := cfg.readBufSize
	if rsize <= 0 {
		rsize = defaultBufferSize
		if c.br.canPark() {
			// The buffer is only borrowed while data is in flight, so a
			// larger one costs idle connections nothing and saves system
			// calls on large and pipelined messages.
			rsize = defaultParkedReadBufferSize
		}
	}
	if rsize < maxHeaderLen+maxControlPayload {
		// A whole header, and a whole control frame, must fit.
		rsize = maxHeaderLen + maxControlPayload
	}
	wsize := cfg.writeBufSize
	if wsize <= 0 {
		wsize = defaultBufferSize
	}
	if wsize < maxHeaderLen+64 {
		wsize = maxHeaderLen + 64
	}
	c.wbufs = poolFor(wsize)
	c.br.bufs = poolFor(rsize)
	c.mr.c = c
	c.mw.c = c
	if len(buffered) > 0 {
		c.br.seed(buffered)
	}
	if cfg.deflate != nil {
		c.deflate = cfg.deflate
		z := new(compressors)
		c.inf, c.def = &z.inf, &z.def
		c.inf.init(cfg.deflate) // deflate: window and context takeover
		c.def.init(c, cfg.deflate)
		c.writeCompress.Store(true)
		c.compressMin.Store(DefaultCompressionThreshold)
	}
	if cfg.pingInterval > 0 {
		c.startKeepalive(cfg.pingInterval, cfg.pingTimeout)
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
// on the client side and when the Upgrader's DropRequest is set. Its Body
// must not be used.
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
