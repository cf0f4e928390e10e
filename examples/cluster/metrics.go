package main

import (
	"bytes"
	"fmt"
	"net/http"
	"runtime"
	"sync/atomic"

	"github.com/wsstd/websocket/examples/cluster/internal/procstat"
)

// metrics are a node's counters, served at /metrics in the Prometheus text
// format (version 0.0.4), written by hand: a few lines, no dependency.
type metrics struct {
	accepted    atomic.Uint64 // WebSocket connections accepted
	in          atomic.Uint64 // chat messages received from clients (and published)
	brokerIn    atomic.Uint64 // messages received from the broker
	out         atomic.Uint64 // messages written to clients
	slowDropped atomic.Uint64 // clients closed because their queue was full
}

func (n *node) serveMetrics(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	rooms := len(n.rooms)
	n.mu.Unlock()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	var b bytes.Buffer
	metric := func(name, typ, help string, v uint64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", name, help, name, typ, name, v)
	}
	metric("cluster_connections", "gauge", "WebSocket connections open now.", uint64(n.up.ActiveConns()))
	metric("cluster_connections_accepted_total", "counter", "WebSocket connections accepted.", n.met.accepted.Load())
	metric("cluster_rooms", "gauge", "Rooms with local members (one broker subscription each).", uint64(rooms))
	metric("cluster_messages_in_total", "counter", "Chat messages received from clients and published to the broker.", n.met.in.Load())
	metric("cluster_broker_messages_total", "counter", "Messages (chat and presence) received from the broker.", n.met.brokerIn.Load())
	metric("cluster_messages_out_total", "counter", "Messages written to clients.", n.met.out.Load())
	metric("cluster_slow_consumers_dropped_total", "counter", "Clients closed with 1013 because their send queue was full.", n.met.slowDropped.Load())
	metric("go_goroutines", "gauge", "Goroutines that currently exist.", uint64(runtime.NumGoroutine()))
	metric("go_memstats_heap_inuse_bytes", "gauge", "Bytes in in-use heap spans.", ms.HeapInuse)
	metric("go_memstats_sys_bytes", "gauge", "Bytes obtained from the system.", ms.Sys)
	if rss, ok := procstat.ResidentBytes(); ok {
		metric("process_resident_memory_bytes", "gauge", "Resident set size in bytes.", rss)
	}
	if cpu, ok := procstat.CPUSeconds(); ok {
		fmt.Fprintf(&b, "# HELP process_cpu_seconds_total User and system CPU time spent.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n", cpu)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(b.Bytes())
}
