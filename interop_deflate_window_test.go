//go:build !js

package websocket

// Interop with small permessage-deflate windows: Python websockets and
// Node ws ask for them on both sides. Their zlib decoders are set to the
// window they asked for, so they fail a stream of ours that refers
// further back ("invalid distance too far back"); the Python client also
// fails a response that leaves out the server_max_window_bits it offered
// (RFC 7692 section 7.1.2.1).

import (
	"fmt"
	"strings"
	"testing"
)

// peerWindows are the window sizes the peers are run with: 8 only where
// this side compresses (zlib cannot compress raw deflate with 2^8).
var peerWindows = []int{8, 9, 12, 15}

// TestInteropServerDeflateWindow: peer clients offer
// server_max_window_bits=N; our server must answer it and compress within
// 2^N (Huffman coding only below 15).
func TestInteropServerDeflateWindow(t *testing.T) {
	t.Parallel()
	type client struct {
		name, peer string
		cmd        []string
		flags      []string
		mode       CompressionMode
	}
	var clients []client
	for _, bits := range peerWindows {
		clients = append(clients,
			client{fmt.Sprintf("python/server-window-%d", bits), peerPython, []string{"/usr/bin/python3", "py_client.py"},
				[]string{"--deflate", fmt.Sprintf("--server-max-window-bits=%d", bits)}, CompressionContextTakeover},
			client{fmt.Sprintf("node/server-window-%d", bits), peerNode, []string{"node", "ws_client.js"},
				[]string{"--deflate", fmt.Sprintf("--server-max-window-bits=%d", bits)}, CompressionContextTakeover},
		)
	}
	clients = append(clients,
		// The client limits its own window too, and both reset.
		client{"python/no-context-takeover/windows-12-10", peerPython, []string{"/usr/bin/python3", "py_client.py"},
			[]string{"--deflate", "--no-context-takeover", "--server-max-window-bits=12", "--client-max-window-bits=10"}, CompressionNoContextTakeover},
		client{"node/no-context-takeover/windows-12-10", peerNode, []string{"node", "ws_client.js"},
			[]string{"--deflate", "--no-context-takeover", "--server-max-window-bits=12", "--client-max-window-bits=10"}, CompressionNoContextTakeover},
	)
	for _, tc := range clients {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			requirePeer(t, tc.peer, peerInstallHint)
			bits := 0
			for _, f := range tc.flags {
				fmt.Sscanf(f, "--server-max-window-bits=%d", &bits)
			}
			s := startGoEchoServerMode(t, nil, tc.mode)
			relay := startWireRelay(t, s.Listener.Addr().String())
			argv := append(append([]string(nil), tc.cmd...), "ws://"+relay.addr()+"/ws")
			argv = append(append(argv, tc.flags...), "--subprotocol=chat", fmt.Sprintf("--timeout=%d", peerPageTimeout))
			res := runMatrixPeer(t, peerClientLimit, tc.name, argv...)
			want := extDeflate
			if tc.mode == CompressionNoContextTakeover {
				want += deflateNoContext
			}
			want += fmt.Sprintf("; server_max_window_bits=%d", bits)
			if res.Extensions != want {
				t.Errorf("response extensions %q, want %q", res.Extensions, want)
			}
			rec := s.waitRecord(t, peerLineTimeout)
			t.Logf("%s offered %q, got %q", tc.name, rec.offeredExt, res.Extensions)
			if !strings.Contains(rec.offeredExt, fmt.Sprintf("server_max_window_bits=%d", bits)) {
				t.Errorf("peer offered %q, without server_max_window_bits=%d", rec.offeredExt, bits)
			}
			if !rec.deflate {
				t.Error("Go server: PerMessageDeflate() false")
			}
			checkServerClose(t, rec, 4001, "bye")
			checkWireWindows(t, relay, false, bits < 15, 0)
		})
	}
}

// TestInteropClientDeflateWindow: peer servers answer our Dialer's
// client_max_window_bits offer with a window of their choice (and limit
// their own); our client compresses within it and reads theirs.
func TestInteropClientDeflateWindow(t *testing.T) {
	t.Parallel()
	type server struct {
		name, peer string
		args       []string
		mode       CompressionMode
		want       string // the answer
		clientBits int
	}
	var servers []server
	for _, bits := range peerWindows {
		servers = append(servers,
			server{fmt.Sprintf("python/client-window-%d", bits), peerPython,
				[]string{"--deflate", "--server-max-window-bits=none", fmt.Sprintf("--client-max-window-bits=%d", bits)},
				CompressionContextTakeover, fmt.Sprintf("permessage-deflate; client_max_window_bits=%d", bits), bits},
			server{fmt.Sprintf("node/client-window-%d", bits), peerNode,
				[]string{"--deflate", fmt.Sprintf("--client-max-window-bits=%d", bits)},
				CompressionContextTakeover, fmt.Sprintf("permessage-deflate; client_max_window_bits=%d", bits), bits},
		)
	}
	servers = append(servers,
		// The server limits its own window to 1 KiB: our client keeps only
		// that much history to read it.
		server{"python/windows-10-11", peerPython,
			[]string{"--deflate", "--server-max-window-bits=10", "--client-max-window-bits=11"},
			CompressionContextTakeover, "permessage-deflate; server_max_window_bits=10; client_max_window_bits=11", 11},
		server{"python/no-context-takeover/windows-10-11", peerPython,
			[]string{"--deflate", "--server-max-window-bits=10", "--client-max-window-bits=11"},
			CompressionNoContextTakeover, "permessage-deflate" + deflateNoContext + "; server_max_window_bits=10; client_max_window_bits=11", 11},
		server{"node/windows-10-11", peerNode,
			[]string{"--deflate", "--server-max-window-bits=10", "--client-max-window-bits=11"},
			CompressionContextTakeover, "permessage-deflate; client_max_window_bits=11; server_max_window_bits=10", 11},
	)
	for _, tc := range servers {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := interopDialer()
			d.Compression = tc.mode
			relay := startWireRelay(t, "")
			d.NetDialContext = relay.dialVia
			c, ext := runClientMatrixWith(t, tc.peer, d, tc.args...)
			if ext != tc.want {
				t.Errorf("server answered %q, want %q", ext, tc.want)
			}
			if !c.PerMessageDeflate() || c.def.huffman != (tc.clientBits < 15) {
				t.Errorf("PerMessageDeflate() %v, Huffman-only %v for a window of 2^%d", c.PerMessageDeflate(), c.def.huffman, tc.clientBits)
			}
			checkWireWindows(t, relay, tc.clientBits < 15, false, interopClientExtra)
		})
	}
}

// checkWireWindows checks the relay's counts after a matrix run: a
// direction compressed by Huffman coding only (huffUp, huffDown) carries
// between half and all of what was sent, the others well under a quarter.
// extraUp is what the client sent beyond the matrix.
func checkWireWindows(t *testing.T, r *wireRelay, huffUp, huffDown bool, extraUp int64) {
	t.Helper()
	payload := interopMatrixPayload()
	up, down := r.up.Load(), r.down.Load()
	t.Logf("wire: %d bytes up, %d down, for %d payload bytes each way (%.1f%%, %.1f%%)",
		up, down, payload, 100*float64(up)/float64(payload), 100*float64(down)/float64(payload))
	check := func(dir string, n, sent int64, huff bool) {
		t.Helper()
		switch {
		case huff && (n >= sent || n < sent/2):
			t.Errorf("wire %s: %d bytes for %d sent with Huffman coding only: want between half and all of it", dir, n, sent)
		case !huff && n > payload/4:
			t.Errorf("wire %s: %d bytes for %d bytes of compressible payload: not compressed", dir, n, payload)
		}
	}
	check("up", up, payload+extraUp, huffUp)
	check("down", down, payload, huffDown)
}
