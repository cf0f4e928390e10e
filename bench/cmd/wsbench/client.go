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
			for _, l := range libs {
				v, cpu, err := runClient(l, raw.addr, size, conns, cfg.warm, cfg.dur)
				if err != nil {
					rep.fail("client", row, l.Name(), err, fmtRate)
					continue
				}
				rep.add("client", row, l.Name(), v, fmtRate).extra = fmtMBs(size)
				if cpu > 0 {
					rep.add("client-cpu", row, l.Name(), cpu, fmtMicros)
				}
			}
			logf("client %s done", row)
		}
	}
}

// runClient measures round trips per second of conns library clients, and
// this process's CPU time per round trip in seconds (0 when unknown): the
// clients are the only busy goroutines here while they run.
func runClient(l bench.Lib, addr string, size, conns int, warm, dur time.Duration) (float64, float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs := make([]bench.Client, 0, conns)
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	for i := 0; i < conns; i++ {
		c, err := l.Dial(ctx, "ws://"+addr+"/echo")
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
