package main

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsstd/websocket/bench"
)

var bcastSizes = []int{16, 16 << 10}

func benchBroadcast(rep *report, cfg config, libs []bench.Lib, servers map[string]*child) {
	n := cfg.bcastConns
	for _, l := range libs {
		res, err := runBroadcast(servers[l.Name()], n, cfg.bcastFanouts)
		for _, size := range bcastSizes {
			rowD := fmt.Sprintf("%s → %d conns · delivered", sizeName(size), n)
			rowS := fmt.Sprintf("%s → %d conns · server call", sizeName(size), n)
			if err != nil {
				rep.fail("broadcast", rowD, l.Name(), err, fmtDur)
				continue
			}
			rep.add("broadcast", rowD, l.Name(), res[size][0], fmtDur)
			rep.add("broadcast", rowS, l.Name(), res[size][1], fmtDur)
		}
		logf("broadcast %s done", l.Name())
	}
	rep.note("broadcast", "Cells are the median over %d timed fan-outs per round (after 3 warm-up fan-outs, the first of which verifies every receiver's bytes), then the median over rounds.", cfg.bcastFanouts)
}

// runBroadcast connects n raw receivers to the server's hub and times
// fanouts broadcasts per size. It returns, per size, the median delivered
// time and the median server-side Broadcast call time, in seconds.
func runBroadcast(srv *child, n, fanouts int) (map[int][2]float64, error) {
	cs, err := dialMany(srv.addr, "/hub", n, 16, 4096)
	if err != nil {
		return nil, err
	}
	defer func() {
		closeAll(cs)
		for i := 0; i < 100; i++ { // wait for the hub to unregister them
			if s, err := srv.stats(false); err != nil || s.HubConns == 0 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for i := 0; ; i++ {
		s, err := srv.stats(false)
		if err != nil {
			return nil, err
		}
		if s.HubConns == n {
			break
		}
		if i == 250 {
			return nil, fmt.Errorf("hub has %d of %d connections after 5s", s.HubConns, n)
		}
		time.Sleep(20 * time.Millisecond)
	}

	var (
		remaining atomic.Int64
		want      atomic.Pointer[[]byte] // expected payload
		verify    atomic.Bool            // compare bytes (else length only)
		done      = make(chan struct{}, 1)
		errMu     sync.Mutex
		firstErr  error
		stopped   atomic.Bool
		wg        sync.WaitGroup
	)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 16<<10)
			for {
				keep := verify.Load()
				op, got, l, err := c.R.ReadMessage(buf, keep)
				if err == nil {
					w := *want.Load()
					if op != bench.OpBinary || l != int64(len(w)) || (keep && !bytes.Equal(got, w)) {
						err = fmt.Errorf("receiver got opcode %d, %d bytes; want binary %d bytes (content checked: %v)", op, l, len(w), keep)
					}
				}
				if err != nil {
					if !stopped.Load() {
						errMu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						errMu.Unlock()
						if remaining.Add(-1<<40) < 0 { // poison: wake the driver
							select {
							case done <- struct{}{}:
							default:
							}
						}
					}
					return
				}
				if remaining.Add(-1) == 0 {
					done <- struct{}{}
				}
			}
		}()
	}
	defer func() {
		stopped.Store(true)
		closeAll(cs)
		waitTimeout(&wg, 10*time.Second)
	}()

	out := map[int][2]float64{}
	for _, size := range bcastSizes {
		w := pattern(size)
		want.Store(&w)
		var delivered, call []float64
		for i := 0; i < fanouts+3; i++ {
			verify.Store(i == 0)
			remaining.Store(int64(n))
			t0 := time.Now()
			var r struct{ NS int64 }
			if err := srv.get("/broadcast?size="+strconv.Itoa(size), &r); err != nil {
				return nil, err
			}
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				return nil, fmt.Errorf("fan-out not delivered to %d of %d receivers within 20s", remaining.Load(), n)
			}
			d := time.Since(t0)
			errMu.Lock()
			ferr := firstErr
			errMu.Unlock()
			if ferr != nil {
				return nil, ferr
			}
			if remaining.Load() != 0 {
				return nil, errors.New("receiver accounting out of step")
			}
			if i >= 3 {
				delivered = append(delivered, d.Seconds())
				call = append(call, float64(r.NS)/1e9)
			}
		}
		out[size] = [2]float64{median(delivered), median(call)}
	}
	return out, nil
}
