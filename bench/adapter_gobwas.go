package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"

	"github.com/gobwas/ws"
)

// gobwas/ws, used the way the library is meant for fast paths: its low-level
// frame API (ReadHeaderBuffer / WriteHeaderBuffer / Cipher) with
// per-connection buffers, no wsutil helpers. The server echoes frame by
// frame (a fragmented message comes back fragmented), unmasking 64 KiB
// chunks and writing header+chunk with one Write. Broadcast compiles the
// frame once (ws.CompileFrame) and writes the same bytes to every conn.

func init() {
	register(gobwasLib{})
	registerMask(MaskImpl{Name: "gobwas ws.Cipher", Fn: func(key [4]byte, pos int, b []byte) { ws.Cipher(b, key, pos) }})
}

type gobwasLib struct{}

func (gobwasLib) Name() string { return "gobwas" }

const gobwasChunk = 64 << 10

// sliceWriter appends to a byte slice, so headers can be encoded into the
// same buffer as the payload and written with one syscall.
type sliceWriter []byte

func (w *sliceWriter) Write(p []byte) (int, error) { *w = append(*w, p...); return len(p), nil }

var errGobwasProtocol = errors.New("gobwas adapter: protocol error")

func (gobwasLib) EchoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		defer conn.Close()
		gobwasEcho(conn, rw.Reader)
	})
}

func gobwasEcho(conn net.Conn, br *bufio.Reader) {
	hb := make([]byte, ws.MaxHeaderSize)
	out := new(sliceWriter)
	var cb [125]byte
	for {
		h, err := ws.ReadHeaderBuffer(br, hb)
		if err != nil {
			return
		}
		if !h.Masked || h.Rsv != 0 {
			conn.Write(ws.CompiledCloseProtocolError)
			return
		}
		if h.OpCode.IsControl() {
			if h.Length > 125 || !h.Fin {
				conn.Write(ws.CompiledCloseProtocolError)
				return
			}
			p := cb[:h.Length]
			if _, err := io.ReadFull(br, p); err != nil {
				return
			}
			ws.Cipher(p, h.Mask, 0)
			switch h.OpCode {
			case ws.OpPing:
				*out = (*out)[:0]
				ws.WriteHeaderBuffer(out, ws.Header{Fin: true, OpCode: ws.OpPong, Length: h.Length}, hb)
				*out = append(*out, p...)
				if _, err := conn.Write(*out); err != nil {
					return
				}
			case ws.OpClose:
				if len(p) >= 2 {
					p = binary.BigEndian.AppendUint16(cb[:0], binary.BigEndian.Uint16(p))
				}
				*out = (*out)[:0]
				ws.WriteHeaderBuffer(out, ws.Header{Fin: true, OpCode: ws.OpClose, Length: int64(len(p))}, hb)
				*out = append(*out, p...)
				conn.Write(*out)
				return
			}
			continue
		}
		*out = (*out)[:0]
		ws.WriteHeaderBuffer(out, ws.Header{Fin: h.Fin, OpCode: h.OpCode, Length: h.Length}, hb)
		remain, pos := h.Length, 0
		for {
			n := int(min(remain, gobwasChunk))
			l := len(*out)
			*out = slices.Grow(*out, n)[:l+n]
			if _, err := io.ReadFull(br, (*out)[l:]); err != nil {
				return
			}
			ws.Cipher((*out)[l:], h.Mask, pos)
			pos += n
			remain -= int64(n)
			if _, err := conn.Write(*out); err != nil {
				return
			}
			*out = (*out)[:0]
			if remain == 0 {
				break
			}
		}
	}
}

type gobwasClient struct {
	conn net.Conn
	br   *bufio.Reader
	hb   []byte
	out  *sliceWriter
}

func (gobwasLib) Dial(ctx context.Context, url string) (Client, error) {
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReaderSize(conn, 4096)
	}
	return &gobwasClient{conn: conn, br: br, hb: make([]byte, ws.MaxHeaderSize), out: new(sliceWriter)}, nil
}

func (g *gobwasClient) RoundTrip(msg, buf []byte) ([]byte, error) {
	mask := ws.NewMask()
	*g.out = (*g.out)[:0]
	ws.WriteHeaderBuffer(g.out, ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: mask, Length: int64(len(msg))}, g.hb)
	l := len(*g.out)
	*g.out = append(*g.out, msg...)
	ws.Cipher((*g.out)[l:], mask, 0)
	if _, err := g.conn.Write(*g.out); err != nil {
		return buf, err
	}
	buf = buf[:0]
	started := false
	for {
		h, err := ws.ReadHeaderBuffer(g.br, g.hb)
		if err != nil {
			return buf, err
		}
		if h.Masked || h.Rsv != 0 {
			return buf, errGobwasProtocol
		}
		if h.OpCode.IsControl() {
			var cb [125]byte
			if h.Length > 125 {
				return buf, errGobwasProtocol
			}
			if _, err := io.ReadFull(g.br, cb[:h.Length]); err != nil {
				return buf, err
			}
			switch h.OpCode {
			case ws.OpClose:
				return buf, io.EOF
			case ws.OpPing:
				m := ws.NewMask()
				ws.Cipher(cb[:h.Length], m, 0)
				*g.out = (*g.out)[:0]
				ws.WriteHeaderBuffer(g.out, ws.Header{Fin: true, OpCode: ws.OpPong, Masked: true, Mask: m, Length: h.Length}, g.hb)
				*g.out = append(*g.out, cb[:h.Length]...)
				if _, err := g.conn.Write(*g.out); err != nil {
					return buf, err
				}
			}
			continue
		}
		if started != (h.OpCode == ws.OpContinuation) {
			return buf, errGobwasProtocol
		}
		started = true
		l := len(buf)
		buf = slices.Grow(buf, int(h.Length))[:l+int(h.Length)]
		if _, err := io.ReadFull(g.br, buf[l:]); err != nil {
			return buf, err
		}
		if h.Fin {
			return buf, nil
		}
	}
}

func (g *gobwasClient) Close() error {
	mask := ws.NewMask()
	body := ws.NewCloseFrameBody(ws.StatusNormalClosure, "")
	ws.WriteFrame(g.conn, ws.MaskFrameWith(ws.NewCloseFrame(body), mask))
	return g.conn.Close()
}

type gobwasHubConn struct {
	mu   sync.Mutex
	conn net.Conn
}

type gobwasHub struct {
	set  connSet[*gobwasHubConn]
	bmu  sync.Mutex
	snap []*gobwasHubConn
}

func (gobwasLib) NewHub() Hub { return &gobwasHub{} }

func (h *gobwasHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, rw, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		return
	}
	hc := &gobwasHubConn{conn: conn}
	h.set.add(hc)
	defer func() {
		h.set.remove(hc)
		conn.Close()
	}()
	hb := make([]byte, ws.MaxHeaderSize)
	for {
		hd, err := ws.ReadHeaderBuffer(rw.Reader, hb)
		if err != nil {
			return
		}
		if _, err := rw.Reader.Discard(int(hd.Length)); err != nil {
			return
		}
		if hd.OpCode == ws.OpClose {
			hc.mu.Lock()
			conn.Write(ws.CompiledCloseNormalClosure)
			hc.mu.Unlock()
			return
		}
	}
}

func (h *gobwasHub) Len() int { return h.set.len() }

func (h *gobwasHub) Broadcast(msg []byte) error {
	frame, err := ws.CompileFrame(ws.NewBinaryFrame(msg))
	if err != nil {
		return err
	}
	h.bmu.Lock()
	defer h.bmu.Unlock()
	h.snap = h.set.snapshot(h.snap)
	var first error
	for _, hc := range h.snap {
		hc.mu.Lock()
		_, err := hc.conn.Write(frame)
		hc.mu.Unlock()
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (h *gobwasHub) CloseAll() {
	for _, hc := range h.set.snapshot(nil) {
		hc.conn.Close()
	}
}
