//go:build !js

package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/wsstd/websocket"
)

// An Upgrader used inside an ordinary handler: Upgrade takes over the
// connection, or answers the request with an HTTP error.
func ExampleUpgrader_Upgrade() {
	var upgrader websocket.Upgrader // same-origin requests, no subprotocol

	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered with an HTTP error
		}
		defer c.Close()
		for {
			typ, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, p); err != nil {
				return
			}
		}
	})
	server := httptest.NewServer(mux)
	defer server.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(server.URL, "http")+"/echo", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	if err := c.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		fmt.Println(err)
		return
	}
	typ, p, err := c.ReadMessage()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(typ, string(p))

	// A plain HTTP request to the same handler is refused.
	resp, err := http.Get(server.URL + "/echo")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// text hello
	// 400 Bad Request
}

// An Upgrader is an http.Handler: ServeHTTP upgrades the request and runs
// Handler with the connection, which it closes when Handler returns.
func ExampleUpgrader_ServeHTTP() {
	chat := &websocket.Upgrader{
		Subprotocols: []string{"chat.v2", "chat.v1"},
		Handler: func(c *websocket.Conn) {
			for {
				_, p, err := c.ReadMessage()
				if err != nil {
					return
				}
				reply := fmt.Sprintf("[%s] %s", c.Subprotocol(), strings.ToUpper(string(p)))
				if err := c.WriteMessage(websocket.TextMessage, []byte(reply)); err != nil {
					return
				}
			}
		},
	}
	mux := http.NewServeMux()
	mux.Handle("/chat", chat)
	server := httptest.NewServer(mux)
	defer server.Close()

	d := websocket.Dialer{Subprotocols: []string{"chat.v1"}, HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial(context.Background(), "ws"+strings.TrimPrefix(server.URL, "http")+"/chat", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println("subprotocol:", c.Subprotocol())

	c.WriteMessage(websocket.TextMessage, []byte("hi there"))
	_, p, err := c.ReadMessage()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(p))
	// Output:
	// subprotocol: chat.v1
	// [chat.v1] HI THERE
}

// Dial a server, exchange a message, and close with the close handshake.
// A server that does not upgrade gives a *HandshakeError carrying its
// response.
func ExampleDial() {
	server := httptest.NewServer(&websocket.Upgrader{Handler: func(c *websocket.Conn) {
		typ, p, err := c.ReadMessage()
		if err == nil {
			c.WriteMessage(typ, append([]byte("echo: "), p...))
		}
		c.ReadMessage() // wait for the client's close
	}})
	defer server.Close()
	url := "ws" + strings.TrimPrefix(server.URL, "http")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, http.Header{"Origin": {server.URL}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status)
	c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
	typ, p, err := c.ReadMessage()
	fmt.Println(typ, p, err)
	fmt.Println("close:", c.Close())

	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	_, resp, err = websocket.Dial(ctx, "ws"+strings.TrimPrefix(plain.URL, "http"), nil)
	var he *websocket.HandshakeError
	if errors.As(err, &he) {
		fmt.Println("refused:", he.Response.StatusCode, resp == he.Response)
	}
	// Output:
	// 101 Switching Protocols
	// binary [101 99 104 111 58 32 1 2 3] <nil>
	// close: <nil>
	// refused: 404 true
}
