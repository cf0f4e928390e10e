//go:build !js

package websocket

// A small RFC 1951 decoder for tests that, unlike compress/flate, fails a
// stream that refers further back than a given window, and counts the
// back-references it met. It decodes permessage-deflate messages one after
// another (context takeover: the history carries over).

import (
	"errors"
	"fmt"
)

type windowInflater struct {
	window  int    // largest distance allowed
	out     []byte // everything decoded so far (the history)
	refs    int    // back-references decoded
	maxDist int

	in    []byte
	pos   int
	bits  uint32
	nbits uint
}

// message decodes one message's payload (its 00 00 ff ff tail stripped,
// as on the wire) and returns the message.
func (f *windowInflater) message(payload []byte) ([]byte, error) {
	f.in = append(append([]byte(nil), payload...), 0, 0, 0xff, 0xff)
	f.pos, f.bits, f.nbits = 0, 0, 0
	start := len(f.out)
	for f.pos < len(f.in) || f.nbits >= 8 {
		final, err := f.block()
		if err != nil {
			return nil, err
		}
		if final {
			break
		}
	}
	return f.out[start:], nil
}

func (f *windowInflater) need(n uint) error {
	for f.nbits < n {
		if f.pos == len(f.in) {
			return errors.New("inflate: unexpected end of data")
		}
		f.bits |= uint32(f.in[f.pos]) << f.nbits
		f.pos++
		f.nbits += 8
	}
	return nil
}

func (f *windowInflater) get(n uint) (int, error) {
	if err := f.need(n); err != nil {
		return 0, err
	}
	v := int(f.bits & (1<<n - 1))
	f.bits >>= n
	f.nbits -= n
	return v, nil
}

// huffman is a canonical code: counts of codes per length, symbols in code order.
type huffman struct {
	count  [16]int
	symbol []int
}

func newHuffman(lengths []int) (*huffman, error) {
	h := &huffman{symbol: make([]int, 0, len(lengths))}
	for _, l := range lengths {
		h.count[l]++
	}
	h.count[0] = 0
	var offs [16]int
	for l := 1; l < 16; l++ {
		offs[l] = offs[l-1] + h.count[l-1]
	}
	h.symbol = h.symbol[:len(lengths)]
	n := 0
	for s, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = s
			offs[l]++
			n++
		}
	}
	h.symbol = h.symbol[:n]
	return h, nil
}

func (f *windowInflater) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, err := f.get(1)
		if err != nil {
			return 0, err
		}
		code |= b
		count := h.count[l]
		if code-count < first {
			return h.symbol[index+(code-first)], nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, errors.New("inflate: bad code")
}

var (
	lenBase  = []int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = []uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase = []int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtr = []uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// block decodes one block and reports whether it was the final one.
func (f *windowInflater) block() (bool, error) {
	hdr, err := f.get(3)
	if err != nil {
		return false, err
	}
	final := hdr&1 == 1
	switch hdr >> 1 {
	case 0: // stored
		f.bits, f.nbits = 0, 0 // to the byte boundary
		if f.pos+4 > len(f.in) {
			return false, errors.New("inflate: short stored header")
		}
		n := int(f.in[f.pos]) | int(f.in[f.pos+1])<<8
		if nn := int(f.in[f.pos+2]) | int(f.in[f.pos+3])<<8; n != nn^0xffff {
			return false, errors.New("inflate: bad stored length")
		}
		f.pos += 4
		if f.pos+n > len(f.in) {
			return false, errors.New("inflate: short stored block")
		}
		f.out = append(f.out, f.in[f.pos:f.pos+n]...)
		f.pos += n
		return final, nil
	case 1: // fixed codes
		ll := make([]int, 288)
		for i := range ll {
			switch {
			case i < 144:
				ll[i] = 8
			case i < 256:
				ll[i] = 9
			case i < 280:
				ll[i] = 7
			default:
				ll[i] = 8
			}
		}
		dl := make([]int, 30)
		for i := range dl {
			dl[i] = 5
		}
		lit, _ := newHuffman(ll)
		dist, _ := newHuffman(dl)
		return final, f.codes(lit, dist)
	case 2: // dynamic codes
		lit, dist, err := f.dynamic()
		if err != nil {
			return false, err
		}
		return final, f.codes(lit, dist)
	}
	return false, errors.New("inflate: reserved block type")
}

func (f *windowInflater) dynamic() (*huffman, *huffman, error) {
	nlen, err := f.get(5)
	if err != nil {
		return nil, nil, err
	}
	ndist, _ := f.get(5)
	ncode, err := f.get(4)
	if err != nil {
		return nil, nil, err
	}
	nlen, ndist, ncode = nlen+257, ndist+1, ncode+4
	order := []int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	cl := make([]int, 19)
	for i := 0; i < ncode; i++ {
		if cl[order[i]], err = f.get(3); err != nil {
			return nil, nil, err
		}
	}
	clh, _ := newHuffman(cl)
	lengths := make([]int, 0, nlen+ndist)
	for len(lengths) < nlen+ndist {
		sym, err := f.decode(clh)
		if err != nil {
			return nil, nil, err
		}
		rep, val := 1, sym
		switch sym {
		case 16:
			if len(lengths) == 0 {
				return nil, nil, errors.New("inflate: repeat with no length")
			}
			val = lengths[len(lengths)-1]
			r, err := f.get(2)
			if err != nil {
				return nil, nil, err
			}
			rep = 3 + r
		case 17:
			r, err := f.get(3)
			if err != nil {
				return nil, nil, err
			}
			val, rep = 0, 3+r
		case 18:
			r, err := f.get(7)
			if err != nil {
				return nil, nil, err
			}
			val, rep = 0, 11+r
		}
		for ; rep > 0; rep-- {
			lengths = append(lengths, val)
		}
	}
	if len(lengths) != nlen+ndist {
		return nil, nil, errors.New("inflate: too many lengths")
	}
	lit, _ := newHuffman(lengths[:nlen])
	dist, _ := newHuffman(lengths[nlen:])
	return lit, dist, nil
}

func (f *windowInflater) codes(lit, dist *huffman) error {
	for {
		sym, err := f.decode(lit)
		if err != nil {
			return err
		}
		switch {
		case sym < 256:
			f.out = append(f.out, byte(sym))
			continue
		case sym == 256:
			return nil
		case sym > 285:
			return errors.New("inflate: bad length symbol")
		}
		sym -= 257
		e, err := f.get(lenExtra[sym])
		if err != nil {
			return err
		}
		length := lenBase[sym] + e
		ds, err := f.decode(dist)
		if err != nil {
			return err
		}
		if ds > 29 {
			return errors.New("inflate: bad distance symbol")
		}
		e, err = f.get(distExtr[ds])
		if err != nil {
			return err
		}
		d := distBase[ds] + e
		if d > f.window || d > len(f.out) {
			return fmt.Errorf("inflate: distance %d beyond the window of %d bytes (%d bytes of history)", d, f.window, len(f.out))
		}
		f.refs++
		f.maxDist = max(f.maxDist, d)
		for i := 0; i < length; i++ {
			f.out = append(f.out, f.out[len(f.out)-d])
		}
	}
}
