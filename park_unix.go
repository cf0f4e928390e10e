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

// rawParker is the part of a readBuf that reads from a socket's
// descriptor directly. It lives in the readBuf (in the Conn), so that it
// costs an idle Conn no allocation of its own.
type rawParker struct {
	rc  syscall.RawConn       // nil when the source does not expose its descriptor
	fn  func(fd uintptr) bool // b.tryRead, bound once so parking does not allocate
	err error                 // tryRead's result, for park
}

// initParker sets b up to park on nc, when nc exposes its descriptor
// (not TLS, HTTP/2 streams, pipes).
func (b *readBuf) initParker(nc net.Conn) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	b.parker.rc = rc
	b.parker.fn = b.tryRead
}

// canPark reports whether b waits for data without a buffer.
func (b *readBuf) canPark() bool { return b.parker.rc != nil }

// tryRead runs when the runtime thinks the socket may be readable. It
// leaves what it read in b.buf[:b.w], and its error in b.parker.err.
func (b *readBuf) tryRead(fd uintptr) bool {
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
			b.w, b.parker.err = 0, os.NewSyscallError("read", err)
		case n == 0:
			b.w, b.parker.err = 0, io.EOF
		default:
			b.w, b.parker.err = n, nil
		}
		return true
	}
}

// park waits for data with no buffer held, then reads it into b.buf. It
// returns the number of bytes read (also left in b.w). Caller has set
// b.r and b.w to 0.
func (b *readBuf) park() (int, error) {
	b.parker.err = nil
	if err := b.parker.rc.Read(b.parker.fn); err != nil {
		if b.buf == nil {
			b.r, b.w = 0, 0
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, &net.OpError{Op: "read", Net: "tcp", Err: err}
		}
		return 0, err
	}
	err := b.parker.err
	b.parker.err = nil
	return b.w, err
}
