//go:build !js

package websocket

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"
)

// textPayload returns n bytes of JSON-like text that deflate shrinks about
// three to four times, as real messages do.
func textPayload(n int) []byte {
	rng := rand.New(rand.NewSource(1))
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"u%05d","score":%d,"tags":["a%d","b%d"]},`, i, rng.Intn(100000), rng.Intn(1e9), rng.Intn(100), rng.Intn(1000))
	}
	return b.Bytes()[:n]
}

// TestReadMessageAllocation checks that ReadMessage allocates at most about
// twice a large message's size, however it is framed, and a single frame of
// up to 1 MiB exactly once. Growing one slice by appending (the earlier
// code, from 512 bytes) allocated about five times the size for these.
func TestReadMessageAllocation(t *testing.T) {
	if raceEnabled() {
		t.Skip("allocation accounting needs a build without -race; .ci/run runs this test without -race")
	}
	fragmented := func(p []byte, size int) []byte {
		var out []byte
		for off := 0; off < len(p); off += size {
			op := byte(opContinuation)
			if off == 0 {
				op = opBinary
			}
			out = append(out, rawFrame(off+size >= len(p), 0, op, false, p[off:min(off+size, len(p))])...)
		}
		return out
	}
	mib, four := textPayload(1<<20), textPayload(4<<20)
	cases := []struct {
		name    string
		text    []byte
		stream  []byte
		deflate bool
		ceiling float64 // total allocation ÷ the message's size
	}{
		{"1 MiB single frame", mib, rawFrame(true, 0, opBinary, false, mib), false, 1.05},
		{"4 MiB single frame", four, rawFrame(true, 0, opBinary, false, four), false, 2},
		{"4 MiB in 4 KiB fragments", four, fragmented(four, 4096), false, 2.2},
		{"4 MiB compressed", four, rawFrame(true, rsv1Bit, opBinary, false, deflateRaw(t, four)), true, 2.2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.text)
			a, b := loopbackPair(t)
			defer b.Close()
			cfg := connConfig{readLimit: 16 << 20}
			if tc.deflate {
				cfg.deflate = &deflateParams{readNoContext: true, writeNoContext: true}
			}
			c := newConn(a, nil, cfg)
			defer c.CloseNow()
			// The peer writes the message twice: once to warm the pools
			// (read buffer, decompressor), once to measure.
			done := make(chan error, 1)
			go func() {
				_, err := b.Write(append(append([]byte{}, tc.stream...), tc.stream...))
				done <- err
			}()
			if _, p, err := c.ReadMessage(); err != nil || !bytes.Equal(p, tc.text) {
				t.Fatalf("warm-up read: %v (%d bytes)", err, len(p))
			}
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			_, p, err := c.ReadMessage()
			runtime.ReadMemStats(&m1)
			if err != nil || !bytes.Equal(p, tc.text) {
				t.Fatalf("read: %v (%d bytes)", err, len(p))
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			got := float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n)
			t.Logf("%s: %.2f x the message size allocated", tc.name, got)
			if got > tc.ceiling {
				t.Errorf("%s: ReadMessage of %d bytes allocated %.2f x its size, want at most %.2f x", tc.name, n, got, tc.ceiling)
			}
		})
	}
}

// stallSignal is a net.Conn that closes stalled when its reader asks for
// more after want bytes: everything the reader did with those bytes is done.
type stallSignal struct {
	net.Conn
	want, got int
	stalled   chan struct{}
}

func (s *stallSignal) Read(p []byte) (int, error) {
	if s.got >= s.want && s.stalled != nil {
		close(s.stalled)
		s.stalled = nil
	}
	n, err := s.Conn.Read(p)
	s.got += n
	return n, err
}

// TestReadMessageTrustsHeaderOnlySo: a frame header announcing a large
// message makes ReadMessage allocate at most trustedSize before the bytes
// arrive, so a peer cannot make the Conn hold the read limit with 14 bytes.
func TestReadMessageTrustsHeaderOnlySo(t *testing.T) {
	if raceEnabled() {
		t.Skip("allocation accounting needs a build without -race; .ci/run runs this test without -race")
	}
	a, b := loopbackPair(t)
	defer b.Close()
	h := frameHeader{fin: true, opcode: opBinary, length: 60 << 20}
	var hdr [maxHeaderLen]byte
	sent := append(hdr[:putHeader(hdr[:], h)], "a few bytes"...)
	stall := &stallSignal{Conn: a, want: len(sent), stalled: make(chan struct{})}
	stalled := stall.stalled
	c := newConn(stall, nil, connConfig{readLimit: 64 << 20})
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	read := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		read <- err
	}()
	b.Write(sent)
	select {
	case <-stalled:
	case <-time.After(5 * time.Second):
		t.Fatal("the reader never waited for the rest of the message")
	}
	runtime.ReadMemStats(&m1)
	c.CloseNow()
	<-read
	if got := m1.TotalAlloc - m0.TotalAlloc; got > trustedSize+64<<10 {
		t.Errorf("a 60 MiB header with 11 bytes of payload made ReadMessage allocate %d bytes, want at most about %d", got, trustedSize)
	}
}

// TestReadMessageSizes checks readAll's chunking at its edges: empty
// messages, sizes around chunk boundaries and the first frame's hint, and
// fragments of every small size, all read back byte for byte.
func TestReadMessageSizes(t *testing.T) {
	a, b := loopbackPair(t)
	defer b.Close()
	c := newConn(a, nil, connConfig{})
	defer c.CloseNow()
	var stream []byte
	var want [][]byte
	for _, size := range []int{0, 1, 511, 512, 513, 4095, 4096, 70000, 600 << 10, 1<<20 - 1, 1 << 20, 1<<20 + 12345} {
		p := textPayload(size)
		want = append(want, p)
		stream = append(stream, rawFrame(true, 0, opBinary, false, p)...)
		for _, frag := range []int{1, 7, 512, 65536} {
			if size == 0 || frag > size || size > 70000 && frag < 512 {
				continue
			}
			want = append(want, p)
			for off := 0; off < size; off += frag {
				op := byte(opContinuation)
				if off == 0 {
					op = opBinary
				}
				stream = append(stream, rawFrame(off+frag >= size, 0, op, false, p[off:min(off+frag, size)])...)
			}
		}
	}
	go b.Write(stream)
	for i, w := range want {
		_, p, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(p, w) {
			t.Fatalf("message %d: got %d bytes, want %d", i, len(p), len(w))
		}
	}
}

// readSizes is a net.Conn that reports the size of every read buffer it is
// given, so a test can see what an idle Conn waits with.
type readSizes struct {
	net.Conn
	sizes chan int
}

func (r *readSizes) Read(p []byte) (int, error) {
	select {
	case r.sizes <- len(p):
	default:
	}
	return r.Conn.Read(p)
}

// tlsPair returns the two ends of a TLS 1.3 connection over loopback TCP.
func tlsPair(t testing.TB) (server, client *tls.Conn) {
	s := httptest.NewUnstartedServer(nil)
	s.StartTLS() // only for its certificate
	cert := s.TLS.Certificates
	s.Close()
	a, b := loopbackPair(t)
	server = tls.Server(a, &tls.Config{Certificates: cert, MinVersion: tls.VersionTLS13})
	client = tls.Client(b, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}) // loopback test peer
	return server, client
}

// TestTLSIdleWaitsWithoutBuffer checks that a Conn over TLS, where no
// descriptor can be waited on, waits for each message with a read into its
// own few bytes instead of a pooled buffer, and that messages of every size
// still arrive whole.
func TestTLSIdleWaitsWithoutBuffer(t *testing.T) {
	ts, tc := tlsPair(t)
	rec := &readSizes{Conn: ts, sizes: make(chan int, 1024)}
	sc := newConn(rec, nil, connConfig{isServer: true})
	cc := newConn(tc, nil, connConfig{})
	defer sc.CloseNow()
	defer cc.CloseNow()
	go func() {
		for {
			typ, p, err := sc.ReadMessage()
			if err != nil || sc.WriteMessage(typ, p) != nil {
				return
			}
		}
	}()
	// waitSmallRead waits until the server's reader waits with a read of
	// len(readBuf.first) bytes.
	waitSmallRead := func(after string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case n := <-rec.sizes:
				if n == len(sc.br.first) {
					return
				}
				if n >= defaultBufferSize-len(sc.br.first) {
					continue // reading a message's bytes
				}
			case <-deadline:
				t.Fatalf("%s: the idle server never waited with a %d-byte read", after, len(sc.br.first))
			}
		}
	}
	waitSmallRead("start")
	for _, size := range []int{1, 15, 16, 17, 125, 4096, 70000, 1 << 20} {
		p := textPayload(size)
		if err := cc.WriteMessage(BinaryMessage, p); err != nil {
			t.Fatal(err)
		}
		_, got, err := cc.ReadMessage()
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("echo of %d bytes: %v (%d bytes back)", size, err, len(got))
		}
		waitSmallRead(fmt.Sprintf("after %d bytes", size))
	}
}

// TestServeHTTPRequestKeptOrDropped: by default the Conn keeps the upgrade
// request, with the values middleware put in its context, uncanceled after
// ServeHTTP has returned; with DropRequest it keeps nothing.
func TestServeHTTPRequestKeptOrDropped(t *testing.T) {
	checkGoroutines(t)
	type ctxKey struct{}
	for _, drop := range []bool{false, true} {
		got := make(chan string, 1)
		u := &Upgrader{DropRequest: drop, Handler: func(c *Conn) {
			// ServeHTTP has returned once a message has arrived.
			if _, _, err := c.ReadMessage(); err != nil {
				got <- err.Error()
				return
			}
			r := c.Request()
			if r == nil {
				got <- "nil"
				return
			}
			got <- fmt.Sprintf("%v %s %s %v", r.Context().Value(ctxKey{}), r.Header.Get("X-Test"), r.URL.Path, r.Context().Err())
		}}
		mw := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, "alice")))
		})
		_, addr := serveLoopback(t, mw)
		c, _, err := Dial(context.Background(), "ws://"+addr+"/room/1", http.Header{"X-Test": {"kept"}})
		if err != nil {
			t.Fatal(err)
		}
		c.WriteMessage(TextMessage, []byte("hi"))
		want := "alice kept /room/1 <nil>"
		if drop {
			want = "nil"
		}
		if g := <-got; g != want {
			t.Errorf("DropRequest=%v: Request gave %q, want %q", drop, g, want)
		}
		c.CloseNow()
	}
}
