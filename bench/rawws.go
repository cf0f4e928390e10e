package bench

// Library-free WebSocket primitives: just enough RFC 6455 to drive the
// library servers (the fixed load client) and to serve the library clients
// (the fixed echo server), so both sides of every comparison share one cheap
// counterpart.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"
)

// Opcodes.
const (
	OpCont   = 0x0
	OpText   = 0x1
	OpBinary = 0x2
	OpClose  = 0x8
	OpPing   = 0x9
	OpPong   = 0xA
)

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey computes Sec-WebSocket-Accept for a Sec-WebSocket-Key.
func AcceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(wsGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Mask XORs b in place with key, starting at key offset pos, and returns the
// key offset following b. It works a machine word at a time.
func Mask(key [4]byte, pos int, b []byte) int {
	pos &= 3
	if len(b) >= 16 {
		var k8 [8]byte
		for i := range k8 {
			k8[i] = key[(pos+i)&3]
		}
		k := binary.LittleEndian.Uint64(k8[:])
		for len(b) >= 32 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
			binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^k)
			binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])^k)
			binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])^k)
			b = b[32:]
		}
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	return pos
}

// AppendFrame appends one frame to dst. A nil key means unmasked (server to
// client); otherwise the payload is masked with *key.
func AppendFrame(dst []byte, fin bool, op byte, key *[4]byte, payload []byte) []byte {
	dst = AppendHeader(dst, fin, op, key, int64(len(payload)))
	start := len(dst)
	dst = append(dst, payload...)
	if key != nil {
		Mask(*key, 0, dst[start:])
	}
	return dst
}

// AppendHeader appends a frame header for a payload of length n.
func AppendHeader(dst []byte, fin bool, op byte, key *[4]byte, n int64) []byte {
	b0 := op & 0x0f
	if fin {
		b0 |= 0x80
	}
	var m byte
	if key != nil {
		m = 0x80
	}
	switch {
	case n < 126:
		dst = append(dst, b0, m|byte(n))
	case n <= 0xffff:
		dst = append(dst, b0, m|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	if key != nil {
		dst = append(dst, key[:]...)
	}
	return dst
}

// Header is a parsed frame header.
type Header struct {
	Fin    bool
	Rsv    byte
	Op     byte
	Masked bool
	Key    [4]byte
	Len    int64
}

// FrameReader is a small buffered frame parser over a connection.
type FrameReader struct {
	rd   io.Reader
	buf  []byte
	r, w int
}

// NewFrameReader returns a reader with a size-byte buffer (at least 64).
func NewFrameReader(rd io.Reader, size int) *FrameReader {
	return &FrameReader{rd: rd, buf: make([]byte, max(size, 64))}
}

// fill makes at least n (<= len(buf)) bytes available.
func (f *FrameReader) fill(n int) error {
	if f.w-f.r >= n {
		return nil
	}
	if len(f.buf)-f.r < n {
		f.w = copy(f.buf, f.buf[f.r:f.w])
		f.r = 0
	}
	for f.w-f.r < n {
		m, err := f.rd.Read(f.buf[f.w:])
		f.w += m
		if err != nil {
			if f.w-f.r >= n {
				return nil
			}
			if err == io.EOF && f.w-f.r > 0 {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// ReadHeader reads one frame header.
func (f *FrameReader) ReadHeader() (Header, error) {
	var h Header
	if err := f.fill(2); err != nil {
		return h, err
	}
	b0, b1 := f.buf[f.r], f.buf[f.r+1]
	h.Fin = b0&0x80 != 0
	h.Rsv = (b0 >> 4) & 7
	h.Op = b0 & 0x0f
	h.Masked = b1&0x80 != 0
	n := int(2)
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if h.Masked {
		n += 4
	}
	if err := f.fill(n); err != nil {
		return h, err
	}
	p := f.buf[f.r+2 : f.r+n]
	switch l := b1 & 0x7f; l {
	case 126:
		h.Len = int64(binary.BigEndian.Uint16(p))
		p = p[2:]
	case 127:
		u := binary.BigEndian.Uint64(p)
		if u>>63 != 0 {
			return h, errors.New("raw: 64-bit length with MSB set")
		}
		h.Len = int64(u)
		p = p[8:]
	default:
		h.Len = int64(l)
	}
	if h.Masked {
		copy(h.Key[:], p)
	}
	f.r += n
	return h, nil
}

// ReadFull fills p from the stream.
func (f *FrameReader) ReadFull(p []byte) error {
	n := copy(p, f.buf[f.r:f.w])
	f.r += n
	p = p[n:]
	if len(p) == 0 {
		return nil
	}
	if len(p) >= len(f.buf)/2 {
		_, err := io.ReadFull(f.rd, p)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if err := f.fill(len(p)); err != nil {
		return err
	}
	f.r += copy(p, f.buf[f.r:f.w])
	return nil
}

// Discard skips n bytes of the stream.
func (f *FrameReader) Discard(n int64) error {
	for n > 0 {
		if f.r == f.w {
			f.r, f.w = 0, 0
			if err := f.fill(1); err != nil {
				return err
			}
		}
		k := min(int64(f.w-f.r), n)
		f.r += int(k)
		n -= k
	}
	return nil
}

// Buffered returns the number of unread bytes held in the buffer.
func (f *FrameReader) Buffered() int { return f.w - f.r }

// CloseError is returned by ReadMessage when the peer sends a close frame.
type CloseError struct{ Code int }

func (e *CloseError) Error() string { return fmt.Sprintf("raw: peer sent close %d", e.Code) }

// ReadMessage reads one data message from an unmasking peer (a server),
// skipping ping/pong frames. If keep is true the payload is appended to
// dst[:0] and returned; otherwise it is discarded. It returns the message's
// opcode and total payload length.
func (f *FrameReader) ReadMessage(dst []byte, keep bool) (op byte, out []byte, n int64, err error) {
	out = dst[:0]
	first := true
	for {
		h, err := f.ReadHeader()
		if err != nil {
			return 0, out, n, err
		}
		if h.Masked {
			return 0, out, n, errors.New("raw: masked frame from server")
		}
		if h.Rsv != 0 {
			return 0, out, n, errors.New("raw: unexpected RSV bits")
		}
		if h.Op >= 0x8 {
			var cb [125]byte
			if h.Len > 125 || !h.Fin {
				return 0, out, n, errors.New("raw: bad control frame")
			}
			if err := f.ReadFull(cb[:h.Len]); err != nil {
				return 0, out, n, err
			}
			if h.Op == OpClose {
				code := 1005
				if h.Len >= 2 {
					code = int(binary.BigEndian.Uint16(cb[:2]))
				}
				return 0, out, n, &CloseError{Code: code}
			}
			continue // ping/pong: none of the servers ping; ignore
		}
		if first {
			if h.Op == OpCont {
				return 0, out, n, errors.New("raw: continuation without start")
			}
			op = h.Op
			first = false
		} else if h.Op != OpCont {
			return 0, out, n, errors.New("raw: new message inside fragmented message")
		}
		if keep {
			l := len(out)
			out = slices.Grow(out, int(h.Len))[:l+int(h.Len)]
			if err := f.ReadFull(out[l:]); err != nil {
				return 0, out, n, err
			}
		} else if err := f.Discard(h.Len); err != nil {
			return 0, out, n, err
		}
		n += h.Len
		if h.Fin {
			return op, out, n, nil
		}
	}
}

// RawConn is a library-free client connection (the fixed load client).
type RawConn struct {
	net.Conn
	R *FrameReader
	// Ext is the server's Sec-WebSocket-Extensions response value, if any.
	Ext string
}

// RawDial connects to addr, performs the opening handshake for path by hand
// and returns the connection. rbuf is the frame-reader buffer size.
func RawDial(addr, path string, rbuf int) (*RawConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	rc, err := RawHandshake(c, addr, path, rbuf)
	if err != nil {
		c.Close()
		return nil, err
	}
	return rc, nil
}

// RawHandshake performs the client opening handshake on c.
func RawHandshake(c net.Conn, host, path string, rbuf int) (*RawConn, error) {
	return rawHandshake(c, host, path, rbuf, "")
}

// rawHandshake offers the Sec-WebSocket-Extensions value ext when it is
// not empty and records the response's value in RawConn.Ext.
func rawHandshake(c net.Conn, host, path string, rbuf int, ext string) (*RawConn, error) {
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n"
	if ext != "" {
		req += "Sec-WebSocket-Extensions: " + ext + "\r\n"
	}
	req += "\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	fr := NewFrameReader(c, max(rbuf, 1024))
	head, err := fr.readHTTPHead()
	if err != nil {
		return nil, err
	}
	lines := strings.Split(head, "\r\n")
	if !strings.HasPrefix(lines[0], "HTTP/1.1 101") {
		return nil, fmt.Errorf("raw: handshake status %q", lines[0])
	}
	want := AcceptKey(key)
	ok := false
	var gotExt []string
	for _, l := range lines[1:] {
		k, v, found := strings.Cut(l, ":")
		if found && strings.EqualFold(strings.TrimSpace(k), "Sec-WebSocket-Accept") && strings.TrimSpace(v) == want {
			ok = true
		}
		if found && strings.EqualFold(strings.TrimSpace(k), "Sec-WebSocket-Extensions") {
			gotExt = append(gotExt, strings.TrimSpace(v))
		}
	}
	if !ok {
		return nil, errors.New("raw: bad or missing Sec-WebSocket-Accept")
	}
	c.SetDeadline(time.Time{})
	return &RawConn{Conn: c, R: fr, Ext: strings.Join(gotExt, ", ")}, nil
}

// readHTTPHead reads up to and including the blank line ending an HTTP head
// and returns it without the final CRLFCRLF; bytes after it stay buffered.
func (f *FrameReader) readHTTPHead() (string, error) {
	for {
		if i := bytes.Index(f.buf[f.r:f.w], []byte("\r\n\r\n")); i >= 0 {
			s := string(f.buf[f.r : f.r+i])
			f.r += i + 4
			return s, nil
		}
		if f.w-f.r >= len(f.buf) {
			return "", errors.New("raw: HTTP head too large")
		}
		if err := f.fill(f.w - f.r + 1); err != nil {
			return "", err
		}
	}
}

// CloseNow closes the TCP connection with an RST (SO_LINGER 0), so that bulk
// benchmarks leave no TIME_WAIT sockets behind.
func (c *RawConn) CloseNow() error {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	return c.Conn.Close()
}

// ClientKey is the fixed masking key of the load client's pre-built frames
// (any key is valid; a fixed one keeps frames pre-buildable).
var ClientKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}
