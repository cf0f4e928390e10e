//go:build !js

package websocket

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts Write calls on a net.Conn.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// batchPair returns a server Conn with batching on, over a connection
// whose writes are counted, and the raw peer's end.
func batchPair(t *testing.T) (*Conn, *countingConn, net.Conn, *bufio.Reader) {
	t.Helper()
	a, b := loopbackPair(t)
	cc := &countingConn{Conn: a}
	c := newConn(cc, nil, connConfig{isServer: true})
	c.SetWriteBatching(true)
	t.Cleanup(func() { c.CloseNow(); b.Close() })
	return c, cc, b, bufio.NewReader(b)
}

// Replies to pipelined requests go out in one write, in order.
func TestBatchingCoalescesPipelinedReplies(t *testing.T) {
	checkGoroutines(t)
	c, cc, peer, br := batchPair(t)
	var req bytes.Buffer
	for i := 0; i < 16; i++ {
		req.Write(rawFrame(true, 0, opText, true, []byte(fmt.Sprintf("msg %02d", i))))
	}
	peer.Write(req.Bytes())
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 16; i++ {
			typ, p, err := c.ReadMessage()
			if err != nil {
				done <- err
				return
			}
			if err := c.WriteMessage(typ, p); err != nil {
				done <- err
				return
			}
		}
		// Waiting for the next request sends the batch.
		_, _, err := c.ReadMessage()
		done <- err
	}()
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := 0; i < 16; i++ {
		h, p, err := readRawFrame(br)
		if err != nil || h.opcode != opText || string(p) != fmt.Sprintf("msg %02d", i) {
			t.Fatalf("reply %d: %+v %q %v", i, h, p, err)
		}
	}
	if n := cc.writes.Load(); n > 4 {
		t.Errorf("16 replies took %d writes, want them batched", n)
	}
	t.Logf("16 replies in %d write(s)", cc.writes.Load())
	peer.Write(rawFrame(true, 0, opClose, true, closePayload(1000, "")))
	if err := <-done; CloseStatus(err) != 1000 {
		t.Fatal(err)
	}
}

// A message written by another goroutine while the reader waits for data
// is not held back.
func TestBatchingDoesNotStrandWrites(t *testing.T) {
	checkGoroutines(t)
	// A plain TCP connection, so the reader waits through the parker.
	a, peer := loopbackPair(t)
	c := newConn(a, nil, connConfig{isServer: true})
	if !c.br.canPark() {
		t.Log("no RawConn parker on this platform: the reader waits in a plain read")
	}
	c.SetWriteBatching(true)
	t.Cleanup(func() { c.CloseNow(); peer.Close() })
	br := bufio.NewReader(peer)
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		readErr <- err
	}()
	// Write only once the reader waits for data, the case under test (a
	// write before that would be flushed by the reader's wait anyway).
	waitFor(t, c.readerWaiting.Load)
	for i := 0; i < 3; i++ {
		if err := c.WriteMessage(BinaryMessage, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		peer.SetReadDeadline(time.Now().Add(2 * time.Second))
		h, p, err := readRawFrame(br)
		if err != nil || h.opcode != opBinary || len(p) != 1 || p[0] != byte(i) {
			t.Fatalf("message %d: %+v %v %v", i, h, p, err)
		}
	}
	peer.Write(rawFrame(true, 0, opClose, true, closePayload(1000, "")))
	<-readErr
}

// Other frames never overtake batched ones: a streamed message, a pong
// and the close frame go out after them; Flush and turning batching off
// send what is pending.
func TestBatchingKeepsOrder(t *testing.T) {
	checkGoroutines(t)
	c, _, peer, br := batchPair(t)
	c.WriteMessage(TextMessage, []byte("one"))
	w, _ := c.NextWriter(TextMessage)
	w.Write([]byte("two"))
	w.Close()
	c.WriteMessage(TextMessage, []byte("three"))
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	c.WriteMessage(TextMessage, []byte("four"))
	c.SetWriteBatching(false)
	c.SetWriteBatching(true)
	c.WriteMessage(TextMessage, []byte("five"))
	closed := make(chan error, 1)
	go func() { closed <- c.CloseWithStatus(4000, "end") }()
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []string{"one", "two", "three", "four", "five"} {
		h, p, err := readRawFrame(br)
		if err != nil || string(p) != want {
			t.Fatalf("want %q, got %+v %q %v", want, h, p, err)
		}
	}
	expectClose(t, br, 4000)
	peer.Write(rawFrame(true, 0, opClose, true, closePayload(4000, "")))
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
}
