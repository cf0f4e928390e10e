package bench

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// DeflateMode names a permessage-deflate configuration (RFC 7692).
type DeflateMode string

const (
	// DeflateNoContext: server_no_context_takeover and
	// client_no_context_takeover, every message compressed on its own.
	DeflateNoContext DeflateMode = "no context takeover"
	// DeflateContext: both sides keep their compression window across
	// messages.
	DeflateContext DeflateMode = "context takeover"
)

// DeflateModes is the table order of the modes.
var DeflateModes = []DeflateMode{DeflateNoContext, DeflateContext}

// Deflater is implemented by the adapters whose library offers
// permessage-deflate. Configuration is the adapter's normal one with
// compression switched on in mode.
type Deflater interface {
	// DeflateSupport returns "" when the library supports mode, otherwise
	// the reason it does not (shown as n/a in the tables).
	DeflateSupport(mode DeflateMode) string
	// DeflateEchoHandler is EchoHandler with compression enabled in mode.
	DeflateEchoHandler(mode DeflateMode) http.Handler
	// DeflateDial is Dial with compression offered in mode. ext is the
	// server's Sec-WebSocket-Extensions response header (or, where the
	// library does not expose it, what it reports as negotiated); "" when
	// nothing was negotiated.
	DeflateDial(ctx context.Context, url string, mode DeflateMode) (c Client, ext string, err error)
}

var (
	_ Deflater = gorillaLib{}
	_ Deflater = coderLib{}
	_ Deflater = gwsLib{}
	_ Deflater = wsstdLib{}
)

// CheckDeflateExt reports whether a Sec-WebSocket-Extensions response value
// agrees permessage-deflate in mode.
func CheckDeflateExt(ext string, mode DeflateMode) error {
	if !strings.Contains(ext, "permessage-deflate") {
		if ext == "" {
			return errors.New("permessage-deflate not negotiated (no extension in the response)")
		}
		return fmt.Errorf("permessage-deflate not negotiated (response %q)", ext)
	}
	noCtx := strings.Contains(ext, "server_no_context_takeover")
	if mode == DeflateNoContext && !noCtx {
		return fmt.Errorf("server keeps its context in no-context mode (response %q)", ext)
	}
	if mode == DeflateContext && noCtx {
		return fmt.Errorf("server resets its context in context-takeover mode (response %q)", ext)
	}
	return nil
}

// JSONMessageSeed returns a deterministic, compressible JSON-like payload
// of exactly n bytes: an array of small records whose field names repeat
// and whose values vary; different seeds give different records.
func JSONMessageSeed(n, seed int) []byte {
	var b bytes.Buffer
	b.WriteString(`[`)
	for i := seed * 1009; b.Len() < n; i++ {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"user":"user%04d","status":"%s","score":%d.%02d,"tags":["a%d","b%d"]}`,
			1000+i, (i*37)%10000, []string{"active", "idle", "away"}[i%3], (i*7919)%1000, i%100, i%7, i%5)
	}
	p := b.Bytes()[:n]
	if n > 0 {
		p[n-1] = ']'
	}
	return p
}

// Deflate compresses p as one permessage-deflate message: a sync flush with
// the trailing 00 00 ff ff removed (RFC 7692 section 7.2.1).
func Deflate(p []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestSpeed)
	w.Write(p)
	w.Flush()
	return bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// Inflate decompresses one permessage-deflate message compressed without
// context (its first message, or any message of a no-context peer).
func Inflate(p []byte) ([]byte, error) {
	r := flate.NewReader(io.MultiReader(bytes.NewReader(p),
		bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff})))
	defer r.Close()
	return io.ReadAll(r)
}

// RawDialExt is RawDial with a Sec-WebSocket-Extensions offer; the
// response's Sec-WebSocket-Extensions value is in RawConn.Ext.
func RawDialExt(addr, path string, rbuf int, ext string) (*RawConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	rc, err := rawHandshake(c, addr, path, rbuf, ext)
	if err != nil {
		c.Close()
		return nil, err
	}
	return rc, nil
}

// ReadDeflateMessage reads one single-frame data message that may be
// compressed (RSV1), skipping ping/pong, and returns its opcode, whether
// it was compressed, and its payload as received (dst[:0] reused).
func (f *FrameReader) ReadDeflateMessage(dst []byte) (op byte, compressed bool, out []byte, err error) {
	for {
		h, err := f.ReadHeader()
		if err != nil {
			return 0, false, dst[:0], err
		}
		if h.Masked || h.Rsv&^4 != 0 {
			return 0, false, dst[:0], errors.New("raw: masked frame or unexpected RSV2/RSV3")
		}
		if h.Len > 1<<24 {
			return 0, false, dst[:0], errors.New("raw: frame too large")
		}
		out = append(dst[:0], make([]byte, h.Len)...)
		if err := f.ReadFull(out); err != nil {
			return 0, false, out, err
		}
		if h.Op == OpPing || h.Op == OpPong {
			continue
		}
		if h.Op == OpClose {
			return 0, false, out, &CloseError{Code: 1005}
		}
		if !h.Fin {
			return 0, false, out, errors.New("raw: fragmented reply (not handled here)")
		}
		return h.Op, h.Rsv&4 != 0, out, nil
	}
}
