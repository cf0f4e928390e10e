//go:build !js

package websocket

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
)

func TestNetConn(t *testing.T) {
	checkGoroutines(t)
	s := startServer(t, &Upgrader{}, func(c *Conn) {
		nc := NetConn(c, BinaryMessage)
		io.Copy(nc, nc) // echo the byte stream until the peer closes
		nc.Close()
	})
	c, _, err := Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	nc := NetConn(c, BinaryMessage)
	var _ net.Conn = nc
	msg := bytes.Repeat([]byte("stream "), 10000)
	go func() {
		nc.Write(msg[:1000])
		nc.Write(msg[1000:])
	}()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(nc, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("err %v", err)
	}
	if err := nc.Close(); err != nil {
		t.Fatal(err)
	}
}
