//go:build !js

package websocket

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"
)

// maskRef is the byte-at-a-time reference for maskBytes.
func maskRef(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

func TestMaskBytesAgainstReference(t *testing.T) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	rng := rand.New(rand.NewSource(2))
	for n := 0; n <= 100; n++ {
		src := make([]byte, n)
		rng.Read(src)
		for pos := 0; pos < 4; pos++ {
			// Also at unaligned starts within a bigger array.
			for align := 0; align < 8; align++ {
				got := make([]byte, n+align+8)
				copy(got[align:], src)
				want := append([]byte(nil), src...)
				gp := maskBytes(key, pos, got[align:align+n])
				wp := maskRef(key, pos, want)
				if gp != wp {
					t.Fatalf("n=%d pos=%d: maskBytes returned position %d, want %d", n, pos, gp, wp)
				}
				if !bytes.Equal(got[align:align+n], want) {
					t.Fatalf("n=%d pos=%d align=%d:\n got % x\nwant % x", n, pos, align, got[align:align+n], want)
				}
				for i, c := range got[:align] {
					if c != 0 {
						t.Fatalf("n=%d pos=%d: byte %d before the slice modified", n, pos, i)
					}
				}
				for i, c := range got[align+n:] {
					if c != 0 {
						t.Fatalf("n=%d pos=%d: byte %d after the slice modified", n, pos, i)
					}
				}
			}
		}
	}
	// The position is taken modulo 4.
	for _, pos := range []int{4, 5, 7, 1001} {
		a := bytes.Repeat([]byte{0xaa}, 40)
		b := bytes.Repeat([]byte{0xaa}, 40)
		if maskBytes(key, pos, a) != maskRef(key, pos&3, b) || !bytes.Equal(a, b) {
			t.Errorf("pos %d not reduced modulo 4", pos)
		}
	}
}

func TestMaskBytesInPieces(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for iter := 0; iter < 2000; iter++ {
		n := rng.Intn(3000)
		src := make([]byte, n)
		rng.Read(src)
		var key [4]byte
		rng.Read(key[:])
		start := rng.Intn(4)

		whole := append([]byte(nil), src...)
		wantPos := maskBytes(key, start, whole)

		pieces := append([]byte(nil), src...)
		pos := start
		for rest := pieces; len(rest) > 0; {
			m := rng.Intn(len(rest) + 1)
			if rng.Intn(4) == 0 {
				m = rng.Intn(min(len(rest), 20) + 1) // many short pieces
			}
			pos = maskBytes(key, pos, rest[:m])
			rest = rest[m:]
		}
		if pos != wantPos {
			t.Fatalf("iteration %d: position after pieces %d, whole %d", iter, pos, wantPos)
		}
		if !bytes.Equal(pieces, whole) {
			t.Fatalf("iteration %d (n=%d): masking in pieces differs from masking whole", iter, n)
		}
		ref := append([]byte(nil), src...)
		maskRef(key, start, ref)
		if !bytes.Equal(whole, ref) {
			t.Fatalf("iteration %d (n=%d): maskBytes differs from the reference", iter, n)
		}
		// Masking again restores the input.
		maskBytes(key, start, whole)
		if !bytes.Equal(whole, src) {
			t.Fatalf("iteration %d: masking twice does not restore the input", iter)
		}
	}
}

func TestMaskBytesKnownAnswer(t *testing.T) {
	// RFC 6455 section 5.7: a masked "Hello".
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	p := []byte("Hello")
	if pos := maskBytes(key, 0, p); pos != 1 {
		t.Errorf("position after 5 bytes = %d, want 1", pos)
	}
	if want := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}; !bytes.Equal(p, want) {
		t.Errorf("masked Hello = % x, want % x", p, want)
	}
}

func TestNewMaskKeyVaries(t *testing.T) {
	seen := make(map[[4]byte]bool)
	const n = 2000 // more than one refill of the key buffer
	for i := 0; i < n; i++ {
		seen[newMaskKey()] = true
	}
	// 2000 random 32-bit keys collide with probability ~5e-4; allow a few.
	if len(seen) < n-3 {
		t.Errorf("newMaskKey gave only %d distinct keys in %d calls", len(seen), n)
	}
}

var maskSizes = []int{8, 16, 64, 1024, 16384, 1 << 20}

func BenchmarkMask(b *testing.B) {
	key := [4]byte{1, 2, 3, 4}
	for _, n := range maskSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			buf := make([]byte, n)
			b.SetBytes(int64(n))
			pos := 0
			for i := 0; i < b.N; i++ {
				pos = maskBytes(key, pos, buf)
			}
		})
	}
}

func BenchmarkMaskByteLoop(b *testing.B) {
	key := [4]byte{1, 2, 3, 4}
	for _, n := range maskSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			buf := make([]byte, n)
			b.SetBytes(int64(n))
			pos := 0
			for i := 0; i < b.N; i++ {
				pos = maskRef(key, pos, buf)
			}
		})
	}
}

func BenchmarkCopy(b *testing.B) {
	for _, n := range maskSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			src := make([]byte, n)
			dst := make([]byte, n)
			b.SetBytes(int64(n))
			for i := 0; i < b.N; i++ {
				copy(dst, src)
			}
		})
	}
}
