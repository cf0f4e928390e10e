//go:build !js

package websocket

import (
	"bufio"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"testing"
)

// Tests of the README's compression promises (issue 18), on raw frames
// over real loopback TCP.

// thresholdWrite is one message of the threshold test: written after
// SetCompressionThreshold(threshold) (-1: the default left alone), it
// must go out compressed or not.
type thresholdWrite struct {
	threshold  int
	size       int
	compressed bool
	prepared   bool // WritePreparedMessage instead of WriteMessage
}

var thresholdWrites = []thresholdWrite{
	{-1, 0, false, false},
	{-1, DefaultCompressionThreshold - 1, false, false},
	{-1, DefaultCompressionThreshold, true, false},
	{-1, 4000, true, false},
	{200, DefaultCompressionThreshold, false, false},
	{200, 199, false, false},
	{200, 200, true, false},
	{0, 1, true, false},
	{DefaultCompressionThreshold, DefaultCompressionThreshold - 1, false, true},
	{DefaultCompressionThreshold, DefaultCompressionThreshold, true, true},
}

// thresholdMessage is a compressible message of n bytes, distinct for i.
func thresholdMessage(i, n int) []byte {
	return bytes.Repeat([]byte{'a' + byte(i)}, n)
}

// writeThresholdMessages writes thresholdWrites on c in order.
func writeThresholdMessages(c *Conn) error {
	for i, w := range thresholdWrites {
		if w.threshold >= 0 {
			c.SetCompressionThreshold(w.threshold)
		}
		msg := thresholdMessage(i, w.size)
		if w.prepared {
			pm, err := NewPreparedMessage(BinaryMessage, msg)
			if err != nil {
				return err
			}
			if err := c.WritePreparedMessage(pm); err != nil {
				return err
			}
			continue
		}
		if err := c.WriteMessage(BinaryMessage, msg); err != nil {
			return err
		}
	}
	return nil
}

// checkThresholdFrames reads the frames of thresholdWrites and checks RSV1
// and the payload of each.
func checkThresholdFrames(t *testing.T, br *bufio.Reader, masked bool) {
	t.Helper()
	for i, w := range thresholdWrites {
		name := fmt.Sprintf("message %d (%d bytes, threshold %d, prepared %v)", i, w.size, w.threshold, w.prepared)
		h, p, err := readRawFrame(br)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if h.opcode != opBinary || !h.fin || h.masked != masked {
			t.Fatalf("%s: opcode %d fin %v masked %v", name, h.opcode, h.fin, h.masked)
		}
		if got := h.rsv == rsv1Bit; got != w.compressed {
			t.Errorf("%s: RSV1 %v, want %v", name, got, w.compressed)
			continue
		}
		if w.compressed {
			fr := flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(deflateTail)))
			p, err = io.ReadAll(fr)
			if err != nil {
				t.Fatalf("%s: inflating: %v", name, err)
			}
		}
		if !bytes.Equal(p, thresholdMessage(i, w.size)) {
			t.Errorf("%s: payload %q", name, p)
		}
	}
}

// With permessage-deflate agreed, a message under the compression threshold
// (DefaultCompressionThreshold, or SetCompressionThreshold's) goes out
// uncompressed, RSV1 clear; at or above it, compressed, RSV1 set; for
// WriteMessage and WritePreparedMessage, from servers and clients.
func TestPromiseCompressionThreshold(t *testing.T) {
	t.Run("server", func(t *testing.T) {
		checkGoroutines(t)
		werr := make(chan error, 1)
		p := rawDialDeflate(t, &Upgrader{Compression: CompressionNoContextTakeover}, func(c *Conn) {
			if !c.PerMessageDeflate() {
				werr <- fmt.Errorf("permessage-deflate not agreed")
				return
			}
			werr <- writeThresholdMessages(c)
			c.ReadMessage() // until the peer closes
		})
		checkThresholdFrames(t, p.br, false)
		if err := <-werr; err != nil {
			t.Fatal(err)
		}
		p.nc.Write(rawFrame(true, 0, opClose, true, closePayload(StatusNormalClosure, "")))
		expectClose(t, p.br, StatusNormalClosure)
	})
	t.Run("client", func(t *testing.T) {
		checkGoroutines(t)
		c, nc, br := rawServerFor(t, &Dialer{Compression: CompressionNoContextTakeover},
			"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n")
		if !c.PerMessageDeflate() {
			t.Fatal("permessage-deflate not agreed")
		}
		werr := make(chan error, 1)
		go func() { werr <- writeThresholdMessages(c) }()
		checkThresholdFrames(t, br, true)
		if err := <-werr; err != nil {
			t.Fatal(err)
		}
		nc.Close()
	})
}
