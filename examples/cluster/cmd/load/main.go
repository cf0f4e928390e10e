// Command load measures the cluster example on loopback: it starts a NATS
// server (in this process) and -procs server processes, opens -conns
// WebSocket connections to each, spread over -rooms rooms so that every
// room has members on every process, has -senders members of each room
// send -size byte messages at -rate messages per second in all for
// -duration, and reports
//
//   - delivered messages per second (one message to one member counts one),
//   - p50 and p99 delivery latency, from the sender's write to the
//     receiver's read, separately for receivers on another process than
//     the sender (through the broker and a second server) and on the same,
//   - memory per connection of the server processes: resident set and Go
//     heap in use, after the connections were opened (idle) and after the
//     traffic, minus the same before any connection.
//
// Everything is bounded: -duration of traffic, then up to 5 s to drain.
//
//	go run ./cmd/load -procs 3 -conns 2000 -rooms 50 -rate 500
//	go run ./cmd/load -procs 1 -conns 6000 -rooms 50 -rate 500
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/wsstd/websocket"

	"github.com/wsstd/websocket/examples/cluster/internal/procstat"
	"github.com/wsstd/websocket/examples/cluster/internal/rlimit"
)

func main() {
	bin := flag.String("bin", "", "the cluster program (default: go build it)")
	procs := flag.Int("procs", 3, "server processes")
	conns := flag.Int("conns", 2000, "connections per process")
	rooms := flag.Int("rooms", 50, "rooms")
	senders := flag.Int("senders", 3, "members of each room that send")
	size := flag.Int("size", 1024, "bytes of text per message")
	rate := flag.Float64("rate", 500, "messages per second published, in all")
	duration := flag.Duration("duration", 10*time.Second, "how long the senders send")
	queue := flag.Int("queue", 256, "the servers' -queue")
	flag.Parse()

	limit, err := rlimit.RaiseNoFile()
	if err != nil {
		log.Printf("load: raising the open-file limit: %v", err)
	}
	total := *procs * *conns
	if uint64(total)+100 > limit {
		log.Fatalf("load: %d connections need more than the open-file limit of %d", total, limit)
	}
	if *bin == "" {
		dir, err := os.MkdirTemp("", "cluster-load-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		*bin = filepath.Join(dir, "cluster")
		if out, err := exec.Command("go", "build", "-o", *bin, "github.com/wsstd/websocket/examples/cluster").CombinedOutput(); err != nil {
			log.Fatalf("load: building the program: %v\n%s", err, out)
		}
	}

	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		log.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		log.Fatal("load: NATS server not ready")
	}
	defer ns.Shutdown()

	var servers []*serverProc
	defer func() {
		for _, s := range servers {
			s.cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, s := range servers {
			s.cmd.Wait()
		}
	}()
	for range *procs {
		s, err := startServer(*bin, ns.ClientURL(), *queue)
		if err != nil {
			log.Print(err)
			return
		}
		servers = append(servers, s)
	}
	before := memOf(servers)

	r := &run{size: *size, rooms: *rooms}
	start := time.Now()
	if err := r.connect(servers, total); err != nil {
		log.Print(err)
		return
	}
	log.Printf("load: %d connections open and joined in %v", total, time.Since(start).Round(time.Millisecond))
	idle := memOf(servers)

	// Traffic: the first -senders members of each room send.
	var group []*loadConn
	for i := 0; i < *rooms**senders && i < len(r.conns); i++ {
		group = append(group, r.conns[i])
	}
	interval := time.Duration(float64(len(group)) / *rate * float64(time.Second))
	cpuBefore := cpuOf(servers)
	selfBefore, _ := procstat.CPUSeconds()
	r.windowStart.Store(time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	var wg sync.WaitGroup
	for i, c := range group {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Stagger the senders over one interval.
			time.Sleep(interval * time.Duration(i) / time.Duration(len(group)))
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if err := c.send(); err != nil {
					return
				}
				r.published.Add(1)
			}
		}()
	}
	wg.Wait()
	cancel()
	r.windowEnd.Store(time.Now().UnixNano())
	elapsed := time.Duration(r.windowEnd.Load() - r.windowStart.Load())
	members := total / *rooms
	want := r.published.Load() * uint64(members)
	drain := time.Now().Add(5 * time.Second)
	for r.delivered.Load() < want && time.Now().Before(drain) {
		time.Sleep(10 * time.Millisecond)
	}
	after := memOf(servers)
	selfAfter, _ := procstat.CPUSeconds()
	var serverCPU float64
	for i, c := range cpuOf(servers) {
		serverCPU += c - cpuBefore[i]
	}

	var dropped float64
	for _, s := range servers {
		dropped += s.metrics()["cluster_slow_consumers_dropped_total"]
	}
	fmt.Printf("result: ok=%v\n", r.published.Load() > 0 && r.delivered.Load() == want && dropped == 0)
	fmt.Printf("procs=%d conns/proc=%d rooms=%d members/room=%d senders=%d size=%d duration=%v\n",
		*procs, *conns, *rooms, members, len(group), *size, elapsed.Round(time.Millisecond))
	fmt.Printf("published %d msgs (%.0f/s); delivered %d of %d (%.4f%%): %.0f msgs/s; slow consumers dropped: %.0f\n",
		r.published.Load(), float64(r.published.Load())/elapsed.Seconds(), r.delivered.Load(), want,
		100*float64(r.delivered.Load())/float64(max(want, 1)), float64(r.delivered.Load())/elapsed.Seconds(), dropped)
	fmt.Printf("latency cross-process: n=%d p50=%v p99=%v; same process: n=%d p50=%v p99=%v\n",
		r.cross.n.Load(), r.cross.quantile(0.5), r.cross.quantile(0.99),
		r.same.n.Load(), r.same.quantile(0.5), r.same.quantile(0.99))
	if d := r.delivered.Load(); d > 0 {
		fmt.Printf("CPU: servers %.2f s in all, %.1f µs per delivered message; this program (clients, NATS) %.2f s\n",
			serverCPU, serverCPU*1e6/float64(d), selfAfter-selfBefore)
	}
	for i := range servers {
		fmt.Printf("server %d: RSS %.1f -> %.1f (idle) -> %.1f MiB (after); per connection: RSS %.1f KiB idle, %.1f KiB after; heap in use %.1f KiB idle, %.1f KiB after\n",
			i, mib(before[i].rss), mib(idle[i].rss), mib(after[i].rss),
			perConn(before[i].rss, idle[i].rss, *conns), perConn(before[i].rss, after[i].rss, *conns),
			perConn(before[i].heap, idle[i].heap, *conns), perConn(before[i].heap, after[i].heap, *conns))
	}
	for _, c := range r.conns {
		c.conn.CloseNow()
	}
}

func mib(b float64) float64 { return b / (1 << 20) }

func perConn(before, after float64, n int) float64 { return (after - before) / 1024 / float64(n) }

// serverProc is one server process.
type serverProc struct {
	cmd  *exec.Cmd
	addr string
	node string
}

var servingRE = regexp.MustCompile(`node (\S+) serving http://(\S+) `)

func startServer(bin, natsURL string, queue int) (*serverProc, error) {
	cmd := exec.Command(bin, "-addrs", "127.0.0.1:0", "-nats", natsURL, "-queue", strconv.Itoa(queue))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(os.Stderr, stderr) // later logs, e.g. errors
			return &serverProc{cmd: cmd, node: m[1], addr: m[2]}, nil
		}
		fmt.Fprintln(os.Stderr, sc.Text())
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, fmt.Errorf("load: %s exited before serving", bin)
}

func (s *serverProc) metrics() map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(body), "\n") {
		if f := strings.Fields(l); len(f) == 2 && !strings.HasPrefix(l, "#") {
			v, _ := strconv.ParseFloat(f[1], 64)
			out[f[0]] = v
		}
	}
	return out
}

// cpuOf reads the servers' CPU time spent so far, in seconds.
func cpuOf(servers []*serverProc) []float64 {
	var out []float64
	for _, s := range servers {
		out = append(out, s.metrics()["process_cpu_seconds_total"])
	}
	return out
}

type mem struct{ rss, heap float64 }

// memOf reads the servers' resident set and Go heap in use from their
// /metrics. The heap figure includes garbage not yet collected.
func memOf(servers []*serverProc) []mem {
	var out []mem
	for _, s := range servers {
		m := s.metrics()
		out = append(out, mem{rss: m["process_resident_memory_bytes"], heap: m["go_memstats_heap_inuse_bytes"]})
	}
	return out
}

// run is the state of the clients.
type run struct {
	size, rooms int
	conns       []*loadConn
	published   atomic.Uint64
	delivered   atomic.Uint64 // of messages sent in the window
	windowStart atomic.Int64
	windowEnd   atomic.Int64
	cross, same hist
}

// loadConn is one client connection.
type loadConn struct {
	r      *run
	conn   *websocket.Conn
	id     string
	node   string
	joined chan struct{}
	text   []byte
}

// connect opens n connections, connection i to server i%len(servers) in
// room i%rooms, 64 at a time, and waits until every one has seen its own
// join (so its room is subscribed on its server).
func (r *run) connect(servers []*serverProc, n int) error {
	r.conns = make([]*loadConn, n)
	sem := make(chan struct{}, 64)
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s := servers[i%len(servers)]
			u := fmt.Sprintf("ws://%s/ws?room=r%d&name=c%d", s.addr, i%r.rooms, i)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn, _, err := websocket.Dial(ctx, u, nil)
			if err != nil {
				errc <- err
				return
			}
			c := &loadConn{r: r, conn: conn, node: s.node, joined: make(chan struct{})}
			_, data, err := conn.ReadMessage()
			if err != nil {
				errc <- err
				return
			}
			c.id = field(data, `"from":"`)
			r.conns[i] = c
			go c.readLoop()
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return fmt.Errorf("load: connecting: %v", err)
	}
	deadline := time.After(60 * time.Second)
	for _, c := range r.conns {
		select {
		case <-c.joined:
		case <-deadline:
			return fmt.Errorf("load: not every connection saw its join within 60s")
		}
	}
	return nil
}

// field returns the JSON string value that follows key in data: the
// server's events are flat and their strings need no unescaping here.
func field(data []byte, key string) string {
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return ""
	}
	rest := data[i+len(key):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return string(rest[:j])
	}
	return ""
}

func (c *loadConn) readLoop() {
	joinPrefix := []byte(`{"type":"join"`)
	msgPrefix := []byte(`{"type":"message"`)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		switch {
		case bytes.HasPrefix(data, msgPrefix):
			now := time.Now().UnixNano()
			ts, _ := strconv.ParseInt(strings.TrimSpace(field(data, `"text":"`)[:19]), 10, 64)
			if ts < c.r.windowStart.Load() {
				continue
			}
			c.r.delivered.Add(1)
			from := field(data, `"from":"`)
			d := time.Duration(now - ts)
			if from[:strings.LastIndexByte(from, '-')] == c.node {
				c.r.same.add(d)
			} else {
				c.r.cross.add(d)
			}
		case bytes.HasPrefix(data, joinPrefix) && c.id != "" && field(data, `"from":"`) == c.id:
			close(c.joined)
		}
	}
}

// send sends one message whose text starts with the time now in Unix
// nanoseconds (19 digits) and is padded to the message size.
func (c *loadConn) send() error {
	if c.text == nil {
		c.text = bytes.Repeat([]byte("x"), c.r.size)
	}
	copy(c.text, strconv.FormatInt(time.Now().UnixNano(), 10))
	msg := make([]byte, 0, c.r.size+32)
	msg = append(msg, `{"type":"message","text":"`...)
	msg = append(msg, c.text...)
	msg = append(msg, `"}`...)
	return c.conn.WriteMessage(websocket.TextMessage, msg)
}
