package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/wsstd/websocket"
)

// The tests run the real program: TestMain builds it once, each test
// starts a NATS server of its own (in the test process) and two or three
// server processes with -nats, and talks to them over loopback.

var binary, loadBinary string // the built programs

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cluster-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The programs are built as the test is (with -race under -race):
	// they then share its compiled packages, nats-server's included, and
	// the race detector watches the servers too.
	binary = filepath.Join(dir, "cluster")
	loadBinary = filepath.Join(dir, "load")
	for _, b := range [][2]string{{binary, "."}, {loadBinary, "./cmd/load"}} {
		args := []string{"build", "-o", b[0]}
		if raceEnabled {
			args = append(args, "-race")
		}
		if out, err := exec.Command("go", append(args, b[1])...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", b[1], err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startNATS starts a NATS server on a random loopback port for the test
// and returns its URL.
func startNATS(t *testing.T) string {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready after 10s")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns.ClientURL()
}

// proc is one server process.
type proc struct {
	cmd    *exec.Cmd
	addr   string // host:port of its (first) listener
	addrs  []string
	node   string
	log    *syncBuffer
	exited chan struct{} // closed when Wait returned
	err    error         // Wait's, after exited
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var servingRE = regexp.MustCompile(`node (\S+) serving http://(\S+) `)

// startProc starts the program with args (after -addrs 127.0.0.1:0 -v
// unless args set -addrs) and waits until it serves. The process is
// stopped with SIGTERM (then SIGKILL) when the test ends; its log is
// shown if the test failed.
func startProc(t *testing.T, wantNodes int, args ...string) *proc {
	t.Helper()
	full := []string{"-v"}
	if !strings.Contains(strings.Join(args, " "), "-addrs") {
		full = append(full, "-addrs", "127.0.0.1:0")
	}
	full = append(full, args...)
	p := &proc{cmd: exec.Command(binary, full...), log: &syncBuffer{}, exited: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		var found int
		for sc.Scan() {
			fmt.Fprintln(p.log, sc.Text())
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil && found < wantNodes {
				if found == 0 {
					p.node, p.addr = m[1], m[2]
				}
				p.addrs = append(p.addrs, m[2])
				if found++; found == wantNodes {
					close(ready)
				}
			}
		}
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM, 15*time.Second)
		if t.Failed() {
			t.Logf("log of %v:\n%s", full, p.log.String())
		}
	})
	select {
	case <-ready:
	case <-p.exited:
		t.Fatalf("%v exited before serving: %v\n%s", full, p.err, p.log.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("%v not serving after 20s:\n%s", full, p.log.String())
	}
	return p
}

// stop sends sig and waits up to d for the process to exit, then kills it.
// It reports whether the process exited within d.
func (p *proc) stop(sig syscall.Signal, d time.Duration) bool {
	select {
	case <-p.exited:
		return true
	default:
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
		return true
	case <-time.After(d):
		p.cmd.Process.Kill()
		<-p.exited
		return false
	}
}

// metrics fetches the process's /metrics and parses the samples.
func (p *proc) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("/metrics Content-Type %q", ct)
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(body), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if len(f) != 2 || err != nil {
			t.Fatalf("bad /metrics line %q", l)
		}
		out[f[0]] = v
	}
	return out
}

// waitMetric polls p's /metrics until name has value want.
func (p *proc) waitMetric(t *testing.T, name string, want float64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := p.metrics(t)[name]
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s of node %s is %v after %v, want %v", name, p.node, got, d, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// client is a Go client on the library's Dialer. Its reader goroutine puts
// every event in events; err receives the error that ended the connection.
type client struct {
	t      *testing.T
	conn   *websocket.Conn
	id     string
	node   string
	events chan event
	err    chan error
}

func dialClient(t *testing.T, d *websocket.Dialer, addr, room, name string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if d == nil {
		d = &websocket.Dialer{}
	}
	u := fmt.Sprintf("ws://%s/ws?room=%s&name=%s", addr, room, name)
	conn, _, err := d.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dialing %s: %v", u, err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	c := &client{t: t, conn: conn, events: make(chan event, 100000), err: make(chan error, 1)}
	var w event
	if err := conn.ReadJSON(&w); err != nil || w.Type != "welcome" {
		t.Fatalf("first message from %s: %+v, %v", addr, w, err)
	}
	c.id, c.node = w.From, w.Node
	return c
}

// start runs the reader goroutine (not started by dialClient, so that a
// test can keep a client from reading).
func (c *client) start() *client {
	go func() {
		for {
			var e event
			if err := c.conn.ReadJSON(&e); err != nil {
				c.err <- err
				close(c.events)
				return
			}
			c.events <- e
		}
	}()
	return c
}

// waitFor reads events until one satisfies ok, and returns it; the events
// before it are returned too.
func (c *client) waitFor(what string, d time.Duration, ok func(event) bool) (event, []event) {
	c.t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	var skipped []event
	for {
		select {
		case e, more := <-c.events:
			if !more {
				c.t.Fatalf("client %s: connection ended waiting for %s: %v", c.id, what, <-c.err)
			}
			if ok(e) {
				return e, skipped
			}
			skipped = append(skipped, e)
		case <-timer.C:
			c.t.Fatalf("client %s: no %s after %v (got %d other events)", c.id, what, d, len(skipped))
		}
	}
}

// waitJoin waits for the join of the client with id.
func (c *client) waitJoin(id string) {
	c.t.Helper()
	c.waitFor("join of "+id, 10*time.Second, func(e event) bool { return e.Type == "join" && e.From == id })
}

func (c *client) say(text string) {
	c.t.Helper()
	if err := c.conn.WriteJSON(inbound{Type: "message", Text: text}); err != nil {
		c.t.Fatalf("client %s: sending: %v", c.id, err)
	}
}

// requirePeers fails the test when $CI is set and skips it otherwise,
// with one line saying how to install what is missing, if err is not nil.
func requirePeers(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("peer missing (%v); install with: bash .ci/install-peers.sh", err)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// nodeModules is testdata/peers/node_modules of the repository.
func nodeModules(t *testing.T) string {
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "peers", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// nodeHas reports whether node can load each of the modules.
func nodeHas(t *testing.T, modules ...string) error {
	if _, err := exec.LookPath("node"); err != nil {
		return err
	}
	var js []string
	for _, m := range modules {
		js = append(js, fmt.Sprintf("require(%q);", m))
	}
	cmd := exec.Command("node", "-e", strings.Join(js, ""))
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodeModules(t))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("node cannot load %v from %s: %v: %s", modules, nodeModules(t), err, bytes.TrimSpace(out))
	}
	return nil
}

// checkSequences checks that got, the chat messages one client received,
// hold for each sender in want exactly the messages "m1".."mN" and "end"
// with seq 1..N+1, in order, and nothing else.
func checkSequences(t *testing.T, who string, got []event, room string, senders []string, n int) {
	t.Helper()
	bySender := map[string][]event{}
	for _, e := range got {
		if e.Room != room {
			t.Errorf("%s in room %s got a message of room %s: %+v", who, room, e.Room, e)
		}
		bySender[e.From] = append(bySender[e.From], e)
	}
	for _, s := range senders {
		seq := bySender[s]
		if len(seq) != n+1 {
			t.Errorf("%s got %d messages from %s, want %d", who, len(seq), s, n+1)
		}
		for i, e := range seq {
			want := "m" + strconv.Itoa(i+1)
			if i == n {
				want = "end"
			}
			if e.Seq != uint64(i+1) || e.Text != want {
				t.Errorf("%s: message %d from %s is seq %d %q, want seq %d %q", who, i+1, s, e.Seq, e.Text, i+1, want)
				break
			}
		}
		delete(bySender, s)
	}
	for s, seq := range bySender {
		t.Errorf("%s got %d messages from %s, not a member of its room", who, len(seq), s)
	}
}
