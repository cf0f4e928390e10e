//go:build unix

package websocket

// The load test: 10,000 concurrent connections between our Upgrader and
// our Dialer. The file is unix-only for the RLIMIT_NOFILE handling.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
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

// raiseNOFILE raises the soft RLIMIT_NOFILE to the hard limit when it is
// lower. If even the hard limit is below need, the test fails under CI
// (whose machine must allow the load test) and is skipped, saying how to
// raise it, elsewhere.
func raiseNOFILE(t *testing.T, need uint64) {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("CI") != "" {
		skip = t.Fatalf
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		skip("cannot read RLIMIT_NOFILE: %v", err)
	}
	if uint64(lim.Cur) < uint64(lim.Max) {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Logf("raising RLIMIT_NOFILE to the hard limit %d: %v", uint64(lim.Max), err)
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
	}
	if uint64(lim.Cur) < need {
		skip("RLIMIT_NOFILE is %d (hard limit %d); this test needs %d open files: raise the hard limit (ulimit -Hn) to run it",
			uint64(lim.Cur), uint64(lim.Max), need)
	}
}

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
	// handlers wait in ReadMessage. Measure once net/http's goroutines for
	// the upgrades have returned (with their buffers): one goroutine per
	// connection is left, its handler's.
	if got, ok := waitGoroutines(goroutinesBefore+n+16, 30*time.Second); !ok {
		t.Errorf("server: %d goroutines for %d idle connections (%d before)", got, n, goroutinesBefore)
	}
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
	// The README's figures for an idle server connection, heap+stack: about
	// 6.4 KB right after the upgrade, 8.4 KB once it has carried traffic
	// (its goroutine's stack has grown to 4 KiB). Measured on a 2-core
	// machine: 6.4 and 8.5 KB with 10,000 connections, 7.4 and 9.1 KB with
	// -short's 1,000, 8.5 and 8.5 KB under -race (whose goroutine stacks
	// start at 4 KiB). The ceilings leave room for that spread, not for an
	// idle connection holding a read buffer (4 KiB or more) or its
	// net/http state.
	idleFreshMax, idleUsedMax := int64(8<<10), int64(10<<10)
	if raceEnabled() || perConn(stackFresh) > 3<<10 {
		// Goroutine stacks that start at 4 KiB (under -race, and on
		// older Go such as the go directive's 1.22: 4.2 KB heap + 4.1 KB
		// stack fresh) leave the fresh figure at the used one's.
		idleFreshMax = idleUsedMax
	}
	if got := perConn(heapFresh + stackFresh); got > idleFreshMax {
		t.Errorf("server: %d bytes of heap+stack per idle connection right after the upgrade, want at most %d", got, idleFreshMax)
	}
	if got := perConn(memServer); got > idleUsedMax {
		t.Errorf("server: %d bytes of heap+stack per idle connection after traffic, want at most %d", got, idleUsedMax)
	}
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
