// Package bench holds one small adapter per WebSocket library behind a common
// interface, plus the library-free ("raw") WebSocket code used to drive them.
// The driver lives in ./cmd/wsbench; see README.md.
package bench

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"
)

// ReadLimit is the per-message read limit every adapter configures (where the
// library has one), large enough for the 1 MiB payload benchmarks.
const ReadLimit = 64 << 20

// Lib is implemented once per WebSocket library (adapter_<name>.go).
//
// All adapters use the library's defaults except: compression disabled,
// origin checks disabled (the load clients send no Origin), read limit
// ReadLimit.
type Lib interface {
	// Name is the short name used on the command line and in tables.
	Name() string

	// EchoHandler returns an http.Handler that upgrades the request and
	// echoes every message back with the same message type until the peer
	// goes away. Each adapter uses the library's fast path (see README).
	EchoHandler() http.Handler

	// Dial opens a client connection to a ws:// URL.
	Dial(ctx context.Context, url string) (Client, error)

	// NewHub returns a broadcast hub: its ServeHTTP upgrades and registers
	// connections (reading and discarding whatever they send), Broadcast
	// sends one binary message to every registered connection.
	NewHub() Hub
}

// Client is one client connection of a library.
type Client interface {
	// RoundTrip writes msg as one binary message, then reads the next
	// message into buf (growing it if needed) and returns the filled slice.
	RoundTrip(msg, buf []byte) ([]byte, error)
	// Close closes the connection (close handshake where the library does
	// one by default).
	Close() error
}

// Hub is the server side of the broadcast benchmark.
type Hub interface {
	http.Handler
	// Len reports the number of registered connections.
	Len() int
	// Broadcast sends msg as one binary message to every registered
	// connection, encoding the frame once where the library supports it.
	// It returns once the library has accepted the message for every
	// connection (for asynchronous libraries that can be before it is on
	// the wire; the driver measures delivery on the receiving side).
	Broadcast(msg []byte) error
	// CloseAll closes every registered connection.
	CloseAll()
}

var (
	regMu sync.Mutex
	libs  = map[string]Lib{}
)

// order fixes the column/row order of the tables; unknown names sort last.
var order = map[string]int{"gorilla": 0, "coder": 1, "gobwas": 2, "gws": 3, "wsstd": 4}

func register(l Lib) {
	regMu.Lock()
	defer regMu.Unlock()
	libs[l.Name()] = l
}

// Libs returns every registered library in table order (gorilla first: it
// is the baseline the ratios are relative to).
func Libs() []Lib {
	regMu.Lock()
	defer regMu.Unlock()
	out := make([]Lib, 0, len(libs))
	for _, l := range libs {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		oi, ok := order[out[i].Name()]
		if !ok {
			oi = len(order)
		}
		oj, ok := order[out[j].Name()]
		if !ok {
			oj = len(order)
		}
		if oi != oj {
			return oi < oj
		}
		return out[i].Name() < out[j].Name()
	})
	return out
}

// ClientVariant is a second way of using one library's client, measured
// beside the libraries in the client sections only (0, 2, 2b): it answers
// whether a difference there comes from the library or from how the
// program around it is structured. Variants never count as "best other"
// in the summary.
type ClientVariant struct {
	Name string // column name
	Of   string // the library it is a variant of
	Doc  string // one sentence for the results file
	Dial func(ctx context.Context, url string) (Client, error)
}

var variants []ClientVariant

func registerClientVariant(v ClientVariant) {
	regMu.Lock()
	defer regMu.Unlock()
	variants = append(variants, v)
}

// ClientVariants returns the registered variants of the named libraries.
func ClientVariants(of []Lib) []ClientVariant {
	regMu.Lock()
	defer regMu.Unlock()
	var out []ClientVariant
	for _, v := range variants {
		for _, l := range of {
			if l.Name() == v.Of {
				out = append(out, v)
			}
		}
	}
	return out
}

// Lookup returns the library registered under name, or nil.
func Lookup(name string) Lib {
	regMu.Lock()
	defer regMu.Unlock()
	return libs[name]
}

// connSet is the connection registry shared by the hub adapters.
type connSet[T comparable] struct {
	mu sync.Mutex
	m  map[T]struct{}
}

func (s *connSet[T]) add(c T) {
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[T]struct{})
	}
	s.m[c] = struct{}{}
	s.mu.Unlock()
}

func (s *connSet[T]) remove(c T) {
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}

func (s *connSet[T]) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// snapshot returns the current members, so broadcasts do not hold the lock
// while writing.
func (s *connSet[T]) snapshot(dst []T) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	dst = dst[:0]
	for c := range s.m {
		dst = append(dst, c)
	}
	return dst
}

// readInto reads r to EOF into buf[:0], growing buf as needed, and returns
// the filled slice. It never shrinks buf, so a connection reuses one buffer.
func readInto(buf []byte, r io.Reader) ([]byte, error) {
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, max(512, cap(buf)))
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
