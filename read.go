//go:build !js

package websocket

import (
	"context"
	"fmt"
	"io"
)

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

// sizeHint is what a message's first frame header says of its size.
type sizeHint struct {
	n          int64 // the first frame's payload length
	exact      bool  // the message is that one uncompressed frame
	compressed bool
}

// nextReader is NextReader that also returns the first frame's size hint.
func (c *Conn) nextReader() (MessageType, io.Reader, sizeHint, error) {
	if !c.readStarted.Load() {
		c.readStarted.Store(true)
	}
	c.rlock.Lock()
	err := c.startMessage()
	typ := c.msgType
	hint := sizeHint{n: c.frameRemain, exact: c.frameFin && !c.readCompressed, compressed: c.readCompressed}
	c.readCalls.Add(1)
	c.rlock.Unlock()
	if err != nil {
		return 0, nil, sizeHint{}, err
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
//
// A message that is one uncompressed frame of up to 1 MiB is allocated
// once, at the size its header gives; a larger one starts at 1 MiB and
// doubles up to that size as its bytes arrive (a header alone must not
// make the Conn allocate the read limit). Other messages are read into
// chunks that grow with what has arrived and are joined at the end. Either
// way a message of n bytes costs at most about 2n of allocation.
func (c *Conn) ReadMessage() (MessageType, []byte, error) {
	typ, r, hint, err := c.nextReader()
	if err != nil {
		return 0, nil, err
	}
	p, err := readAll(r, hint, c.readLimit.Load())
	return typ, p, err
}

// trustedSize is how much ReadMessage allocates on a frame header's word
// alone, before the bytes arrive.
const trustedSize = 1 << 20

// readAll reads r to its end into one new slice, sized from hint. limit
// bounds what r can return (the Conn fails a longer message), so no chunk
// is made larger than what may still come.
//
// Growing one slice by appending copies it at every step, which allocates
// up to four times the final size with doubling (five with append's 1.25x
// growth for large slices). When the final size is known, doubling from
// 1 MiB and stopping exactly at it costs under 2n; otherwise chunks avoid
// the copies, and the one join at the end makes the total about 2n.
func readAll(r io.Reader, hint sizeHint, limit int64) ([]byte, error) {
	size := int64(512)
	switch {
	case hint.exact:
		size = min(hint.n, trustedSize)
	case hint.compressed:
		// Deflate rarely shrinks data to less than half; starting at
		// twice the compressed size wastes at most that on the rest.
		size = max(size, 2*hint.n)
	default:
		// The first frame of a fragmented message: that much at least.
		size = max(size, hint.n)
	}
	size = min(size, trustedSize, max(limit, 1))
	b := make([]byte, 0, size)
	var full [][]byte // chunks filled before b
	total := 0
	for {
		if len(b) == cap(b) {
			// Full: a byte more, or the end? Only a message that goes on
			// gets more room.
			var one [1]byte
			n, err := readSome(r, one[:])
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			if n == 0 {
				continue
			}
			if hint.exact {
				// The size is known: double towards it.
				nb := make([]byte, len(b), max(min(hint.n, 2*int64(cap(b))), int64(len(b))+1))
				copy(nb, b)
				b = append(nb, one[0])
			} else {
				full = append(full, b)
				total += len(b)
				b = make([]byte, 1, nextChunk(int64(total), limit))
				b[0] = one[0]
			}
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if full == nil {
		return b, nil
	}
	out := make([]byte, 0, total+len(b))
	for _, p := range full {
		out = append(out, p...)
	}
	return append(out, b...), nil
}

// readSome is r.Read that maps a byte arriving with io.EOF to no error.
func readSome(r io.Reader, p []byte) (int, error) {
	n, err := r.Read(p)
	if n > 0 && err == io.EOF {
		err = nil
	}
	return n, err
}

// nextChunk sizes the chunk that follows total bytes of a message: it
// doubles up to 64 KiB, stays there up to 512 KiB, then grows by an eighth
// of what has arrived, so that the last chunk's unused room, the only
// waste, stays within 64 KiB or an eighth of the message.
func nextChunk(total, limit int64) int64 {
	n := max(512, min(total, 64<<10), total/8)
	return max(1, min(n, limit-total))
}

// messageReader reads one message's payload. There is one per Conn,
// reused, so reading costs no allocation.
type messageReader struct {
	c    *Conn
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
		c.framePos = int32(maskBytes(c.frameKey, int(c.framePos), b))
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

// readFailed turns a transport read error into the Conn's final read error.
func (c *Conn) readFailed(err error) error {
	if c.readErr != nil {
		return c.readErr
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if c.isClosed() {
		err = c.errClosed()
	} else {
		err = fmt.Errorf("websocket: read failed: %w", err)
	}
	c.readErr = err
	c.br.releaseAll()
	c.closeTransport()
	return err
}

// CloseRead starts a goroutine that reads from c for a connection that
// only writes, and returns a context that is canceled when the connection
// ends (or when ctx is). The goroutine answers pings, sees keepalive pongs
// and takes part in the close handshake, so Close works as usual; a data
// message from the peer is unexpected and closes the connection with
// StatusPolicyViolation. After CloseRead, c must not be read from. The
// goroutine ends with the connection.
func (c *Conn) CloseRead(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		if _, _, err := c.NextReader(); err == nil {
			c.CloseWithStatus(StatusPolicyViolation, "unexpected data message")
		}
	}()
	return ctx
}
