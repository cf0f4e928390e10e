//go:build !js

package websocket

import (
	"compress/flate"
	"errors"
	"io"
	"strconv"
	"sync"
)

// CompressionMode selects permessage-deflate (RFC 7692) for an Upgrader
// or a Dialer.
//
// compress/flate always compresses with a 32 KiB window, so this package
// never agrees to compress with a smaller one: a client offer that demands
// server_max_window_bits below 15 is declined (the next offer, or no
// compression, is used instead), and the Dialer never offers
// client_max_window_bits. Peers may use any window when they compress:
// decompression handles all of them.
type CompressionMode int

const (
	// CompressionDisabled negotiates no compression. It is the zero value.
	CompressionDisabled CompressionMode = iota

	// CompressionNoContextTakeover compresses each message on its own and
	// asks the peer to do the same (server_no_context_takeover and
	// client_no_context_takeover). Compressors and decompressors come from
	// pools for the duration of one message, so an idle connection holds
	// no compression memory: the mode for servers with many connections.
	// A Dialer in this mode also offers plain client_no_context_takeover
	// as a fallback; a server that takes it keeps its window, and the
	// client then keeps 32 KiB of history to decompress.
	CompressionNoContextTakeover

	// CompressionContextTakeover keeps the compression window across the
	// messages of a connection, for a better ratio on streams of similar
	// messages. It costs memory for as long as the connection lives: a
	// compressor (about 1.2 MiB of heap reserved, some 175 KiB of it
	// touched) and 32 KiB of history for decompression, unless the peer
	// asks otherwise.
	CompressionContextTakeover
)

// DefaultCompressionThreshold is the size under which WriteMessage sends a
// message uncompressed: deflate cannot shrink tiny payloads.
const DefaultCompressionThreshold = 64

const extDeflate = "permessage-deflate"

// deflateParams is what the handshake agreed for permessage-deflate.
type deflateParams struct {
	// This side resets its compressor after every message.
	writeNoContext bool
	// The peer resets its compressor after every message, so no history
	// needs to be kept for decompression.
	readNoContext bool
}

// offerParams parses and validates one permessage-deflate offer or
// response's parameters (RFC 7692 section 7.1): known names, no
// duplicates, values in range.
type offerParams struct {
	serverNoContext, clientNoContext bool
	serverMaxBits                    int // 0 when absent
	clientMaxBits                    int // 0 absent, -1 present without value
}

func parseDeflateParams(e extension, isResponse bool) (offerParams, bool) {
	var o offerParams
	seen := map[string]bool{}
	for _, p := range e.params {
		if seen[p.name] {
			return o, false
		}
		seen[p.name] = true
		switch p.name {
		case "server_no_context_takeover":
			if p.hasValue {
				return o, false
			}
			o.serverNoContext = true
		case "client_no_context_takeover":
			if p.hasValue {
				return o, false
			}
			o.clientNoContext = true
		case "server_max_window_bits":
			bits, ok := windowBits(p)
			if !ok {
				return o, false
			}
			o.serverMaxBits = bits
		case "client_max_window_bits":
			if !p.hasValue {
				if isResponse {
					return o, false // a response must give a value
				}
				o.clientMaxBits = -1
				continue
			}
			bits, ok := windowBits(p)
			if !ok {
				return o, false
			}
			o.clientMaxBits = bits
		default:
			return o, false
		}
	}
	return o, true
}

func windowBits(p extensionParam) (int, bool) {
	if !p.hasValue || len(p.value) > 2 || (len(p.value) == 2 && p.value[0] == '0') {
		return 0, false
	}
	n, err := strconv.Atoi(p.value)
	if err != nil || n < 8 || n > 15 {
		return 0, false
	}
	return n, true
}

// negotiateDeflate picks the first acceptable permessage-deflate offer for
// a server in mode and returns the response extension and the agreed
// parameters, or ok false when none is acceptable.
func negotiateDeflate(offers []extension, mode CompressionMode) (resp string, params *deflateParams, ok bool) {
	if mode == CompressionDisabled {
		return "", nil, false
	}
	for _, e := range offers {
		if e.name != extDeflate {
			continue
		}
		o, valid := parseDeflateParams(e, false)
		if !valid {
			continue
		}
		if o.serverMaxBits != 0 && o.serverMaxBits < 15 {
			continue // compress/flate cannot limit its window: decline
		}
		r := extension{name: extDeflate}
		p := &deflateParams{}
		if o.serverNoContext || mode == CompressionNoContextTakeover {
			r.params = append(r.params, extensionParam{name: "server_no_context_takeover"})
			p.writeNoContext = true
		}
		if o.clientNoContext || mode == CompressionNoContextTakeover {
			// A server may ask this even when the client did not offer it.
			r.params = append(r.params, extensionParam{name: "client_no_context_takeover"})
			p.readNoContext = true
		}
		return r.String(), p, true
	}
	return "", nil, false
}

// deflateOffer is the Sec-WebSocket-Extensions value a Dialer sends. In
// no-context-takeover mode a second, plainer offer follows, because some
// servers refuse the whole handshake rather than decline an offer that
// asks them to reset their compressor.
func deflateOffer(mode CompressionMode) string {
	if mode == CompressionNoContextTakeover {
		return extDeflate + "; server_no_context_takeover; client_no_context_takeover, " +
			extDeflate + "; client_no_context_takeover"
	}
	return extDeflate
}

// acceptDeflateResponse checks the server's answer to our offer.
func acceptDeflateResponse(exts []extension, mode CompressionMode) (*deflateParams, error) {
	if len(exts) == 0 {
		return nil, nil
	}
	if mode == CompressionDisabled || len(exts) > 1 || exts[0].name != extDeflate {
		return nil, errors.New("server accepted extension " + strconv.Quote(exts[0].String()) + ", which was not offered")
	}
	o, ok := parseDeflateParams(exts[0], true)
	if !ok {
		return nil, errors.New("invalid permessage-deflate response " + strconv.Quote(exts[0].String()))
	}
	if o.clientMaxBits != 0 && o.clientMaxBits < 15 {
		return nil, errors.New("server asked for client_max_window_bits, which was not offered")
	}
	return &deflateParams{
		writeNoContext: o.clientNoContext || mode == CompressionNoContextTakeover,
		readNoContext:  o.serverNoContext,
	}, nil
}

// ---- pools ----

var flateWriters sync.Pool // *flate.Writer at flate.BestSpeed
var flateReaders sync.Pool // io.ReadCloser implementing flate.Resetter

func getFlateWriter(w io.Writer) *flate.Writer {
	if fw, ok := flateWriters.Get().(*flate.Writer); ok {
		fw.Reset(w)
		return fw
	}
	fw, _ := flate.NewWriter(w, flate.BestSpeed)
	return fw
}

func getFlateReader(r io.Reader, dict []byte) io.ReadCloser {
	if fr, ok := flateReaders.Get().(io.ReadCloser); ok {
		fr.(flate.Resetter).Reset(r, dict)
		return fr
	}
	return flate.NewReaderDict(r, dict)
}

// ---- reading ----

// deflateTail ends a message's deflate data: the 0x00 0x00 0xff 0xff that
// the sender stripped (RFC 7692 section 7.2.2), then an empty final stored
// block so that the decompressor reports the end of the message.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// inflateSource feeds a compressed message's payload, then deflateTail, to
// the decompressor. It implements io.ByteReader so that flate reads it
// directly instead of wrapping it in a new bufio.Reader.
type inflateSource struct {
	c       *Conn
	tailPos int    // -1 while payload remains
	chunk   []byte // payload already unmasked and accounted, in c.br's buffer
}

// next moves the payload bytes buffered for the current frame into chunk,
// unmasking them in one go, so that ReadByte serves them without a call
// per byte into the frame reader.
func (s *inflateSource) next() bool {
	c := s.c
	n := c.br.buffered()
	if s.tailPos >= 0 || c.frameRemain == 0 || n == 0 {
		return false
	}
	if int64(n) > c.frameRemain {
		n = int(c.frameRemain)
	}
	chunk := c.br.buf[c.br.r : c.br.r+n : c.br.r+n]
	c.br.r += n
	if err := c.consume(chunk); err != nil {
		return false
	}
	s.chunk = chunk
	return true
}

func (s *inflateSource) Read(p []byte) (int, error) {
	if len(s.chunk) > 0 {
		n := copy(p, s.chunk)
		s.chunk = s.chunk[n:]
		return n, nil
	}
	if s.tailPos < 0 {
		n, err := s.c.readPayload(p, false)
		if err != io.EOF {
			return n, err
		}
		s.tailPos = 0
		if n > 0 {
			return n, nil
		}
	}
	if s.tailPos == len(deflateTail) {
		return 0, io.EOF
	}
	n := copy(p, deflateTail[s.tailPos:])
	s.tailPos += n
	return n, nil
}

func (s *inflateSource) ReadByte() (byte, error) {
	if len(s.chunk) > 0 || s.next() {
		b := s.chunk[0]
		s.chunk = s.chunk[1:]
		return b, nil
	}
	if s.c.readErr != nil {
		return 0, s.c.readErr
	}
	var one [1]byte
	for {
		n, err := s.Read(one[:])
		if n == 1 {
			return one[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// inflater is a Conn's decompression state.
type inflater struct {
	src     inflateSource
	fr      io.ReadCloser // from the pool while a message is read
	history []byte        // last 32 KiB of output, for context takeover
	keep    bool          // keep history across messages
}

const maxWindow = 32 << 10

// begin prepares to decompress a new message.
func (f *inflater) begin(c *Conn) {
	f.src = inflateSource{c: c, tailPos: -1}
	f.fr = getFlateReader(&f.src, f.history)
}

// read decompresses into p; io.EOF marks the end of the message.
func (f *inflater) read(p []byte) (int, error) {
	n, err := f.fr.Read(p)
	if f.keep && n > 0 {
		f.remember(p[:n])
	}
	if err == io.EOF {
		// A sender may end a message with a final block (RFC 7692 section
		// 7.2.3.4), before our appended tail; whatever follows it in the
		// message is dropped, as zlib-based peers do.
		for f.src.tailPos < 0 {
			if _, err := f.src.c.readPayload(nil, true); err == io.EOF {
				break
			} else if err != nil {
				return n, err
			}
		}
		f.end()
		return n, io.EOF
	}
	if err != nil {
		var pe *ProtocolError
		if errors.As(err, &pe) {
			return n, err
		}
		if f.src.c.readErr != nil {
			return n, f.src.c.readErr
		}
		return n, errCorruptDeflate
	}
	return n, nil
}

var errCorruptDeflate = errors.New("invalid deflate data")

// remember appends output to the history window.
func (f *inflater) remember(p []byte) {
	if len(p) >= maxWindow {
		f.history = append(f.history[:0], p[len(p)-maxWindow:]...)
		return
	}
	if len(f.history)+len(p) > maxWindow {
		drop := len(f.history) + len(p) - maxWindow
		f.history = f.history[:copy(f.history, f.history[drop:])]
	}
	f.history = append(f.history, p...)
}

// end returns the decompressor to the pool.
func (f *inflater) end() {
	if f.fr != nil {
		flateReaders.Put(f.fr)
		f.fr = nil
	}
}

// ---- writing ----

// deflateSink receives the compressor's output into the message writer's
// buffer, sending full buffers as frames but always holding back the last
// four bytes, which may be the sync-flush tail to strip.
type deflateSink struct{ w *messageWriter }

func (s deflateSink) Write(p []byte) (int, error) {
	w := s.w
	buf := w.c.wbuf
	total := len(p)
	for len(p) > 0 {
		if w.n == len(buf) {
			if err := w.flushKeep(false, 4); err != nil {
				return total - len(p), err
			}
		}
		m := copy(buf[w.n:], p)
		w.n += m
		p = p[m:]
	}
	return total, nil
}

// deflater is a Conn's compression state.
type deflater struct {
	fw   *flate.Writer // nil when pooled away between messages
	keep bool          // context takeover: keep fw across messages
}

// begin prepares the compressor for a message written through w.
func (d *deflater) begin(w *messageWriter) {
	if d.fw == nil {
		d.fw = getFlateWriter(deflateSink{w})
	}
}

// finish flushes the message's compressed data and strips the tail. The
// caller then sends the final frame.
func (d *deflater) finish(w *messageWriter) error {
	if err := d.fw.Flush(); err != nil {
		return err
	}
	buf := w.c.wbuf
	if w.n-maxHeaderLen < 4 || string(buf[w.n-4:w.n]) != "\x00\x00\xff\xff" {
		return errors.New("websocket: compressor output lacks the sync-flush tail")
	}
	w.n -= 4
	if !d.keep {
		flateWriters.Put(d.fw)
		d.fw = nil
	}
	return nil
}

// release gives the compressor back after a failed message or on close.
func (d *deflater) release() {
	if d.fw != nil && !d.keep {
		flateWriters.Put(d.fw)
		d.fw = nil
	}
}
