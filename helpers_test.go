//go:build !js

package websocket

// Helpers shared by the tests of this package: goroutine-leak checks, raw
// frames, raw handshakes on either side, test servers, memory measurement
// and waiting on a condition. Peer processes (Node, Python, Chromium) are
// started by the helpers in peers_test.go.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// ---- goroutine leaks ----

// goroutineStacks returns the stacks of all goroutines by goroutine id.
func goroutineStacks() map[string]string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	m := make(map[string]string)
	for _, g := range strings.Split(string(buf), "\n\n") {
		g = strings.TrimSpace(g)
		rest, ok := strings.CutPrefix(g, "goroutine ")
		if !ok {
			continue
		}
		id, _, _ := strings.Cut(rest, " ")
		m[id] = g
	}
	return m
}

// checkGoroutines fails t if goroutines started during the test are still
// running (after a grace period) once the test and the cleanups registered
// after this call have finished. Call it first in a test. It compares
// goroutine ids, not counts, so that a goroutine of an earlier test ending
// cannot hide one that this test leaked, and it prints the leaked stacks.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := goroutineStacks()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			var leaked []string
			for id, g := range goroutineStacks() {
				if _, ok := before[id]; !ok {
					leaked = append(leaked, g)
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				sort.Strings(leaked)
				t.Errorf("%d goroutine(s) leaked:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(5 * time.Millisecond) // a poll, bounded by the deadline
		}
	})
}

// ---- raw frames ----

// testMaskKey masks every client frame the tests build, so that a frame
// (and a fuzz seed made of frames) is the same bytes on every run.
var testMaskKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// rawFrame encodes one frame of any length, with the RSV bits rsv (in
// their wire positions) and, when mask is set, masked with testMaskKey.
func rawFrame(fin bool, rsv, op byte, mask bool, payload []byte) []byte {
	h := frameHeader{fin: fin, rsv: rsv, opcode: op, masked: mask, length: int64(len(payload))}
	if mask {
		h.key = testMaskKey
	}
	var hdr [maxHeaderLen]byte
	n := putHeader(hdr[:], h)
	out := append(hdr[:n:n], payload...)
	if mask {
		maskBytes(h.key, 0, out[n:])
	}
	return out
}

func closePayload(code StatusCode, reason string) []byte {
	p := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	return append(p, reason...)
}

// readRawFrame reads one frame and returns its header and unmasked payload.
func readRawFrame(r *bufio.Reader) (frameHeader, []byte, error) {
	var b [maxHeaderLen]byte
	if _, err := io.ReadFull(r, b[:2]); err != nil {
		return frameHeader{}, nil, err
	}
	n := headerLen(b[1])
	if _, err := io.ReadFull(r, b[2:n]); err != nil {
		return frameHeader{}, nil, err
	}
	h, _, err := parseHeader(b[:n])
	if err != nil {
		return h, nil, err
	}
	p := make([]byte, h.length)
	if _, err := io.ReadFull(r, p); err != nil {
		return h, nil, err
	}
	if h.masked {
		maskBytes(h.key, 0, p)
	}
	return h, p, nil
}

// hsReadFrame reads one server frame with readRawFrame and returns its
// first header byte (FIN, RSV bits and opcode) and its payload; an error or
// a masked frame fails t.
func hsReadFrame(t *testing.T, r *bufio.Reader) (byte, []byte) {
	t.Helper()
	h, p, err := readRawFrame(r)
	if err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	if h.masked {
		t.Fatalf("server frame is masked")
	}
	b0 := h.rsv | h.opcode
	if h.fin {
		b0 |= finBit
	}
	return b0, p
}

// ---- test servers and raw peers ----

// startServer runs an httptest server whose handler runs fn with each Conn.
func startServer(t *testing.T, u *Upgrader, fn func(*Conn)) *httptest.Server {
	t.Helper()
	u.Handler = fn
	s := httptest.NewServer(u)
	t.Cleanup(s.Close)
	return s
}

func wsURL(s *httptest.Server) string { return "ws" + strings.TrimPrefix(s.URL, "http") }

func echoHandler(c *Conn) {
	for {
		typ, r, err := c.NextReader()
		if err != nil {
			return
		}
		w, err := c.NextWriter(typ)
		if err != nil {
			return
		}
		io.Copy(w, r)
		if w.Close() != nil {
			return
		}
	}
}

// simpleEcho echoes every message with its type until the read fails.
func simpleEcho(c *Conn) {
	for {
		typ, p, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(typ, p); err != nil {
			return
		}
	}
}

// rawDial performs the opening handshake by hand and returns the raw
// connection, positioned after the 101 response.
func rawDial(t *testing.T, s *httptest.Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	return rawDialHeaders(t, s, "")
}

// rawDialHeaders is rawDial with extra request header lines.
func rawDialHeaders(t *testing.T, s *httptest.Server, extra string) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	key := newKey()
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n", s.Listener.Addr(), key, extra)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != computeAccept(key) {
		t.Fatalf("handshake: %s %v", resp.Status, resp.Header)
	}
	return nc, br
}

// rawServer accepts one connection on a loopback listener, answers the
// handshake by hand and hands the raw connection to the test, while the
// zero Dialer is the client.
func rawServer(t *testing.T) (*Conn, net.Conn, *bufio.Reader) {
	t.Helper()
	return rawServerFor(t, &Dialer{}, "")
}

// rawServerDialer is rawServer with the given Dialer as the client.
func rawServerDialer(t *testing.T, d *Dialer) (*Conn, net.Conn, *bufio.Reader) {
	t.Helper()
	return rawServerFor(t, d, "")
}

// rawServerFor is rawServer with a Dialer of the test's choosing: it
// accepts one connection on a loopback listener, answers the handshake by
// hand (adding the header lines extra) and returns our client Conn and the
// raw server end.
func rawServerFor(t *testing.T, d *Dialer, extra string) (*Conn, net.Conn, *bufio.Reader) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type accepted struct {
		nc  net.Conn
		br  *bufio.Reader
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			ch <- accepted{err: err}
			return
		}
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil {
			nc.Close()
			ch <- accepted{err: err}
			return
		}
		fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n", computeAccept(req.Header.Get("Sec-WebSocket-Key")), extra)
		ch <- accepted{nc: nc, br: br}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := d.Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := <-ch
	if a.err != nil {
		t.Fatal(a.err)
	}
	t.Cleanup(func() { c.CloseNow(); a.nc.Close() })
	return c, a.nc, a.br
}

// expectClose reads frames until a close frame and checks its code.
func expectClose(t *testing.T, br *bufio.Reader, want StatusCode) []byte {
	t.Helper()
	for {
		h, p, err := readRawFrame(br)
		if err != nil {
			t.Fatalf("want close frame %d, got read error %v", want, err)
		}
		if h.opcode != opClose {
			continue
		}
		if len(p) < 2 {
			if want == StatusNoStatusReceived {
				return p
			}
			t.Fatalf("close frame without a code, want %d", want)
		}
		if got := StatusCode(binary.BigEndian.Uint16(p)); got != want {
			t.Fatalf("close code %d (%q), want %d", got, p[2:], want)
		}
		return p
	}
}

// expectEOF checks that the peer closed the TCP connection.
func expectEOF(t *testing.T, br *bufio.Reader) {
	t.Helper()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("want TCP close (EOF), got %v", err)
	}
}

// expectTCPClosed reads what the server still sends, allowing only close
// frames, and fails unless the TCP connection ends within timeout.
func expectTCPClosed(t *testing.T, nc net.Conn, br *bufio.Reader, timeout time.Duration) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(timeout))
	for {
		h, p, err := readRawFrame(br)
		if err == io.EOF || errors.Is(err, syscall.ECONNRESET) {
			return
		}
		if err != nil {
			t.Fatalf("want the server to close the TCP connection within %v, got %v", timeout, err)
		}
		if h.opcode != opClose {
			t.Fatalf("want the TCP connection closed, got a frame with opcode %d", h.opcode)
		}
		t.Logf("server sent close %v before closing", p)
	}
}

// handshakeRequest is an opening handshake for host.
func handshakeRequest(host string) string {
	return "GET / HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
		newKey() + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
}

// ---- allocations and memory ----

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// loopbackPair returns two ends of a real TCP connection.
func loopbackPair(t testing.TB) (net.Conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-ch
	return a, b
}

// memInUse returns HeapInuse+StackInuse after two garbage collections (the
// second empties the sync.Pool victim caches).
func memInUse() int64 {
	heap, stack := heapStackInUse()
	return heap + stack
}

// heapStackInUse returns HeapInuse and StackInuse after two garbage
// collections.
func heapStackInUse() (heap, stack int64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse), int64(ms.StackInuse)
}

// memPeak samples HeapInuse+StackInuse until stopped and reports the
// highest value.
type memPeak struct {
	stop chan struct{}
	done chan struct{}
	peak uint64
}

func startMemPeak(every time.Duration) *memPeak {
	m := &memPeak{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(every)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if v := ms.HeapInuse + ms.StackInuse; v > m.peak {
				m.peak = v
			}
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memPeak) Stop() uint64 {
	close(m.stop)
	<-m.done
	return m.peak
}

// ---- waiting for an event ----

// waitGoroutines waits, up to timeout, for the goroutine count to fall to
// before, and reports the count it saw last.
func waitGoroutines(before int, timeout time.Duration) (int, bool) {
	deadline := time.Now().Add(timeout)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return n, true
		}
		if time.Now().After(deadline) {
			return n, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitAfterFuncs waits until every function that context.AfterFunc started
// has returned: once a context is done, what was registered on it (and not
// stopped) has then had its effect.
func waitAfterFuncs(t *testing.T) {
	t.Helper()
	waitFor(t, func() bool {
		for _, g := range goroutineStacks() {
			if strings.Contains(g, "created by context.(*afterFuncCtx)") {
				return false
			}
		}
		return true
	})
}

// countingHandler counts the requests that reach h.
func countingHandler(calls *atomic.Int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		h.ServeHTTP(w, r)
	})
}

// ---- handshakes over raw HTTP (the "hs" helpers) ----

// hsServe starts an httptest.Server with h, closed when the test ends.
func hsServe(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// hsServeTLS is hsServe with TLS.
func hsServeTLS(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func hsAddr(s *httptest.Server) string { return s.Listener.Addr().String() }

func hsCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// hsEcho is an Upgrader that echoes every message until the peer closes.
func hsEcho() *Upgrader {
	return &Upgrader{CloseTimeout: time.Second, Handler: func(c *Conn) {
		for {
			typ, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, p); err != nil {
				return
			}
		}
	}}
}

// hsCheckEcho sends a message on c and expects it back.
func hsCheckEcho(t *testing.T, c *Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	defer c.SetDeadline(time.Time{})
	if err := c.WriteMessage(TextMessage, []byte(msg)); err != nil {
		t.Fatalf("WriteMessage: %v", err)
	}
	typ, p, err := c.ReadMessage()
	if err != nil || typ != TextMessage || string(p) != msg {
		t.Fatalf("ReadMessage = %v, %q, %v; want text %q", typ, p, err, msg)
	}
}

// hsCheckEchoAsIs is hsCheckEcho without setting deadlines, so that a
// deadline left on the socket (by a Dial context, say) makes it fail; a
// Conn that hangs is closed after 5 s.
func hsCheckEchoAsIs(t *testing.T, c *Conn, msg string) {
	t.Helper()
	type result struct {
		typ MessageType
		p   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		if err := c.WriteMessage(TextMessage, []byte(msg)); err != nil {
			done <- result{err: fmt.Errorf("WriteMessage: %w", err)}
			return
		}
		typ, p, err := c.ReadMessage()
		done <- result{typ, p, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		c.CloseNow()
		r = <-done
	}
	if r.err != nil || r.typ != TextMessage || string(r.p) != msg {
		t.Fatalf("echo = %v, %q, %v; want text %q", r.typ, r.p, r.err, msg)
	}
}

// hsRequest builds a raw handshake request: requestLine, then the standard
// header lines (Host, Upgrade, Connection, Sec-WebSocket-Key,
// Sec-WebSocket-Version). mod replaces a standard line by its values (one
// line each; nil or empty removes it) and adds its other entries, in
// sorted order, after the standard lines.
func hsRequest(requestLine, host string, mod map[string][]string) string {
	std := []struct {
		k string
		v []string
	}{
		{"Host", []string{host}},
		{"Upgrade", []string{"websocket"}},
		{"Connection", []string{"Upgrade"}},
		{"Sec-WebSocket-Key", []string{hsKey}},
		{"Sec-WebSocket-Version", []string{"13"}},
	}
	var b strings.Builder
	b.WriteString(requestLine + "\r\n")
	seen := map[string]bool{}
	for _, h := range std {
		vs := h.v
		if m, ok := mod[h.k]; ok {
			vs = m
			seen[h.k] = true
		}
		for _, v := range vs {
			b.WriteString(h.k + ": " + v + "\r\n")
		}
	}
	var extra []string
	for k := range mod {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		for _, v := range mod[k] {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// hsDo writes raw to a new connection to addr and reads the response. The
// body of a non-101 response is read whole.
func hsDo(t *testing.T, addr, raw string) (*http.Response, string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(nc, raw); err != nil {
		t.Fatalf("writing the request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	var body []byte
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, err = io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("reading the response body: %v", err)
		}
	}
	return resp, string(body)
}

// hsCheck101 checks that resp completes the handshake for hsKey.
func hsCheck101(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status = %d, want 101", resp.StatusCode)
	}
	if got := resp.Header.Get("Upgrade"); !strings.EqualFold(got, "websocket") {
		t.Errorf("Upgrade = %q, want websocket", got)
	}
	if !hasToken(resp.Header, "Connection", "upgrade") {
		t.Errorf("Connection = %q, want Upgrade", resp.Header.Values("Connection"))
	}
	if got := resp.Header.Values("Sec-WebSocket-Accept"); len(got) != 1 || got[0] != hsAccept {
		t.Errorf("Sec-WebSocket-Accept = %q, want %q", got, hsAccept)
	}
}

// hsRawServer is a TCP server on loopback that reads one HTTP request per
// connection and hands it to a handler that answers with raw bytes.
type hsRawServer struct {
	addr     string
	accepted atomic.Int32
	requests atomic.Int32
}

func hsNewRawServer(t *testing.T, handle func(nc net.Conn, br *bufio.Reader, req *http.Request)) *hsRawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rs := &hsRawServer{addr: ln.Addr().String()}
	var (
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
		wg     sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			rs.accepted.Add(1)
			mu.Lock()
			if closed {
				nc.Close()
			}
			conns = append(conns, nc)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(5 * time.Second)) // a safety net
				br := bufio.NewReader(nc)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				rs.requests.Add(1)
				handle(nc, br, req)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return rs
}

// hs101 is a correct 101 response to a request with key, plus extra
// header lines.
func hs101(key string, extra ...string) string {
	s := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + computeAccept(key) + "\r\n"
	for _, e := range extra {
		s += e + "\r\n"
	}
	return s + "\r\n"
}

// ---- payloads ----

// loadPattern is the alphabet repeated, for filling load messages cheaply
// (a byte loop is slow under the race detector).
var loadPattern = bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz"), 4096/26+2)
