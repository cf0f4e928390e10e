package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// page is a Chromium page driven by testdata/page.js.
type page struct {
	t     *testing.T
	stdin io.Writer
	out   *bufio.Scanner
}

type pageState struct {
	ID, Node, Host string
	Connects       int
	Events         []event
}

// startPage starts page.js (and Chromium); it quits when the test ends.
func startPage(t *testing.T) *page {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, "node", filepath.Join("testdata", "page.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodeModules(t), "TMPDIR="+t.TempDir())
	cmd.Stderr = os.Stderr
	// On timeout SIGTERM lets playwright close Chromium.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &page{t: t, stdin: stdin, out: bufio.NewScanner(stdout)}
	p.out.Buffer(nil, 16<<20)
	t.Cleanup(func() {
		io.WriteString(stdin, `{"op":"quit"}`+"\n")
		stdin.Close()
		cmd.Wait()
		cancel()
	})
	var ready struct {
		OK    bool
		Error string
	}
	if !p.out.Scan() || json.Unmarshal(p.out.Bytes(), &ready) != nil || !ready.OK {
		t.Fatalf("page.js did not start: %s %v", p.out.Text(), p.out.Err())
	}
	return p
}

// do sends one command and returns the page's state after it.
func (p *page) do(cmd map[string]string) pageState {
	p.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := fmt.Fprintf(p.stdin, "%s\n", b); err != nil {
		p.t.Fatal(err)
	}
	var res struct {
		OK    bool
		Error string
		State pageState
	}
	if !p.out.Scan() {
		p.t.Fatalf("page.js: no answer to %s: %v", b, p.out.Err())
	}
	if err := json.Unmarshal(p.out.Bytes(), &res); err != nil || !res.OK {
		p.t.Fatalf("page.js: %s: %s %v (page: %+v)", b, res.Error, err, res.State)
	}
	return res.State
}

// waitMessage waits until the page shows a message from id with text.
func (p *page) waitMessage(from, text string) {
	p.t.Helper()
	p.do(map[string]string{"op": "wait", "js": fmt.Sprintf(
		`window.chat.events.some((e) => e.type === "message" && e.from === %q && e.text === %q)`, from, text)})
}

// TestBrowserFailover has a Chromium page, joined through its form on the
// first of three processes, talk with Go clients on all three; then the
// page's process is killed with SIGKILL. Only its own connections end: the
// Go clients on the survivors keep theirs (and their message numbering),
// and the page reconnects by itself to a survivor and talks again.
func TestBrowserFailover(t *testing.T) {
	requirePeers(t, browserAvailable(t))
	natsURL := startNATS(t)
	var procs []*proc
	for range 3 {
		procs = append(procs, startProc(t, 1, "-nats", natsURL, "-origins", "127.0.0.1:*"))
	}
	pg := startPage(t)
	url := fmt.Sprintf("http://%s/?servers=%s,%s", procs[0].addr, procs[1].addr, procs[2].addr)
	st := pg.do(map[string]string{"op": "open", "url": url, "room": "failover", "name": "chromium"})
	if st.Node != procs[0].node {
		t.Fatalf("page on node %q, want %q", st.Node, procs[0].node)
	}
	first := st.ID

	var gs []*client
	for i, p := range procs {
		g := dialClient(t, nil, p.addr, "failover", fmt.Sprintf("go%d", i)).start()
		g.waitJoin(g.id)
		pg.do(map[string]string{"op": "wait", "js": fmt.Sprintf(
			`window.chat.events.some((e) => e.type === "join" && e.from === %q)`, g.id)})
		gs = append(gs, g)
	}
	pg.do(map[string]string{"op": "say", "text": "hello from chromium"})
	for _, g := range gs {
		e, _ := g.waitFor("the page's message", 10*time.Second, func(e event) bool { return e.Type == "message" })
		if e.From != first || e.Seq != 1 || e.Text != "hello from chromium" || e.Name != "chromium" {
			t.Fatalf("%s got %+v", g.id, e)
		}
	}
	gs[2].say("hi page")
	pg.waitMessage(gs[2].id, "hi page")
	for _, g := range gs {
		g.waitFor("go2's message", 10*time.Second, func(e event) bool { return e.Type == "message" && e.From == gs[2].id })
	}

	// SIGKILL: no goodbye from the page's process.
	procs[0].stop(syscall.SIGKILL, 10*time.Second)
	select {
	case err := <-gs[0].err:
		t.Logf("go0 (on the killed process) lost its connection: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("go0's connection survived the kill of its process")
	}
	st = pg.do(map[string]string{"op": "wait", "js": fmt.Sprintf(`window.chat.connects === 2 && window.chat.id !== %q`, first)})
	if st.Node != procs[1].node && st.Node != procs[2].node {
		t.Fatalf("page reconnected to node %q, want a survivor (%s or %s)", st.Node, procs[1].node, procs[2].node)
	}
	t.Logf("page reconnected to node %s at %s as %s", st.Node, st.Host, st.ID)
	second := st.ID
	for _, g := range gs[1:] {
		g.waitJoin(second)
	}
	gs[2].say("after the kill")
	pg.waitMessage(gs[2].id, "after the kill")
	e, _ := gs[1].waitFor("go2's second message", 10*time.Second, func(e event) bool { return e.Type == "message" })
	if e.From != gs[2].id || e.Seq != 2 || e.Text != "after the kill" {
		t.Fatalf("go1 got %+v, want go2's message #2", e)
	}
	gs[2].waitFor("its own second message", 10*time.Second, func(e event) bool { return e.Type == "message" && e.Seq == 2 })
	pg.do(map[string]string{"op": "say", "text": "back again"})
	for _, g := range gs[1:] {
		e, _ := g.waitFor("the page's message", 10*time.Second, func(e event) bool { return e.Type == "message" })
		if e.From != second || e.Seq != 1 || e.Text != "back again" {
			t.Fatalf("%s got %+v", g.id, e)
		}
	}
	for _, g := range gs[1:] {
		select {
		case err := <-g.err:
			t.Errorf("%s, on a survivor, lost its connection: %v", g.id, err)
		default:
		}
	}
}

// browserAvailable reports why Chromium cannot be driven here, if so.
func browserAvailable(t *testing.T) error {
	bin := os.Getenv("CHROMIUM")
	if bin == "" {
		bin = "/usr/bin/chromium"
	}
	if _, err := os.Stat(bin); err != nil {
		return err
	}
	return nodeHas(t, "playwright-core")
}
