package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsstd/websocket/bench"
)

func benchHandshake(rep *report, cfg config, libs []bench.Lib, servers map[string]*child, raw *child) {
	if servers != nil {
		for _, par := range []int{1, 8} {
			row := "server · sequential (1 dialer)"
			if par > 1 {
				row = "server · parallel (8 dialers)"
			}
			for _, l := range libs {
				v, err := runHandshake(servers[l.Name()].addr, par, cfg.hsDur)
				if err != nil {
					rep.fail("handshake", row, l.Name(), err, fmtRate)
					continue
				}
				rep.add("handshake", row, l.Name(), v, fmtRate)
			}
			logf("handshake %s done", row)
		}
	}
	if raw != nil {
		row := "client dial + close · sequential"
		for _, l := range libs {
			v, err := runClientDial(l, raw.addr, cfg.hsDur)
			if err != nil {
				rep.fail("handshake", row, l.Name(), err, fmtRate)
				continue
			}
			rep.add("handshake", row, l.Name(), v, fmtRate)
		}
		logf("handshake %s done", row)
	}
}

// runHandshake returns completed upgrades per second with par concurrent
// raw dialers. Each connection is reset right after the 101 is verified.
func runHandshake(addr string, par int, dur time.Duration) (float64, error) {
	var (
		count    atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	// Warm-up: a few handshakes outside the window.
	if cs, err := dialMany(addr, "/echo", 8, par, 1024); err != nil {
		return 0, err
	} else {
		closeAll(cs)
	}
	t0 := time.Now()
	for i := 0; i < par; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				c, err := bench.RawDial(addr, "/echo", 1024)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				c.CloseNow()
				count.Add(1)
			}
		}()
	}
	time.Sleep(dur)
	stop.Store(true)
	wg.Wait()
	el := time.Since(t0)
	time.Sleep(20 * time.Millisecond)
	if firstErr != nil {
		return 0, firstErr
	}
	return float64(count.Load()) / el.Seconds(), nil
}

// runClientDial returns library Dial+Close cycles per second against the raw
// echo server, one at a time.
func runClientDial(l bench.Lib, addr string, dur time.Duration) (float64, error) {
	url := "ws://" + addr + "/echo"
	dial := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := l.Dial(ctx, url)
		if err != nil {
			return err
		}
		c.Close()
		return nil
	}
	for i := 0; i < 5; i++ {
		if err := dial(); err != nil {
			return 0, err
		}
	}
	n := 0
	t0 := time.Now()
	deadline := t0.Add(dur)
	for time.Now().Before(deadline) {
		if err := dial(); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}
