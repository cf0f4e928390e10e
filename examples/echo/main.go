// Command echo serves a WebSocket echo endpoint at /ws and, at /, a page
// whose JavaScript connects to it with the browser's own WebSocket.
//
//	go run ./examples/echo            # then open http://127.0.0.1:8080
//	go run ./examples/echo -addr :9000 -readlimit 33554432 -origins '*'
package main

import (
	_ "embed"
	"flag"
	"io"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/wsstd/websocket"
)

//go:embed index.html
var indexHTML []byte

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	readLimit := flag.Int64("readlimit", 16<<20, "largest message accepted, in bytes")
	origins := flag.String("origins", "", "comma-separated extra allowed Origin patterns (* allows any)")
	flag.Parse()

	srv := &http.Server{Addr: *addr, Handler: newMux(*readLimit, splitList(*origins)), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("echo: serving on http://%s (WebSocket endpoint ws://%s/ws)", *addr, *addr)
	log.Fatal(srv.ListenAndServe())
}

// newMux returns the example's routes: the page at / and the echo at /ws.
func newMux(readLimit int64, origins []string) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/ws", &websocket.Upgrader{
		ReadLimit:      readLimit,
		OriginPatterns: origins,
		Handler:        echo,
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	return mux
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
