package main

import (
	"fmt"
	"time"

	"github.com/wsstd/websocket/bench"
)

func benchIdle(rep *report, cfg config, libs []bench.Lib) {
	n := cfg.idleConns
	rowRSS := fmt.Sprintf("RSS delta per conn (%d conns)", n)
	rowHS := fmt.Sprintf("HeapInuse+StackInuse per conn (%d conns)", n)
	rowG := "goroutines per conn"
	for _, l := range libs {
		rss, hs, g, err := runIdle(l.Name(), n)
		if err != nil {
			rep.fail("idle", rowRSS, l.Name(), err, fmtBytes)
			continue
		}
		rep.add("idle", rowRSS, l.Name(), rss, fmtBytes)
		rep.add("idle", rowHS, l.Name(), hs, fmtBytes)
		rep.add("idle", rowG, l.Name(), g, fmtCount)
		logf("idle %s: %s RSS/conn, %s heap+stack/conn", l.Name(), fmtBytes(rss), fmtBytes(hs))
	}
	rep.note("idle", "The load side holds its %d raw connections in the driver process; they are reset (SO_LINGER 0) and the server process is stopped after each library.", n)
}

// runIdle starts a fresh server process, opens n upgraded connections that
// then stay idle, and returns the per-connection RSS delta, heap+stack
// delta and goroutine delta reported by the server.
func runIdle(name string, n int) (rss, heapStack, goroutines float64, err error) {
	dial := func(addr string) (*bench.RawConn, error) { return bench.RawDial(addr, "/echo", 1024) }
	probe := func(c *bench.RawConn) error {
		p := []byte("alive?")
		if _, err := c.Write(bench.AppendFrame(nil, true, bench.OpBinary, &bench.ClientKey, p)); err != nil {
			return err
		}
		if _, got, _, err := c.R.ReadMessage(nil, true); err != nil || string(got) != string(p) {
			return fmt.Errorf("idle connection not echoing: %v", err)
		}
		return nil
	}
	return runIdleWith(name, n, dial, probe)
}

// runIdleWith is runIdle with the connection set-up (dial: connect,
// upgrade and anything else before going idle) and the liveness probe
// given by the caller.
func runIdleWith(name string, n int, dial func(addr string) (*bench.RawConn, error), probe func(*bench.RawConn) error) (rss, heapStack, goroutines float64, err error) {
	return runIdleSettle(name, n, dial, probe, 0)
}

// runIdleSettle is runIdleWith that lets the connections sit idle for
// settle more before measuring.
func runIdleSettle(name string, n int, dial func(addr string) (*bench.RawConn, error), probe func(*bench.RawConn) error, settle time.Duration) (rss, heapStack, goroutines float64, err error) {
	srv, err := startChild(name)
	if err != nil {
		return 0, 0, 0, err
	}
	defer srv.stop()
	// Warm the server's HTTP path once so one-time initialisation is not
	// charged to the connections.
	if cs, err := dialManyFn(srv.addr, 4, 4, dial); err == nil {
		closeAll(cs)
	}
	time.Sleep(50 * time.Millisecond)
	s0, err := srv.stats(true)
	if err != nil {
		return 0, 0, 0, err
	}
	cs, err := dialManyFn(srv.addr, n, 16, dial)
	if err != nil {
		return 0, 0, 0, err
	}
	defer closeAll(cs)
	// Wait until the server has settled (goroutine count stable).
	prev := -1
	for i := 0; i < 40; i++ {
		time.Sleep(50 * time.Millisecond)
		s, err := srv.stats(false)
		if err != nil {
			return 0, 0, 0, err
		}
		if s.Goroutines == prev {
			break
		}
		prev = s.Goroutines
	}
	time.Sleep(settle)
	s1, err := srv.stats(true)
	if err != nil {
		return 0, 0, 0, err
	}
	// Every connection must still be alive and idle: send nothing, expect
	// nothing; a quick liveness probe on a sample echoes one message.
	for _, c := range []*bench.RawConn{cs[0], cs[n/2], cs[n-1]} {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := probe(c); err != nil {
			return 0, 0, 0, err
		}
	}
	fn := float64(n)
	return (float64(s1.RSS) - float64(s0.RSS)) / fn,
		(float64(s1.HeapInuse+s1.StackInuse) - float64(s0.HeapInuse+s0.StackInuse)) / fn,
		float64(s1.Goroutines-s0.Goroutines) / fn, nil
}
