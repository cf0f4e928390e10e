package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsstd/websocket/bench"
)

func benchClient(rep *report, cfg config, libs []bench.Lib, raw *child) {
	for _, size := range echoSizes {
		for _, conns := range echoConns {
			row := fmt.Sprintf("%s · %d conn · req/resp", sizeName(size), conns)
			for _, cl := range clientsOf(libs) {
				v, cpu, err := runClient(cl.dial, raw.addr, size, conns, cfg.warm, cfg.dur)
				if err != nil {
					rep.fail("client", row, cl.name, err, fmtRate)
					continue
				}
				rep.add("client", row, cl.name, v, fmtRate).extra = fmtMBs(size)
				if cpu > 0 {
					rep.add("client-cpu", row, cl.name, cpu, fmtMicros)
				}
			}
			logf("client %s done", row)
		}
	}
}

// namedClient is a library's client or one of its variants.
type namedClient struct {
	name string
	dial func(ctx context.Context, url string) (bench.Client, error)
}

// clientsOf lists the clients measured in the client sections: each
// library's, then the variants of those libraries, in the given order (the
// round's rotation), so variants are interleaved with the rest.
func clientsOf(libs []bench.Lib) []namedClient {
	var out []namedClient
	for _, l := range libs {
		out = append(out, namedClient{l.Name(), l.Dial})
		for _, v := range bench.ClientVariants([]bench.Lib{l}) {
			out = append(out, namedClient{v.Name, v.Dial})
		}
	}
	return out
}

// runClient measures round trips per second of conns library clients, and
// this process's CPU time per round trip in seconds (0 when unknown): the
// clients are the only busy goroutines here while they run.
func runClient(dial func(context.Context, string) (bench.Client, error), addr string, size, conns int, warm, dur time.Duration) (float64, float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs := make([]bench.Client, 0, conns)
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	for i := 0; i < conns; i++ {
		c, err := dial(ctx, "ws://"+addr+"/echo")
		if err != nil {
			return 0, 0, fmt.Errorf("dial %d: %w", i+1, err)
		}
		cs = append(cs, c)
	}
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i)
	}
	counts := make([]counter, conns)
	var (
		stop     atomic.Bool
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for i, c := range cs {
		cnt := &counts[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, size)
			for !stop.Load() {
				out, err := c.RoundTrip(msg, buf)
				if err == nil && len(out) != size {
					err = fmt.Errorf("reply of %d bytes, want %d", len(out), size)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				buf = out
				cnt.n.Add(1)
			}
		}()
	}
	sum := func() int64 {
		var s int64
		for i := range counts {
			s += counts[i].n.Load()
		}
		return s
	}
	n, el, perTrip := windowCPU(sum, warm, dur, os.Getpid())
	stop.Store(true)
	if !waitTimeout(&wg, 15*time.Second) {
		return 0, 0, errors.New("round trips did not finish after stop")
	}
	if firstErr != nil {
		return 0, 0, firstErr
	}
	if n == 0 {
		return 0, 0, errors.New("no round trips during the measurement window")
	}
	return float64(n) / el.Seconds(), perTrip, nil
}
