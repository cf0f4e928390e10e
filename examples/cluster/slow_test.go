//go:build unix

package main

import (
	"context"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsstd/websocket"
)

// TestSlowConsumer has a member that stops reading (its socket's receive
// buffer is 4 KiB, the server's send buffer 16 KiB) in a room where
// another member sends 2,000 messages of 1 KiB. The two members that
// read, one on each process, must get all of them while the slow one is
// still not reading (the room does not wait for it); the slow one is closed with 1013 "too slow" and
// counted in /metrics, and its leave reaches the others.
func TestSlowConsumer(t *testing.T) {
	natsURL := startNATS(t)
	p0 := startProc(t, 1, "-nats", natsURL, "-queue", "256")
	p1 := startProc(t, 1, "-nats", natsURL, "-queue", "256", "-sndbuf", "16384")

	sender := dialClient(t, nil, p0.addr, "busy", "sender").start()
	fast := dialClient(t, nil, p1.addr, "busy", "fast").start()
	small := &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
			if err != nil {
				return err
			}
			return serr
		}}
		return d.DialContext(ctx, network, addr)
	}}
	slow := dialClient(t, small, p1.addr, "busy", "slow")
	// Read the slow member's own join, so that it is subscribed, by hand:
	// its reader goroutine starts only after the others are done.
	for {
		var e event
		if err := slow.conn.ReadJSON(&e); err != nil {
			t.Fatal(err)
		}
		if e.Type == "join" && e.From == slow.id {
			break
		}
	}
	sender.waitJoin(slow.id)
	fast.waitJoin(slow.id)

	// The sender sends in bursts of 50 and waits for each burst to come
	// back to itself and the fast member: a burst always fits the queue
	// of 256 of a member that reads, never that of one that does not.
	const n, burst = 2000, 50
	text := strings.Repeat("x", 1024)
	start := time.Now()
	sawLeave := map[*client]int{}
	for i := 1; i <= n; i += burst {
		for j := 0; j < burst; j++ {
			sender.say(text)
		}
		for _, c := range []*client{sender, fast} {
			for j := i; j < i+burst; j++ {
				e, skipped := c.waitFor("message "+strconv.Itoa(j), 10*time.Second, func(e event) bool { return e.Type == "message" })
				for _, o := range skipped {
					if o.Type == "leave" && o.From == slow.id {
						sawLeave[c]++
					}
				}
				if e.From != sender.id || e.Seq != uint64(j) {
					t.Fatalf("%s: message %d is %s #%d", c.id, j, e.From, e.Seq)
				}
			}
		}
	}
	took := time.Since(start)
	t.Logf("%d messages of 1 KiB reached the two members that read in %v", n, took.Round(time.Millisecond))

	p1.waitMetric(t, "cluster_slow_consumers_dropped_total", 1, 10*time.Second)
	// The slow member left the room when it was dropped, while the burst
	// went on: both members saw its leave among the messages.
	for _, c := range []*client{sender, fast} {
		if sawLeave[c] != 1 {
			t.Errorf("%s saw the slow member leave %d times during the messages, want once", c.id, sawLeave[c])
		}
	}

	// Now the slow member reads: what was already in flight, then the close.
	got := 0
	var err error
	for {
		var e event
		if err = slow.conn.ReadJSON(&e); err != nil {
			break
		}
		got++
	}
	if code := websocket.CloseStatus(err); code != closeTooSlow {
		t.Fatalf("the slow member's connection ended with %v, want %d", err, closeTooSlow)
	}
	if got >= n {
		t.Fatalf("the slow member read all %d messages: it was never behind", got)
	}
	t.Logf("the slow member got %d of %d messages, then 1013", got, n)
	if d := p0.metrics(t)["cluster_slow_consumers_dropped_total"]; d != 0 {
		t.Errorf("node %s dropped %v members, want none", p0.node, d)
	}
	if c := p1.metrics(t)["cluster_connections"]; c != 1 {
		t.Errorf("node %s has %v connections, want 1 (fast)", p1.node, c)
	}
}
