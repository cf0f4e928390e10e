package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/wsstd/websocket/bench"
)

func benchAlloc(rep *report, cfg config, libs []bench.Lib) {
	for _, size := range []int{16, 16 << 10} {
		n := cfg.allocSmallN
		if size > 1024 {
			n = cfg.allocLargeN
		}
		rowA := func(side string) string { return fmt.Sprintf("%s · %s · allocs/msg", side, sizeName(size)) }
		rowB := func(side string) string { return fmt.Sprintf("%s · %s · bytes/msg", side, sizeName(size)) }

		// Harness baseline: raw client against raw server, both in-process.
		if a, b, err := allocRaw(size, n); err != nil {
			rep.fail("alloc", rowA("server"), "raw", err, fmtCount)
		} else {
			for _, side := range []string{"server", "client"} {
				rep.add("alloc", rowA(side), "raw", a, fmtCount)
				rep.add("alloc", rowB(side), "raw", b, fmtBytes)
			}
		}
		for _, l := range libs {
			if a, b, err := allocServer(l, size, n); err != nil {
				rep.fail("alloc", rowA("server"), l.Name(), err, fmtCount)
			} else {
				rep.add("alloc", rowA("server"), l.Name(), a, fmtCount)
				rep.add("alloc", rowB("server"), l.Name(), b, fmtBytes)
			}
			if a, b, err := allocClient(l, size, n); err != nil {
				rep.fail("alloc", rowA("client"), l.Name(), err, fmtCount)
			} else {
				rep.add("alloc", rowA("client"), l.Name(), a, fmtCount)
				rep.add("alloc", rowB("client"), l.Name(), b, fmtBytes)
			}
		}
		logf("alloc %s done", sizeName(size))
	}
}

// measureAllocs collects garbage, runs rt 200 warm-up times, then n times
// between two MemStats reads, and returns mallocs and bytes allocated per
// call. The warm-up comes after the collection so that the figures are the
// steady state: a collection empties sync.Pools, and a library that keeps
// its buffers there takes them anew on the first messages after one.
func measureAllocs(n int, rt func() error) (float64, float64, error) {
	runtime.GC()
	for i := 0; i < 200; i++ {
		if err := rt(); err != nil {
			return 0, 0, err
		}
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := 0; i < n; i++ {
		if err := rt(); err != nil {
			return 0, 0, err
		}
	}
	runtime.ReadMemStats(&m1)
	return float64(m1.Mallocs-m0.Mallocs) / float64(n), float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n), nil
}

// rawRoundTrip returns a zero-allocation request/response function for the
// raw client.
func rawRoundTrip(c *bench.RawConn, size int) func() error {
	p := make([]byte, size)
	frame := bench.AppendFrame(nil, true, bench.OpBinary, &bench.ClientKey, p)
	return func() error {
		if _, err := c.Write(frame); err != nil {
			return err
		}
		op, _, n, err := c.R.ReadMessage(nil, false)
		if err != nil {
			return err
		}
		if op != bench.OpBinary || n != int64(size) {
			return fmt.Errorf("bad reply: opcode %d, %d bytes", op, n)
		}
		return nil
	}
}

func allocRaw(size, n int) (float64, float64, error) {
	s, err := bench.NewRawEchoServer("127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	c, err := bench.RawDial(s.Addr(), "/echo", 64<<10)
	if err != nil {
		return 0, 0, err
	}
	defer c.CloseNow()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return measureAllocs(n, rawRoundTrip(c, size))
}

func allocServer(l bench.Lib, size, n int) (float64, float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	srv := &http.Server{Handler: l.EchoHandler(), ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	defer srv.Close()
	c, err := bench.RawDial(ln.Addr().String(), "/echo", 64<<10)
	if err != nil {
		return 0, 0, err
	}
	defer c.CloseNow()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return measureAllocs(n, rawRoundTrip(c, size))
}

func allocClient(l bench.Lib, size, n int) (float64, float64, error) {
	s, err := bench.NewRawEchoServer("127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := l.Dial(ctx, "ws://"+s.Addr()+"/echo")
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	msg := make([]byte, size)
	buf := make([]byte, 0, size)
	return measureAllocs(n, func() error {
		out, err := c.RoundTrip(msg, buf)
		if err != nil {
			return err
		}
		if len(out) != size {
			return fmt.Errorf("reply of %d bytes, want %d", len(out), size)
		}
		buf = out
		return nil
	})
}
