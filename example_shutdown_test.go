//go:build !js

package websocket_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wsstd/websocket"
)

// A server that stops cleanly on SIGTERM or Ctrl-C: the HTTP server stops
// accepting and finishes its requests while every WebSocket is told 1001,
// and ShutdownServer returns when all of that is done (or after 5 s).
func ExampleShutdownServer() {
	u := &websocket.Upgrader{Handler: func(c *websocket.Conn) {
		for {
			typ, p, err := c.ReadMessage()
			if err != nil || c.WriteMessage(typ, p) != nil {
				return
			}
		}
	}}
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: u, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		if err := srv.ListenAndServe(); err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	<-ctx.Done()

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := websocket.ShutdownServer(shutdownCtx, srv, u); err != nil {
		log.Printf("shutdown: %v", err)
	}
}
