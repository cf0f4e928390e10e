package main

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsstd/websocket/bench"
)

var (
	echoSizes = []int{16, 1 << 10, 16 << 10, 1 << 20}
	echoConns = []int{1, 64}
	// echoModes selects request/response (false) and pipelined (true) rows.
	echoModes = []bool{false, true}
)

func benchEcho(rep *report, cfg config, libs []bench.Lib, servers map[string]*child) {
	for _, size := range echoSizes {
		for _, conns := range echoConns {
			for _, piped := range echoModes {
				depth, mode := 1, "req/resp"
				if piped {
					depth = cfg.pipelineDepth
					mode = fmt.Sprintf("pipelined ×%d", depth)
				}
				row := fmt.Sprintf("%s · %d conn · %s", sizeName(size), conns, mode)
				for _, l := range libs {
					srv := servers[l.Name()]
					v, cpu, err := runEcho(srv.addr, srv.pid(), size, conns, depth, cfg.warm, cfg.dur)
					if err != nil {
						rep.fail("echo", row, l.Name(), err, fmtRate)
						continue
					}
					rep.add("echo", row, l.Name(), v, fmtRate).extra = fmtMBs(size)
					if cpu > 0 {
						rep.add("echo-cpu", row, l.Name(), cpu, fmtMicros)
					}
				}
				logf("echo %s done", row)
			}
		}
	}
}

// counter is a per-connection message counter on its own cache line.
type counter struct {
	n atomic.Int64
	_ [56]byte
}

// runEcho drives one library server (process pid) with the raw load client
// and returns echoed messages per second over the measurement window, and
// the server process's CPU time per echoed message in seconds (0 when the
// kernel does not report it).
func runEcho(addr string, pid, size, conns, depth int, warm, dur time.Duration) (float64, float64, error) {
	// One masked frame, repeated depth times, so a writer can send k frames
	// with a single Write. Shared read-only by all connections.
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i)
	}
	frame := bench.AppendFrame(nil, true, bench.OpBinary, &bench.ClientKey, payload)
	frames := make([]byte, 0, len(frame)*depth)
	for i := 0; i < depth; i++ {
		frames = append(frames, frame...)
	}

	rbuf := 64 << 10
	cs, err := dialMany(addr, "/echo", conns, 16, rbuf)
	if err != nil {
		return 0, 0, err
	}
	counts := make([]counter, conns)
	var (
		stop     atomic.Bool
		done     = make(chan struct{})
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		if !stop.Load() {
			errOnce.Do(func() { firstErr = err })
		}
	}
	check := func(op byte, n int64) error {
		if op != bench.OpBinary || n != int64(size) {
			return fmt.Errorf("bad reply: opcode %d, %d bytes (want 2, %d)", op, n, size)
		}
		return nil
	}
	for i, c := range cs {
		cnt := &counts[i]
		if depth == 1 && size <= 64<<10 {
			// Request/response in one goroutine. (Larger payloads use the
			// writer/reader pair below with one slot, since a server that
			// streams its echo while still reading would otherwise stall
			// against a client that writes a whole message before reading.)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					if _, err := c.Write(frame); err != nil {
						fail(err)
						return
					}
					op, _, n, err := c.R.ReadMessage(nil, false)
					if err == nil {
						err = check(op, n)
					}
					if err != nil {
						fail(err)
						return
					}
					cnt.n.Add(1)
				}
			}()
			continue
		}
		tokens := make(chan struct{}, depth)
		for j := 0; j < depth; j++ {
			tokens <- struct{}{}
		}
		wg.Add(2)
		go func() { // writer: sends as many frames as there are free slots
			defer wg.Done()
			for {
				select {
				case <-tokens:
				case <-done:
					return
				}
				k := 1
			more:
				for k < depth {
					select {
					case <-tokens:
						k++
					default:
						break more
					}
				}
				if _, err := c.Write(frames[:k*len(frame)]); err != nil {
					fail(err)
					return
				}
			}
		}()
		go func() { // reader: each reply frees a slot
			defer wg.Done()
			for {
				op, _, n, err := c.R.ReadMessage(nil, false)
				if err == nil {
					err = check(op, n)
				}
				if err != nil {
					fail(err)
					return
				}
				cnt.n.Add(1)
				tokens <- struct{}{}
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
	n, el, perMsg := windowCPU(sum, warm, dur, pid)

	// Stop: flag, wake writers, reset the connections (no drain needed; the
	// window is already measured). Loops exit on the resulting errors.
	stop.Store(true)
	close(done)
	for _, c := range cs {
		c.CloseNow()
	}
	waitTimeout(&wg, 10*time.Second)
	time.Sleep(20 * time.Millisecond) // let the server notice and tear down
	if firstErr != nil {
		return 0, 0, firstErr
	}
	if n == 0 {
		return 0, 0, errors.New("no replies during the measurement window")
	}
	return float64(n) / el.Seconds(), perMsg, nil
}

// minWindowCount is the number of messages a measurement window should
// contain; slow configurations (1 MiB payloads) get a longer window, up to
// 4× the nominal duration (up to 10 s while nothing at all was counted, as
// happens on a heavily loaded machine).
const minWindowCount = 200

// window sleeps through the warm-up, then measures how many events sum()
// counts over at least dur (extended as described above).
func window(sum func() int64, warm, dur time.Duration) (int64, time.Duration) {
	n, el, _ := windowCPU(sum, warm, dur, 0)
	return n, el
}

// windowCPU is window that also returns the CPU time process pid used per
// counted event over the window, in seconds (0 for pid 0, or when the
// kernel does not say). CPU time is read right beside the counter.
func windowCPU(sum func() int64, warm, dur time.Duration, pid int) (int64, time.Duration, float64) {
	cpu := func() time.Duration {
		if pid == 0 {
			return 0
		}
		return processCPU(pid)
	}
	time.Sleep(warm)
	cpu0 := cpu()
	c0, t0 := sum(), time.Now()
	time.Sleep(dur)
	for {
		c, el := sum(), time.Since(t0)
		if c-c0 >= minWindowCount || (el >= 4*dur && c > c0) || el >= 10*time.Second {
			var per float64
			if cpu1 := cpu(); cpu0 > 0 && cpu1 > cpu0 && c > c0 {
				per = (cpu1 - cpu0).Seconds() / float64(c-c0)
			}
			return c - c0, el, per
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dialMany opens n raw connections (par at a time) and upgrades them.
func dialMany(addr, path string, n, par, rbuf int) ([]*bench.RawConn, error) {
	return dialManyFn(addr, n, par, func(addr string) (*bench.RawConn, error) {
		return bench.RawDial(addr, path, rbuf)
	})
}

// dialManyFn opens n connections with dial, par at a time.
func dialManyFn(addr string, n, par int, dial func(addr string) (*bench.RawConn, error)) ([]*bench.RawConn, error) {
	cs := make([]*bench.RawConn, n)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for w := 0; w < min(par, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				mu.Lock()
				failed := firstErr != nil
				mu.Unlock()
				if failed {
					return
				}
				c, err := dial(addr)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("dial %d of %d: %w", i+1, n, err)
					}
					mu.Unlock()
					return
				}
				cs[i] = c
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		closeAll(cs)
		return nil, firstErr
	}
	return cs, nil
}

func closeAll(cs []*bench.RawConn) {
	for _, c := range cs {
		if c != nil {
			c.CloseNow()
		}
	}
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return true
	case <-time.After(d):
		logf("warning: goroutines still running after %s", d)
		return false
	}
}
