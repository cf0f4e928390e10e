package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/wsstd/websocket"
)

// startBuilt builds and starts the example with args on a free port and
// returns its WebSocket URL once it logged "serving on".
func startBuilt(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "echo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`serving on http://(\S+) `)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		for sc.Scan() { // keep the pipe drained
		}
	}()
	select {
	case addr := <-found:
		return "ws://" + addr + "/ws"
	case <-time.After(60 * time.Second):
		t.Fatal("the example did not say it is serving")
		return ""
	}
}

// -compress makes the example negotiate permessage-deflate with clients
// that offer it (every browser does); without it, none is negotiated.
func TestCompressFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, false}, {[]string{"-compress"}, true}} {
		url := startBuilt(t, tc.args...)
		d := websocket.Dialer{Compression: websocket.CompressionContextTakeover}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, resp, err := d.Dial(ctx, url, nil)
		cancel()
		if err != nil {
			t.Fatalf("%v: dial: %v", tc.args, err)
		}
		if got := c.PerMessageDeflate(); got != tc.want {
			t.Errorf("%v: PerMessageDeflate %v (response extensions %q), want %v", tc.args, got, resp.Header.Get("Sec-WebSocket-Extensions"), tc.want)
		}
		msg := bytes.Repeat([]byte("compressible "), 10000)
		if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
			t.Fatal(err)
		}
		if _, p, err := c.ReadMessage(); err != nil || !bytes.Equal(p, msg) {
			t.Fatalf("%v: echo of %d bytes: %d bytes, %v", tc.args, len(msg), len(p), err)
		}
		c.Close()
	}
}
