//go:build !js

package websocket

// Context takeover with pooled compressors: a connection that stops
// writing gives its compressor back and keeps only history; the primed
// compressor that replaces it must produce what the peer's window can
// decode.

import (
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"testing"
	"time"
)

// engine returns c's compressor, read under mlock.
func engine(c *Conn) *flate.Writer {
	c.mlock <- struct{}{}
	defer func() { <-c.mlock }()
	return c.def.fw
}

// engineHeld reports whether c holds a compressor, reading it under mlock
// as the idle timer does.
func engineHeld(c *Conn) bool {
	c.mlock <- struct{}{}
	defer func() { <-c.mlock }()
	return c.def.fw != nil
}

// waitEngineReleased polls until neither Conn holds a compressor.
func waitEngineReleased(t *testing.T, cs ...*Conn) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range cs {
		for engineHeld(c) {
			if time.Now().After(deadline) {
				t.Fatal("compressor still held 10s after the last message")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func setDeflateIdle(t *testing.T, d time.Duration) {
	old := deflateIdle
	deflateIdle = d
	t.Cleanup(func() { deflateIdle = old })
}

// idleTick runs the idle timer's check on each Conn now, as the timer would.
func idleTick(cs ...*Conn) {
	for _, c := range cs {
		c.def.checkIdle()
	}
}

func TestDeflateIdleReleaseAndPrime(t *testing.T) {
	checkGoroutines(t)
	// The timers never fire during the test: idleTick stands in for them,
	// so that what counts as busy does not depend on the machine's speed.
	setDeflateIdle(t, time.Hour)
	serverConn := make(chan *Conn, 1)
	// The server says when each echo's write has returned: the client
	// can read the reply before then, and an idle check that ran in
	// between would see the server's compressor as still in use.
	written := make(chan struct{}, 1)
	s := startServer(t, &Upgrader{Compression: CompressionContextTakeover}, func(c *Conn) {
		serverConn <- c
		for {
			typ, p, err := c.ReadMessage()
			if err != nil || c.WriteMessage(typ, p) != nil {
				return
			}
			written <- struct{}{}
		}
	})
	d := &Dialer{Compression: CompressionContextTakeover}
	c, _, err := d.Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc := <-serverConn

	msg := func(i int) []byte {
		var b bytes.Buffer
		for j := 0; b.Len() < 200+37*(i%20); j++ {
			fmt.Fprintf(&b, `{"seq":%d,"room":"lobby","user":"user%02d","text":"hi"}`, i, (i+j)%13)
		}
		return b.Bytes()
	}
	echo := func(typ MessageType, p []byte) {
		t.Helper()
		if err := c.WriteMessage(typ, p); err != nil {
			t.Fatal(err)
		}
		gt, got, err := c.ReadMessage()
		if err != nil || gt != typ || !bytes.Equal(got, p) {
			t.Fatalf("echo of %d bytes: %v %d bytes %v", len(p), gt, len(got), err)
		}
		<-written
	}
	for round := 0; round < 6; round++ {
		// A burst: the engines stay while the connection is busy, however
		// many idle checks pass during it.
		var first *flate.Writer
		for i := 0; i < 8; i++ {
			if i == 1 {
				first = engine(c)
			}
			idleTick(c, sc)
			echo(TextMessage, msg(round*8+i))
			// Messages that the peer sees uncompressed, and that must
			// therefore stay out of the history: below the threshold, and
			// with compression switched off.
			echo(TextMessage, msg(i)[:40])
			c.SetWriteCompression(false)
			echo(TextMessage, msg(round*8+i+1))
			c.SetWriteCompression(true)
		}
		if engine(c) != first || first == nil {
			t.Errorf("round %d: the compressor changed during a burst", round)
		}
		// Idle: both sides give their compressors back, and what they
		// write next (primed from history) must decode on the other side.
		idleTick(c, sc) // used since the last check: kept
		if !engineHeld(c) || !engineHeld(sc) {
			t.Fatalf("round %d: compressor released by the first idle check after a message", round)
		}
		idleTick(c, sc)
		if engineHeld(c) || engineHeld(sc) {
			t.Fatalf("round %d: compressor held after two idle checks with no message between", round)
		}
		if n := len(c.def.history); n == 0 || n > 32<<10 {
			t.Errorf("round %d: %d bytes of history kept", round, n)
		}
	}
	// A large message once: the history keeps at most 32 KiB.
	big := bytes.Repeat(msg(3), 400)
	echo(BinaryMessage, big)
	idleTick(c, sc)
	idleTick(c, sc)
	if n, max := len(c.def.history), 32<<10; n > max || cap(c.def.history) > 2*n+512 {
		t.Errorf("after %d bytes: history len %d cap %d", len(big), n, cap(c.def.history))
	}
	echo(TextMessage, msg(5))
	if c.inf.fr != nil {
		t.Error("decompressor held between messages")
	}
}

// An idle connection with context takeover, after one 1 KiB message each
// way, holds no engine: only the history.
func TestDeflateIdleMemory(t *testing.T) {
	checkGoroutines(t)
	setDeflateIdle(t, 50*time.Millisecond)
	c := dialCompressed(t, CompressionContextTakeover, CompressionContextTakeover)
	defer c.Close()
	p := bytes.Repeat([]byte(`{"k":"value","n":12345}`), 45)[:1024]
	if err := c.WriteMessage(TextMessage, p); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.ReadMessage(); err != nil || !bytes.Equal(got, p) {
		t.Fatal(err)
	}
	waitEngineReleased(t, c)
	if c.inf.fr != nil || len(c.def.history) != len(p) || len(c.inf.history) != len(p) {
		t.Fatalf("idle: decompressor %v, history %d sent %d received", c.inf.fr != nil, len(c.def.history), len(c.inf.history))
	}
}

// A message written for longer than the idle period keeps its compressor
// while the idle timer fires (the timer finds the writer busy and looks
// again later), and the compressor goes back once the connection is idle.
// Under -race this also checks that the timer's busy path reads nothing
// the writer set without synchronisation.
func TestDeflateIdleTimerWhileWriting(t *testing.T) {
	checkGoroutines(t)
	setDeflateIdle(t, 5*time.Millisecond)
	c := dialCompressed(t, CompressionContextTakeover, CompressionContextTakeover)
	defer c.Close()
	w, err := c.NextWriter(TextMessage)
	if err != nil {
		t.Fatal(err)
	}
	part := bytes.Repeat([]byte(`{"k":"value"}`), 100)
	var sent []byte
	// The message stays open over many idle periods: time passing is
	// what is under test.
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if _, err := w.Write(part); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, part...)
		if c.def.fw == nil {
			t.Fatal("compressor released while a message was being written")
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.ReadMessage(); err != nil || !bytes.Equal(got, sent) {
		t.Fatalf("echo of %d bytes: %d bytes, %v", len(sent), len(got), err)
	}
	waitEngineReleased(t, c)
}
