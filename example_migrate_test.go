//go:build !js

package websocket_test

// Examples for the patterns that change when code moves here from
// gorilla/websocket or coder/websocket (docs/MIGRATING.md).

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/wsstd/websocket"
)

// migrateServer starts a test server running handler for each connection
// and returns its ws:// URL.
func migrateServer(handler func(*websocket.Conn)) (string, func()) {
	s := httptest.NewServer(&websocket.Upgrader{Handler: handler})
	return "ws" + strings.TrimPrefix(s.URL, "http"), s.Close
}

// gorilla's readPump logs closes it did not expect with
// IsUnexpectedCloseError(err, CloseGoingAway, CloseAbnormalClosure). The
// function exists here too; a connection lost without a close frame is not
// a *CloseError here (CloseStatus gives -1) but counts as
// StatusAbnormalClosure for IsUnexpectedCloseError.
func ExampleIsUnexpectedCloseError() {
	url, stop := migrateServer(func(c *websocket.Conn) {
		c.CloseNow() // the server vanishes: no close frame
	})
	defer stop()

	c, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	_, _, err = c.ReadMessage()
	fmt.Println("close frame:", websocket.IsCloseError(err))
	fmt.Println("CloseStatus:", int(websocket.CloseStatus(err)))
	fmt.Println("unexpected (1000, 1001 expected):",
		websocket.IsUnexpectedCloseError(err, websocket.StatusNormalClosure, websocket.StatusGoingAway))
	fmt.Println("unexpected (1006 expected too):",
		websocket.IsUnexpectedCloseError(err, websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusAbnormalClosure))
	// Output:
	// close frame: false
	// CloseStatus: -1
	// unexpected (1000, 1001 expected): true
	// unexpected (1006 expected too): false
}

// gorilla's Close drops the TCP connection; a clean close there is
// WriteControl(CloseMessage, FormatCloseMessage(code, text), deadline),
// then waiting for the peer's close frame, then Close. Here that is one
// call, CloseWithStatus (or Close for 1000), and CloseNow is gorilla's
// Close. coder's Close(code, reason) is CloseWithStatus.
func ExampleConn_CloseWithStatus_fromGorilla() {
	got := make(chan error, 1)
	url, stop := migrateServer(func(c *websocket.Conn) {
		_, _, err := c.ReadMessage() // answers the close frame by itself
		got <- err
	})
	defer stop()

	c, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Sends the close frame, waits for the answer, closes the socket.
	fmt.Println("CloseWithStatus:", c.CloseWithStatus(4000, "done"))
	err = <-got
	fmt.Println("server read:", websocket.CloseStatus(err) == 4000, err)
	// Output:
	// CloseWithStatus: <nil>
	// server read: true websocket: peer closed the connection: 4000: "done"
}

// gorilla's default ping handler sends the pong, and a custom one must send
// it itself (WriteControl(PongMessage, ...)). Here the Conn always answers:
// the handler only observes, and returns nothing. Pings and pongs are
// handled by the goroutine that reads, in both libraries.
func ExampleConn_SetPingHandler_fromGorilla() {
	pings := make(chan string, 1)
	url, stop := migrateServer(func(c *websocket.Conn) {
		c.SetPingHandler(func(p []byte) {
			pings <- string(p) // no pong to write: it goes out anyway
		})
		c.ReadMessage() // runs the handler, answers, waits for the close
	})
	defer stop()

	c, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Ping waits for the pong, which this side's reader delivers.
	go c.ReadMessage()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println("client: Ping returned", c.Ping(ctx, []byte("are you there")))
	fmt.Printf("server's handler saw %q\n", <-pings)
	c.Close()
	// Output:
	// client: Ping returned <nil>
	// server's handler saw "are you there"
}

// gorilla's keepalive: a ticker goroutine sends pings with WriteControl
// (fire and forget) and the pong handler extends the read deadline. The
// same shape works here: Ping waits for its pong, so run it on the ticker
// goroutine with a bound, and let the pong handler (or any message) move
// the read deadline. coder users wrote the same loop around Ping(ctx).
func ExampleConn_Ping_keepalive() {
	const pongWait = 60 * time.Second
	const pingPeriod = pongWait * 9 / 10

	keepalive := func(c *websocket.Conn, done <-chan struct{}) {
		c.SetReadDeadline(time.Now().Add(pongWait))
		c.SetPongHandler(func([]byte) { c.SetReadDeadline(time.Now().Add(pongWait)) })
		t := time.NewTicker(pingPeriod)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), pongWait)
				err := c.Ping(ctx, nil) // returns when the pong is in
				cancel()
				if err != nil {
					c.CloseNow() // the reader then returns an error
					return
				}
			}
		}
	}
	_ = keepalive // started beside the read loop: go keepalive(c, done)
}

// gorilla allows one concurrent writer, so its chat example funnels every
// message through a writePump goroutine. Here writes are safe from many
// goroutines at once (each message goes out whole), so a hub may write to
// a Conn directly; a per-connection queue is still the way to keep a slow
// client from blocking the sender.
func ExampleConn_WriteMessage_concurrent() {
	url, stop := migrateServer(func(c *websocket.Conn) {
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() { // three writers, no lock
				defer wg.Done()
				c.WriteMessage(websocket.TextMessage, []byte("hello"))
			}()
		}
		wg.Wait()
		c.Close()
	})
	defer stop()

	c, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	n := 0
	for {
		_, p, err := c.ReadMessage()
		if err != nil {
			fmt.Println(n, "messages, then", websocket.CloseStatus(err))
			return
		}
		if string(p) == "hello" {
			n++
		}
	}
	// Output:
	// 3 messages, then 1000 (normal closure)
}

// coder's Read(ctx) and Write(ctx, ...) take a context, and a context that
// ends closes the connection. Here reads and writes take deadlines, as
// net.Conn's do; to tie a Conn to a context, close it when the context
// ends. Either way an interrupted read leaves the connection unusable.
func ExampleConn_ReadMessage_fromCoderContext() {
	url, stop := migrateServer(func(c *websocket.Conn) {
		c.ReadMessage() // waits for the client to go
	})
	defer stop()

	// A deadline instead of coder's ctx timeout.
	c, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, _, err = c.ReadMessage()
	fmt.Println("deadline:", errors.Is(err, os.ErrDeadlineExceeded))
	c.CloseNow()

	// A context whose end closes the Conn, as coder's do.
	c, _, err = websocket.Dial(context.Background(), url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	defer context.AfterFunc(ctx, func() { c.CloseNow() })()
	_, _, err = c.ReadMessage()
	fmt.Println("context:", ctx.Err(), "/", errors.Is(err, websocket.ErrClosed))
	// Output:
	// deadline: true
	// context: context deadline exceeded / true
}
