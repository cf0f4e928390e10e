package main

import (
	"sync/atomic"
	"time"
)

// hist is a latency histogram safe for concurrent use without locks:
// 10 µs buckets up to 2 s, and one bucket for anything slower.
type hist struct {
	buckets [200_001]atomic.Uint64
	n       atomic.Uint64
}

const bucketWidth = 10 * time.Microsecond

func (h *hist) add(d time.Duration) {
	i := int(d / bucketWidth)
	if i < 0 {
		i = 0
	}
	if i >= len(h.buckets) {
		i = len(h.buckets) - 1
	}
	h.buckets[i].Add(1)
	h.n.Add(1)
}

// quantile returns the upper edge of the bucket holding quantile q
// (0 < q <= 1), or 0 if the histogram is empty.
func (h *hist) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q * float64(n))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			return time.Duration(i+1) * bucketWidth
		}
	}
	return time.Duration(len(h.buckets)) * bucketWidth
}
