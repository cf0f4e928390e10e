package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsstd/websocket"
)

// Ctrl-C (SIGINT) on the running example closes every WebSocket with 1001.
func TestInterruptClosesSocketsWith1001(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "echo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "-addr", addr)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	logs := bufio.NewScanner(stderr)
	for logs.Scan() && !strings.Contains(logs.Text(), "serving on") {
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var conns []*websocket.Conn
	for i := 0; i < 3; i++ {
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		c.WriteMessage(websocket.TextMessage, []byte("hi"))
		if _, _, err := c.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	cmd.Process.Signal(os.Interrupt)
	for i, c := range conns {
		_, _, err := c.ReadMessage()
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("conn %d: got %v, want close 1001", i, err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("example exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Signal(syscall.SIGKILL)
		t.Fatal("example did not exit after SIGINT")
	}
}
