//go:build unix

package websocket

import (
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"
)

// BenchmarkTLSEcho measures request/response over TLS 1.3 on loopback: the
// path where an idle Conn waits with a small read (see readBuf.fillFirst),
// which a connection pays once per message that finds it waiting. Besides
// wall time it reports the process's CPU time per round trip (cpu-ns/op),
// which scheduling noise on a shared machine disturbs much less.
func BenchmarkTLSEcho(b *testing.B) {
	for _, size := range []int{16, 1024, 16 << 10} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			ts, tc := tlsPair(b)
			sc := newConn(ts, nil, connConfig{isServer: true})
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
			msg := textPayload(size)
			buf := make([]byte, size)
			roundTrip := func() {
				if err := cc.WriteMessage(BinaryMessage, msg); err != nil {
					b.Fatal(err)
				}
				_, r, err := cc.NextReader()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(r, buf); err != nil {
					b.Fatal(err)
				}
			}
			roundTrip()
			b.SetBytes(int64(size))
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			b.ResetTimer()
			for range b.N {
				roundTrip()
			}
			b.StopTimer()
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
