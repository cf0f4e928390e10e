//go:build !js

package websocket

import (
	"errors"
	"io"
	"strconv"
)

// CompressionMode selects permessage-deflate (RFC 7692) for an Upgrader
// or a Dialer.
//
// Every window size is accepted in both roles. compress/flate always
// compresses with a 32 KiB window, so when the peer limits this side's
// window to less (server_max_window_bits or client_max_window_bits below
// 15) messages are compressed with Huffman coding only (flate.HuffmanOnly):
// a stream without back-references is valid for every window, but the
// ratio drops to what entropy coding alone gives (JSON shrinks to 55-70%
// of its size instead of 25-30%; varied binary data not at all).
// Decompression handles every window.
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
	// client then keeps up to 32 KiB of history to decompress.
	CompressionNoContextTakeover

	// CompressionContextTakeover keeps the compression window across the
	// messages of a connection, for a better ratio on streams of similar
	// messages. A connection that is writing keeps its compressor; one
	// that has not written a compressed message for about a second gives
	// the compressor back to a pool and keeps only the history that the
	// next message may refer to (at most 32 KiB each way, less with
	// smaller windows), from which a pooled compressor is primed when it
	// writes again. Decompressors are pooled between messages and primed
	// with the received history.
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
	// The LZ77 window, as a power of two (8-15), that this side may use
	// when compressing and that the peer uses; 0 means 15.
	writeBits, readBits int
}

// window returns the size in bytes of a window of bits (0 meaning 15).
func window(bits int) int {
	if bits == 0 {
		bits = 15
	}
	return 1 << bits
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
		if o.serverMaxBits != 0 {
			// RFC 7692 section 7.1.2.1: the offer is accepted only by
			// answering with the same or a smaller value. Below 15 the
			// writer compresses without back-references.
			r.params = append(r.params, extensionParam{name: "server_max_window_bits", value: strconv.Itoa(o.serverMaxBits), hasValue: true})
			p.writeBits = o.serverMaxBits
		}
		if o.clientMaxBits > 0 {
			// The client will not use a larger window (section 7.1.2.2),
			// so less history is kept for decompression. No answer is
			// needed; we never ask for a smaller window than offered.
			p.readBits = o.clientMaxBits
		}
		return r.String(), p, true
	}
	return "", nil, false
}

// deflateOffer is the Sec-WebSocket-Extensions value a Dialer sends. It
// offers client_max_window_bits, so that a server may ask for a smaller
// window, which the Dialer honours. In no-context-takeover mode a second,
// plainer offer follows, because some servers refuse the whole handshake
// rather than decline an offer that asks them to reset their compressor.
func deflateOffer(mode CompressionMode) string {
	if mode == CompressionNoContextTakeover {
		return extDeflate + "; server_no_context_takeover; client_no_context_takeover; client_max_window_bits, " +
			extDeflate + "; client_no_context_takeover; client_max_window_bits"
	}
	return extDeflate + "; client_max_window_bits"
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
	// A server may limit its own window (server_max_window_bits) and, as
	// we offered client_max_window_bits, ours (8-15): both are honoured.
	return &deflateParams{
		writeNoContext: o.clientNoContext || mode == CompressionNoContextTakeover,
		readNoContext:  o.serverNoContext,
		writeBits:      o.clientMaxBits,
		readBits:       o.serverMaxBits,
	}, nil
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

// inflater is a Conn's decompression state. Its decompressor comes from
// a pool for each message: compress/flate cannot continue a stream across
// messages (it needs the final block appended to each), so every message
// starts from a Reset primed with the history anyway, and an idle
// connection keeps only that history.
type inflater struct {
	src     inflateSource
	fr      io.ReadCloser // from the pool while a message is read
	history []byte        // last window bytes of output, for context takeover
	window  int           // the peer's window size in bytes
	keep    bool          // keep history across messages
}

// init sets the inflater up for the agreed parameters.
func (f *inflater) init(p *deflateParams) {
	f.keep = !p.readNoContext
	f.window = window(p.readBits)
}

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
func (f *inflater) remember(p []byte) { f.history = appendWindow(f.history, p, f.window) }

// appendWindow appends p to h and keeps only the last max bytes.
func appendWindow(h, p []byte, max int) []byte {
	if len(p) >= max {
		return append(h[:0], p[len(p)-max:]...)
	}
	if len(h)+len(p) > max {
		drop := len(h) + len(p) - max
		h = h[:copy(h, h[drop:])]
	}
	return append(h, p...)
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
// four bytes, which may be the sync-flush tail to strip. While a pooled
// compressor is primed with history it drops the output instead.
type deflateSink struct {
	w       *messageWriter
	discard bool
}

func (s *deflateSink) Write(p []byte) (int, error) {
	if s.discard {
		return len(p), nil
	}
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
