package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wsstd/websocket/bench"
)

type checkResult struct {
	lib, check string
	err        error
}

// checkAll verifies each library's echo server (raw client against a server
// process) and client (library client against the raw server) before any
// timing, and records failures in the report's correctness table.
func checkAll(cfg config) []checkResult {
	var out []checkResult
	raw, err := startChild("raw")
	if err != nil {
		fatalf("start raw server: %v", err)
	}
	defer raw.stop()
	for _, l := range cfg.libs {
		srv, err := startChild(l.Name())
		if err != nil {
			fatalf("start %s server: %v", l.Name(), err)
		}
		for _, c := range serverChecks {
			err := runServerCheck(srv.addr, c.fn)
			out = append(out, checkResult{lib: l.Name(), check: "server: " + c.name, err: err})
			if err != nil {
				logf("correctness: %s server %s: %v", l.Name(), c.name, err)
			}
		}
		srv.stop()
		for _, cl := range clientsOf([]bench.Lib{l}) {
			for _, size := range []int{16, 16 << 10, 1 << 20} {
				err := clientCheck(cl.dial, raw.addr, size)
				name := "client: binary " + sizeName(size)
				out = append(out, checkResult{lib: cl.name, check: name, err: err})
				if err != nil {
					logf("correctness: %s %s: %v", cl.name, name, err)
				}
			}
		}
	}
	return out
}

type serverCheck struct {
	name string
	fn   func(c *bench.RawConn) error
}

var serverChecks = []serverCheck{
	{"binary 16 B", echoCheck(bench.OpBinary, 16)},
	{"binary 1 KiB", echoCheck(bench.OpBinary, 1<<10)},
	{"binary 16 KiB", echoCheck(bench.OpBinary, 16<<10)},
	{"binary 1 MiB", echoCheck(bench.OpBinary, 1<<20)},
	{"text 1 KiB (UTF-8)", echoCheck(bench.OpText, 1<<10)},
	{"fragmented input (3 frames)", checkFragmented},
	{"3 messages in one write", checkPipelined},
	{"ping → pong with payload", checkPing},
	{"close 1000 → close reply", checkClose},
}

func runServerCheck(addr string, fn func(c *bench.RawConn) error) error {
	c, err := bench.RawDial(addr, "/echo", 64<<10)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return fn(c)
}

func randomKey() *[4]byte {
	var k [4]byte
	rand.Read(k[:])
	return &k
}

func payload(op byte, n int) []byte {
	p := make([]byte, n)
	if op == bench.OpText {
		// Valid UTF-8 mixing 1-, 2- and 3-byte sequences.
		s := strings.Repeat("aé€", n/6+1)
		copy(p, s[:n-(n%6)])
		for i := n - n%6; i < n; i++ {
			p[i] = 'z'
		}
		return p
	}
	rand.Read(p)
	return p
}

func expectEcho(c *bench.RawConn, op byte, want []byte) error {
	gop, got, _, err := c.R.ReadMessage(nil, true)
	if err != nil {
		return err
	}
	if gop != op {
		return fmt.Errorf("opcode %d, want %d", gop, op)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("payload differs (%d bytes, want %d)", len(got), len(want))
	}
	return nil
}

func echoCheck(op byte, n int) func(c *bench.RawConn) error {
	return func(c *bench.RawConn) error {
		p := payload(op, n)
		if _, err := c.Write(bench.AppendFrame(nil, true, op, randomKey(), p)); err != nil {
			return err
		}
		return expectEcho(c, op, p)
	}
}

func checkFragmented(c *bench.RawConn) error {
	p := payload(bench.OpBinary, 5000)
	k := randomKey()
	var b []byte
	b = bench.AppendFrame(b, false, bench.OpBinary, k, p[:1000])
	b = bench.AppendFrame(b, false, bench.OpCont, k, p[1000:1000])
	b = bench.AppendFrame(b, true, bench.OpCont, k, p[1000:])
	if _, err := c.Write(b); err != nil {
		return err
	}
	return expectEcho(c, bench.OpBinary, p)
}

func checkPipelined(c *bench.RawConn) error {
	ps := [][]byte{payload(bench.OpBinary, 10), payload(bench.OpText, 300), payload(bench.OpBinary, 70000)}
	ops := []byte{bench.OpBinary, bench.OpText, bench.OpBinary}
	var b []byte
	for i, p := range ps {
		b = bench.AppendFrame(b, true, ops[i], randomKey(), p)
	}
	if _, err := c.Write(b); err != nil {
		return err
	}
	for i, p := range ps {
		if err := expectEcho(c, ops[i], p); err != nil {
			return fmt.Errorf("message %d: %w", i+1, err)
		}
	}
	return nil
}

func checkPing(c *bench.RawConn) error {
	ping := []byte("ping-payload-42")
	if _, err := c.Write(bench.AppendFrame(nil, true, bench.OpPing, randomKey(), ping)); err != nil {
		return err
	}
	h, err := c.R.ReadHeader()
	if err != nil {
		return err
	}
	if h.Op != bench.OpPong {
		return fmt.Errorf("got opcode %d, want pong", h.Op)
	}
	got := make([]byte, h.Len)
	if err := c.R.ReadFull(got); err != nil {
		return err
	}
	if !bytes.Equal(got, ping) {
		return fmt.Errorf("pong payload %q, want %q", got, ping)
	}
	return echoCheck(bench.OpBinary, 100)(c) // still echoing afterwards
}

func checkClose(c *bench.RawConn) error {
	if _, err := c.Write(bench.AppendFrame(nil, true, bench.OpClose, randomKey(), []byte{0x03, 0xe8})); err != nil {
		return err
	}
	_, _, _, err := c.R.ReadMessage(nil, true)
	var ce *bench.CloseError
	if !errors.As(err, &ce) {
		return fmt.Errorf("want close frame, got %v", err)
	}
	if ce.Code != 1000 {
		return fmt.Errorf("close reply code %d, want 1000", ce.Code)
	}
	// The server must then close the TCP connection.
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.R.ReadHeader(); err == nil {
		return errors.New("data after close reply")
	} else if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
		return errors.New("TCP connection not closed within 3s after close reply")
	}
	return nil
}

func clientCheck(dial func(context.Context, string) (bench.Client, error), addr string, size int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dial(ctx, "ws://"+addr+"/echo")
	if err != nil {
		return err
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		var buf []byte
		for i := 0; i < 3; i++ {
			p := payload(bench.OpBinary, size)
			got, err := c.RoundTrip(p, buf)
			if err != nil {
				done <- err
				return
			}
			if !bytes.Equal(got, p) {
				done <- fmt.Errorf("reply differs (%d bytes, want %d)", len(got), len(p))
				return
			}
			buf = got
		}
		done <- nil
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		return errors.New("timed out")
	}
}
