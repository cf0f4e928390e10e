//go:build unix

package websocket

// Reliability under load, faults and attacks (issue 5): 10,000 concurrent
// connections, slowloris handshakes and frames, size limits on both sides
// of the handshake, a ping flood, peers that vanish, reset, stall or
// half-close, and cross-site WebSocket hijacking tried from a real browser.
//
// Covered elsewhere, not repeated here:
//   - a message over the read limit announced by its header (1009 before
//     any payload): TestReadLimitCheckedFromHeader in conn_test.go;
//   - a server sending a masked frame to our client (1002):
//     TestClientProtocolErrors/"masked server frame" in conn_test.go.
//
// The file is unix-only for the RLIMIT_NOFILE handling of the load test.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// ---- helpers ----

// raiseNOFILE raises the soft RLIMIT_NOFILE to the hard limit and skips the
// test if even that is below need.
func raiseNOFILE(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot read RLIMIT_NOFILE: %v", err)
	}
	if uint64(lim.Cur) < uint64(lim.Max) {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Logf("raising RLIMIT_NOFILE to the hard limit %d: %v", uint64(lim.Max), err)
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
	}
	if uint64(lim.Cur) < need {
		t.Skipf("RLIMIT_NOFILE is %d (hard limit %d); this test needs %d open files: raise the hard limit (ulimit -Hn) to run it",
			uint64(lim.Cur), uint64(lim.Max), need)
	}
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

// countingHandler counts the requests that reach h.
func countingHandler(calls *atomic.Int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		h.ServeHTTP(w, r)
	})
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

// ---- 1. Load: 10,000 concurrent connections ----

// loadEnv, when set, makes TestLoad10kConnections the client side of the
// load test: "<ws-url> <connections> <messages per connection>".
const loadEnv = "WSSTD_LOAD_CLIENT"

// loadStats is what the client process reports, as JSON after its prefix.
type loadStats struct {
	Conns       int     `json:"conns"`
	Dialed      int     `json:"dialed"`
	Sent        int64   `json:"sent"`
	Received    int64   `json:"received"`
	Corrupt     int64   `json:"corrupt"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	HeapDelta   int64   `json:"heap_delta"`
	StackDelta  int64   `json:"stack_delta"`
	DialSecs    float64 `json:"dial_s"`
	EchoSecs    float64 `json:"echo_s"`
	CloseSecs   float64 `json:"close_s"`
	CloseErrors int64   `json:"close_errors"`
	ReaderEnds  int64   `json:"reader_close_1000"`
	Goroutines  [2]int  `json:"goroutines"` // before, after
}

// loadPattern is the alphabet repeated, for filling load messages cheaply
// (a byte loop is slow under the race detector).
var loadPattern = bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz"), 4096/26+2)

// loadMessage is message seq of connection conn: sizes from 1 B to 4 KiB,
// text and binary, with the connection and sequence number inside when
// they fit, so that a lost, corrupted or reordered echo shows.
func loadMessage(conn, seq, k int) (MessageType, []byte) {
	size := 1 + (conn*7919+seq*104729)%4096
	switch seq {
	case 0:
		size = 1
	case k - 1:
		size = 4096
	}
	p := make([]byte, size)
	copy(p, loadPattern[(conn+3*seq)%26:])
	copy(p, fmt.Sprintf("#%d/%d#", conn, seq))
	if seq%2 == 1 {
		return TextMessage, p
	}
	return BinaryMessage, p
}

// TestLoad10kConnections runs 10,000 (1,000 with -short) concurrent
// connections between our Upgrader and our Dialer on loopback. The clients
// run in a child process (this test binary again), since both ends in one
// process would need more open files than a common hard limit of 20,000.
func TestLoad10kConnections(t *testing.T) {
	if spec := os.Getenv(loadEnv); spec != "" {
		runLoadClient(t, spec)
		return
	}
	n, k := 10000, 10
	if raceEnabled() {
		k = 5 // instrumented code is several times slower
	}
	if testing.Short() {
		n = 1000
	}
	raiseNOFILE(t, uint64(n)+512)

	var active, endedClose, endedOther atomic.Int64
	var firstOther atomic.Value
	u := &Upgrader{Handler: func(c *Conn) {
		active.Add(1)
		defer active.Add(-1)
		var err error
		for {
			var typ MessageType
			var p []byte
			typ, p, err = c.ReadMessage()
			if err != nil {
				break
			}
			if err = c.WriteMessage(typ, p); err != nil {
				break
			}
		}
		if CloseStatus(err) == StatusNormalClosure {
			endedClose.Add(1)
		} else {
			endedOther.Add(1)
			firstOther.CompareAndSwap(nil, err.Error())
		}
	}}
	s := httptest.NewServer(u)
	defer s.Close()

	goroutinesBefore := runtime.NumGoroutine()
	heapBefore, stackBefore := heapStackInUse()

	cmd := exec.Command(os.Args[0], "-test.run=^TestLoad10kConnections$", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d", loadEnv, wsURL(s), n, k))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	var all []string
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	processDone := false
	defer func() {
		if !processDone {
			cmd.Process.Kill()
			for range lines {
			}
			<-exited
		}
		if t.Failed() {
			t.Logf("client process stdout:\n%s\nstderr:\n%s", strings.Join(all, "\n"), stderr.String())
		}
	}()
	waitLine := func(prefix string, timeout time.Duration) loadStats {
		t.Helper()
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("client process ended without a %q line", prefix)
				}
				all = append(all, line)
				if strings.HasPrefix(line, prefix) {
					var st loadStats
					if err := json.Unmarshal([]byte(strings.TrimPrefix(line, prefix)), &st); err != nil {
						t.Fatalf("bad line %q: %v", line, err)
					}
					return st
				}
			case <-timer.C:
				t.Fatalf("no %q line from the client process within %v", prefix, timeout)
			}
		}
	}

	dialed := waitLine("LOADCLIENT DIALED ", 5*time.Minute)
	if dialed.Dialed != n || dialed.Errors != 0 {
		t.Fatalf("client: %d of %d connections dialed, %d errors (first: %s)", dialed.Dialed, n, dialed.Errors, dialed.FirstError)
	}
	// Every connection open, none has carried a message yet: the server's
	// handlers wait in ReadMessage.
	heapFresh, stackFresh := heapStackInUse()
	heapFresh -= heapBefore
	stackFresh -= stackBefore
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatalf("telling the client process to go on: %v", err)
	}

	ready := waitLine("LOADCLIENT READY ", 5*time.Minute)
	if ready.Errors != 0 {
		t.Fatalf("client: %d errors (first: %s)", ready.Errors, ready.FirstError)
	}
	if got := u.ActiveConns(); got != n {
		t.Errorf("server: %d live connections while %d are open", got, n)
	}
	if got := active.Load(); got != int64(n) {
		t.Errorf("server: %d handlers running while %d connections are open", got, n)
	}
	heapServer, stackServer := heapStackInUse()
	heapServer -= heapBefore
	stackServer -= stackBefore
	memServer := heapServer + stackServer
	memClient := ready.HeapDelta + ready.StackDelta
	lost := ready.Sent - ready.Received
	if lost != 0 || ready.Corrupt != 0 || ready.Sent != int64(n*k) {
		t.Errorf("messages: sent %d (want %d), received intact and in order %d, corrupt %d, lost %d",
			ready.Sent, n*k, ready.Received, ready.Corrupt, lost)
	}

	closeStart := time.Now()
	if _, err := io.WriteString(stdin, "close\n"); err != nil {
		t.Fatalf("telling the client process to close: %v", err)
	}
	done := waitLine("LOADCLIENT DONE ", 3*time.Minute)
	select {
	case err := <-exited:
		processDone = true
		for line := range lines {
			all = append(all, line)
		}
		if err != nil {
			t.Errorf("client process: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("client process did not exit after closing its connections")
	}
	if done.CloseErrors != 0 || done.ReaderEnds != int64(n) {
		t.Errorf("client: %d Close errors, %d of %d readers saw the close 1000 (first error: %s)",
			done.CloseErrors, done.ReaderEnds, n, done.FirstError)
	}
	deadline := time.Now().Add(30 * time.Second)
	for active.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if a := active.Load(); a != 0 {
		t.Errorf("server: %d handlers still running 30s after the clients closed", a)
	}
	if endedClose.Load() != int64(n) {
		t.Errorf("server: %d handlers ended with close 1000, %d otherwise (first: %v)", endedClose.Load(), endedOther.Load(), firstOther.Load())
	}
	if got, ok := waitGoroutines(goroutinesBefore, 30*time.Second); !ok {
		buf := make([]byte, 1<<16)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("server: %d goroutines before, %d after\n%s", goroutinesBefore, got, buf)
	}
	if got := u.ActiveConns(); got != 0 {
		t.Errorf("server: %d live connections after all closed", got)
	}
	closeTime := time.Since(closeStart)

	perConn := func(b int64) int64 { return b / int64(n) }
	t.Logf("RELIABILITY: connections=%d messages=%d received=%d lost=%d corrupt=%d bytes_per_conn=%d server_bytes_per_conn=%d client_bytes_per_conn=%d (server heap %d + stack %d, client heap %d + stack %d; before any message: server %d + %d, client Conn without a goroutine %d + %d) dial=%.1fs echo=%.1fs close=%.1fs total=%.1fs goroutines_server=%d->%d goroutines_client=%d->%d race=%v",
		n, ready.Sent, ready.Received, lost, ready.Corrupt,
		perConn(memServer+memClient), perConn(memServer), perConn(memClient),
		perConn(heapServer), perConn(stackServer), perConn(ready.HeapDelta), perConn(ready.StackDelta),
		perConn(heapFresh), perConn(stackFresh), perConn(dialed.HeapDelta), perConn(dialed.StackDelta),
		ready.DialSecs, ready.EchoSecs, closeTime.Seconds(), time.Since(start).Seconds(),
		goroutinesBefore, runtime.NumGoroutine(), done.Goroutines[0], done.Goroutines[1], raceEnabled())
}

// runLoadClient is the client process of TestLoad10kConnections.
func runLoadClient(t *testing.T, spec string) {
	var target string
	var n, k int
	if _, err := fmt.Sscanf(spec, "%s %d %d", &target, &n, &k); err != nil || n <= 0 || k <= 0 {
		t.Fatalf("bad %s=%q: %v", loadEnv, spec, err)
	}
	raiseNOFILE(t, uint64(n)+256)
	const (
		dialers    = 64  // handshakes under way at once
		exchangers = 256 // connections exchanging messages at once
		ioTimeout  = 2 * time.Minute
	)
	st := loadStats{Conns: n}
	var errs, sent, received, corrupt atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		errs.Add(1)
		firstErr.CompareAndSwap(nil, err.Error())
	}
	report := func(prefix string) {
		st.Errors = errs.Load()
		if v := firstErr.Load(); v != nil {
			st.FirstError = v.(string)
		}
		st.Sent, st.Received, st.Corrupt = sent.Load(), received.Load(), corrupt.Load()
		b, _ := json.Marshal(st)
		fmt.Fprintf(os.Stdout, "%s%s\n", prefix, b)
	}
	// The parent's words ("go", "close") arrive on stdin; EOF means it is
	// gone, and the test ends as if told to close.
	words := make(chan string, 2)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			words <- sc.Text()
		}
		close(words)
	}()
	goroutinesBefore := runtime.NumGoroutine()
	heapBefore, stackBefore := heapStackInUse()
	waitWord := func(want string) {
		select {
		case w := <-words:
			if w != want && w != "" {
				t.Errorf("parent said %q, want %q", w, want)
			}
		case <-time.After(5 * time.Minute):
			t.Errorf("no %q from the parent within 5 minutes", want)
		}
	}

	// Dial, dialers at a time.
	conns := make([]*Conn, n)
	start := time.Now()
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < dialers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var d Dialer
			for i := range next {
				ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
				c, _, err := d.Dial(ctx, target, nil)
				cancel()
				if err != nil {
					fail(fmt.Errorf("dial %d: %w", i, err))
					continue
				}
				conns[i] = c
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	st.DialSecs = time.Since(start).Seconds()
	for _, c := range conns {
		if c != nil {
			st.Dialed++
		}
	}
	if st.Dialed != n {
		report("LOADCLIENT DIALED ")
		for _, c := range conns {
			if c != nil {
				c.CloseNow()
			}
		}
		t.Fatalf("%d of %d connections dialed", st.Dialed, n)
	}
	heap, stack := heapStackInUse()
	st.HeapDelta, st.StackDelta = heap-heapBefore, stack-stackBefore
	report("LOADCLIENT DIALED ")
	waitWord("go")

	// All connections open: each exchanges k messages, exchangers
	// connections at a time, then waits in ReadMessage, idle, for the
	// close.
	start = time.Now()
	readerEnds := make(chan error, n)
	sem := make(chan struct{}, exchangers)
	for i, c := range conns {
		wg.Add(1)
		go func(i int, c *Conn) {
			sem <- struct{}{}
			c.SetDeadline(time.Now().Add(ioTimeout))
			ok := true
			for seq := 0; seq < k && ok; seq++ {
				typ, p := loadMessage(i, seq, k)
				if err := c.WriteMessage(typ, p); err != nil {
					fail(fmt.Errorf("conn %d write %d: %w", i, seq, err))
					ok = false
					break
				}
				sent.Add(1)
				gt, got, err := c.ReadMessage()
				switch {
				case err != nil:
					fail(fmt.Errorf("conn %d read %d: %w", i, seq, err))
					ok = false
				case gt != typ || !bytes.Equal(got, p):
					corrupt.Add(1)
				default:
					received.Add(1)
				}
			}
			c.SetDeadline(time.Time{})
			<-sem
			wg.Done()
			if !ok {
				c.CloseNow()
				readerEnds <- errors.New("exchange failed")
				return
			}
			_, _, err := c.ReadMessage()
			readerEnds <- err
		}(i, c)
	}
	wg.Wait()
	st.EchoSecs = time.Since(start).Seconds()
	heap, stack = heapStackInUse()
	st.HeapDelta, st.StackDelta = heap-heapBefore, stack-stackBefore
	report("LOADCLIENT READY ")
	waitWord("close")

	start = time.Now()
	var closeErrs atomic.Int64
	idx := make(chan int)
	for w := 0; w < dialers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				if err := conns[i].Close(); err != nil {
					closeErrs.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("close %d: %v", i, err))
				}
			}
		}()
	}
	for i := range conns {
		idx <- i
	}
	close(idx)
	wg.Wait()
	timeout := time.After(time.Minute)
	for i := 0; i < n; i++ {
		select {
		case err := <-readerEnds:
			if CloseStatus(err) == StatusNormalClosure {
				st.ReaderEnds++
			} else {
				firstErr.CompareAndSwap(nil, fmt.Sprintf("reader ended with %v", err))
			}
		case <-timeout:
			t.Errorf("%d readers still running a minute after Close", n-i)
			i = n
		}
	}
	st.CloseSecs = time.Since(start).Seconds()
	st.CloseErrors = closeErrs.Load()
	after, ok := waitGoroutines(goroutinesBefore, 30*time.Second)
	st.Goroutines = [2]int{goroutinesBefore, after}
	if !ok {
		t.Errorf("%d goroutines before, %d after closing", goroutinesBefore, after)
	}
	report("LOADCLIENT DONE ")
}

// ---- 2. Slowloris ----

// A handshake that dribbles in a byte every 100 ms is cut off by the
// http.Server's ReadHeaderTimeout; our Upgrader never runs.
func TestSlowlorisHandshake(t *testing.T) {
	checkGoroutines(t)
	var calls atomic.Int64
	u := &Upgrader{Handler: func(c *Conn) { t.Error("handler ran for a slowloris handshake") }}
	s := httptest.NewUnstartedServer(countingHandler(&calls, u))
	s.Config.ReadHeaderTimeout = 500 * time.Millisecond
	s.Start()
	defer s.Close()

	start := time.Now()
	nc, err := net.Dial("tcp", s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := handshakeRequest(s.Listener.Addr().String())
	stop := make(chan struct{})
	dribbled := make(chan int, 1)
	go func() {
		n := 0
		defer func() { dribbled <- n }()
		for i := 0; i < len(req); i++ {
			if _, err := nc.Write([]byte{req[i]}); err != nil {
				return
			}
			n++
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(nc)
	elapsed := time.Since(start)
	close(stop)
	n := <-dribbled
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after %v: want the server to close the connection, got %v", elapsed, err)
	}
	t.Logf("server closed the connection after %v, %d of %d request bytes sent; it answered %q", elapsed.Round(time.Millisecond), n, len(req), got)
	if elapsed < 400*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("connection closed after %v, want about 500ms (ReadHeaderTimeout)", elapsed)
	}
	if c := calls.Load(); c != 0 {
		t.Errorf("%d requests reached the handler", c)
	}
}

// Partial frames after the upgrade: the handler's read deadline fires,
// the read fails with a timeout, the connection is closed, the handler
// goroutine ends.
func TestSlowlorisFrame(t *testing.T) {
	hdr := func(length int64) []byte {
		var b [maxHeaderLen]byte
		n := putHeader(b[:], frameHeader{fin: true, opcode: opBinary, masked: true, key: newMaskKey(), length: length})
		return b[:n]
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"header byte", hdr(10)[:1]},
		{"header without its mask key", hdr(10)[:4]},
		{"payload 10 of 1000", append(hdr(1000), make([]byte, 10)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			type result struct {
				err     error
				elapsed time.Duration
			}
			res := make(chan result, 1)
			s := startServer(t, &Upgrader{}, func(c *Conn) {
				start := time.Now()
				c.SetReadDeadline(start.Add(500 * time.Millisecond))
				_, _, err := c.ReadMessage()
				res <- result{err, time.Since(start)}
			})
			nc, br := rawDial(t, s)
			if _, err := nc.Write(tc.data); err != nil {
				t.Fatal(err)
			}
			var r result
			select {
			case r = <-res:
			case <-time.After(5 * time.Second):
				t.Fatal("handler's read did not return within 5s")
			}
			var ne net.Error
			if !errors.As(r.err, &ne) || !ne.Timeout() {
				t.Fatalf("read returned %v, want a timeout", r.err)
			}
			if r.elapsed < 450*time.Millisecond || r.elapsed > 2*time.Second {
				t.Errorf("read timed out after %v, want about 500ms", r.elapsed)
			}
			expectTCPClosed(t, nc, br, 2*time.Second)
		})
	}
}

// ---- 3. Limits ----

// Frame lengths that would overflow the message size, or pass the limit
// in a header the peer never follows with payload, fail at once with 1009.
func TestLimitFrameLengths(t *testing.T) {
	const maxLen = 1<<63 - 1
	hdr := func(fin bool, op byte, length int64) []byte {
		var b [maxHeaderLen]byte
		n := putHeader(b[:], frameHeader{fin: fin, opcode: op, masked: true, key: newMaskKey(), length: length})
		return b[:n]
	}
	for _, tc := range []struct {
		name  string
		limit int64
		data  []byte
	}{
		{"largest 63-bit length", 0, hdr(true, opBinary, maxLen)},
		{"continuation overflowing the message size", 0, append(rawFrame(false, 0, opBinary, true, make([]byte, 10)), hdr(true, opContinuation, maxLen)...)},
		{"continuation announcing the limit plus one", 1000, append(rawFrame(false, 0, opText, true, make([]byte, 500)), hdr(true, opContinuation, 501)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			errc := make(chan error, 1)
			s := startServer(t, &Upgrader{ReadLimit: tc.limit}, func(c *Conn) {
				_, _, err := c.ReadMessage()
				errc <- err
			})
			nc, br := rawDial(t, s)
			nc.Write(tc.data)
			expectClose(t, br, StatusMessageTooBig)
			var pe *ProtocolError
			if err := <-errc; !errors.As(err, &pe) || pe.Code != StatusMessageTooBig {
				t.Fatalf("handler got %v, want *ProtocolError 1009", err)
			}
			expectEOF(t, br)
		})
	}
}

// Our client checks a server frame's announced length against its read
// limit before any payload arrives.
func TestLimitOversizedFrameToClient(t *testing.T) {
	checkGoroutines(t)
	c, nc, br := rawServer(t)
	c.SetReadLimit(1 << 20)
	var b [maxHeaderLen]byte
	n := putHeader(b[:], frameHeader{fin: true, opcode: opBinary, length: 1 << 40})
	nc.Write(b[:n])
	start := time.Now()
	_, _, err := c.ReadMessage()
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Code != StatusMessageTooBig {
		t.Fatalf("got %v, want *ProtocolError 1009", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	h, p, err := readRawFrame(br)
	if err != nil || h.opcode != opClose || !h.masked || StatusCode(binary.BigEndian.Uint16(p)) != StatusMessageTooBig {
		t.Fatalf("client sent %+v %q %v, want a masked close 1009", h, p, err)
	}
	expectEOF(t, br)
}

// A handshake with more than 1 MiB of headers is refused by net/http with
// 431 before our Upgrader sees it.
func TestLimitHugeHandshakeHeaders(t *testing.T) {
	for _, max := range []int{64 << 10, 0} { // 0: http.DefaultMaxHeaderBytes (1 MiB)
		t.Run(fmt.Sprintf("MaxHeaderBytes=%d", max), func(t *testing.T) {
			checkGoroutines(t)
			var calls atomic.Int64
			u := &Upgrader{Handler: func(c *Conn) { t.Error("handler ran") }}
			s := httptest.NewUnstartedServer(countingHandler(&calls, u))
			s.Config.MaxHeaderBytes = max
			s.Start()
			defer s.Close()

			nc, err := net.Dial("tcp", s.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			req := handshakeRequest(s.Listener.Addr().String())
			req = strings.TrimSuffix(req, "\r\n")
			pad := strings.Repeat("x", 1000)
			var b strings.Builder
			b.WriteString(req)
			for i := 0; b.Len() < 2<<20; i++ {
				fmt.Fprintf(&b, "X-Pad-%d: %s\r\n", i, pad)
			}
			b.WriteString("\r\n")
			wrote := make(chan error, 1)
			go func() {
				_, err := io.WriteString(nc, b.String())
				wrote <- err
			}()
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatalf("reading the response: %v", err)
			}
			resp.Body.Close()
			nc.Close()
			<-wrote
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Fatalf("status %s, want 431", resp.Status)
			}
			if c := calls.Load(); c != 0 {
				t.Errorf("%d requests reached the handler", c)
			}
		})
	}
}

// A server (or proxy) that answers with an endless handshake response:
// Dial must fail within its context's deadline without buffering the flood.
func TestLimitDialEndlessResponse(t *testing.T) {
	const (
		floodCap   = 8 << 20 // the raw server stops after this much
		allowedMem = 4 << 20 // what Dial may allocate meanwhile
		ctxTimeout = 1500 * time.Millisecond
	)
	for _, tc := range []struct {
		name         string
		start, chunk string
		proxy        bool // the raw server is an HTTP proxy answering CONNECT
	}{
		{"endless status line", "HTTP/1.1 101 ", "Switching", false},
		{"endless header line", "HTTP/1.1 101 Switching Protocols\r\nX-Endless: ", "aaaaaaaa", false},
		{"endless header lines", "HTTP/1.1 101 Switching Protocols\r\n", "X-A: b\r\n", false},
		{"proxy CONNECT with endless header line", "HTTP/1.1 200 Connection established\r\nX-Endless: ", "aaaaaaaa", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var written atomic.Int64
			served := make(chan struct{})
			go func() {
				defer close(served)
				nc, err := ln.Accept()
				if err != nil {
					return
				}
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := http.ReadRequest(bufio.NewReader(nc)); err != nil {
					return
				}
				io.WriteString(nc, tc.start)
				chunk := []byte(strings.Repeat(tc.chunk, (64<<10)/len(tc.chunk)))
				for written.Load() < floodCap {
					n, err := nc.Write(chunk)
					written.Add(int64(n))
					if err != nil {
						return
					}
				}
				io.Copy(io.Discard, nc) // until the client goes
			}()

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			ctx, cancel := context.WithTimeout(context.Background(), ctxTimeout)
			defer cancel()
			start := time.Now()
			var d Dialer
			target := "ws://" + ln.Addr().String() + "/"
			if tc.proxy {
				proxy := &url.URL{Scheme: "http", Host: ln.Addr().String()}
				d.Proxy = func(*http.Request) (*url.URL, error) { return proxy, nil }
				target = "ws://backend.example/"
			}
			c, _, err := d.Dial(ctx, target, nil)
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if err == nil {
				c.CloseNow()
				t.Fatal("Dial succeeded")
			}
			<-served
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("Dial failed after %v with %v; the server sent %d bytes, Dial allocated %d bytes",
				elapsed.Round(time.Millisecond), err, written.Load(), alloc)
			if elapsed > ctxTimeout+time.Second {
				t.Errorf("Dial returned after %v, beyond its context's deadline of %v", elapsed, ctxTimeout)
			}
			if alloc > allowedMem {
				t.Errorf("Dial allocated %d MiB reading a handshake response that never ends (the server sent %d MiB): "+
					"http.ReadResponse does not bound the status line or headers; read the response through a size-limited reader",
					alloc>>20, written.Load()>>20)
			}
		})
	}
}

// ---- 4. Ping flood ----

// A client sends 100,000 pings as fast as it can without reading the
// pongs for a second. The server's memory stays bounded and a message sent
// after the flood is echoed. With 125-byte pings the pongs (12 MiB) do not
// fit in the socket buffers, so the server's reader blocks on them.
func TestPingFloodServerMemory(t *testing.T) {
	pings := 100000
	if testing.Short() {
		pings = 20000
	}
	const maxGrowth = 10 << 20
	for _, size := range []int{8, maxControlPayload} {
		t.Run(fmt.Sprintf("payload=%d", size), func(t *testing.T) {
			checkGoroutines(t)
			s := startServer(t, &Upgrader{}, simpleEcho)
			nc, br := rawDial(t, s)
			nc.SetDeadline(time.Now().Add(60 * time.Second))

			var flood bytes.Buffer
			payload := make([]byte, size)
			copy(payload, loadPattern)
			for i := 0; i < pings; i++ {
				copy(payload, fmt.Sprintf("p%07d", i))
				flood.Write(rawFrame(true, 0, opPing, true, payload))
			}
			msg := []byte("after the flood")
			flood.Write(rawFrame(true, 0, opText, true, msg))
			floodBytes := flood.Len()

			base := memInUse()
			peak := startMemPeak(5 * time.Millisecond)
			start := time.Now()
			wrote := make(chan error, 1)
			go func() {
				_, err := nc.Write(flood.Bytes())
				wrote <- err
			}()
			time.Sleep(time.Second) // not reading
			var pongs int
			var h frameHeader
			var p []byte
			var err error
			var hb [maxHeaderLen]byte
			for {
				if _, err = io.ReadFull(br, hb[:2]); err != nil {
					break
				}
				n := headerLen(hb[1])
				if _, err = io.ReadFull(br, hb[2:n]); err != nil {
					break
				}
				if h, _, err = parseHeader(hb[:n]); err != nil {
					break
				}
				if h.opcode == opPong {
					pongs++
					if _, err = br.Discard(int(h.length)); err != nil {
						break
					}
					continue
				}
				p = make([]byte, h.length)
				_, err = io.ReadFull(br, p)
				break
			}
			elapsed := time.Since(start)
			peakInUse := peak.Stop()
			if err != nil {
				t.Fatalf("after %d pongs: %v", pongs, err)
			}
			if werr := <-wrote; werr != nil {
				t.Fatalf("writing the flood: %v", werr)
			}
			if h.opcode != opText || !bytes.Equal(p, msg) {
				t.Fatalf("after %d pongs got opcode %d %q, want the echo %q", pongs, h.opcode, p, msg)
			}
			growth := int64(peakInUse) - base
			t.Logf("RELIABILITY: ping_flood pings=%d payload=%d bytes=%d pongs=%d mem_growth_peak=%d echo_after=%v",
				pings, size, floodBytes, pongs, growth, elapsed.Round(time.Millisecond))
			if growth > maxGrowth {
				t.Errorf("heap+stack in use grew by %d bytes during the flood, want < %d", growth, maxGrowth)
			}
			if pongs > pings {
				t.Errorf("%d pongs for %d pings", pongs, pings)
			}
			nc.Write(rawFrame(true, 0, opClose, true, closePayload(StatusNormalClosure, "")))
			expectClose(t, br, StatusNormalClosure)
		})
	}
}

// ---- 5. Close ----

// A peer sends a close frame and goes at once, with a FIN or a RST. The
// handler's read returns the *CloseError, writes after it return ErrClosed,
// and no goroutine is left.
func TestFaultCloseThenVanish(t *testing.T) {
	for _, reset := range []bool{false, true} {
		name := "FIN"
		if reset {
			name = "RST"
		}
		t.Run(name, func(t *testing.T) {
			if reset && runtime.GOOS != "linux" {
				t.Skip("relies on Linux keeping received data readable after a RST")
			}
			checkGoroutines(t)
			type result struct {
				read                     error
				write, next, ping, close error
			}
			res := make(chan result, 1)
			gone := make(chan struct{})
			s := startServer(t, &Upgrader{}, func(c *Conn) {
				<-gone // the peer has sent its close and gone
				time.Sleep(50 * time.Millisecond)
				var r result
				_, _, r.read = c.ReadMessage()
				r.write = c.WriteMessage(TextMessage, []byte("too late"))
				if w, err := c.NextWriter(BinaryMessage); err != nil {
					r.next = err
				} else {
					w.Write([]byte("too late"))
					r.next = w.Close()
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				r.ping = c.Ping(ctx, []byte("x"))
				cancel()
				r.close = c.Close()
				res <- r
			})
			nc, _ := rawDial(t, s)
			nc.Write(rawFrame(true, 0, opClose, true, closePayload(4002, "gone")))
			if reset {
				nc.(*net.TCPConn).SetLinger(0)
			}
			nc.Close()
			close(gone)
			r := <-res
			var ce *CloseError
			if !errors.As(r.read, &ce) || ce.Code != 4002 || ce.Reason != "gone" {
				t.Errorf("read returned %v, want *CloseError 4002 \"gone\"", r.read)
			}
			for _, e := range []struct {
				op  string
				err error
			}{{"WriteMessage", r.write}, {"NextWriter+Close", r.next}, {"Ping", r.ping}, {"Close", r.close}} {
				if !errors.Is(e.err, ErrClosed) {
					t.Errorf("%s after the peer's close: %v, want ErrClosed", e.op, e.err)
				}
			}
		})
	}
}

// ---- 6. Faults mid-stream ----

// One client among many is reset (RST) in the middle of its echo loop;
// the others are unaffected and the reset connection's handler ends.
func TestFaultResetAmongMany(t *testing.T) {
	checkGoroutines(t)
	const others, rounds = 16, 200
	type ended struct {
		remote string
		err    error
	}
	ends := make(chan ended, others+1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		var err error
		for {
			var typ MessageType
			var p []byte
			if typ, p, err = c.ReadMessage(); err != nil {
				break
			}
			if err = c.WriteMessage(typ, p); err != nil {
				break
			}
		}
		ends <- ended{c.RemoteAddr().String(), err}
	})

	var victimTCP *net.TCPConn
	d := &Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var nd net.Dialer
		nc, err := nd.DialContext(ctx, network, addr)
		if err == nil {
			victimTCP = nc.(*net.TCPConn)
		}
		return nc, err
	}}
	victim, _, err := d.Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	victimAddr := victimTCP.LocalAddr().String()

	var progress atomic.Int64
	echoLoop := func(c *Conn, id, n int) error {
		c.SetDeadline(time.Now().Add(30 * time.Second))
		for i := 0; i < n; i++ {
			msg := []byte(fmt.Sprintf("client %d message %d", id, i))
			if err := c.WriteMessage(BinaryMessage, msg); err != nil {
				return err
			}
			_, got, err := c.ReadMessage()
			if err != nil {
				return err
			}
			if !bytes.Equal(got, msg) {
				return fmt.Errorf("echo %q, want %q", got, msg)
			}
			progress.Add(1)
		}
		return nil
	}
	clients := make([]*Conn, others)
	for i := range clients {
		if clients[i], _, err = Dial(context.Background(), wsURL(s), nil); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, others)
	for i, c := range clients {
		go func(i int, c *Conn) { errs <- echoLoop(c, i, rounds) }(i, c)
	}
	victimErr := make(chan error, 1)
	go func() { victimErr <- echoLoop(victim, -1, 1<<30) }()

	deadline := time.Now().Add(30 * time.Second)
	for progress.Load() < others*rounds/4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	victimTCP.SetLinger(0)
	victimTCP.Close()
	if err := <-victimErr; err == nil {
		t.Error("the reset client's echo loop ended without an error")
	}
	victim.CloseNow()
	for i := 0; i < others; i++ {
		if err := <-errs; err != nil {
			t.Errorf("a client not reset failed: %v", err)
		}
	}
	timeout := time.After(10 * time.Second)
	select {
	case e := <-ends:
		if e.remote != victimAddr {
			t.Errorf("first handler to end served %s, not the reset client %s (error %v)", e.remote, victimAddr, e.err)
		}
		var ce *CloseError
		if e.err == nil || errors.As(e.err, &ce) {
			t.Errorf("reset connection's handler ended with %v, want a read error", e.err)
		}
		t.Logf("reset connection's handler ended with: %v", e.err)
	case <-timeout:
		t.Fatal("the reset connection's handler did not end within 10s")
	}
	closeErrs := make(chan error, others)
	for _, c := range clients {
		go func(c *Conn) { closeErrs <- c.Close() }(c)
	}
	for range clients {
		if err := <-closeErrs; err != nil {
			t.Errorf("closing a client: %v", err)
		}
	}
	for i := 0; i < others; i++ {
		select {
		case e := <-ends:
			if CloseStatus(e.err) != StatusNormalClosure {
				t.Errorf("handler for %s ended with %v", e.remote, e.err)
			}
		case <-timeout:
			t.Fatal("handlers still running 10s after their clients closed")
		}
	}
}

// A peer that stops reading: the server's writer, with a write deadline,
// gets a timeout within bounds; another connection keeps echoing.
func TestFaultStalledReader(t *testing.T) {
	checkGoroutines(t)
	const writeTimeout = time.Second
	type result struct {
		err     error
		elapsed time.Duration
		sent    int
	}
	stalled := make(chan result, 1)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		if c.Request().URL.Path == "/echo" {
			simpleEcho(c)
			return
		}
		big := make([]byte, 256<<10)
		start := time.Now()
		c.SetWriteDeadline(start.Add(writeTimeout))
		var r result
		for r.sent < 400 { // 100 MiB at most
			if r.err = c.WriteMessage(BinaryMessage, big); r.err != nil {
				break
			}
			r.sent++
		}
		r.elapsed = time.Since(start)
		stalled <- r
	})
	echo, _, err := Dial(context.Background(), wsURL(s)+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	nc, br := rawDial(t, s) // never reads until the end

	var r result
	var rounds int
	var slowest time.Duration
	deadline := time.After(10 * time.Second)
loop:
	for rounds < 100000 {
		select {
		case r = <-stalled:
			break loop
		case <-deadline:
			t.Fatal("the stalled writer did not return within 10s")
		default:
		}
		start := time.Now()
		msg := []byte(fmt.Sprint("round ", rounds))
		if err := echo.WriteMessage(TextMessage, msg); err != nil {
			t.Fatal(err)
		}
		if _, got, err := echo.ReadMessage(); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo during the stall: %q %v", got, err)
		}
		slowest = max(slowest, time.Since(start))
		rounds++
	}
	var ne net.Error
	if !errors.As(r.err, &ne) || !ne.Timeout() {
		t.Fatalf("stalled writer got %v after %d messages, want a timeout", r.err, r.sent)
	}
	t.Logf("stalled writer: timeout after %v and %d messages of 256 KiB; meanwhile %d echoes on another connection, slowest %v",
		r.elapsed.Round(time.Millisecond), r.sent, rounds, slowest.Round(time.Microsecond))
	if r.elapsed < writeTimeout || r.elapsed > writeTimeout+2*time.Second {
		t.Errorf("write timed out after %v, want about %v", r.elapsed, writeTimeout)
	}
	if rounds == 0 || slowest > 2*time.Second {
		t.Errorf("other connection: %d echoes during the stall, slowest %v", rounds, slowest)
	}
	// The failed connection is closed: the peer reads what was buffered, then EOF.
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, br); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("stalled peer: want the connection closed, got %v", err)
	}
	if err := echo.WriteMessage(TextMessage, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := echo.ReadMessage(); err != nil || string(got) != "still here" {
		t.Fatalf("echo after the stall: %q %v", got, err)
	}
}

// A client that half-closes its socket (FIN, still reading): the server's
// read fails with an unexpected EOF, the server closes, its handler ends.
func TestFaultHalfClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"between messages", rawFrame(true, 0, opText, true, []byte("whole"))},
		{"inside a frame", rawFrame(true, 0, opText, true, []byte("cut short"))[:8]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			errc := make(chan error, 1)
			s := startServer(t, &Upgrader{}, func(c *Conn) {
				var err error
				for err == nil {
					_, _, err = c.ReadMessage()
				}
				errc <- err
			})
			nc, br := rawDial(t, s)
			nc.Write(tc.data)
			if err := nc.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-errc:
				if !errors.Is(err, io.ErrUnexpectedEOF) || CloseStatus(err) != -1 {
					t.Fatalf("handler's read returned %v, want an unexpected EOF", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("handler's read did not return within 5s of the half-close")
			}
			expectTCPClosed(t, nc, br, 2*time.Second)
		})
	}
}

// ---- 7. Cross-site WebSocket hijacking, in Chromium ----

// hijackPage is served by server A. It opens a WebSocket to server B
// (cross-origin: another port) and one to A's own /ws (same origin).
const hijackPage = `<!doctype html>
<meta charset="utf-8">
<title>cross-site WebSocket hijacking</title>
<script>
'use strict';
function attempt(url) {
  return new Promise((resolve) => {
    const r = { url, opened: false, error: false, code: null, echo: null };
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      r.exception = String(e);
      resolve(r);
      return;
    }
    const timer = setTimeout(() => { r.timeout = true; try { ws.close(); } catch (e) {} resolve(r); }, 15000);
    ws.onopen = () => { r.opened = true; ws.send('hello from ' + location.origin); };
    ws.onmessage = (e) => { r.echo = e.data; ws.close(1000, 'done'); };
    ws.onerror = () => { r.error = true; };
    ws.onclose = (e) => { r.code = e.code; clearTimeout(timer); resolve(r); };
  });
}
const cross = new URLSearchParams(location.search).get('cross');
Promise.all([attempt(cross), attempt('ws://' + location.host + '/ws')]).then(([cross, same]) => {
  window.testResult = { ok: !cross.opened && same.opened, origin: location.origin, cross, same };
  window.testDone = true;
});
</script>
`

// statusRecorder records the status a handler answers with; Unwrap lets
// the Upgrader hijack through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func TestHijackCrossSiteChromium(t *testing.T) {
	t.Parallel()
	requirePeer(t, peerChromium, peerInstallHint)

	type seen struct {
		origin   string
		status   int
		upgraded bool
	}
	var mu sync.Mutex
	var seenA, seenB []seen
	record := func(list *[]seen, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &statusRecorder{ResponseWriter: w}
			h.ServeHTTP(rec, r)
			mu.Lock()
			*list = append(*list, seen{origin: r.Header.Get("Origin"), status: rec.status, upgraded: rec.status == 0})
			mu.Unlock()
		})
	}
	echoed := make(chan string, 4)
	echoUpgrader := func() *Upgrader { // the default Origin policy
		return &Upgrader{Handler: func(c *Conn) {
			typ, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			echoed <- string(p)
			c.WriteMessage(typ, p)
			c.ReadMessage()
		}}
	}
	b := httptest.NewServer(record(&seenB, echoUpgrader()))
	defer b.Close()
	muxA := http.NewServeMux()
	muxA.Handle("/ws", record(&seenA, echoUpgrader()))
	muxA.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, hijackPage)
	})
	a := httptest.NewServer(muxA)
	defer a.Close()

	page := a.URL + "/?cross=" + url.QueryEscape(wsURL(b)+"/ws")
	lines, runErr := runPeer(t, peerBrowserLimit, "browser.js", "node", "browser.js", page, fmt.Sprintf("--timeout=%d", peerPageTimeout))
	var last string
	for _, l := range lines {
		if strings.HasPrefix(l, "{") {
			last = l
		}
	}
	var res struct {
		OK     bool     `json:"ok"`
		Errors []string `json:"errors"`
		Origin string   `json:"origin"`
		Cross  struct {
			Opened bool   `json:"opened"`
			Error  bool   `json:"error"`
			Code   int    `json:"code"`
			Echo   string `json:"echo"`
		} `json:"cross"`
		Same struct {
			Opened bool   `json:"opened"`
			Code   int    `json:"code"`
			Echo   string `json:"echo"`
		} `json:"same"`
	}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("browser.js printed no result (exit %v): %q", runErr, lines)
	}
	t.Logf("page result: %s", last)
	if len(res.Errors) > 0 {
		t.Fatalf("page errors: %q", res.Errors)
	}
	if res.Cross.Opened || !res.Cross.Error || res.Cross.Code != 1006 {
		t.Errorf("cross-origin WebSocket from %s to %s: opened=%v error=%v close code %d; want it refused (error, 1006)",
			res.Origin, wsURL(b), res.Cross.Opened, res.Cross.Error, res.Cross.Code)
	}
	want := "hello from " + res.Origin
	if !res.Same.Opened || res.Same.Echo != want || res.Same.Code != 1000 {
		t.Errorf("same-origin WebSocket: opened=%v echo %q close code %d; want opened, %q echoed, 1000",
			res.Same.Opened, res.Same.Echo, res.Same.Code, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seenB) != 1 || seenB[0].status != http.StatusForbidden || seenB[0].origin != a.URL {
		t.Errorf("server B saw %+v, want one request with Origin %s answered 403", seenB, a.URL)
	}
	if len(seenA) != 1 || !seenA[0].upgraded || seenA[0].origin != a.URL {
		t.Errorf("server A's /ws saw %+v, want one upgraded request with Origin %s", seenA, a.URL)
	}
	select {
	case m := <-echoed:
		if m != want {
			t.Errorf("server echoed %q", m)
		}
	default:
		t.Error("no server handler received the page's message")
	}
	select {
	case m := <-echoed:
		t.Errorf("a second handler received %q: the cross-origin connection was upgraded", m)
	default:
	}
}
