package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// -ping turns on the library's keepalive: a client that never answers the
// server's ping (here a raw TCP client that reads and never writes) is sent
// a ping and then a close frame with 1011.
func TestPingFlag(t *testing.T) {
	url := startBuilt(t, "-ping", "200ms")
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/ws")
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(nc, "GET /ws HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	var ops []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("after frames %v: %v (want a ping, then a close frame)", ops, err)
		}
		op, n := h[0]&0x0f, int(h[1]&0x7f) // server frames: unmasked, short here
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
		if op != 0x8 {
			continue
		}
		if len(ops) < 2 || ops[0] != 0x9 {
			t.Errorf("frames %v: want a ping (9) before the close (8)", ops)
		}
		if len(payload) < 2 || binary.BigEndian.Uint16(payload) != 1011 {
			t.Fatalf("close payload %q, want code 1011", payload)
		}
		return
	}
}
