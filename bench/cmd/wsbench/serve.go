package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/wsstd/websocket/bench"
)

// runServer is the child-process side: it serves library NAME on addr and
// prints "ADDR host:port" on stdout, then runs until stdin reaches EOF.
//
//	/echo       the library's echo handler
//	/deflate/noctx, /deflate/ctx  the echo handler with permessage-deflate
//	            (no context takeover / context takeover), where supported
//	/hub        the library's broadcast hub (upgrade + register)
//	/broadcast  ?size=N: hub.Broadcast of an N-byte pattern message,
//	            replies {"ns": duration of the Broadcast call}
//	/stats      ?gc=1 to GC and return freed memory to the OS first;
//	            replies heap/stack in use, RSS, goroutines, hub size
//
// NAME "raw" serves the library-free echo server (no HTTP endpoints).
func runServer(name, addr string) int {
	raiseNofile()
	if h, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(h).IsLoopback() {
		fmt.Fprintf(os.Stderr, "wsbench -serve: address %q is not a loopback address\n", addr)
		return 1
	}
	if name == "raw" {
		s, err := bench.NewRawEchoServer(addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("ADDR %s\n", s.Addr())
		io.Copy(io.Discard, os.Stdin)
		s.Close()
		return 0
	}
	lib := bench.Lookup(name)
	if lib == nil {
		fmt.Fprintf(os.Stderr, "wsbench -serve: unknown library %q\n", name)
		return 1
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hub := lib.NewHub()
	var (
		pmu      sync.Mutex
		payloads = map[int][]byte{}
	)
	mux := http.NewServeMux()
	mux.Handle("/echo", lib.EchoHandler())
	mux.Handle("/hub", hub)
	if d, ok := lib.(bench.Deflater); ok {
		for _, m := range bench.DeflateModes {
			if d.DeflateSupport(m) == "" {
				mux.Handle(deflatePath(m), d.DeflateEchoHandler(m))
			}
		}
	}
	mux.HandleFunc("/broadcast", func(w http.ResponseWriter, r *http.Request) {
		size, err := strconv.Atoi(r.URL.Query().Get("size"))
		if err != nil || size < 0 || size > 16<<20 {
			http.Error(w, "bad size", 400)
			return
		}
		pmu.Lock()
		p, ok := payloads[size]
		if !ok {
			p = pattern(size)
			payloads[size] = p
		}
		pmu.Unlock()
		t := time.Now()
		err = hub.Broadcast(p)
		ns := time.Since(t).Nanoseconds()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		json.NewEncoder(w).Encode(map[string]int64{"ns": ns})
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("gc") == "1" {
			runtime.GC()
			runtime.GC()
			debug.FreeOSMemory()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		json.NewEncoder(w).Encode(serverStats{
			HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse, RSS: readRSS(),
			Goroutines: runtime.NumGoroutine(), HubConns: hub.Len(),
		})
	})
	srv := &http.Server{
		Handler:           mux,
		ErrorLog:          log.New(io.Discard, "", 0),
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "serve:", err)
			os.Exit(1)
		}
	}()
	if path := os.Getenv("WSBENCH_CPUPROFILE"); path != "" {
		// For investigation: a CPU profile of this server's whole life.
		f, err := os.Create(fmt.Sprintf("%s.%s", path, name))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	fmt.Printf("ADDR %s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	hub.CloseAll()
	srv.Close()
	return 0
}

// pattern returns the deterministic broadcast payload of size n.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + n)
	}
	return p
}

// readRSS returns the resident set size from /proc/self/statm.
func readRSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res uint64
	fmt.Sscan(string(b), &size, &res)
	return res * uint64(os.Getpagesize())
}
