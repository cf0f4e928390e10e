//go:build js && wasm

// Command wasm is the js/wasm build of the client API in a web page: it
// dials the page's own server at /ws with websocket.Dial, which in a
// js/wasm program is carried by the browser's WebSocket, sends a text and
// a binary message, and shows everything it receives. The page's form sends
// more messages; its Close button closes the connection with 1000.
//
// Build it and serve it with examples/wasm/server (see README.md):
//
//	GOOS=js GOARCH=wasm go build -o examples/wasm/server/main.wasm ./examples/wasm
//	go run ./examples/wasm/server    # then open http://127.0.0.1:8080
package main

import (
	"context"
	"fmt"
	"syscall/js"
	"time"

	"github.com/wsstd/websocket"
)

func main() {
	document := js.Global().Get("document")
	logEl := document.Call("getElementById", "log")
	log := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		logEl.Set("textContent", logEl.Get("textContent").String()+line+"\n")
		fmt.Println(line) // the browser's console
	}

	// A URL without a scheme is resolved against the page's location:
	// "/ws" is ws://<this host>/ws, or wss:// on an https page.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	c, _, err := websocket.Dial(ctx, "/ws", nil)
	cancel()
	if err != nil {
		log("error: %v", err)
		return
	}
	log("connected (subprotocol %q, compression %v)", c.Subprotocol(), c.PerMessageDeflate())

	// Event handlers must not block: each send runs in a goroutine.
	form := document.Call("getElementById", "form")
	input := document.Call("getElementById", "msg")
	onSubmit := js.FuncOf(func(this js.Value, args []js.Value) any {
		args[0].Call("preventDefault")
		msg := input.Get("value").String()
		go func() {
			if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
				log("send failed: %v", err)
				return
			}
			log("sent: %s", msg)
		}()
		return nil
	})
	defer onSubmit.Release()
	form.Set("onsubmit", onSubmit)
	onClose := js.FuncOf(func(this js.Value, args []js.Value) any {
		go c.CloseWithStatus(websocket.StatusNormalClosure, "bye from the wasm page")
		return nil
	})
	defer onClose.Release()
	closeBtn := document.Call("getElementById", "close")
	closeBtn.Set("onclick", onClose)
	for _, id := range []string{"send", "close"} {
		document.Call("getElementById", id).Set("disabled", false)
	}

	if err := c.WriteMessage(websocket.TextMessage, []byte("Hello, Server!")); err != nil {
		log("send failed: %v", err)
	} else {
		log("sent: Hello, Server!")
	}
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{0xde, 0xad, 0xbe, 0xef}); err != nil {
		log("send failed: %v", err)
	} else {
		log("sent: 4 bytes of binary")
	}

	for {
		typ, p, err := c.ReadMessage()
		if err != nil {
			if code := websocket.CloseStatus(err); code >= 0 {
				log("closed: %v", err)
			} else {
				log("error: %v", err)
			}
			break
		}
		if typ == websocket.TextMessage {
			log("received: %s", p)
		} else {
			log("received: %d bytes of binary: % x", len(p), p)
		}
	}
	// The program ends here: detach the handlers before they are released.
	form.Set("onsubmit", js.Null())
	closeBtn.Set("onclick", js.Null())
	for _, id := range []string{"send", "close"} {
		document.Call("getElementById", id).Set("disabled", true)
	}
}
