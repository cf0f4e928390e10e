//go:build !js

package websocket

// Tests of control frames (control.go): pings and pongs between fragments,
// ping handlers, Ping's context, and ping floods answered without growing
// memory.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// NextWriter splits a long message into frames; a pong and a ping from
// other goroutines go out between them, never inside one.
func TestControlFramesBetweenFragments(t *testing.T) {
	checkGoroutines(t)
	c, nc, br := rawServer(t)
	w, err := c.NextWriter(BinaryMessage)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		w.Write(make([]byte, 100)) // fills the 4 KiB buffer: two frames go out
	}
	pingDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pingDone <- c.Ping(ctx, []byte("rtt"))
	}()
	// The server pings mid-message; the reader answers at once.
	readDone := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage()
		readDone <- err
	}()
	nc.Write(rawFrame(true, 0, opPing, false, []byte("srv")))
	var seen []string
	deadline := time.After(5 * time.Second)
	for len(seen) < 4 {
		select {
		case <-deadline:
			t.Fatalf("frames seen: %v", seen)
		default:
		}
		h, p, err := readRawFrame(br)
		if err != nil {
			t.Fatal(err)
		}
		switch h.opcode {
		case opPing:
			seen = append(seen, "ping:"+string(p))
			nc.Write(rawFrame(true, 0, opPong, false, p))
		case opPong:
			seen = append(seen, "pong:"+string(p))
		default:
			seen = append(seen, fmt.Sprintf("data:%d:%v", h.opcode, h.fin))
		}
	}
	if err := <-pingDone; err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	h, p, err := readRawFrame(br)
	if err != nil || h.opcode != opContinuation || !h.fin {
		t.Fatalf("final frame %+v %v", h, err)
	}
	_ = p
	joined := strings.Join(seen, " ")
	for _, want := range []string{"ping:rtt", "pong:srv", "data:2:false"} {
		if !strings.Contains(joined, want) {
			t.Errorf("frames %q lack %q", joined, want)
		}
	}
	nc.Write(rawFrame(true, 0, opClose, false, closePayload(1000, "")))
	if err := <-readDone; CloseStatus(err) != 1000 {
		t.Fatalf("reader: %v", err)
	}
}

func TestPingHandlersAndRTT(t *testing.T) {
	checkGoroutines(t)
	pinged := make(chan string, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		c.SetPingHandler(func(p []byte) { pinged <- string(p) })
		c.ReadMessage()
	})
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	pongs := make(chan string, 1)
	c.SetPongHandler(func(p []byte) { pongs <- string(p) })
	go c.ReadMessage()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := c.Ping(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	t.Logf("ping round trip %v", time.Since(start))
	if p := <-pinged; p != "hello" {
		t.Fatalf("server saw ping %q", p)
	}
	if p := <-pongs; p != "hello" {
		t.Fatalf("pong handler saw %q", p)
	}
	if err := c.Ping(ctx, make([]byte, 126)); err == nil {
		t.Fatal("126-byte ping accepted")
	}
	c.Close()
}

// A ping whose pong never comes returns when its context ends.
func TestPingContext(t *testing.T) {
	checkGoroutines(t)
	c, _, br := rawServer(t)
	go func() {
		for {
			if _, _, err := readRawFrame(br); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Ping(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	c.CloseNow()
}

// A flood of pings while a writer is blocked costs no memory: answers
// coalesce into the latest pong.
func TestPingFloodCoalesces(t *testing.T) {
	checkGoroutines(t)
	c, nc, br := rawServer(t)
	go c.ReadMessage()
	// Hold the frame lock as a blocked writer would.
	c.wlock <- struct{}{}
	for i := 0; i < 1000; i++ {
		nc.Write(rawFrame(true, 0, opPing, false, []byte(fmt.Sprint(i))))
	}
	// Unlock only once the reader has taken the last ping: its answer is
	// then the one queued pong, whatever the machine's load.
	waitFor(t, func() bool {
		if !c.pongPending.Load() {
			return false
		}
		c.pongQ.mu.Lock()
		defer c.pongQ.mu.Unlock()
		return c.pongPending.Load() && string(c.pongQ.buf[:c.pongQ.n]) == "999"
	})
	c.unlockFrame()
	// One pong goes out, answering the latest ping; no other follows it:
	// the next frame answers our close, which the reader sees after every
	// ping.
	h, p, err := readRawFrame(br)
	if err != nil || h.opcode != opPong || string(p) != "999" {
		t.Fatalf("first frame after the writer: %+v %q %v; want the pong to ping 999", h, p, err)
	}
	nc.Write(rawFrame(true, 0, opClose, false, closePayload(StatusNormalClosure, "")))
	pongs := 1
	for {
		h, _, err := readRawFrame(br)
		if err != nil {
			t.Fatalf("before the close answer: %v", err)
		}
		if h.opcode == opClose {
			break
		}
		pongs++
	}
	if pongs != 1 {
		t.Errorf("%d pongs for a flood held behind a writer, want 1", pongs)
	}
	c.CloseNow()
}

// A client sends 100,000 pings as fast as it can without reading the
// pongs for a second. The server's memory stays bounded and a message sent
// after the flood is echoed. With 125-byte pings the pongs (12 MiB) do not
// fit in the socket buffers, so the server's reader blocks on them.
func TestPingFloodServerMemory(t *testing.T) {
	pings := 100000
	if testing.Short() {
		pings = 20000
	}
	// The README promises at most 240 KiB of growth (measured: 0 to 64 KiB).
	const maxGrowth = 240 << 10
	for _, size := range []int{8, maxControlPayload} {
		t.Run(fmt.Sprintf("payload=%d", size), func(t *testing.T) {
			checkGoroutines(t)
			s := startServer(t, &Upgrader{}, simpleEcho)
			nc, br := rawDial(t, s)
			nc.SetDeadline(time.Now().Add(60 * time.Second))

			var flood bytes.Buffer
			payload := make([]byte, size)
			copy(payload, loadPattern)
			for i := 0; i < pings; i++ {
				copy(payload, fmt.Sprintf("p%07d", i))
				flood.Write(rawFrame(true, 0, opPing, true, payload))
			}
			msg := []byte("after the flood")
			flood.Write(rawFrame(true, 0, opText, true, msg))
			floodBytes := flood.Len()

			base := memInUse()
			peak := startMemPeak(5 * time.Millisecond)
			start := time.Now()
			wrote := make(chan error, 1)
			go func() {
				_, err := nc.Write(flood.Bytes())
				wrote <- err
			}()
			time.Sleep(time.Second) // not reading
			var pongs int
			var h frameHeader
			var p []byte
			var err error
			var hb [maxHeaderLen]byte
			for {
				if _, err = io.ReadFull(br, hb[:2]); err != nil {
					break
				}
				n := headerLen(hb[1])
				if _, err = io.ReadFull(br, hb[2:n]); err != nil {
					break
				}
				if h, _, err = parseHeader(hb[:n]); err != nil {
					break
				}
				if h.opcode == opPong {
					pongs++
					if _, err = br.Discard(int(h.length)); err != nil {
						break
					}
					continue
				}
				p = make([]byte, h.length)
				_, err = io.ReadFull(br, p)
				break
			}
			elapsed := time.Since(start)
			peakInUse := peak.Stop()
			if err != nil {
				t.Fatalf("after %d pongs: %v", pongs, err)
			}
			if werr := <-wrote; werr != nil {
				t.Fatalf("writing the flood: %v", werr)
			}
			if h.opcode != opText || !bytes.Equal(p, msg) {
				t.Fatalf("after %d pongs got opcode %d %q, want the echo %q", pongs, h.opcode, p, msg)
			}
			growth := int64(peakInUse) - base
			t.Logf("RELIABILITY: ping_flood pings=%d payload=%d bytes=%d pongs=%d mem_growth_peak=%d echo_after=%v",
				pings, size, floodBytes, pongs, growth, elapsed.Round(time.Millisecond))
			if growth > maxGrowth {
				t.Errorf("heap+stack in use grew by %d bytes during the flood, want < %d", growth, maxGrowth)
			}
			if pongs > pings {
				t.Errorf("%d pongs for %d pings", pongs, pings)
			}
			nc.Write(rawFrame(true, 0, opClose, true, closePayload(StatusNormalClosure, "")))
			expectClose(t, br, StatusNormalClosure)
		})
	}
}
