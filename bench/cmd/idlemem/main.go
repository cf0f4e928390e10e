// Command idlemem measures the memory an idle WebSocket connection costs a
// server, over ws and wss, for the ways a server can be written:
//
//	wsstd-handler  websocket.Upgrader used as the http.Handler
//	wsstd-handler-drop  the same with DropRequest set
//	wsstd-upgrade  websocket.Upgrader.Upgrade called inside a handler
//	gorilla        gorilla's Upgrade called inside a handler
//
// It is the focused form of wsbench's idle section (section 4), with TLS:
// the server runs in a child process (this binary with -serve), the parent
// opens n connections, upgrades them with a hand-written request, and
// reads the child's heap and stack in use (after two GCs) before and after.
//
//	go run ./cmd/idlemem -n 5000 -variants wsstd-handler,gorilla -tls=false,true
//
// Loopback only; every loop is bounded.
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	gorilla "github.com/gorilla/websocket"
	websocket "github.com/wsstd/websocket"
)

func main() {
	serve := flag.String("serve", "", "internal: run as the server child for this variant")
	useTLS := flag.Bool("servetls", false, "internal: the child serves TLS")
	n := flag.Int("n", 5000, "idle connections per measurement")
	variants := flag.String("variants", "wsstd-handler,wsstd-upgrade,gorilla", "variants to measure")
	tlsModes := flag.String("tls", "false,true", "transports: false (ws), true (wss)")
	rounds := flag.Int("rounds", 1, "measurements per cell (the median is reported)")
	flag.Parse()
	raiseNofile()
	if *serve != "" {
		os.Exit(runChild(*serve, *useTLS))
	}
	fmt.Printf("| variant | transport | heap+stack per idle conn (%d conns) | goroutines per conn |\n|---|---|---|---|\n", *n)
	for _, v := range strings.Split(*variants, ",") {
		for _, t := range strings.Split(*tlsModes, ",") {
			wss := t == "true"
			var hs []float64
			var g float64
			for r := 0; r < *rounds; r++ {
				h, gr, err := measure(v, wss, *n)
				if err != nil {
					log.Fatalf("%s tls=%v: %v", v, wss, err)
				}
				hs = append(hs, h)
				g = gr
			}
			sortFloats(hs)
			name := "ws"
			if wss {
				name = "wss"
			}
			fmt.Printf("| %s | %s | %.2f KiB | %.2f |\n", v, name, hs[len(hs)/2]/1024, g)
			fmt.Fprintf(os.Stderr, "%s %s: %v\n", v, name, hs)
		}
	}
}

func sortFloats(a []float64) {
	for i := range a {
		for j := i + 1; j < len(a); j++ {
			if a[j] < a[i] {
				a[i], a[j] = a[j], a[i]
			}
		}
	}
}

type stats struct {
	HeapStack  uint64
	Stack      uint64
	Goroutines int
}

// measure runs one child, opens n idle connections and returns the heap
// and stack growth and the goroutine growth per connection.
func measure(variant string, wss bool, n int) (float64, float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	cmd := exec.Command(exe, "-serve", variant, fmt.Sprintf("-servetls=%v", wss))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, _ := cmd.StdinPipe()
	outPipe, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	out := bufio.NewReader(outPipe)
	line, err := out.ReadString('\n')
	if err != nil {
		return 0, 0, fmt.Errorf("child: %v", err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))
	ask := func() (stats, error) {
		var s stats
		if _, err := io.WriteString(in, "stats\n"); err != nil {
			return s, err
		}
		l, err := out.ReadString('\n')
		if err != nil {
			return s, err
		}
		return s, json.Unmarshal([]byte(l), &s)
	}
	warm, err := dialMany(addr, wss, 8)
	if err != nil {
		return 0, 0, err
	}
	closeAll(warm)
	time.Sleep(100 * time.Millisecond)
	s0, err := ask()
	if err != nil {
		return 0, 0, err
	}
	conns, err := dialMany(addr, wss, n)
	if err != nil {
		return 0, 0, err
	}
	defer closeAll(conns)
	// Settle: the goroutine count stops moving once every handler waits.
	prev := -1
	for i := 0; i < 100; i++ {
		time.Sleep(100 * time.Millisecond)
		s, err := ask()
		if err != nil {
			return 0, 0, err
		}
		if s.Goroutines == prev {
			break
		}
		prev = s.Goroutines
	}
	s1, err := ask()
	if err != nil {
		return 0, 0, err
	}
	for _, c := range []net.Conn{conns[0], conns[n/2], conns[n-1]} {
		if err := probe(c); err != nil {
			return 0, 0, err
		}
	}
	if os.Getenv("IDLEMEM_VERBOSE") != "" {
		fmt.Fprintf(os.Stderr, "%s wss=%v: stack per conn %.0f B\n", variant, wss, (float64(s1.Stack)-float64(s0.Stack))/float64(n))
	}
	return (float64(s1.HeapStack) - float64(s0.HeapStack)) / float64(n),
		float64(s1.Goroutines-s0.Goroutines) / float64(n), nil
}

func closeAll(cs []net.Conn) {
	for _, c := range cs {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

// dialMany opens n upgraded connections, 16 at a time.
func dialMany(addr string, wss bool, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := dialOne(addr, wss)
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				conns[i] = c
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		closeAll(nonNil(conns))
		return nil, err
	default:
	}
	return conns, nil
}

func nonNil(cs []net.Conn) []net.Conn {
	var out []net.Conn
	for _, c := range cs {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

var clientTLS = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, ClientSessionCache: tls.NewLRUClientSessionCache(64)}

func dialOne(addr string, wss bool) (net.Conn, error) {
	var c net.Conn
	var err error
	d := &net.Dialer{Timeout: 10 * time.Second}
	if wss {
		c, err = tls.DialWithDialer(d, "tcp", addr, clientTLS)
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	var kb [16]byte
	rand.Read(kb[:])
	key := base64.StdEncoding.EncodeToString(kb[:])
	req := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	// Read the response byte by byte: nothing past it may be consumed.
	var resp []byte
	var b [1]byte
	for !strings.HasSuffix(string(resp), "\r\n\r\n") {
		if _, err := c.Read(b[:]); err != nil {
			c.Close()
			return nil, err
		}
		resp = append(resp, b[0])
		if len(resp) > 4096 {
			c.Close()
			return nil, errors.New("response too long")
		}
	}
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if !strings.HasPrefix(string(resp), "HTTP/1.1 101") || !strings.Contains(string(resp), base64.StdEncoding.EncodeToString(h[:])) {
		c.Close()
		return nil, fmt.Errorf("bad response: %q", resp)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// probe checks that an idle connection still echoes.
func probe(c net.Conn) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	msg := []byte("alive?")
	f := []byte{0x82, 0x80 | byte(len(msg)), 1, 2, 3, 4}
	for i, b := range msg {
		f = append(f, b^[]byte{1, 2, 3, 4}[i%4])
	}
	if _, err := c.Write(f); err != nil {
		return err
	}
	got := make([]byte, 2+len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if string(got[2:]) != string(msg) {
		return fmt.Errorf("probe: got %q", got)
	}
	return nil
}

// runChild serves variant on a loopback port until stdin closes, answering
// "stats" lines with its heap and stack in use after two collections.
func runChild(variant string, useTLS bool) int {
	prof := os.Getenv("IDLEMEM_HEAPPROFILE") // for investigation: a heap profile at each stats
	if prof != "" {
		runtime.MemProfileRate = 1024
	}
	nstats := 0
	var h http.Handler
	switch variant {
	case "wsstd-handler":
		h = &websocket.Upgrader{Handler: wsstdEcho}
	case "wsstd-handler-drop":
		h = &websocket.Upgrader{DropRequest: true, Handler: wsstdEcho}
	case "wsstd-upgrade":
		u := &websocket.Upgrader{}
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := u.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			wsstdEcho(c)
		})
	case "gorilla":
		u := &gorilla.Upgrader{}
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := u.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				typ, p, err := c.ReadMessage()
				if err != nil || c.WriteMessage(typ, p) != nil {
					return
				}
			}
		})
	default:
		fmt.Fprintf(os.Stderr, "unknown variant %q\n", variant)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 30 * time.Second}
	if useTLS {
		cert, err := selfSigned()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// HTTP/1.1 only: the client offers no ALPN.
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	go srv.Serve(ln)
	fmt.Printf("ADDR %s\n", ln.Addr())
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		runtime.GC()
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if prof != "" {
			nstats++
			if f, err := os.Create(fmt.Sprintf("%s.%s.%d", prof, variant, nstats)); err == nil {
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}
		json.NewEncoder(os.Stdout).Encode(stats{HeapStack: ms.HeapInuse + ms.StackInuse, Stack: ms.StackInuse, Goroutines: runtime.NumGoroutine()})
	}
	return 0
}

func selfSigned() (tls.Certificate, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	t := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, t, t, &k.PublicKey, k)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, nil
}

func raiseNofile() {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}

// wsstdEcho echoes every message until the connection ends: the work an
// idle connection's server is ready to do.
func wsstdEcho(c *websocket.Conn) {
	for {
		typ, p, err := c.ReadMessage()
		if err != nil || c.WriteMessage(typ, p) != nil {
			return
		}
	}
}
