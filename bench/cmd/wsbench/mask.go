package main

import (
	"time"

	"github.com/wsstd/websocket/bench"
)

var maskSizes = []int{16, 1 << 10, 64 << 10}

func benchMask(rep *report, cfg config) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	for _, size := range maskSizes {
		sz := sizeName(size)
		src := make([]byte, size)
		dst := make([]byte, size)
		rep.add("mask", "copy() (baseline) @ "+sz, "-", gbps(size, cfg.maskDur, func() { copy(dst, src) }), fmtGBs)
		for _, m := range bench.MaskImpls() {
			row := m.Name + " @ " + sz
			if m.Fn == nil {
				rep.metric("mask", row, "", fmtGBs).errs["-"] = "unexported: see root BenchmarkMask"
				continue
			}
			fn := m.Fn
			rep.add("mask", row, "-", gbps(size, cfg.maskDur, func() { fn(key, 0, dst) }), fmtGBs)
		}
	}
	logf("mask done")
}

// gbps calls f (which processes size bytes) repeatedly for about d and
// returns GB/s (1e9 bytes per second): the best of 5 equal slices, so that a
// slice in which the goroutine was preempted by other work does not count.
func gbps(size int, d time.Duration, f func()) float64 {
	// Calibrate a batch of calls that takes ~0.5 ms so time.Now is off the hot path.
	batch := 1
	for {
		t := time.Now()
		for i := 0; i < batch; i++ {
			f()
		}
		if time.Since(t) > 500*time.Microsecond || batch > 1<<24 {
			break
		}
		batch *= 2
	}
	best := 0.0
	for s := 0; s < 5; s++ {
		var calls int
		t0 := time.Now()
		for time.Since(t0) < d/5 {
			for i := 0; i < batch; i++ {
				f()
			}
			calls += batch
		}
		best = max(best, float64(calls)*float64(size)/time.Since(t0).Seconds()/1e9)
	}
	return best
}
