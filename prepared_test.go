//go:build !js

package websocket

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// A prepared message reaches plain and compressing connections, servers
// and clients alike, intact; server frames are encoded once.
func TestPreparedMessageBroadcast(t *testing.T) {
	checkGoroutines(t)
	data := []byte(strings.Repeat("broadcast payload ", 500))
	pm, err := NewPreparedMessage(TextMessage, data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPreparedMessage(MessageType(9), nil); err == nil {
		t.Fatal("invalid type accepted")
	}
	check := func(who string, c *Conn) {
		typ, got, err := c.ReadMessage()
		if err != nil || typ != TextMessage || !bytes.Equal(got, data) {
			t.Errorf("%s: got %v len %d %v", who, typ, len(got), err)
		}
	}
	var mu sync.Mutex
	var serverConns []*Conn
	var clients []*Conn
	var wg sync.WaitGroup
	for _, mode := range []CompressionMode{CompressionDisabled, CompressionNoContextTakeover, CompressionContextTakeover} {
		mode := mode
		s := startServer(t, &Upgrader{Compression: mode}, func(c *Conn) {
			check(fmt.Sprintf("server mode %d", mode), c) // the client's prepared message
			mu.Lock()
			serverConns = append(serverConns, c)
			mu.Unlock()
			wg.Done()
			c.ReadMessage() // until the client closes
		})
		for i := 0; i < 3; i++ {
			d := &Dialer{Compression: mode}
			c, _, err := d.Dial(context.Background(), wsURL(s), nil)
			if err != nil {
				t.Fatal(err)
			}
			clients = append(clients, c)
			wg.Add(1)
			if err := c.WritePreparedMessage(pm); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	for _, c := range serverConns {
		if err := c.WritePreparedMessage(pm); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range clients {
		check(fmt.Sprintf("client %d", i), c)
		c.Close()
	}
	if pm.plain == nil || pm.compressed == nil {
		t.Fatal("server frames were not cached")
	}
}

func BenchmarkBroadcast(b *testing.B) {
	const n = 100
	data := []byte(strings.Repeat(`{"tick":1,"price":123.45} `, 40))
	for _, prepared := range []bool{false, true} {
		b.Run(fmt.Sprintf("prepared=%v", prepared), func(b *testing.B) {
			var conns []*Conn
			for i := 0; i < n; i++ {
				x, y := loopbackPair(b)
				c := newConn(x, nil, connConfig{isServer: true, deflate: &deflateParams{writeNoContext: true, readNoContext: true}})
				conns = append(conns, c)
				go func() {
					buf := make([]byte, 64<<10)
					for {
						if _, err := y.Read(buf); err != nil {
							return
						}
					}
				}()
				defer y.Close()
				defer c.CloseNow()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if prepared {
					pm, _ := NewPreparedMessage(TextMessage, data)
					for _, c := range conns {
						c.WritePreparedMessage(pm)
					}
				} else {
					for _, c := range conns {
						c.WriteMessage(TextMessage, data)
					}
				}
			}
		})
	}
}
