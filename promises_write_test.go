//go:build !js

package websocket

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Tests of the README's write-side promises (issue 18), each asserted on
// the raw bytes a real loopback TCP peer receives.

// smallMessage is the i-th 125-byte message of the concurrency test.
func smallMessage(i int) []byte {
	p := bytes.Repeat([]byte{'.'}, maxControlPayload)
	copy(p, fmt.Sprintf("small %04d", i))
	return p
}

// streamedMessage is the i-th message the streaming writer sends.
func streamedMessage(i, size int) []byte {
	p := make([]byte, size)
	for j := range p {
		p[j] = byte(i + j)
	}
	return p
}

// A WriteMessage of at most 125 bytes from one goroutine while another
// streams a fragmented message through NextWriter goes out whole between
// messages, never between the fragments of the streamed one (the message
// lock, mlock). Control frames may pass between fragments; data frames
// may not.
func TestPromiseSmallWriteNotInsideFragmentedMessage(t *testing.T) {
	checkGoroutines(t)
	const (
		streamed  = 40   // fragmented messages
		size      = 4000 // bytes each: about 16 frames of a 256-byte buffer
		chunk     = 100  // bytes per Write call
		smallMsgs = 400
	)
	a, b := loopbackPair(t)
	c := newConn(a, nil, connConfig{isServer: true, writeBufSize: 256})
	t.Cleanup(func() { c.CloseNow(); b.Close() })

	type result struct {
		err               error
		streamed, small   int
		fragmentsBetween  int // continuation frames seen
		smallInsideStream int
	}
	done := make(chan result, 1)
	go func() {
		var r result
		br := bufio.NewReader(b)
		b.SetReadDeadline(time.Now().Add(30 * time.Second))
		var cur []byte // the fragmented message being reassembled
		inMessage := false
		nextSmall := 0
		for r.streamed < streamed || r.small < smallMsgs {
			h, p, err := readRawFrame(br)
			if err != nil {
				r.err = err
				break
			}
			if h.masked || h.rsv != 0 {
				r.err = fmt.Errorf("frame with mask %v rsv %d from the server", h.masked, h.rsv)
				break
			}
			switch {
			case h.opcode == opContinuation:
				if !inMessage {
					r.err = fmt.Errorf("continuation frame outside a message")
				}
				r.fragmentsBetween++
				cur = append(cur, p...)
			case h.opcode == opText && inMessage:
				r.smallInsideStream++
				r.err = fmt.Errorf("a text frame (%q) inside the fragmented message %d, after %d bytes of it", p[:10], r.streamed, len(cur))
			case h.opcode == opText:
				if !h.fin || !bytes.Equal(p, smallMessage(nextSmall)) {
					r.err = fmt.Errorf("small message %d: fin %v, payload %q", nextSmall, h.fin, p)
				}
				nextSmall++
				r.small++
				continue
			case h.opcode == opBinary && !inMessage:
				inMessage = true
				cur = append(cur[:0], p...)
			default:
				r.err = fmt.Errorf("unexpected frame opcode %d fin %v while inMessage=%v", h.opcode, h.fin, inMessage)
			}
			if r.err != nil {
				break
			}
			if h.fin {
				if want := streamedMessage(r.streamed, size); !bytes.Equal(cur, want) {
					r.err = fmt.Errorf("streamed message %d arrived corrupted (%d bytes, want %d)", r.streamed, len(cur), len(want))
					break
				}
				inMessage = false
				r.streamed++
			}
		}
		done <- r
	}()

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	started := make(chan struct{}) // the first message is under way
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer func() {
			select {
			case <-started:
			default:
				close(started)
			}
		}()
		for i := 0; i < streamed; i++ {
			w, err := c.NextWriter(BinaryMessage)
			if err != nil {
				errs <- err
				return
			}
			msg := streamedMessage(i, size)
			for len(msg) > 0 {
				n := min(chunk, len(msg))
				if _, err := w.Write(msg[:n]); err != nil {
					errs <- err
					return
				}
				msg = msg[n:]
				if i == 0 && len(msg) == size-3*chunk {
					close(started) // some frames of it are out
				}
				runtime.Gosched() // let the small writer try to cut in
			}
			if err := w.Close(); err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		<-started
		for i := 0; i < smallMsgs; i++ {
			if err := c.WriteMessage(TextMessage, smallMessage(i)); err != nil {
				errs <- err
				return
			}
			runtime.Gosched()
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.fragmentsBetween < streamed*10 {
		t.Fatalf("only %d continuation frames: the messages were not fragmented enough to test anything", r.fragmentsBetween)
	}
	t.Logf("%d streamed messages in %d continuation frames, %d small messages, all whole between them", r.streamed, r.fragmentsBetween, r.small)
}

// The automatic pong is written under its own deadline: an expired write
// deadline the application left on the Conn neither stops the pong nor
// fails the connection, which stays readable (and, once the application
// clears its deadline, writable).
func TestPromisePongIgnoresStaleWriteDeadline(t *testing.T) {
	for _, side := range []string{"server", "client"} {
		t.Run(side, func(t *testing.T) {
			checkGoroutines(t)
			var c *Conn
			var peer net.Conn
			var br *bufio.Reader
			if side == "server" {
				a, b := loopbackPair(t)
				c = newConn(a, nil, connConfig{isServer: true})
				peer, br = b, bufio.NewReader(b)
				t.Cleanup(func() { c.CloseNow(); b.Close() })
			} else {
				c, peer, br = rawServer(t)
			}
			mask := side == "server" // frames to a server are masked
			peer.SetDeadline(time.Now().Add(10 * time.Second))

			if err := c.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
			type read struct {
				typ MessageType
				p   []byte
				err error
			}
			reads := make(chan read, 1)
			go func() {
				typ, p, err := c.ReadMessage()
				reads <- read{typ, p, err}
			}()
			if _, err := peer.Write(rawFrame(true, 0, opPing, mask, []byte("are you there"))); err != nil {
				t.Fatal(err)
			}
			h, p, err := readRawFrame(br)
			if err != nil {
				t.Fatalf("no pong under an expired application write deadline: %v", err)
			}
			if h.opcode != opPong || string(p) != "are you there" || h.masked != !mask {
				t.Fatalf("want the pong %q, got opcode %d %q (masked %v)", "are you there", h.opcode, p, h.masked)
			}
			if _, err := peer.Write(rawFrame(true, 0, opText, mask, []byte("still readable"))); err != nil {
				t.Fatal(err)
			}
			r := <-reads
			if r.err != nil || r.typ != TextMessage || string(r.p) != "still readable" {
				t.Fatalf("after the pong, ReadMessage = %v %q %v", r.typ, r.p, r.err)
			}
			// The application's deadline is still its own: it clears it
			// and writes.
			c.SetWriteDeadline(time.Time{})
			if err := c.WriteMessage(TextMessage, []byte("and writable")); err != nil {
				t.Fatalf("write after clearing the deadline: %v", err)
			}
			if h, p, err := readRawFrame(br); err != nil || h.opcode != opText || string(p) != "and writable" {
				t.Fatalf("want the text frame, got opcode %d %q %v", h.opcode, p, err)
			}
		})
	}
}

// Write batching's bounds: at most 64 KiB pending (a message that would
// overflow the batch sends it first), and a message over 16 KiB is never
// batched (it flushes the batch and goes out on its own at once). Counted
// in system calls on the server's socket, while the reader is busy, so
// that nothing else sends the batch.
func TestPromiseBatchingBounds(t *testing.T) {
	checkGoroutines(t)
	a, b := loopbackPair(t)
	rc := &recordingWrites{Conn: a}
	c := newConn(rc, nil, connConfig{isServer: true})
	c.SetWriteBatching(true)
	t.Cleanup(func() { c.CloseNow(); b.Close() })
	br := bufio.NewReader(b)
	b.SetDeadline(time.Now().Add(10 * time.Second))

	// Make the reader busy: it has read one message and not yet asked for
	// the next, so it is not waiting and batched messages stay pending.
	b.Write(rawFrame(true, 0, opText, true, []byte("request")))
	if _, _, err := c.ReadMessage(); err != nil {
		t.Fatal(err)
	}

	const lim = maxBatched                    // 16 KiB: the largest batched message
	frame := func(n int) int { return n + 4 } // 16-bit length header
	// Three 16 KiB messages fit in 64 KiB; they stay pending.
	for i := 0; i < 3; i++ {
		if err := c.WriteMessage(BinaryMessage, bytes.Repeat([]byte{byte(i)}, lim)); err != nil {
			t.Fatal(err)
		}
	}
	if w := rc.sizes(); len(w) != 0 {
		t.Fatalf("three 16 KiB messages went out in writes %v, want them batched", w)
	}
	// A fourth would take the batch past 64 KiB: the three go out first,
	// in one write, and the fourth waits.
	if err := c.WriteMessage(BinaryMessage, bytes.Repeat([]byte{3}, lim)); err != nil {
		t.Fatal(err)
	}
	if w := rc.sizes(); len(w) != 1 || w[0] != 3*frame(lim) {
		t.Fatalf("writes %v after the fourth 16 KiB message, want one of %d bytes (the first three)", w, 3*frame(lim))
	}
	// A message one byte over 16 KiB is not batched: it sends the pending
	// batch, then itself, before WriteMessage returns.
	if err := c.WriteMessage(BinaryMessage, bytes.Repeat([]byte{4}, lim+1)); err != nil {
		t.Fatal(err)
	}
	w := rc.sizes()
	if len(w) < 3 || w[1] != frame(lim) {
		t.Fatalf("writes %v after a 16 KiB+1 message, want the batch (%d bytes) then the message", w, frame(lim))
	}
	if total := sum(w[2:]); total != frame(lim+1) {
		t.Fatalf("the 16 KiB+1 message went out as %v (%d bytes), want %d bytes at once", w[2:], total, frame(lim+1))
	}
	for _, n := range w {
		if n > maxBatch {
			t.Fatalf("a write of %d bytes: more than 64 KiB was pending", n)
		}
	}
	// Each write holds whole frames, in order.
	for i := 0; i < 5; i++ {
		h, p, err := readRawFrame(br)
		want := lim
		if i == 4 {
			want++
		}
		if err != nil || h.opcode != opBinary || len(p) != want || p[0] != byte(i) || p[len(p)-1] != byte(i) {
			t.Fatalf("frame %d: opcode %d, %d bytes, err %v", i, h.opcode, len(p), err)
		}
	}
}

// recordingWrites records the size of each Write on a net.Conn.
type recordingWrites struct {
	net.Conn
	mu sync.Mutex
	n  []int
}

func (r *recordingWrites) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.n = append(r.n, len(p))
	r.mu.Unlock()
	return r.Conn.Write(p)
}

func (r *recordingWrites) sizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.n...)
}

func sum(v []int) int {
	s := 0
	for _, n := range v {
		s += n
	}
	return s
}
