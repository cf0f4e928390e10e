//go:build !js

package websocket

// Tests of the write path (write.go): messages of every size and streamed,
// concurrent writers, write deadlines against a peer that stops reading,
// and the write path's allocations and copies.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestMessageSizesRoundTrip(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, &Upgrader{}, echoHandler)
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []MessageType{TextMessage, BinaryMessage} {
		for _, n := range []int{0, 1, 125, 126, 127, 4095, 4096, 4097, 65535, 65536, 65537, 1 << 20} {
			p := make([]byte, n)
			for i := range p {
				p[i] = 'a' + byte(i%26)
			}
			if err := c.WriteMessage(typ, p); err != nil {
				t.Fatal(err)
			}
			gt, got, err := c.ReadMessage()
			if err != nil || gt != typ || !bytes.Equal(got, p) {
				t.Fatalf("%v %d: got %v len %d err %v", typ, n, gt, len(got), err)
			}
		}
	}
	// Streaming writer: a message written in odd-sized pieces.
	w, err := c.NextWriter(BinaryMessage)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for i := 0; i < 300; i++ {
		piece := bytes.Repeat([]byte{byte(i)}, i*7)
		want.Write(piece)
		w.Write(piece)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("write after Close succeeded")
	}
	if _, got, err := c.ReadMessage(); err != nil || !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("streamed message: len %d err %v", len(got), err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	checkGoroutines(t)
	const writers, perWriter = 8, 50
	received := make(chan map[string]int, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		seen := map[string]int{}
		for {
			_, p, err := c.ReadMessage()
			if err != nil {
				received <- seen
				return
			}
			// Each message is one byte repeated: any interleaving shows.
			for _, b := range p {
				if b != p[0] {
					t.Errorf("message of %d bytes is mixed", len(p))
					break
				}
			}
			seen[fmt.Sprintf("%c", p[0])]++
		}
	})
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b := byte('a' + i)
			for j := 0; j < perWriter; j++ {
				p := bytes.Repeat([]byte{b}, 1+j*397)
				if i%2 == 0 {
					if err := c.WriteMessage(BinaryMessage, p); err != nil {
						t.Error(err)
						return
					}
					continue
				}
				w, err := c.NextWriter(BinaryMessage)
				if err != nil {
					t.Error(err)
					return
				}
				w.Write(p[:len(p)/2])
				w.Write(p[len(p)/2:])
				if err := w.Close(); err != nil {
					t.Error(err)
					return
				}
			}
		}(i)
	}
	// Pings from yet another goroutine while the writers run.
	go c.ReadMessage()
	for i := 0; i < 20; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := c.Ping(ctx, []byte{byte(i)}); err != nil {
			t.Error(err)
		}
		cancel()
	}
	wg.Wait()
	c.Close()
	seen := <-received
	for i := 0; i < writers; i++ {
		if n := seen[string(rune('a'+i))]; n != perWriter {
			t.Errorf("writer %d: %d messages arrived, want %d", i, n, perWriter)
		}
	}
}

// A peer that stops reading: the write deadline fires and the writer gets
// an error instead of blocking forever.
func TestWriteDeadlineWithStalledPeer(t *testing.T) {
	checkGoroutines(t)
	c, _, _ := rawServer(t) // the raw side never reads
	c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	big := make([]byte, 1<<20)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = c.WriteMessage(BinaryMessage, big)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a timeout", err)
	}
	if err := c.WriteMessage(TextMessage, []byte("x")); err == nil {
		t.Fatal("write after a failed write succeeded")
	}
}

// A peer that stops reading: the server's writer, with a write deadline,
// gets a timeout within bounds; another connection keeps echoing.
func TestFaultStalledReader(t *testing.T) {
	checkGoroutines(t)
	const writeTimeout = time.Second
	type result struct {
		err     error
		elapsed time.Duration
		sent    int
	}
	stalled := make(chan result, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		if c.Request().URL.Path == "/echo" {
			simpleEcho(c)
			return
		}
		big := make([]byte, 256<<10)
		start := time.Now()
		c.SetWriteDeadline(start.Add(writeTimeout))
		var r result
		for r.sent < 400 { // 100 MiB at most
			if r.err = c.WriteMessage(BinaryMessage, big); r.err != nil {
				break
			}
			r.sent++
		}
		r.elapsed = time.Since(start)
		stalled <- r
	})
	echo, _, err := Dial(context.Background(), wsURL(s)+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	nc, br := rawDial(t, s) // never reads until the end

	var r result
	var rounds int
	var slowest time.Duration
	deadline := time.After(10 * time.Second)
loop:
	for rounds < 100000 {
		select {
		case r = <-stalled:
			break loop
		case <-deadline:
			t.Fatal("the stalled writer did not return within 10s")
		default:
		}
		start := time.Now()
		msg := []byte(fmt.Sprint("round ", rounds))
		if err := echo.WriteMessage(TextMessage, msg); err != nil {
			t.Fatal(err)
		}
		if _, got, err := echo.ReadMessage(); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo during the stall: %q %v", got, err)
		}
		slowest = max(slowest, time.Since(start))
		rounds++
	}
	var ne net.Error
	if !errors.As(r.err, &ne) || !ne.Timeout() {
		t.Fatalf("stalled writer got %v after %d messages, want a timeout", r.err, r.sent)
	}
	t.Logf("stalled writer: timeout after %v and %d messages of 256 KiB; meanwhile %d echoes on another connection, slowest %v",
		r.elapsed.Round(time.Millisecond), r.sent, rounds, slowest.Round(time.Microsecond))
	if r.elapsed < writeTimeout || r.elapsed > writeTimeout+2*time.Second {
		t.Errorf("write timed out after %v, want about %v", r.elapsed, writeTimeout)
	}
	if rounds == 0 || slowest > 2*time.Second {
		t.Errorf("other connection: %d echoes during the stall, slowest %v", rounds, slowest)
	}
	// The failed connection is closed: the peer reads what was buffered, then EOF.
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, br); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("stalled peer: want the connection closed, got %v", err)
	}
	if err := echo.WriteMessage(TextMessage, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := echo.ReadMessage(); err != nil || string(got) != "still here" {
		t.Fatalf("echo after the stall: %q %v", got, err)
	}
}

func TestZeroAllocWriteMessage(t *testing.T) {
	if raceEnabled() {
		t.Skip("allocation counts need a build without -race (sync.Pool drops items at random under it); .ci/run runs this test without -race")
	}
	for _, server := range []bool{true, false} {
		a, b := loopbackPair(t)
		c := newConn(a, nil, connConfig{isServer: server})
		done := make(chan struct{})
		go func() { // drain without allocating
			defer close(done)
			buf := make([]byte, 64<<10)
			for {
				if _, err := b.Read(buf); err != nil {
					return
				}
			}
		}()
		for _, n := range []int{16, 1024, 16 << 10, 1 << 20} {
			p := make([]byte, n)
			c.WriteMessage(BinaryMessage, p)
			allocs := testing.AllocsPerRun(200, func() {
				if err := c.WriteMessage(BinaryMessage, p); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("server=%v: WriteMessage of %d bytes: %v allocs", server, n, allocs)
			}
			allocs = testing.AllocsPerRun(200, func() {
				w, _ := c.NextWriter(TextMessage)
				w.Write(p)
				w.Close()
			})
			if allocs != 0 {
				t.Errorf("server=%v: NextWriter of %d bytes: %v allocs", server, n, allocs)
			}
		}
		c.CloseNow()
		b.Close()
		<-done
	}
}

// recordingConn keeps every slice passed to Write, and a copy of it.
type recordingConn struct {
	net.Conn
	alias, copies [][]byte
}

func (r *recordingConn) Write(p []byte) (int, error) {
	r.alias = append(r.alias, p)
	r.copies = append(r.copies, bytes.Clone(p))
	return len(p), nil
}

// A large server frame goes to the socket from the caller's memory: the
// payload is never copied into a buffer first, whether it goes out with
// the header in one writev or, from splitFrameMin bytes on, in two calls.
func TestServerLargeWriteDoesNotCopyPayload(t *testing.T) {
	for _, n := range []int{8 << 10, splitFrameMin - 1, splitFrameMin, 1 << 20} {
		rc := &recordingConn{Conn: &loopConn{frame: []byte{0}}}
		c := newConn(rc, nil, connConfig{isServer: true})
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		if err := c.WriteMessage(BinaryMessage, p); err != nil {
			t.Fatal(err)
		}
		want := rawFrame(true, 0, opBinary, false, p)
		if got := bytes.Join(rc.copies, nil); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: the writes do not make the frame (%d bytes written, want %d)", n, len(got), len(want))
		}
		calls := 2 // header, payload (net.Buffers writes each buffer in turn off TCP)
		if n >= splitFrameMin {
			calls = 3 // header, first splitFrameHead bytes, the rest
		}
		if len(rc.alias) != calls {
			t.Fatalf("%d bytes: %d writes, want %d", n, len(rc.alias), calls)
		}
		// Every payload write must alias p: change p and look again.
		for i := range p {
			p[i] ^= 0xff
		}
		if got := bytes.Join(rc.alias[1:], nil); !bytes.Equal(got, p) {
			t.Fatalf("%d bytes: the payload was written from a copy, not from the caller's slice", n)
		}
	}
}

func BenchmarkWriteMessage(b *testing.B) {
	for _, server := range []bool{true, false} {
		for _, n := range []int{16, 1024, 16 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("server=%v/%d", server, n), func(b *testing.B) {
				x, y := loopbackPair(b)
				c := newConn(x, nil, connConfig{isServer: server})
				go io.Copy(io.Discard, y)
				p := make([]byte, n)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					c.WriteMessage(BinaryMessage, p)
				}
				b.StopTimer()
				c.CloseNow()
				y.Close()
			})
		}
	}
}
