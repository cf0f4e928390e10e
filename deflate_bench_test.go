//go:build unix

package websocket

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDeflateEcho: compressed request/response echoes between this
// package's client and server over loopback, 16 distinct JSON-like
// messages in turn. Besides ns/op it reports the process's CPU time per
// echo (cpu-ns/op), which a busy shared machine disturbs less.
func BenchmarkDeflateEcho(b *testing.B) {
	for _, mode := range []CompressionMode{CompressionNoContextTakeover, CompressionContextTakeover} {
		for _, size := range []int{1 << 10, 16 << 10} {
			b.Run(fmt.Sprintf("mode=%d/%d", mode, size), func(b *testing.B) {
				s := httptest.NewServer(&Upgrader{Compression: mode, ReadLimit: 1 << 20, Handler: func(c *Conn) {
					for {
						typ, p, err := c.ReadMessage()
						if err != nil || c.WriteMessage(typ, p) != nil {
							return
						}
					}
				}})
				defer s.Close()
				d := &Dialer{Compression: mode, ReadLimit: 1 << 20}
				c, _, err := d.Dial(context.Background(), "ws"+strings.TrimPrefix(s.URL, "http"), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				msgs := make([][]byte, 16)
				for i := range msgs {
					var m bytes.Buffer
					for j := i * 1009; m.Len() < size; j++ {
						fmt.Fprintf(&m, `{"id":%d,"user":"user%04d","status":"%s","score":%d},`, 1000+j, (j*37)%10000, []string{"active", "idle", "away"}[j%3], (j*7919)%1000)
					}
					msgs[i] = m.Bytes()[:size]
				}
				b.SetBytes(int64(size))
				var ru0, ru1 syscall.Rusage
				syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := c.WriteMessage(TextMessage, msgs[i%16]); err != nil {
						b.Fatal(err)
					}
					if _, p, err := c.ReadMessage(); err != nil || len(p) != size {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
				cpu := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano() + ru1.Stime.Nano() - ru0.Stime.Nano())
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
