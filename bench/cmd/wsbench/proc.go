package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a benchmark server running in its own process (this binary
// re-executed with -serve NAME), so the library under test does not share
// a heap, a scheduler or GC with the load generator.
type child struct {
	name  string
	addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	http  *http.Client
}

var (
	childMu  sync.Mutex
	children = map[*child]struct{}{}
)

func startChild(name string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-serve", name, "-addr", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	// The child also exits when its stdin (our pipe) closes; Pdeathsig is a
	// second line of defence if this process dies abruptly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{name: name, cmd: cmd, stdin: stdin, http: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true, Proxy: nil},
	}}
	childMu.Lock()
	children[c] = struct{}{}
	childMu.Unlock()

	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
		io.Copy(io.Discard, stdout)
	}()
	select {
	case s := <-line:
		if a, ok := strings.CutPrefix(strings.TrimSpace(s), "ADDR "); ok {
			c.addr = a
			return c, nil
		}
		c.stop()
		return nil, fmt.Errorf("child %s: unexpected first line %q", name, s)
	case <-time.After(15 * time.Second):
		c.stop()
		return nil, fmt.Errorf("child %s: no address within 15s", name)
	}
}

// stop closes the child's stdin (it exits on EOF) and kills it by pid if it
// has not exited within 3 s.
func (c *child) stop() {
	childMu.Lock()
	_, live := children[c]
	delete(children, c)
	childMu.Unlock()
	if !live {
		return
	}
	c.stdin.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
	c.http.CloseIdleConnections()
}

func stopAllChildren() {
	childMu.Lock()
	var cs []*child
	for c := range children {
		cs = append(cs, c)
	}
	childMu.Unlock()
	for _, c := range cs {
		c.stop()
	}
}

type serverStats struct {
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	RSS        uint64 `json:"rss"`
	Goroutines int    `json:"goroutines"`
	HubConns   int    `json:"hub_conns"`
}

func (c *child) get(path string, v any) error {
	resp, err := c.http.Get("http://" + c.addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (c *child) stats(gc bool) (serverStats, error) {
	var s serverStats
	p := "/stats"
	if gc {
		p += "?gc=1"
	}
	return s, c.get(p, &s)
}

// pid returns the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// processCPU returns the time process pid has run on a CPU, user and
// system, summed over its threads from /proc/PID/task/*/schedstat
// (nanoseconds; /proc/PID/stat's clock ticks are too coarse for a
// 300 ms window). It returns 0 when that is not available.
func processCPU(pid int) time.Duration {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread exited meanwhile
		}
		var ns int64
		if _, err := fmt.Sscan(string(b), &ns); err == nil {
			total += time.Duration(ns)
		}
	}
	return total
}
