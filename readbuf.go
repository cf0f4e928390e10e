//go:build !js

package websocket

import "io"

// readBuf is a buffered reader whose buffer comes from a pool and goes
// back to it whenever it is empty between messages.
type readBuf struct {
	src    io.Reader
	bufs   *bufferPool // of the buffers, bufs.size bytes each
	buf    []byte
	pool   *[]byte // buf's pool entry, nil when buf is not pooled
	r, w   int
	parker rawParker // waits for data without a buffer, when the socket allows (canPark)
	// first takes the first bytes after a wait when there is no parker
	// (TLS, HTTP/2 streams): an idle Conn then blocks in its source's Read
	// without a pooled buffer, and takes one only once bytes arrived.
	first [16]byte
	// waiting, when set, is told before (true) and after (false) each
	// read that may block (see batch.go).
	waiting func(before bool)
	ka      *keepalive // told when bytes arrive, when keepalive is on
}

func (b *readBuf) buffered() int { return b.w - b.r }

// seed puts bytes read ahead of the Conn (during the handshake) in front.
func (b *readBuf) seed(p []byte) {
	if len(p) > b.bufs.size {
		b.buf = make([]byte, len(p))
	} else {
		b.pool = b.bufs.get()
		b.buf = *b.pool
	}
	b.r, b.w = 0, copy(b.buf, p)
}

// fill reads until at least n bytes (n <= bufs.size) are buffered.
func (b *readBuf) fill(n int) error {
	if b.w-b.r >= n {
		return nil
	}
	if b.buf == nil {
		b.r, b.w = 0, 0
		if b.canPark() {
			b.notify(true)
			m, err := b.park()
			b.notify(false)
			b.w = m
			if m > 0 && b.ka != nil {
				b.ka.markHeard()
			}
			if err != nil {
				return err
			}
		} else if err := b.fillFirst(n); err != nil || b.w-b.r >= n {
			return err
		}
	}
	if b.w-b.r >= n {
		return nil
	}
	if len(b.buf)-b.r < n {
		b.w = copy(b.buf, b.buf[b.r:b.w])
		b.r = 0
	}
	for b.w-b.r < n {
		m, err := b.readSrc(b.buf[b.w:])
		b.w += m
		if err != nil {
			if b.w-b.r >= n {
				return nil
			}
			if err == io.EOF && b.w > b.r {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// fillFirst waits for data with no buffer held, by reading a few bytes into
// b.first, then moves them to a pooled buffer. Over TLS the rest of the
// record is decrypted by then, so the read that follows costs no system
// call: only a connection that was waiting pays for the extra Read.
func (b *readBuf) fillFirst(n int) error {
	var m int
	var err error
	for m == 0 && err == nil {
		m, err = b.readSrc(b.first[:])
	}
	if m > 0 {
		b.pool = b.bufs.get()
		b.buf = *b.pool
		b.w = copy(b.buf, b.first[:m])
	}
	if err != nil && b.w < n {
		if err == io.EOF && b.w > 0 {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

// notify tells the waiting hook, if any, that a read that may block starts
// (true) or ended (false).
func (b *readBuf) notify(before bool) {
	if b.waiting != nil {
		b.waiting(before)
	}
}

// readSrc reads from the source, telling the waiting hook.
func (b *readBuf) readSrc(p []byte) (int, error) {
	b.notify(true)
	n, err := b.src.Read(p)
	b.notify(false)
	if n > 0 && b.ka != nil {
		b.ka.markHeard()
	}
	return n, err
}

// read reads up to len(p) bytes, from the buffer if it holds any, else
// straight from the source when p is at least a buffer long.
func (b *readBuf) read(p []byte) (int, error) {
	if b.w > b.r {
		n := copy(p, b.buf[b.r:b.w])
		b.r += n
		return n, nil
	}
	if len(p) >= b.bufs.size {
		n, err := b.readSrc(p)
		if err == io.EOF && n > 0 {
			err = nil
		}
		return n, err
	}
	if err := b.fill(1); err != nil {
		return 0, err
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

// releaseAll returns the buffer to its pool, dropping whatever it holds:
// the Conn has its final read error and reads no more, and a Conn that
// ends must not take its buffer to the garbage collector.
func (b *readBuf) releaseAll() {
	if b.pool != nil {
		b.bufs.put(b.pool)
	}
	b.buf, b.pool = nil, nil
	b.r, b.w = 0, 0
}

// releaseIfEmpty returns the buffer to its pool when nothing is buffered.
func (b *readBuf) releaseIfEmpty() {
	if b.r == b.w && b.buf != nil {
		if b.pool != nil {
			b.bufs.put(b.pool)
		}
		b.buf, b.pool = nil, nil
		b.r, b.w = 0, 0
	}
}
