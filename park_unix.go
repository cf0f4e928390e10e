//go:build unix

package websocket

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// A Conn that waits for its next message holds no read buffer: on
// sockets that expose their file descriptor, readBuf waits for
// readability through syscall.RawConn and takes a pooled buffer only once
// the kernel has bytes for it. Idle connections then cost no buffer
// memory, and a busy one pays no extra system call: the read that would
// have returned EAGAIN returns it here, the buffer goes back to the pool,
// and the runtime's poller parks the goroutine as it would for any read.

// rawParker reads from a socket's descriptor directly.
type rawParker struct {
	rc  syscall.RawConn
	b   *readBuf
	fn  func(fd uintptr) bool // b.tryRead, bound once so parking does not allocate
	n   int
	err error
}

// newParker returns a parker for nc, or nil when nc does not expose its
// descriptor (TLS, HTTP/2 streams, pipes).
func newParker(nc net.Conn, b *readBuf) *rawParker {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	p := &rawParker{rc: rc, b: b}
	p.fn = p.tryRead
	return p
}

// tryRead runs when the runtime thinks the socket may be readable.
func (p *rawParker) tryRead(fd uintptr) bool {
	b := p.b
	if b.buf == nil {
		b.pool = b.bufs.get()
		b.buf = *b.pool
	}
	for {
		n, err := syscall.Read(int(fd), b.buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			// Nothing yet: give the buffer back while we wait.
			b.bufs.put(b.pool)
			b.buf, b.pool = nil, nil
			return false
		case err != nil:
			p.n, p.err = 0, os.NewSyscallError("read", err)
		case n == 0:
			p.n, p.err = 0, io.EOF
		default:
			p.n, p.err = n, nil
		}
		return true
	}
}

// park waits for data with no buffer held, then reads it into b.buf.
func (p *rawParker) park() (int, error) {
	p.n, p.err = 0, nil
	if err := p.rc.Read(p.fn); err != nil {
		if p.b.buf == nil {
			p.b.r, p.b.w = 0, 0
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, &net.OpError{Op: "read", Net: "tcp", Err: err}
		}
		return 0, err
	}
	return p.n, p.err
}
