//go:build !js

package websocket

import "sync"

// bufferPool hands out buffers of one size. A Conn looks its pools up
// once, so taking and returning a buffer on every message costs no map
// lookup. Buffers live in a sync.Pool, which is per P and grows with the
// number of Conns busy at once, behind a small reserve that any P can take
// from and garbage collection does not empty: a sync.Pool keeps a buffer
// returned on one P out of reach of the others, and drops its buffers at
// collections, both of which would make a steady state allocate now and
// then. Returned buffers refill the reserve first, so its channel's lock
// is taken only when the sync.Pool has nothing or the reserve has room.
type bufferPool struct {
	size    int
	reserve chan *[]byte
	p       sync.Pool // of *[]byte
}

// poolReserve is the number of buffers a pool keeps out of the GC's reach.
const poolReserve = 4

var bufferPools sync.Map // size -> *bufferPool

// poolFor returns the pool of size-byte buffers.
func poolFor(size int) *bufferPool {
	if p, ok := bufferPools.Load(size); ok {
		return p.(*bufferPool)
	}
	p, _ := bufferPools.LoadOrStore(size, &bufferPool{size: size, reserve: make(chan *[]byte, poolReserve)})
	return p.(*bufferPool)
}

func (p *bufferPool) get() *[]byte {
	if v := p.p.Get(); v != nil {
		return v.(*[]byte)
	}
	select {
	case b := <-p.reserve:
		return b
	default:
		b := make([]byte, p.size)
		return &b
	}
}

func (p *bufferPool) put(b *[]byte) {
	select {
	case p.reserve <- b:
	default:
		p.p.Put(b)
	}
}
