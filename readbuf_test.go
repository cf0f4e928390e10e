//go:build !js

package websocket

import (
	"io"
	"net"
	"testing"
	"time"
)

// A Conn whose reading has ended gives its pooled read buffer back, so
// connections that end (closed, reset, failed) do not leave 64 KiB each to
// the garbage collector.
func TestReadBufferReturnedWhenReadingEnds(t *testing.T) {
	cases := []struct {
		name string
		peer func(y net.Conn, reading <-chan struct{})
	}{
		{"peer close frame", func(y net.Conn, reading <-chan struct{}) {
			y.Write(rawFrame(true, 0, opClose, true, closePayload(StatusNormalClosure, "bye")))
		}},
		{"protocol error", func(y net.Conn, reading <-chan struct{}) {
			y.Write(rawFrame(true, 0, opBinary, false, []byte("unmasked"))) // client frames must be masked
		}},
		{"reset", func(y net.Conn, reading <-chan struct{}) {
			y.Write(rawFrame(false, 0, opBinary, true, []byte("half a message")))
			waitReading(reading)
			y.(*net.TCPConn).SetLinger(0)
			y.Close()
		}},
		{"EOF mid-message", func(y net.Conn, reading <-chan struct{}) {
			y.Write(rawFrame(true, 0, opBinary, true, make([]byte, 100))[:50])
			waitReading(reading)
			y.Close()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, y := loopbackPair(t)
			defer y.Close()
			c := newConn(x, nil, connConfig{isServer: true})
			defer c.CloseNow()
			reading := make(chan struct{}) // closed once a message is being read
			go tc.peer(y, reading)
			go io.Copy(io.Discard, y) // take the close frame, if any
			var err error
			for err == nil {
				var r io.Reader
				if _, r, err = c.NextReader(); err == nil {
					if reading != nil {
						close(reading)
						reading = nil
					}
					_, err = io.Copy(io.Discard, r)
				}
			}
			c.rlock.Lock()
			buf, pooled := c.br.buf, c.br.pool
			c.rlock.Unlock()
			if buf != nil || pooled != nil {
				t.Errorf("after %v: the Conn still holds a %d-byte read buffer", err, len(buf))
			}
		})
	}
}

// waitReading waits, for at most 5 s, until reading is closed: the peer
// then ends the connection in the middle of a message being read, the case
// under test, not before the Conn has seen it.
func waitReading(reading <-chan struct{}) {
	select {
	case <-reading:
	case <-time.After(5 * time.Second):
	}
}
