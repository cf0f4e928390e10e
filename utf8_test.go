//go:build !js

package websocket

import (
	"math/rand"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

var utf8Inputs = []string{
	"",
	"a",
	"hello, world",
	"exactly8",
	"sixteen bytes!!!",
	"ascii longer than one word, then é at the end",
	"é", "€", "😀", "\U0010ffff", "\u007f", "\u0080", "\u07ff", "\u0800", "\uffff", "\U00010000",
	"\ud7ff",                 // ED 9F BF: last code point before the surrogates
	"\ue000",                 // EE 80 80: first after them
	"κόσμε",                  // Greek
	"Hello-µ@ßöäüàá-UTF-8!!", // Autobahn case 6.2
	"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", // κόσμε bytes
	"\xf0\x9f\x98\x80\xf0\x9f\x98\x81 two emoji",
	"12345678😀12345678",

	// Invalid.
	"\x80", "\xbf", "\xc0\x80", "\xc0\xaf", "\xc1\xbf", // continuation, overlong 2-byte
	"\xe0\x80\x80", "\xe0\x9f\xbf", // overlong 3-byte
	"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", // overlong 4-byte
	"\xed\xa0\x80", "\xed\xbf\xbf", "\xed\xa0\x80\xed\xb0\x80", // surrogates
	"\xf4\x90\x80\x80", "\xf4\xbf\xbf\xbf", // above U+10FFFF
	"\xf5\x80\x80\x80", "\xf7\xbf\xbf\xbf", "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80", "\xfe", "\xff",
	"\xc2", "\xe2\x82", "\xf0\x9f\x98", "abc\xf0\x9f", // truncated
	"\xc2\x41", "\xe2\x28\xa1", "\xe2\x82\x28", "\xf0\x28\x8c\xbc", "\xf0\x90\x28\xbc", "\xf0\x9f\x98\x28", // bad continuation
	"\xf0\x9f\x98\x80\x80",           // stray continuation after a full sequence
	"12345678\xff12345678",           // invalid byte between ASCII words
	"abcdefghijklmnopqrstuvwxyz\xc3", // truncated after a fast-path run
	"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", // Autobahn 6.4.x style
}

// utf8Partials holds every proper prefix of the UTF-8 encoding of every
// code point: the incomplete characters a valid stream may end with.
var utf8Partials = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool)
	var buf [utf8.UTFMax]byte
	for r := rune(0x80); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		n := utf8.EncodeRune(buf[:], r)
		for k := 1; k < n; k++ {
			m[string(buf[:k])] = true
		}
	}
	return m
})

// utf8Prefix reports whether s is a prefix of some valid UTF-8 string: valid
// UTF-8 followed by at most one incomplete character.
func utf8Prefix(s []byte) bool {
	for cut := 0; cut < utf8.UTFMax && cut <= len(s); cut++ {
		head, tail := s[:len(s)-cut], s[len(s)-cut:]
		if utf8.Valid(head) && (cut == 0 || utf8Partials()[string(tail)]) {
			return true
		}
	}
	return false
}

func TestUTF8ValidatorWhole(t *testing.T) {
	for _, s := range utf8Inputs {
		want := utf8.ValidString(s)
		var v utf8Validator
		got := v.valid([]byte(s)) && v.complete()
		if got != want {
			t.Errorf("utf8Validator on %q = %v, utf8.Valid = %v", s, got, want)
		}
		if !want {
			continue
		}
		// Also embedded in long ASCII runs, to go through the word loop.
		long := strings.Repeat("x", 13) + s + strings.Repeat("y", 17) + s
		v = utf8Validator{}
		if !v.valid([]byte(long)) || !v.complete() {
			t.Errorf("utf8Validator rejects %q", long)
		}
	}
}

// feed runs a fresh validator over pieces and returns whether all were
// accepted and whether it ended complete, and the index of the first piece
// rejected (-1 if none).
func feedUTF8(pieces ...[]byte) (ok, complete bool, rejected int) {
	var v utf8Validator
	for i, p := range pieces {
		if !v.valid(p) {
			return false, false, i
		}
	}
	return true, v.complete(), -1
}

func TestUTF8ValidatorSplits(t *testing.T) {
	for _, s := range utf8Inputs {
		b := []byte(s)
		want := utf8.Valid(b)
		// Every 2-way split.
		for i := 0; i <= len(b); i++ {
			ok, complete, rejected := feedUTF8(b[:i], b[i:])
			if got := ok && complete; got != want {
				t.Errorf("%q split at %d: valid=%v complete=%v, utf8.Valid=%v", s, i, ok, complete, want)
			}
			// Incremental: the first piece alone is rejected only if it is
			// not a valid prefix; a valid string is never rejected.
			if rejected == 0 && utf8Prefix(b[:i]) {
				t.Errorf("%q: prefix %q rejected though it is a valid UTF-8 prefix", s, b[:i])
			}
			if rejected < 0 && !ok {
				t.Errorf("%q: inconsistent result", s)
			}
		}
		// Byte by byte: must fail at the first byte that makes the input
		// no longer a valid prefix.
		var v utf8Validator
		failedAt := -1
		for i := range b {
			if !v.valid(b[i : i+1]) {
				failedAt = i
				break
			}
			if !v.complete() && utf8.Valid(b[:i+1]) {
				t.Errorf("%q: complete() false after valid prefix %q", s, b[:i+1])
			}
			if v.complete() && !utf8.Valid(b[:i+1]) {
				t.Errorf("%q: complete() true after invalid prefix %q", s, b[:i+1])
			}
		}
		wantFail := -1
		for i := 1; i <= len(b); i++ {
			if !utf8Prefix(b[:i]) {
				wantFail = i - 1
				break
			}
		}
		if failedAt != wantFail {
			t.Errorf("%q fed byte by byte: rejected at byte %d, want %d", s, failedAt, wantFail)
		}
		if failedAt < 0 && v.complete() != want {
			t.Errorf("%q fed byte by byte: complete() = %v, utf8.Valid = %v", s, v.complete(), want)
		}
	}
}

func TestUTF8ValidatorTruncatedTail(t *testing.T) {
	for _, s := range []string{"é", "€", "😀", "abc€", "\U0010ffff", strings.Repeat("a", 20) + "😀"} {
		b := []byte(s)
		r, size := utf8.DecodeLastRune(b)
		if r == utf8.RuneError || size < 2 {
			t.Fatalf("bad test input %q", s)
		}
		for cut := 1; cut < size; cut++ {
			var v utf8Validator
			if !v.valid(b[:len(b)-cut]) {
				t.Errorf("%q minus %d bytes: rejected, want accepted as a prefix", s, cut)
			}
			if v.complete() {
				t.Errorf("%q minus %d bytes: complete() = true on a truncated tail", s, cut)
			}
			if !v.valid(b[len(b)-cut:]) || !v.complete() {
				t.Errorf("%q: completing the tail was not accepted", s)
			}
		}
	}
}

func TestUTF8ValidatorRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := [][]byte{
		[]byte("a"), []byte("é"), []byte("€"), []byte("😀"), {0x80}, {0xc0}, {0xe0}, {0xed}, {0xf0}, {0xf4}, {0x90}, {0xbf}, {0xff}, []byte("abcdefgh"),
	}
	for i := 0; i < 20000; i++ {
		var b []byte
		for n := rng.Intn(12); n > 0; n-- {
			b = append(b, alphabet[rng.Intn(len(alphabet))]...)
		}
		want := utf8.Valid(b)
		split := rng.Intn(len(b) + 1)
		ok, complete, _ := feedUTF8(b[:split], b[split:])
		if (ok && complete) != want {
			t.Fatalf("% x split at %d: validator %v/%v, utf8.Valid %v", b, split, ok, complete, want)
		}
	}
}
