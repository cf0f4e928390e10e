package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// member is a room member in a test: a Go client or a Node ws process.
type testMember struct {
	room  string
	id    string
	goCl  *client
	node  *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// TestClusterDelivery puts Go clients (the library's Dialer) and Node ws
// clients in three rooms spread over three server processes, and has
// every member send 200 numbered messages at once. Every member must get
// every message of its room exactly once, in order per sender, and none
// of another room.
func TestClusterDelivery(t *testing.T) {
	requirePeers(t, nodeHas(t, "ws"))
	natsURL := startNATS(t)
	var procs []*proc
	for range 3 {
		// Every member sends its 201 messages at once, a burst that a
		// client of the race-enabled test reads more slowly than the
		// broker delivers it: the queue must hold the burst.
		procs = append(procs, startProc(t, 1, "-nats", natsURL, "-queue", "4096"))
	}
	const n = 200
	specs := []struct {
		room string
		proc int
		node bool // a Node ws client rather than a Go one
	}{
		{"red", 0, false}, {"red", 1, false}, {"red", 2, true}, {"red", 0, true},
		{"blue", 2, false}, {"blue", 1, true}, {"blue", 1, false},
		{"green", 0, false},
	}
	senders := map[string][]string{} // room -> member ids
	count := map[string]int{}
	for _, s := range specs {
		count[s.room]++
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var members []*testMember
	for i, s := range specs {
		m := &testMember{room: s.room}
		addr := procs[s.proc].addr
		name := "u" + strconv.Itoa(i)
		if s.node {
			m.node = exec.CommandContext(ctx, "node", filepath.Join("testdata", "ws_client.js"),
				"ws://"+addr+"/ws?room="+s.room+"&name="+name,
				"--senders="+strconv.Itoa(count[s.room]), "--count="+strconv.Itoa(n))
			m.node.Env = append(os.Environ(), "NODE_PATH="+nodeModules(t))
			m.node.Stderr = os.Stderr
			var err error
			if m.stdin, err = m.node.StdinPipe(); err != nil {
				t.Fatal(err)
			}
			stdout, err := m.node.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := m.node.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.node.Process.Kill(); m.node.Wait() })
			m.out = bufio.NewScanner(stdout)
			m.out.Buffer(nil, 64<<20)
			var ready struct{ Ready, Error string }
			if !m.out.Scan() || json.Unmarshal(m.out.Bytes(), &ready) != nil || ready.Ready == "" {
				t.Fatalf("ws_client.js on %s: %q %v", addr, m.out.Text(), m.out.Err())
			}
			m.id = ready.Ready
		} else {
			m.goCl = dialClient(t, nil, addr, s.room, name).start()
			m.id = m.goCl.id
			m.goCl.waitJoin(m.id)
		}
		senders[s.room] = append(senders[s.room], m.id)
		members = append(members, m)
	}

	// Everyone is subscribed: all send at once.
	sendErr := make(chan error, len(members))
	for _, m := range members {
		if m.node != nil {
			io.WriteString(m.stdin, "go\n")
			continue
		}
		go func(c *client) {
			for i := 1; i <= n; i++ {
				if err := c.conn.WriteJSON(inbound{Type: "message", Text: "m" + strconv.Itoa(i)}); err != nil {
					sendErr <- err
					return
				}
			}
			sendErr <- c.conn.WriteJSON(inbound{Type: "message", Text: "end"})
		}(m.goCl)
	}

	for _, m := range members {
		var got []event
		if m.node != nil {
			var res struct {
				ID    string
				Got   []event
				Error string
			}
			if !m.out.Scan() {
				t.Fatalf("ws_client.js %s: no result: %v", m.id, m.out.Err())
			}
			if err := json.Unmarshal(m.out.Bytes(), &res); err != nil || res.Error != "" {
				t.Fatalf("ws_client.js %s: %.300q: %v", m.id, m.out.Text(), err)
			}
			got = res.Got
		} else {
			ends := 0
			for ends < count[m.room] {
				e, _ := m.goCl.waitFor("a chat message", 60*time.Second, func(e event) bool { return e.Type == "message" })
				got = append(got, e)
				if e.Text == "end" {
					ends++
				}
			}
		}
		checkSequences(t, m.id, got, m.room, senders[m.room], n)
	}
	for _, m := range members {
		if m.goCl != nil {
			if err := <-sendErr; err != nil {
				t.Errorf("sending: %v", err)
			}
		}
	}

	// The counters agree: each process published what its members sent.
	for _, p := range procs {
		var want float64
		for _, s := range specs {
			if procs[s.proc] == p {
				want += n + 1
			}
		}
		if got := p.metrics(t)["cluster_messages_in_total"]; got != want {
			t.Errorf("node %s: cluster_messages_in_total %v, want %v", p.node, got, want)
		}
	}
	t.Logf("%d members in %d rooms on 3 processes, %d messages each: all delivered exactly once, in order (senders: %s)",
		len(members), len(senders), n+1, strings.Join(senders["red"], ","))
}
