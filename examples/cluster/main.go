// Command cluster is the chat of examples/chat served by several processes
// that share nothing but a NATS broker: each process holds its own
// WebSocket connections, publishes every chat message (and every join and
// leave) to the room's NATS subject, and delivers what it receives from
// NATS to its local members of that room.
//
//	go run ./examples/cluster              # then open http://127.0.0.1:8081
//
// runs an embedded NATS server on a random loopback port and two listeners
// (127.0.0.1:8081 and :8082), each a node with its own NATS connection, so
// a page on one and a page on the other talk through the broker. With
// -nats URL it uses an external NATS server (or cluster) instead; that is
// how production processes run, one listener each:
//
//	cluster -addrs :8081 -nats nats://10.0.0.5:4222
//
// The page at / joins a room (?room=NAME) under a name and reconnects with
// backoff, to the next server it knows, when its server goes away. /metrics
// serves counters in the Prometheus text format. A client whose send queue
// fills (-queue) is closed with 1013 "too slow"; SIGINT or SIGTERM closes
// every client with 1001, drains the NATS subscriptions and exits.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/wsstd/websocket/examples/cluster/internal/rlimit"
)

func main() {
	addrs := flag.String("addrs", "127.0.0.1:8081,127.0.0.1:8082", "comma-separated addresses to listen on, one node each")
	natsURL := flag.String("nats", "", "NATS server URL(s); empty starts an embedded server on loopback")
	natsPort := flag.Int("nats-port", -1, "port of the embedded NATS server (-1: random)")
	id := flag.String("id", "", "node id prefix, unique in the cluster (default: random)")
	prefix := flag.String("prefix", "chat", "NATS subject prefix")
	queue := flag.Int("queue", 256, "messages that may wait for a client before it is closed with 1013")
	ping := flag.Duration("ping", 30*time.Second, "interval between pings to each client (0 disables)")
	pingTimeout := flag.Duration("ping-timeout", 10*time.Second, "how long a client has to answer a ping")
	writeTimeout := flag.Duration("write-timeout", 10*time.Second, "how long writing one message to a client may take")
	origins := flag.String("origins", "", "comma-separated extra allowed Origin patterns, e.g. 127.0.0.1:* (needed for failover between ports)")
	peers := flag.String("peers", "", "comma-separated host:port of other servers, offered to pages for failover")
	sndbuf := flag.Int("sndbuf", 0, "kernel send buffer per connection in bytes (0: the system's)")
	shutdownTimeout := flag.Duration("shutdown-timeout", 10*time.Second, "bound on a graceful shutdown")
	verbose := flag.Bool("v", false, "log every connection")
	flag.Parse()

	if n, err := rlimit.RaiseNoFile(); err != nil {
		log.Printf("cluster: raising the open-file limit: %v (now %d)", err, n)
	}
	if *id == "" {
		var b [3]byte
		rand.Read(b[:])
		*id = hex.EncodeToString(b[:])
	}

	var ns *server.Server
	url := *natsURL
	if url == "" {
		var err error
		ns, err = startEmbeddedNATS(*natsPort)
		if err != nil {
			log.Fatalf("cluster: embedded NATS server: %v", err)
		}
		url = ns.ClientURL()
		log.Printf("cluster: embedded NATS server at %s (other processes: -nats %s)", url, url)
	}

	var lns []net.Listener
	for _, a := range splitList(*addrs) {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			log.Fatalf("cluster: %v", err)
		}
		lns = append(lns, ln)
	}
	if len(lns) == 0 {
		log.Fatal("cluster: -addrs lists no address")
	}
	// Each page learns every address of this process and -peers.
	var peerList []string
	for _, ln := range lns {
		peerList = append(peerList, ln.Addr().String())
	}
	peerList = append(peerList, splitList(*peers)...)

	logf := func(string, ...any) {}
	if *verbose {
		logf = log.Printf
	}
	pingInterval := *ping
	if pingInterval == 0 {
		pingInterval = -1 // config's "disabled"
	}

	type served struct {
		n   *node
		srv *http.Server
	}
	var all []served
	errc := make(chan error, len(lns))
	for i, ln := range lns {
		nodeID := *id
		if len(lns) > 1 {
			nodeID = fmt.Sprintf("%s.%d", *id, i+1)
		}
		nc, err := nats.Connect(url, nats.Name("cluster "+nodeID), nats.MaxReconnects(-1),
			nats.ReconnectWait(250*time.Millisecond),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					log.Printf("cluster %s: NATS disconnected: %v", nodeID, err)
				}
			}),
			nats.ReconnectHandler(func(c *nats.Conn) { log.Printf("cluster %s: NATS reconnected to %s", nodeID, c.ConnectedUrl()) }))
		if err != nil {
			log.Fatalf("cluster: connecting to NATS at %s: %v", url, err)
		}
		n := newNode(config{
			Node:         nodeID,
			Prefix:       *prefix,
			Queue:        *queue,
			WriteTimeout: *writeTimeout,
			PingInterval: pingInterval,
			PingTimeout:  *pingTimeout,
			Origins:      splitList(*origins),
			Peers:        peerList,
			SendBuffer:   *sndbuf,
			Logf:         logf,
		}, nc)
		srv := &http.Server{Handler: n, ReadHeaderTimeout: 10 * time.Second, ConnState: n.connState}
		all = append(all, served{n, srv})
		go func(ln net.Listener) { errc <- srv.Serve(ln) }(ln)
		addr := ln.Addr().String()
		log.Printf("cluster: node %s serving http://%s (WebSocket ws://%s/ws?room=NAME&name=NICK, metrics /metrics)", nodeID, addr, addr)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case err := <-errc:
		log.Fatalf("cluster: %v", err)
	case <-ctx.Done():
	}
	stop() // a second signal kills at once
	log.Printf("cluster: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The http.Server stops listening and serves its plain requests
			// out; the node says 1001 to its WebSocket clients, publishes
			// their leaves and drains its NATS connection.
			if err := s.srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Printf("cluster %s: http: %v", s.n.cfg.Node, err)
			}
			if err := s.n.Shutdown(sctx); err != nil {
				log.Printf("cluster %s: %v", s.n.cfg.Node, err)
			}
		}()
	}
	wg.Wait()
	if ns != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
	}
	log.Printf("cluster: stopped")
}

// startEmbeddedNATS starts a NATS server on loopback, without logs or
// signal handlers of its own.
func startEmbeddedNATS(port int) (*server.Server, error) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		return nil, err
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("not ready after 10s")
	}
	return ns, nil
}

// connState applies SendBuffer to each new TCP connection.
func (n *node) connState(c net.Conn, s http.ConnState) {
	if s != http.StateNew || n.cfg.SendBuffer <= 0 {
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(n.cfg.SendBuffer)
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
