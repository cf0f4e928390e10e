// Command echo serves a WebSocket echo endpoint at /ws and, at /, a page
// whose JavaScript connects to it with the browser's own WebSocket.
//
//	go run ./examples/echo            # then open http://127.0.0.1:8080
//	go run ./examples/echo -addr :9000 -readlimit 33554432 -origins '*'
//	go run ./examples/echo -compress  # permessage-deflate, which browsers offer
//	go run ./examples/echo -ping 0    # no keepalive pings (default: every 30s)
//
// The page shows what the handshake negotiated (subprotocol, extensions),
// the round-trip time of each echo, and lets you close and reconnect.
package main

import (
	"context"
	_ "embed"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/wsstd/websocket"
)

//go:embed index.html
var indexHTML []byte

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	readLimit := flag.Int64("readlimit", 16<<20, "largest message accepted, in bytes")
	origins := flag.String("origins", "", "comma-separated extra allowed Origin patterns (* allows any)")
	compress := flag.Bool("compress", false, "negotiate permessage-deflate (without context takeover) when the client offers it")
	ping := flag.Duration("ping", 30*time.Second, "ping every connection this often and drop one that stays silent as long after a ping (0: no keepalive)")
	flag.Parse()

	mux, upgrader := newMux(*readLimit, splitList(*origins))
	// Keepalive: proxies cut idle connections (nginx after 60s), and a
	// peer that vanished without a FIN is found only by asking it.
	upgrader.PingInterval = *ping
	if *compress {
		// Each message compressed on its own: no compression memory is
		// held by idle connections.
		upgrader.Compression = websocket.CompressionNoContextTakeover
	}
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	// Ctrl-C: stop the HTTP server and tell every open page 1001 "going
	// away"; ShutdownServer returns once both are done (or after 5s).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		log.Printf("echo: shutting down; closing %d WebSocket(s) with 1001", upgrader.ActiveConns())
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := websocket.ShutdownServer(shutdownCtx, srv, upgrader); err != nil {
			log.Printf("echo: shutdown: %v", err)
		}
	}()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	a := ln.Addr().String()
	log.Printf("echo: serving on http://%s (WebSocket endpoint ws://%s/ws)", a, a)
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		log.Fatal(err)
	}
	// Serve returned when the listener closed; wait for the sockets.
	<-stopped
	log.Printf("echo: stopped")
}

// newMux returns the example's routes, the page at / and the echo at /ws,
// and the Upgrader behind /ws.
func newMux(readLimit int64, origins []string) (*http.ServeMux, *websocket.Upgrader) {
	mux := http.NewServeMux()
	upgrader := &websocket.Upgrader{
		ReadLimit:      readLimit,
		OriginPatterns: origins,
		Handler:        echo,
		// Say why a handshake was refused: behind a reverse proxy that
		// rewrites Host, browsers see only a failed connection.
		OnReject: func(r *http.Request, status int, err error) {
			log.Printf("echo: refused %s from %s: %d %v", r.URL.Path, r.RemoteAddr, status, err)
		},
	}
	mux.Handle("/ws", upgrader)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	return mux, upgrader
}

// echo sends every message back with the same type, streaming it so that
// a large message is never held whole in memory.
func echo(c *websocket.Conn) {
	for {
		typ, r, err := c.NextReader()
		if err != nil {
			if websocket.CloseStatus(err) < 0 {
				log.Printf("echo: %v: %v", c.RemoteAddr(), err)
			}
			return
		}
		w, err := c.NextWriter(typ)
		if err != nil {
			return
		}
		if _, err := io.Copy(w, r); err != nil {
			w.Close()
			return
		}
		if err := w.Close(); err != nil {
			return
		}
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
