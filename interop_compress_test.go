//go:build !js

package websocket

// Interop with permessage-deflate (RFC 7692) negotiated: our Upgrader in
// both compression modes against the Node, Python and Chromium clients,
// and our Dialer in both modes against the Node and Python servers. Each
// run goes through a counting TCP relay, which shows that the traffic was
// compressed both ways without wrapping our net.Conn (a wrapper would hide
// the socket from the read parker and from writev).

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	deflateNoContext = "; server_no_context_takeover; client_no_context_takeover"
	pyServerBits     = "; server_max_window_bits=12" // py_server.py --deflate always limits its window
	// ... and, as our Dialer offers client_max_window_bits, ours.
	pyClientBits = "; client_max_window_bits=12"
)

var compressModes = []struct {
	name string
	mode CompressionMode
}{
	{"no-context-takeover", CompressionNoContextTakeover},
	{"context-takeover", CompressionContextTakeover},
}

// interopMatrixPayload is the number of payload bytes that the matrix
// sends each way, at least: every size as binary and as text, plus the
// UTF-8 message.
func interopMatrixPayload() int64 {
	n := int64(len(interopUTF8))
	for _, s := range interopSizes {
		n += 2 * int64(s)
	}
	return n
}

// checkWire checks the relay's byte counts after a compressed matrix run:
// each direction must be well under the matrix's payload, all of which is
// highly compressible.
func checkWire(t *testing.T, r *wireRelay) {
	t.Helper()
	checkWireHuffmanUp(t, r, false)
}

// checkWireHuffmanUp is checkWire where, with huffmanUp, our client was
// given a window below 15 and compresses with Huffman coding only: the
// upward traffic must then be smaller than the payload (the text shrinks)
// but far larger than with back-references. interopClientExtra is what
// runClientMatrixWith sends beyond the matrix.
func checkWireHuffmanUp(t *testing.T, r *wireRelay, huffmanUp bool) {
	t.Helper()
	payload := interopMatrixPayload()
	up, down := r.up.Load(), r.down.Load()
	t.Logf("wire: %d bytes up, %d down, for %d payload bytes each way (%.1f%%, %.1f%%)",
		up, down, payload, 100*float64(up)/float64(payload), 100*float64(down)/float64(payload))
	if down > payload/4 || (!huffmanUp && up > payload/4) {
		t.Errorf("wire: %d bytes up, %d down for %d bytes of compressible payload each way: not compressed", up, down, payload)
	}
	if sent := payload + interopClientExtra; huffmanUp && (up >= sent || up < sent/2) {
		t.Errorf("wire: %d bytes up for %d bytes sent with Huffman coding only: want between half and all of it", up, sent)
	}
}

// interopClientExtra is the payload that runClientMatrixWith sends beyond
// the matrix: the fragmented messages.
var interopClientExtra = int64(1<<20 + len(interopUTF8))

// ---- Our server, peer clients ----

// TestInteropServerCompression runs the peer clients' matrix against our
// server with compression on, in both modes.
func TestInteropServerCompression(t *testing.T) {
	t.Parallel()
	matrix := filepath.Join(peersDir, "matrix.html")
	pages := map[string]string{"/matrix.html": matrix}
	nodeClient := []string{"node", "ws_client.js"}
	pyClient := []string{"/usr/bin/python3", "py_client.py"}
	clients := []struct {
		name, peer string
		cmd, flags []string // the page's or the server's URL goes between them
		// The offer asks for server_ and client_no_context_takeover.
		offersNoContext bool
		// The client fails the handshake when the response has an
		// unsolicited client_no_context_takeover.
		refusesClientNoContext bool
	}{
		// ws_client.js --deflate sets clientNoContextTakeover: false.
		{"node-deflate", peerNode, nodeClient, []string{"--deflate"}, false, true},
		{"node-deflate-no-context-takeover", peerNode, nodeClient, []string{"--deflate", "--no-context-takeover"}, true, false},
		{"node-deflate-defaults", peerNode, nodeClient, []string{"--deflate-defaults"}, false, false},
		{"python-deflate", peerPython, pyClient, []string{"--deflate"}, false, false},
		{"python-deflate-no-context-takeover", peerPython, pyClient, []string{"--deflate", "--no-context-takeover"}, true, false},
		// Chromium offers "permessage-deflate; client_max_window_bits".
		{"chromium", peerChromium, []string{"node", "browser.js"}, nil, false, false},
	}
	for _, m := range compressModes {
		for _, tc := range clients {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				requirePeer(t, tc.peer, peerInstallHint)
				s := startGoEchoServerMode(t, pages, m.mode)
				relay := startWireRelay(t, s.Listener.Addr().String())
				limit := peerClientLimit
				u := "ws://" + relay.addr() + "/ws"
				flags := append(append([]string(nil), tc.flags...), "--subprotocol=chat")
				if tc.peer == peerChromium {
					limit = peerBrowserLimit
					u = "http://" + relay.addr() + "/matrix.html?path=/ws&protocol=chat"
					flags = nil
				}
				argv := append(append(append([]string(nil), tc.cmd...), u), flags...)
				argv = append(argv, fmt.Sprintf("--timeout=%d", peerPageTimeout))
				// Our answer (negotiateDeflate): both no_context_takeover
				// parameters when the client asks them or the mode is
				// CompressionNoContextTakeover, nothing else.
				want := extDeflate
				if tc.offersNoContext || m.mode == CompressionNoContextTakeover {
					want += deflateNoContext
				}

				if tc.refusesClientNoContext && m.mode == CompressionNoContextTakeover {
					// Cannot negotiate. CompressionNoContextTakeover always
					// asks client_no_context_takeover, which RFC 7692
					// section 7.1.1.2 lets a server do unasked; ws, given
					// clientNoContextTakeover: false, refuses it and drops
					// the connection before any message. Our side did
					// negotiate compression.
					lines, runErr := runPeer(t, limit, tc.name, argv...)
					res := parsePeerResult(t, tc.name, lines, runErr)
					if res.OK || runErr == nil {
						t.Errorf("%s accepted %q although it refuses client_no_context_takeover", tc.name, res.Extensions)
					}
					if res.Extensions != want {
						t.Errorf("%s: response extensions %q, want %q", tc.name, res.Extensions, want)
					}
					if !strings.Contains(strings.Join(res.Errors, "\n"), "Invalid Sec-WebSocket-Extensions header") {
						t.Errorf("%s: errors %q, want ws's \"Invalid Sec-WebSocket-Extensions header\"", tc.name, res.Errors)
					}
					rec := s.waitRecord(t, peerLineTimeout)
					t.Logf("Go server: offered %q, negotiated %v, read loop ended with %v", rec.offeredExt, rec.deflate, rec.err)
					if !rec.deflate {
						t.Errorf("Go server: PerMessageDeflate() false for offer %q", rec.offeredExt)
					}
					return
				}

				res := runMatrixPeer(t, limit, tc.name, argv...)
				if res.Extensions != want {
					t.Errorf("%s: response extensions %q, want %q", tc.name, res.Extensions, want)
				}
				if res.Protocol != "chat" {
					t.Errorf("%s: subprotocol %q, want chat", tc.name, res.Protocol)
				}
				if tc.peer == peerChromium && (res.Close == nil || res.Close.Code != 4001 || res.Close.Reason != "bye") {
					t.Errorf("browser: saw close %+v, want 4001 \"bye\" echoed", res.Close)
				}
				rec := s.waitRecord(t, peerLineTimeout)
				t.Logf("%s offered %q, got %q", tc.name, rec.offeredExt, res.Extensions)
				if !strings.HasPrefix(rec.offeredExt, extDeflate) ||
					strings.Contains(rec.offeredExt, "client_no_context_takeover") != tc.offersNoContext {
					t.Errorf("%s offered %q; the test expects an offer with no_context_takeover %v", tc.name, rec.offeredExt, tc.offersNoContext)
				}
				if !rec.deflate {
					t.Errorf("Go server: PerMessageDeflate() false, with %q answered", res.Extensions)
				}
				checkServerClose(t, rec, 4001, "bye")
				if rec.subprotocol != "chat" || rec.pings != 1 {
					t.Errorf("Go server: subprotocol %q, ping-me %d times; want chat, 1", rec.subprotocol, rec.pings)
				}
				checkWire(t, relay)
			})
		}
	}
}

// parsePeerResult parses the JSON line of a matrix client that is expected
// to fail (runMatrixPeer would report the failure).
func parsePeerResult(t *testing.T, name string, lines []string, runErr error) peerResult {
	t.Helper()
	var res peerResult
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(strings.TrimSpace(lines[i]), "{") {
			if err := json.Unmarshal([]byte(lines[i]), &res); err != nil {
				t.Fatalf("%s: bad JSON result %q: %v", name, lines[i], err)
			}
			t.Logf("%s result (exit: %v): %s", name, runErr, lines[i])
			return res
		}
	}
	t.Fatalf("%s printed no JSON result (exit: %v); stdout: %q", name, runErr, lines)
	return res
}

// ---- Our client, peer servers ----

// TestInteropClientCompression runs our client's matrix against the peer
// servers with Dialer.Compression set, in both modes.
func TestInteropClientCompression(t *testing.T) {
	t.Parallel()
	servers := []struct {
		name, peer string
		args       []string
		// The server answers with both no_context_takeover parameters
		// whatever the offer.
		forcesNoContext bool
		// What the server adds to any answer.
		extra string
		// The server limits our window below 15 (Huffman coding only).
		smallClientWindow bool
		// The server refuses an offer of server_no_context_takeover (ws
		// answers 400 if no other offer is acceptable), so it takes the
		// Dialer's fallback offer.
		rejectsServerNoContext bool
	}{
		// ws_server.js --deflate sets serverNoContextTakeover: false.
		{"node-deflate", peerNode, []string{"--deflate"}, false, "", false, true},
		{"node-deflate-no-context-takeover", peerNode, []string{"--deflate", "--no-context-takeover"}, true, "", false, false},
		{"node-deflate-defaults", peerNode, []string{"--deflate-defaults"}, false, "", false, false},
		// Python accepts any offer and limits both windows to 4 KiB.
		{"python-deflate", peerPython, []string{"--deflate"}, false, pyServerBits + pyClientBits, true, false},
		{"python-deflate-no-context-takeover", peerPython, []string{"--deflate", "--no-context-takeover"}, true, pyServerBits + pyClientBits, true, false},
	}
	for _, m := range compressModes {
		for _, tc := range servers {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				d := interopDialer()
				d.Compression = m.mode

				relay := startWireRelay(t, "")
				d.NetDialContext = relay.dialVia
				c, ext := runClientMatrixWith(t, tc.peer, d, tc.args...)
				want := extDeflate
				switch {
				case m.mode == CompressionNoContextTakeover && tc.rejectsServerNoContext:
					// ws, given serverNoContextTakeover: false, refuses our
					// first offer and takes the fallback one.
					want += "; client_no_context_takeover"
				case tc.forcesNoContext || m.mode == CompressionNoContextTakeover:
					want += deflateNoContext
				}
				want += tc.extra
				if ext != want {
					t.Errorf("server answered %q, want %q", ext, want)
				}
				if got := c.Response().Header.Get("Sec-WebSocket-Extensions"); got != want {
					t.Errorf("Response().Header: Sec-WebSocket-Extensions %q, want %q", got, want)
				}
				if !c.PerMessageDeflate() {
					t.Errorf("PerMessageDeflate() false, with %q answered", ext)
				}
				checkWireHuffmanUp(t, relay, tc.smallClientWindow)
				incompressibleTrip(t, d, relay)
			})
		}
	}
}

// incompressibleTrip sends random messages, which deflate can only store,
// to the echo server behind relay: as one WriteMessage and through
// NextWriter. Neither side may inflate them by more than 1%.
func incompressibleTrip(t *testing.T, d *Dialer, relay *wireRelay) {
	t.Helper()
	d2 := *d
	d2.Subprotocols = nil
	relay.mu.Lock()
	u := "ws://" + relay.target + "/incompressible"
	relay.mu.Unlock()
	up0, down0 := relay.up.Load(), relay.down.Load()
	c := interopDial(t, &d2, u)
	if !c.PerMessageDeflate() {
		t.Fatalf("%s: PerMessageDeflate() false on a second connection", u)
	}
	p := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], rng.Uint64())
	}
	check := func(label string) {
		t.Helper()
		typ, got, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("%s: read: %v", label, err)
		}
		if typ != BinaryMessage || !bytes.Equal(got, p) {
			t.Errorf("%s: echo is %v of %d bytes, want binary of %d random bytes", label, typ, len(got), len(p))
		}
	}
	if err := c.WriteMessage(BinaryMessage, p); err != nil {
		t.Fatalf("random 1MiB: write: %v", err)
	}
	check("random 1MiB")
	w, err := c.NextWriter(BinaryMessage)
	if err != nil {
		t.Fatal(err)
	}
	for rest := p; len(rest) > 0; rest = rest[min(10007, len(rest)):] {
		if _, err := w.Write(rest[:min(10007, len(rest))]); err != nil {
			t.Fatalf("fragmented random 1MiB: write: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("fragmented random 1MiB: close writer: %v", err)
	}
	check("fragmented random 1MiB")
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	sent := int64(2 * len(p))
	up, down := relay.up.Load()-up0, relay.down.Load()-down0
	t.Logf("wire: %d random bytes each way took %d bytes up, %d down", sent, up, down)
	for _, n := range []int64{up, down} {
		if n < sent*99/100 || n > sent*101/100 {
			t.Errorf("wire: %d bytes for %d random bytes, want within 1%%", n, sent)
		}
	}
}

// ---- Counting relay ----

// wireRelay forwards TCP connections from its listener to a target,
// counting the bytes each way.
type wireRelay struct {
	ln   net.Listener
	up   atomic.Int64 // towards the target
	down atomic.Int64 // back from the target
	wg   sync.WaitGroup

	mu     sync.Mutex
	target string
	conns  []net.Conn
	closed bool
}

// startWireRelay starts a relay to target ("host:port"; empty until
// dialVia sets it). It stops, closing its connections, when the test ends.
func startWireRelay(t *testing.T, target string) *wireRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &wireRelay{ln: ln, target: target}
	r.wg.Add(1)
	go r.serve()
	t.Cleanup(func() {
		ln.Close()
		r.mu.Lock()
		r.closed = true
		for _, c := range r.conns {
			c.Close()
		}
		r.mu.Unlock()
		done := make(chan struct{})
		go func() { r.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Errorf("wire relay goroutines still running 15s after the test")
		}
	})
	return r
}

func (r *wireRelay) addr() string { return r.ln.Addr().String() }

// dialVia is a Dialer.NetDialContext that goes through the relay to addr.
func (r *wireRelay) dialVia(ctx context.Context, network, addr string) (net.Conn, error) {
	r.mu.Lock()
	r.target = addr
	r.mu.Unlock()
	var nd net.Dialer
	return nd.DialContext(ctx, network, r.addr())
}

func (r *wireRelay) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go r.relay(c)
	}
}

// track registers c to be closed when the relay stops; false (and c
// closed) if it already stopped.
func (r *wireRelay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		c.Close()
		return false
	}
	r.conns = append(r.conns, c)
	return true
}

func (r *wireRelay) relay(in net.Conn) {
	defer r.wg.Done()
	if !r.track(in) {
		return
	}
	defer in.Close()
	r.mu.Lock()
	target := r.target
	r.mu.Unlock()
	out, err := net.DialTimeout("tcp", target, 10*time.Second)
	if err != nil || !r.track(out) {
		return
	}
	defer out.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pipeCount(out, in, &r.up) }()
	go func() { defer wg.Done(); pipeCount(in, out, &r.down) }()
	wg.Wait()
}

// pipeCount copies src to dst, counting the bytes; src's EOF becomes a
// half close of dst, any error closes both.
func pipeCount(dst, src net.Conn, n *atomic.Int64) {
	buf := make([]byte, 32<<10)
	for {
		m, err := src.Read(buf)
		if m > 0 {
			if _, werr := dst.Write(buf[:m]); werr != nil {
				dst.Close()
				src.Close()
				return
			}
			n.Add(int64(m))
		}
		if err == io.EOF {
			dst.(*net.TCPConn).CloseWrite()
			return
		}
		if err != nil {
			dst.Close()
			src.Close()
			return
		}
	}
}
