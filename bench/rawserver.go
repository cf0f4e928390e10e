package bench

import (
	"encoding/binary"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// RawEchoServer is the fixed, library-free echo server the library clients
// are measured against. It reassembles each message and echoes it as one
// unmasked frame of the same type, answers ping with pong and close with
// close.
type RawEchoServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewRawEchoServer listens on addr (e.g. "127.0.0.1:0") and serves.
func NewRawEchoServer(addr string) (*RawEchoServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &RawEchoServer{ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr is the listening address.
func (s *RawEchoServer) Addr() string { return s.ln.Addr().String() }

// Close stops listening, closes all connections and waits for handlers.
func (s *RawEchoServer) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *RawEchoServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			rawEcho(c)
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

const rawChunk = 64 << 10 // initial message buffer

func rawEcho(c net.Conn) {
	fr := NewFrameReader(c, 16<<10)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	head, err := fr.readHTTPHead()
	if err != nil {
		return
	}
	var key string
	upgrade := false
	for _, l := range strings.Split(head, "\r\n")[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case strings.EqualFold(k, "Sec-WebSocket-Key"):
			key = v
		case strings.EqualFold(k, "Upgrade"):
			upgrade = strings.EqualFold(v, "websocket")
		}
	}
	if key == "" || !upgrade || !strings.HasPrefix(head, "GET ") {
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
		return
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		AcceptKey(key) + "\r\n\r\n"
	if _, err := c.Write([]byte(resp)); err != nil {
		return
	}
	c.SetReadDeadline(time.Time{})

	// Store-and-forward: each message is reassembled (after hdrRoom bytes
	// reserved for its header) and echoed as one frame with one Write, so a
	// client that writes a whole message before reading can never stall.
	const hdrRoom = 14
	msg := make([]byte, hdrRoom, rawChunk)
	out := make([]byte, 0, 256)
	var msgOp byte
	inMsg := false
	for {
		h, err := fr.ReadHeader()
		if err != nil {
			return
		}
		if !h.Masked || h.Rsv != 0 {
			c.Write(AppendFrame(out[:0], true, OpClose, nil, []byte{0x03, 0xea})) // 1002
			return
		}
		if h.Op >= 0x8 {
			if h.Len > 125 || !h.Fin {
				return
			}
			var cb [125]byte
			p := cb[:h.Len]
			if err := fr.ReadFull(p); err != nil {
				return
			}
			Mask(h.Key, 0, p)
			switch h.Op {
			case OpPing:
				if _, err := c.Write(AppendFrame(out[:0], true, OpPong, nil, p)); err != nil {
					return
				}
			case OpClose:
				if len(p) >= 2 {
					p = binary.BigEndian.AppendUint16(cb[:0], binary.BigEndian.Uint16(p))
				}
				c.Write(AppendFrame(out[:0], true, OpClose, nil, p))
				return
			}
			continue
		}
		if (h.Op == OpCont) != inMsg {
			c.Write(AppendFrame(out[:0], true, OpClose, nil, []byte{0x03, 0xea})) // 1002
			return
		}
		if !inMsg {
			msgOp, inMsg, msg = h.Op, true, msg[:hdrRoom]
		}
		if int64(len(msg)-hdrRoom)+h.Len > ReadLimit {
			c.Write(AppendFrame(out[:0], true, OpClose, nil, []byte{0x03, 0xf1})) // 1009
			return
		}
		l := len(msg)
		msg = slices.Grow(msg, int(h.Len))[:l+int(h.Len)]
		if err := fr.ReadFull(msg[l:]); err != nil {
			return
		}
		Mask(h.Key, 0, msg[l:])
		if !h.Fin {
			continue
		}
		inMsg = false
		hdr := AppendHeader(out[:0], true, msgOp, nil, int64(len(msg)-hdrRoom))
		start := hdrRoom - len(hdr)
		copy(msg[start:], hdr)
		if _, err := c.Write(msg[start:]); err != nil {
			return
		}
	}
}
