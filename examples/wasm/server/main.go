//go:build !js

// Command server serves the js/wasm example (examples/wasm): its page at
// /, the prebuilt main.wasm, Go's wasm_exec.js and a WebSocket echo at
// /ws, on our Upgrader. It builds nothing: build main.wasm first.
//
//	GOOS=js GOARCH=wasm go build -o examples/wasm/server/main.wasm ./examples/wasm
//	go run ./examples/wasm/server    # then open http://127.0.0.1:8082
//
// Flags:
//
//	-addr A       address to listen on (default 127.0.0.1:8082, beside the
//	              echo example's 8080 and the chat example's 8081)
//	-wasm P       the js/wasm program (default examples/wasm/server/main.wasm,
//	              or main.wasm in the current directory)
//	-wasmexec P   Go's wasm_exec.js; it must come from the Go release that
//	              built main.wasm (default: $(go env GOROOT)/lib/wasm, or
//	              misc/wasm before Go 1.24)
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/wsstd/websocket"
)

//go:embed index.html
var indexHTML []byte

const buildHint = "GOOS=js GOARCH=wasm go build -o examples/wasm/server/main.wasm ./examples/wasm"

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "address to listen on")
	wasmPath := flag.String("wasm", "", "path of main.wasm (default examples/wasm/server/main.wasm or ./main.wasm)")
	wasmExec := flag.String("wasmexec", "", "path of Go's wasm_exec.js (default: from go env GOROOT)")
	flag.Parse()

	if *wasmPath == "" {
		*wasmPath = findFile(filepath.Join("examples", "wasm", "server", "main.wasm"), "main.wasm")
	}
	if _, err := os.Stat(*wasmPath); err != nil {
		log.Printf("server: %v; build it with:\n\t%s", err, buildHint)
	}
	if *wasmExec == "" {
		var err error
		if *wasmExec, err = findWasmExec(); err != nil {
			log.Fatalf("server: %v; pass -wasmexec", err)
		}
	}
	srv := &http.Server{Handler: newMux(*wasmPath, *wasmExec), ReadHeaderTimeout: 10 * time.Second}
	// Listen first, so that "serving on" is only said once it is true
	// (and a port in use is reported as such).
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("server: %v (another example running? pass -addr)", err)
	}

	// Ctrl-C: stop the HTTP server and close the WebSockets with 1001.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := websocket.ShutdownServer(shutdownCtx, srv, echoUpgrader); err != nil {
			log.Printf("server: shutdown: %v", err)
		}
	}()
	log.Printf("server: serving the js/wasm example on http://%s (main.wasm: %s, wasm_exec.js: %s)", ln.Addr(), *wasmPath, *wasmExec)
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		log.Fatal(err)
	}
	<-stopped
}

// echoUpgrader serves the WebSocket echo at /ws.
var echoUpgrader = &websocket.Upgrader{Handler: echo}

// findFile returns the first of paths that exists, or the first one.
func findFile(paths ...string) string {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return paths[0]
}

// findWasmExec finds wasm_exec.js in the Go installation that the go
// command reports.
func findWasmExec() (string, error) {
	goroot := os.Getenv("GOROOT")
	if goroot == "" {
		out, err := exec.Command("go", "env", "GOROOT").Output()
		if err != nil {
			return "", errors.New("cannot find GOROOT: go env GOROOT: " + err.Error())
		}
		goroot = strings.TrimSpace(string(out))
	}
	for _, dir := range []string{"lib", "misc"} {
		p := filepath.Join(goroot, dir, "wasm", "wasm_exec.js")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no wasm_exec.js under " + goroot + "/lib/wasm or /misc/wasm")
}

// newMux returns the example's routes.
func newMux(wasmPath, wasmExecPath string) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/ws", echoUpgrader)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	mux.HandleFunc("/main.wasm", func(w http.ResponseWriter, r *http.Request) {
		serveFile(w, r, wasmPath, "application/wasm", "main.wasm is not built: "+buildHint)
	})
	mux.HandleFunc("/wasm_exec.js", func(w http.ResponseWriter, r *http.Request) {
		serveFile(w, r, wasmExecPath, "text/javascript; charset=utf-8", "wasm_exec.js not found: pass -wasmexec")
	})
	return mux
}

// serveFile serves the file at path, or 404 with hint when it is missing.
func serveFile(w http.ResponseWriter, r *http.Request, path, contentType, hint string) {
	if _, err := os.Stat(path); err != nil {
		http.Error(w, hint, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFile(w, r, path)
}

// echo sends every message back with the same type.
func echo(c *websocket.Conn) {
	for {
		typ, r, err := c.NextReader()
		if err != nil {
			if websocket.CloseStatus(err) < 0 {
				log.Printf("server: %v: %v", c.RemoteAddr(), err)
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
