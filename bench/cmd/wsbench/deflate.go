package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsstd/websocket/bench"
)

// The compression section: permessage-deflate echo throughput and
// allocations (library client ↔ library server, both in the driver
// process), and idle memory per compressed connection (raw client ↔
// library server process).

var deflateSizes = []int{1 << 10, 16 << 10}

// deflateIdleVariants are the library/mode pairs of the idle benchmark.
var deflateIdleVariants = []struct {
	lib  string
	mode bench.DeflateMode
}{
	{"gorilla", bench.DeflateNoContext},
	{"wsstd", bench.DeflateNoContext},
	{"wsstd", bench.DeflateContext},
}

// deflatePath is the child's route for mode (see serve.go).
func deflatePath(m bench.DeflateMode) string {
	if m == bench.DeflateContext {
		return "/deflate/ctx"
	}
	return "/deflate/noctx"
}

// deflateOffer is the raw client's Sec-WebSocket-Extensions offer for mode.
func deflateOffer(m bench.DeflateMode) string {
	if m == bench.DeflateContext {
		return "permessage-deflate"
	}
	return "permessage-deflate; client_no_context_takeover; server_no_context_takeover"
}

// deflater returns l's Deflater, or the reason it cannot run mode.
func deflater(l bench.Lib, m bench.DeflateMode) (bench.Deflater, string) {
	d, ok := l.(bench.Deflater)
	if !ok {
		return nil, "no permessage-deflate in this adapter"
	}
	if why := d.DeflateSupport(m); why != "" {
		return nil, why
	}
	return d, ""
}

// notNegotiated marks an error that means "compression was not agreed",
// reported as n/a rather than FAIL.
type notNegotiated struct{ error }

func benchDeflate(rep *report, cfg config, libs []bench.Lib) {
	// 1. Throughput.
	for _, size := range deflateSizes {
		msgs := deflateMessages(size)
		for _, conns := range []int{1, 16} {
			for _, mode := range bench.DeflateModes {
				row := fmt.Sprintf("%s · %d conn · %s", sizeName(size), conns, mode)
				for _, l := range libs {
					d, why := deflater(l, mode)
					if d == nil {
						rep.na("deflate", row, l.Name(), why, fmtRate)
						continue
					}
					v, err := runDeflateEcho(d, mode, msgs, conns, cfg.warm, cfg.dur)
					if !rep.deflateErr("deflate", row, l.Name(), err, fmtRate) {
						rep.add("deflate", row, l.Name(), v, fmtRate).extra = fmtMBs(size)
					}
				}
				logf("deflate echo %s done", row)
			}
		}
	}
	// 2. Allocations.
	for _, size := range deflateSizes {
		msgs := deflateMessages(size)
		n := cfg.allocSmallN / 4
		if size > 1024 {
			n = cfg.allocLargeN / 5
		}
		for _, mode := range bench.DeflateModes {
			rowA := fmt.Sprintf("%s · %s · allocs/msg", sizeName(size), mode)
			rowB := fmt.Sprintf("%s · %s · bytes/msg", sizeName(size), mode)
			for _, l := range libs {
				d, why := deflater(l, mode)
				if d == nil {
					rep.na("deflate-alloc", rowA, l.Name(), why, fmtCount)
					rep.na("deflate-alloc", rowB, l.Name(), why, fmtBytes)
					continue
				}
				a, b, err := allocDeflate(d, mode, msgs, n)
				if !rep.deflateErr("deflate-alloc", rowA, l.Name(), err, fmtCount) {
					rep.add("deflate-alloc", rowA, l.Name(), a, fmtCount)
					rep.add("deflate-alloc", rowB, l.Name(), b, fmtBytes)
				}
			}
			logf("deflate alloc %s %s done", sizeName(size), mode)
		}
	}
	rep.note("deflate-alloc", "Bytes/msg of libraries that pool compressors (sync.Pool) swing from run to run: a GC during the "+
		"window empties the pool and the next message allocates a whole new compressor (hundreds of KiB). Use several rounds.")
	// 3. Idle memory.
	n := cfg.deflateIdleConns
	for _, mode := range bench.DeflateModes {
		rowRSS := fmt.Sprintf("%s · RSS delta per conn (%d conns)", mode, n)
		rowHS := fmt.Sprintf("%s · HeapInuse+StackInuse per conn", mode)
		for _, l := range libs {
			want := false
			for _, v := range deflateIdleVariants {
				want = want || (v.lib == l.Name() && v.mode == mode)
			}
			if !want {
				why := "not measured (gorilla and wsstd only)"
				if _, w := deflater(l, mode); w != "" {
					why = w
				}
				rep.na("deflate-idle", rowRSS, l.Name(), why, fmtBytes)
				rep.na("deflate-idle", rowHS, l.Name(), why, fmtBytes)
				continue
			}
			rss, hs, err := runDeflateIdle(l.Name(), mode, n)
			if rep.deflateErr("deflate-idle", rowRSS, l.Name(), err, fmtBytes) {
				rep.deflateErr("deflate-idle", rowHS, l.Name(), err, fmtBytes)
				continue
			}
			rep.add("deflate-idle", rowRSS, l.Name(), rss, fmtBytes)
			rep.add("deflate-idle", rowHS, l.Name(), hs, fmtBytes)
			logf("deflate idle %s %s: %s RSS/conn, %s heap+stack/conn", l.Name(), mode, fmtBytes(rss), fmtBytes(hs))
		}
	}
}

// deflateErr records err (n/a when compression was not negotiated, FAIL
// otherwise) and reports whether there was one.
func (r *report) deflateErr(sec, row, lib string, err error, format func(float64) string) bool {
	var nn notNegotiated
	switch {
	case err == nil:
		return false
	case errors.As(err, &nn):
		r.na(sec, row, lib, nn.Error(), format)
		logf("%s / %s / %s: n/a: %v", sec, row, lib, err)
	default:
		r.fail(sec, row, lib, err, format)
	}
	return true
}

// deflateMessages returns 16 distinct compressible JSON-like messages of
// size bytes (sent in turn, so context takeover cannot simply replay one).
func deflateMessages(size int) [][]byte {
	out := make([][]byte, 16)
	for i := range out {
		out[i] = bench.JSONMessageSeed(size, i)
	}
	return out
}

// deflatePair starts the library's compressed echo server in-process and
// dials conns library clients to it, checking the negotiated extension.
func deflatePair(d bench.Deflater, mode bench.DeflateMode, conns int) (cs []bench.Client, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: d.DeflateEchoHandler(mode), ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	stop = func() {
		for _, c := range cs {
			c.Close()
		}
		srv.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < conns; i++ {
		c, ext, err := d.DeflateDial(ctx, "ws://"+ln.Addr().String()+"/", mode)
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("dial %d: %w", i+1, err)
		}
		cs = append(cs, c)
		if err := bench.CheckDeflateExt(ext, mode); err != nil {
			stop()
			return nil, nil, notNegotiated{err}
		}
	}
	return cs, stop, nil
}

// runDeflateEcho returns compressed request/response echoes per second.
func runDeflateEcho(d bench.Deflater, mode bench.DeflateMode, msgs [][]byte, conns int, warm, dur time.Duration) (float64, error) {
	cs, stopPair, err := deflatePair(d, mode, conns)
	if err != nil {
		return 0, err
	}
	defer stopPair()
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
			var buf []byte
			for k := i; !stop.Load(); k++ {
				msg := msgs[k%len(msgs)]
				out, err := c.RoundTrip(msg, buf)
				if err == nil && !bytes.Equal(out, msg) {
					err = fmt.Errorf("echo differs (%d bytes, want %d)", len(out), len(msg))
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
	n, el := window(sum, warm, dur)
	stop.Store(true)
	if !waitTimeout(&wg, 15*time.Second) {
		return 0, errors.New("round trips did not finish after stop")
	}
	if firstErr != nil {
		return 0, firstErr
	}
	if n == 0 {
		return 0, errors.New("no round trips during the measurement window")
	}
	return float64(n) / el.Seconds(), nil
}

// allocDeflate measures mallocs and bytes per compressed echo, client and
// server sides together (both run in this process).
func allocDeflate(d bench.Deflater, mode bench.DeflateMode, msgs [][]byte, n int) (float64, float64, error) {
	cs, stop, err := deflatePair(d, mode, 1)
	if err != nil {
		return 0, 0, err
	}
	defer stop()
	c := cs[0]
	var buf []byte
	k := 0
	return measureAllocs(n, func() error {
		msg := msgs[k%len(msgs)]
		k++
		out, err := c.RoundTrip(msg, buf)
		if err != nil {
			return err
		}
		if !bytes.Equal(out, msg) {
			return fmt.Errorf("echo differs (%d bytes, want %d)", len(out), len(msg))
		}
		buf = out
		return nil
	})
}

// runDeflateIdle is runIdle with compression: every raw connection offers
// permessage-deflate in mode, must get it, and exchanges one compressed
// message (so lazily created compressors exist) before going idle.
func runDeflateIdle(name string, mode bench.DeflateMode, n int) (rss, heapStack float64, err error) {
	msg := bench.JSONMessageSeed(1<<10, 0)
	frame := bench.AppendFrame(nil, true, bench.OpText, &bench.ClientKey, bench.Deflate(msg))
	frame[0] |= 0x40 // RSV1: compressed
	dial := func(addr string) (*bench.RawConn, error) {
		c, err := bench.RawDialExt(addr, deflatePath(mode), 1024, deflateOffer(mode))
		if err != nil {
			return nil, err
		}
		if err := bench.CheckDeflateExt(c.Ext, mode); err != nil {
			c.CloseNow()
			return nil, notNegotiated{err}
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		defer c.SetDeadline(time.Time{})
		if _, err := c.Write(frame); err != nil {
			c.CloseNow()
			return nil, err
		}
		op, z, got, err := c.R.ReadDeflateMessage(nil)
		if err == nil && z {
			got, err = bench.Inflate(got) // first message: no history yet
		}
		if err == nil && (op != bench.OpText || !bytes.Equal(got, msg)) {
			err = fmt.Errorf("compressed echo differs (opcode %d, %d bytes)", op, len(got))
		}
		if err != nil {
			c.CloseNow()
			return nil, err
		}
		return c, nil
	}
	probe := func(c *bench.RawConn) error {
		p := []byte("alive?")
		if _, err := c.Write(bench.AppendFrame(nil, true, bench.OpBinary, &bench.ClientKey, p)); err != nil {
			return err
		}
		op, z, got, err := c.R.ReadDeflateMessage(nil)
		if err == nil && (op != bench.OpBinary || (!z && !bytes.Equal(got, p))) {
			err = fmt.Errorf("bad reply (opcode %d, %d bytes)", op, len(got))
		}
		return err
	}
	rss, heapStack, _, err = runIdleWith(name, n, dial, probe)
	return rss, heapStack, err
}
