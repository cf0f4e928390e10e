package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsstd/websocket"
)

// TestEmbeddedNATS runs the program as `go run ./examples/cluster` does:
// no -nats, so it starts its own NATS server, and two listeners that share
// it. A member on each listener hears the other, through the broker.
func TestEmbeddedNATS(t *testing.T) {
	p := startProc(t, 2, "-addrs", "127.0.0.1:0,127.0.0.1:0")
	if !strings.Contains(p.log.String(), "embedded NATS server at nats://127.0.0.1:") {
		t.Fatalf("no embedded NATS server in the log:\n%s", p.log.String())
	}
	a := dialClient(t, nil, p.addrs[0], "demo", "a").start()
	b := dialClient(t, nil, p.addrs[1], "demo", "b").start()
	if a.node == b.node {
		t.Fatalf("both listeners are node %s", a.node)
	}
	b.waitJoin(b.id)
	a.waitJoin(b.id) // presence crosses nodes
	a.say("hello b")
	e, _ := b.waitFor("a's message", 10*time.Second, func(e event) bool { return e.Type == "message" })
	if e.From != a.id || e.Seq != 1 || e.Text != "hello b" || e.Name != "a" || e.Room != "demo" {
		t.Fatalf("b got %+v", e)
	}
}

// TestGracefulShutdown sends SIGTERM to one of two processes: its client
// is told 1001 by the library's Shutdown, the member on the other process
// still learns of the leave (published before the NATS connection is
// drained), the process exits 0 and refuses nothing it accepted before.
func TestGracefulShutdown(t *testing.T) {
	natsURL := startNATS(t)
	p0 := startProc(t, 1, "-nats", natsURL)
	p1 := startProc(t, 1, "-nats", natsURL)
	a := dialClient(t, nil, p0.addr, "r", "a").start()
	b := dialClient(t, nil, p1.addr, "r", "b").start()
	a.waitJoin(a.id)
	b.waitJoin(b.id)
	a.waitJoin(b.id)
	b.say("bye a")
	a.waitFor("b's message", 10*time.Second, func(e event) bool { return e.Type == "message" && e.From == b.id })

	m := p0.metrics(t)
	for name, want := range map[string]float64{
		"cluster_connections": 1, "cluster_connections_accepted_total": 1, "cluster_rooms": 1,
		"cluster_messages_in_total": 0, "cluster_slow_consumers_dropped_total": 0,
	} {
		if m[name] != want {
			t.Errorf("node %s: %s = %v, want %v", p0.node, name, m[name], want)
		}
	}
	// a received its welcome, its join, b's join and b's message.
	if m["cluster_messages_out_total"] != 4 || m["cluster_broker_messages_total"] != 3 {
		t.Errorf("node %s: out %v, from broker %v; want 4 and 3", p0.node, m["cluster_messages_out_total"], m["cluster_broker_messages_total"])
	}

	start := time.Now()
	if !p0.stop(syscall.SIGTERM, 15*time.Second) {
		t.Fatalf("node %s did not exit within 15s of SIGTERM", p0.node)
	}
	if p0.err != nil {
		t.Errorf("node %s exited with %v after SIGTERM", p0.node, p0.err)
	}
	t.Logf("node %s exited %v after SIGTERM", p0.node, time.Since(start).Round(time.Millisecond))
	select {
	case err := <-a.err:
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != websocket.ShutdownReason {
			t.Errorf("a's connection ended with %v, want 1001 %q", err, websocket.ShutdownReason)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a's connection still open after its server exited")
	}
	b.waitFor("a's leave", 10*time.Second, func(e event) bool { return e.Type == "leave" && e.From == a.id })
	if _, _, err := websocket.Dial(context.Background(), fmt.Sprintf("ws://%s/ws", p0.addr), nil); err == nil {
		t.Error("dialing the stopped node succeeded")
	}
}
