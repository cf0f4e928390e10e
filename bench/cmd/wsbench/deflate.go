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
	"strings"
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

// deflateIdleWindow is the mode of the idle benchmark's extra row: context
// takeover with both windows limited to 2^10 by the client's offer.
const deflateIdleWindow bench.DeflateMode = "context takeover, windows 2^10"

// deflateIdleModes are the rows of the idle benchmark.
var deflateIdleModes = []bench.DeflateMode{bench.DeflateNoContext, bench.DeflateContext, deflateIdleWindow}

// deflateIdleSettle is how long the idle benchmark lets connections sit
// before measuring: a library may give compression state back when a
// connection has been idle for a while (wsstd does after 1-2 s).
const deflateIdleSettle = 3 * time.Second

// deflatePath is the child's route for mode (see serve.go).
func deflatePath(m bench.DeflateMode) string {
	if m == bench.DeflateContext || m == deflateIdleWindow {
		return "/deflate/ctx"
	}
	return "/deflate/noctx"
}

// deflateOffer is the raw client's Sec-WebSocket-Extensions offer for mode.
func deflateOffer(m bench.DeflateMode) string {
	switch m {
	case bench.DeflateContext:
		return "permessage-deflate"
	case deflateIdleWindow:
		return "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10"
	}
	return "permessage-deflate; client_no_context_takeover; server_no_context_takeover"
}

// deflater returns l's Deflater, or the reason it cannot run mode.
func deflater(l bench.Lib, m bench.DeflateMode) (bench.Deflater, string) {
	d, ok := l.(bench.Deflater)
	if !ok {
		return nil, "no permessage-deflate in this adapter"
	}
	if m == deflateIdleWindow {
		m = bench.DeflateContext
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
	// 3. Compression ratio.
	benchDeflateRatio(rep, cfg, libs)
	// 4. Idle memory.
	n := cfg.deflateIdleConns
	for _, mode := range deflateIdleModes {
		rowRSS := fmt.Sprintf("%s · RSS delta per conn (%d conns)", mode, n)
		rowHS := fmt.Sprintf("%s · HeapInuse+StackInuse per conn", mode)
		for _, l := range libs {
			if _, why := deflater(l, mode); why != "" {
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
		if err := checkIdleExt(c.Ext, mode); err != nil {
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
	rss, heapStack, _, err = runIdleSettle(name, n, dial, probe, deflateIdleSettle)
	return rss, heapStack, err
}

// checkIdleExt checks the answer to deflateOffer(mode).
func checkIdleExt(ext string, mode bench.DeflateMode) error {
	if mode != deflateIdleWindow {
		return bench.CheckDeflateExt(ext, mode)
	}
	if err := bench.CheckDeflateExt(ext, bench.DeflateContext); err != nil {
		return err
	}
	if !strings.Contains(ext, "server_max_window_bits=10") && !strings.Contains(ext, "server_max_window_bits=9") &&
		!strings.Contains(ext, "server_max_window_bits=8") {
		return fmt.Errorf("server did not limit its window to 2^10 (response %q)", ext)
	}
	return nil
}

// benchDeflateRatio measures the compression ratio of a stream of small
// JSON messages: the bytes on the wire each way (frames, without the
// handshake) over the payload bytes, library client and server of the
// same library in this process.
func benchDeflateRatio(rep *report, cfg config, libs []bench.Lib) {
	count := 2000
	if cfg.quick {
		count = 500
	}
	for _, size := range []int{256, 1 << 10} {
		msgs := make([][]byte, count)
		for i := range msgs {
			msgs[i] = bench.JSONMessageSeed(size, i)
		}
		for _, mode := range bench.DeflateModes {
			rowUp := fmt.Sprintf("%s · %s · client → server", sizeName(size), mode)
			rowDown := fmt.Sprintf("%s · %s · server → client", sizeName(size), mode)
			for _, l := range libs {
				d, why := deflater(l, mode)
				if d == nil {
					rep.na("deflate-ratio", rowUp, l.Name(), why, fmtPct)
					rep.na("deflate-ratio", rowDown, l.Name(), why, fmtPct)
					continue
				}
				up, down, err := runDeflateRatio(d, mode, msgs)
				if rep.deflateErr("deflate-ratio", rowUp, l.Name(), err, fmtPct) {
					rep.deflateErr("deflate-ratio", rowDown, l.Name(), err, fmtPct)
					continue
				}
				rep.add("deflate-ratio", rowUp, l.Name(), up, fmtPct)
				rep.add("deflate-ratio", rowDown, l.Name(), down, fmtPct)
			}
			logf("deflate ratio %s %s done", sizeName(size), mode)
		}
	}
}

func fmtPct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// countingListener counts the bytes its connections read and write.
type countingListener struct {
	net.Listener
	in, out atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.in.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.l.out.Add(int64(n))
	return n, err
}

// runDeflateRatio echoes msgs over one connection through a counting
// listener and returns wire bytes ÷ payload bytes, client to server and
// back. The wrapper hides the socket from libraries that use it directly,
// which changes their speed, not their output.
func runDeflateRatio(d bench.Deflater, mode bench.DeflateMode, msgs [][]byte) (up, down float64, err error) {
	ln0, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	ln := &countingListener{Listener: ln0}
	srv := &http.Server{Handler: d.DeflateEchoHandler(mode), ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, ext, err := d.DeflateDial(ctx, "ws://"+ln.Addr().String()+"/", mode)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	if err := bench.CheckDeflateExt(ext, mode); err != nil {
		return 0, 0, notNegotiated{err}
	}
	// The handshake is done once the client has its response; the server
	// may still be writing nothing more.
	in0, out0 := ln.in.Load(), ln.out.Load()
	var buf []byte
	payload := 0
	for _, m := range msgs {
		out, err := c.RoundTrip(m, buf)
		if err != nil {
			return 0, 0, err
		}
		if !bytes.Equal(out, m) {
			return 0, 0, fmt.Errorf("echo differs (%d bytes, want %d)", len(out), len(m))
		}
		buf = out
		payload += len(m)
	}
	return float64(ln.in.Load()-in0) / float64(payload), float64(ln.out.Load()-out0) / float64(payload), nil
}
