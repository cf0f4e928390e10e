package bench

import "sync"

// MaskImpl is a masking function under test. Fn XORs b in place with key,
// starting at key offset pos (0..3). A nil Fn marks a hook that has not been
// filled in yet; the driver reports it as such instead of timing it.
type MaskImpl struct {
	Name string
	Fn   func(key [4]byte, pos int, b []byte)
}

var (
	maskMu    sync.Mutex
	maskImpls = []MaskImpl{
		{Name: "bytewise loop (reference)", Fn: func(key [4]byte, pos int, b []byte) {
			for i := range b {
				b[i] ^= key[(pos+i)&3]
			}
		}},
		{Name: "bench.Mask (word XOR, raw client/server)", Fn: func(key [4]byte, pos int, b []byte) { Mask(key, pos, b) }},
	}
)

func registerMask(m MaskImpl) {
	maskMu.Lock()
	maskImpls = append(maskImpls, m)
	maskMu.Unlock()
}

// MaskImpls returns the registered masking functions.
func MaskImpls() []MaskImpl {
	maskMu.Lock()
	defer maskMu.Unlock()
	return append([]MaskImpl(nil), maskImpls...)
}
