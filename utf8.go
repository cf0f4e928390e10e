package websocket

import "encoding/binary"

// utf8Validator checks UTF-8 incrementally, so that a text message split
// across frames and reads fails at its first invalid byte.
type utf8Validator struct {
	need   int8 // continuation bytes still expected
	lo, hi byte // range of the next continuation byte
}

// valid feeds p to the validator and reports whether everything seen so far
// is a valid UTF-8 prefix.
func (v *utf8Validator) valid(p []byte) bool {
	i := 0
	for i < len(p) {
		if v.need == 0 {
			// Skip ASCII a word at a time.
			for i+8 <= len(p) && binary.LittleEndian.Uint64(p[i:])&0x8080808080808080 == 0 {
				i += 8
			}
			if i == len(p) {
				break
			}
			b := p[i]
			i++
			switch {
			case b < 0x80:
			case b >= 0xc2 && b <= 0xdf:
				v.need, v.lo, v.hi = 1, 0x80, 0xbf
			case b == 0xe0:
				v.need, v.lo, v.hi = 2, 0xa0, 0xbf
			case b >= 0xe1 && b <= 0xec, b == 0xee, b == 0xef:
				v.need, v.lo, v.hi = 2, 0x80, 0xbf
			case b == 0xed: // excludes UTF-16 surrogates
				v.need, v.lo, v.hi = 2, 0x80, 0x9f
			case b == 0xf0:
				v.need, v.lo, v.hi = 3, 0x90, 0xbf
			case b >= 0xf1 && b <= 0xf3:
				v.need, v.lo, v.hi = 3, 0x80, 0xbf
			case b == 0xf4: // caps code points at U+10FFFF
				v.need, v.lo, v.hi = 3, 0x80, 0x8f
			default:
				return false
			}
			continue
		}
		b := p[i]
		i++
		if b < v.lo || b > v.hi {
			return false
		}
		v.need--
		v.lo, v.hi = 0x80, 0xbf
	}
	return true
}

// complete reports whether the input ended on a character boundary.
func (v *utf8Validator) complete() bool { return v.need == 0 }
