//go:build !js

package websocket

// End-to-end benchmarks: a server echo over loopback TCP, and the library's
// own share of a server echo and of a client round trip without the kernel.

import (
	"fmt"
	"io"
	"net"
	"testing"
)

// BenchmarkEchoServer is one request/response round trip through a server
// Conn echoing over loopback TCP: the raw client writes a masked frame and
// reads the reply. Most of the time is the kernel's; the profile of this
// benchmark shows the library's own share of an echo.
func BenchmarkEchoServer(b *testing.B) {
	for _, batching := range []bool{false, true} {
		for _, n := range []int{16, 1024} {
			b.Run(fmt.Sprintf("batching=%v/%d", batching, n), func(b *testing.B) {
				x, y := loopbackPair(b)
				c := newConn(x, nil, connConfig{isServer: true})
				c.SetWriteBatching(batching)
				done := make(chan struct{})
				go func() {
					defer close(done)
					buf := make([]byte, n)
					for {
						typ, r, err := c.NextReader()
						if err != nil {
							return
						}
						m, err := io.ReadFull(r, buf)
						if err != nil {
							return
						}
						if err := c.WriteMessage(typ, buf[:m]); err != nil {
							return
						}
					}
				}()
				req := rawFrame(true, 0, opBinary, true, make([]byte, n))
				reply := make([]byte, len(rawFrame(true, 0, opBinary, false, make([]byte, n))))
				b.SetBytes(int64(n))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := y.Write(req); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(y, reply); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				c.CloseNow()
				y.Close()
				<-done
			})
		}
	}
}

// loopConn is a net.Conn whose reads return frame over and over and whose
// writes vanish: a Conn over it runs its message path with no system call.
type loopConn struct {
	net.Conn
	frame []byte
	off   int
}

func (l *loopConn) Read(p []byte) (int, error) {
	n := copy(p, l.frame[l.off:])
	l.off = (l.off + n) % len(l.frame)
	return n, nil
}

func (l *loopConn) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkEchoInMemory is the library's own work in an echo, without the
// kernel: read one message into a reused buffer, write it back.
func BenchmarkEchoInMemory(b *testing.B) {
	for _, batching := range []bool{false, true} {
		for _, n := range []int{16, 1024} {
			b.Run(fmt.Sprintf("batching=%v/%d", batching, n), func(b *testing.B) {
				nc := &loopConn{frame: rawFrame(true, 0, opBinary, true, make([]byte, n))}
				c := newConn(nc, nil, connConfig{isServer: true})
				c.SetWriteBatching(batching)
				buf := make([]byte, n)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					typ, r, err := c.NextReader()
					if err != nil {
						b.Fatal(err)
					}
					m, err := io.ReadFull(r, buf)
					if err != nil {
						b.Fatal(err)
					}
					if err := c.WriteMessage(typ, buf[:m]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkClientRoundTripInMemory is the library's own work in a client
// round trip, without the kernel: write a masked message, read the
// (unmasked) reply into a reused buffer.
func BenchmarkClientRoundTripInMemory(b *testing.B) {
	for _, n := range []int{16, 1024, 16 << 10} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			nc := &loopConn{frame: rawFrame(true, 0, opBinary, false, make([]byte, n))}
			c := newConn(nc, nil, connConfig{isServer: false})
			msg := make([]byte, n)
			buf := make([]byte, n)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.WriteMessage(BinaryMessage, msg); err != nil {
					b.Fatal(err)
				}
				_, r, err := c.NextReader()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(r, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
