//go:build !js

package websocket

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"math/bits"
	"sync"
)

// maskBytes XORs b with the masking key, starting at byte pos of the key
// (0-3), and returns the key position after b. Feeding a payload in pieces
// with the returned position gives the same result as masking it whole.
func maskBytes(key [4]byte, pos int, b []byte) int {
	if len(b) >= 8 {
		return maskWords(key, pos&3, b)
	}
	// Short inputs: a byte loop, small enough to be inlined.
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

// maskWords is maskBytes for inputs of 8 bytes or more, a word at a time.
func maskWords(key [4]byte, pos int, b []byte) int {
	// Rotate the key so that byte 0 of the word lines up with b[0].
	k32 := binary.LittleEndian.Uint32(key[:])
	k32 = bits.RotateLeft32(k32, -8*pos)
	k := uint64(k32) | uint64(k32)<<32

	// Eight words per step, then single words, then the tail.
	for len(b) >= 64 {
		v := b[:64:64]
		binary.LittleEndian.PutUint64(v[0:], binary.LittleEndian.Uint64(v[0:])^k)
		binary.LittleEndian.PutUint64(v[8:], binary.LittleEndian.Uint64(v[8:])^k)
		binary.LittleEndian.PutUint64(v[16:], binary.LittleEndian.Uint64(v[16:])^k)
		binary.LittleEndian.PutUint64(v[24:], binary.LittleEndian.Uint64(v[24:])^k)
		binary.LittleEndian.PutUint64(v[32:], binary.LittleEndian.Uint64(v[32:])^k)
		binary.LittleEndian.PutUint64(v[40:], binary.LittleEndian.Uint64(v[40:])^k)
		binary.LittleEndian.PutUint64(v[48:], binary.LittleEndian.Uint64(v[48:])^k)
		binary.LittleEndian.PutUint64(v[56:], binary.LittleEndian.Uint64(v[56:])^k)
		b = b[64:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	// A multiple of 8 bytes was consumed, so the key position is unchanged.
	for i := range b {
		b[i] ^= byte(k >> (8 * uint(i)))
	}
	return (pos + len(b)) & 3
}

// keySource is a batch of masking keys from crypto/rand, so that a frame
// does not cost a system call. Batches live in a sync.Pool: each P takes
// keys from its own batch, and clients writing on many goroutines do not
// meet on one lock.
type keySource struct {
	buf [4 * 256]byte
	off int
}

var maskKeys = sync.Pool{New: func() any { return &keySource{off: 4 * 256} }}

// newMaskKey returns a fresh random masking key.
func newMaskKey() [4]byte {
	s := maskKeys.Get().(*keySource)
	if s.off == len(s.buf) {
		if _, err := io.ReadFull(rand.Reader, s.buf[:]); err != nil {
			// crypto/rand does not fail on supported platforms; a
			// predictable key would break the protocol's guarantee.
			panic("websocket: crypto/rand failed: " + err.Error())
		}
		s.off = 0
	}
	var k [4]byte
	copy(k[:], s.buf[s.off:])
	s.off += 4
	maskKeys.Put(s)
	return k
}
