// Command chat is a multi-room chat server. Its page at / lets a browser
// pick a room (?room=NAME or the Room field) and a name, and talks to the
// WebSocket at /ws?room=NAME&name=NICK in JSON messages:
//
//	{"type":"message"|"join"|"leave","room":"...","name":"...","text":"..."}
//
// Clients send {"type":"message","text":"..."}; the server broadcasts it
// to the room with the sender's room and name, and announces joins and
// leaves. A slow or dead client never holds up the others: each client
// has a bounded send queue drained by its own writer; a client whose queue
// overflows is dropped with 1008 "too slow", and the library's keepalive
// drops one that stops answering pings with 1011.
//
//	go run ./examples/chat                 # then open http://127.0.0.1:8081
//	go run ./examples/chat -addr :9000 -queue 16 -ping 10s
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	queue := flag.Int("queue", 64, "messages that may wait for a client before it is dropped as too slow")
	ping := flag.Duration("ping", 30*time.Second, "interval between pings to each client (0 disables)")
	pingTimeout := flag.Duration("ping-timeout", 10*time.Second, "how long a client has to answer a ping")
	writeTimeout := flag.Duration("write-timeout", 10*time.Second, "how long writing one message to a client may take")
	readLimit := flag.Int64("readlimit", 64<<10, "largest message accepted from a client, in bytes")
	origins := flag.String("origins", "", "comma-separated extra allowed Origin patterns (* allows any)")
	flag.Parse()

	pingInterval := *ping
	if pingInterval == 0 {
		pingInterval = -1 // config's "disabled"
	}
	chat := newServer(config{
		QueueSize:    *queue,
		WriteTimeout: *writeTimeout,
		PingInterval: pingInterval,
		PingTimeout:  *pingTimeout,
		ReadLimit:    *readLimit,
		Origins:      splitList(*origins),
		Logf:         log.Printf,
	})
	srv := &http.Server{Addr: *addr, Handler: chat, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("chat: serving on http://%s (WebSocket endpoint ws://%s/ws?room=NAME&name=NICK)", *addr, *addr)

	select {
	case err := <-errc:
		log.Fatal(err)
	case <-ctx.Done():
	}
	log.Printf("chat: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Shutdown does not wait for hijacked (WebSocket) connections;
	// chat.Close closes them and waits for their goroutines.
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Printf("chat: %v", err)
	}
	chat.Close()
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
