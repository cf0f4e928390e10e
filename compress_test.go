//go:build !js

package websocket

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestNegotiateDeflate(t *testing.T) {
	cases := []struct {
		offer string
		mode  CompressionMode
		resp  string // "" when declined
	}{
		{"permessage-deflate", CompressionDisabled, ""},
		{"permessage-deflate", CompressionNoContextTakeover, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"permessage-deflate", CompressionContextTakeover, "permessage-deflate"},
		{"permessage-deflate; client_max_window_bits", CompressionContextTakeover, "permessage-deflate"},
		{"permessage-deflate; client_max_window_bits=10", CompressionContextTakeover, "permessage-deflate"},
		{"permessage-deflate; server_no_context_takeover", CompressionContextTakeover, "permessage-deflate; server_no_context_takeover"},
		{"permessage-deflate; client_no_context_takeover", CompressionContextTakeover, "permessage-deflate; client_no_context_takeover"},
		// RFC 7692 section 7.1.2.1: server_max_window_bits is answered
		// (every size and combination: compress_window_test.go).
		{"permessage-deflate; server_max_window_bits=15", CompressionContextTakeover, "permessage-deflate; server_max_window_bits=15"},
		{"permessage-deflate; server_max_window_bits=10", CompressionContextTakeover, "permessage-deflate; server_max_window_bits=10"},
		// The first acceptable offer wins.
		{"permessage-deflate; server_max_window_bits=9, permessage-deflate; client_max_window_bits", CompressionContextTakeover, "permessage-deflate; server_max_window_bits=9"},
		{"permessage-deflate; server_max_window_bits=99, permessage-deflate; client_max_window_bits", CompressionContextTakeover, "permessage-deflate"},
		{"x-webkit-deflate-frame, permessage-deflate", CompressionContextTakeover, "permessage-deflate"},
		// Malformed offers are declined.
		{"permessage-deflate; server_max_window_bits", CompressionContextTakeover, ""},
		{"permessage-deflate; server_max_window_bits=16", CompressionContextTakeover, ""},
		{"permessage-deflate; server_max_window_bits=7", CompressionContextTakeover, ""},
		{"permessage-deflate; client_max_window_bits=08", CompressionContextTakeover, ""},
		{"permessage-deflate; server_no_context_takeover=1", CompressionContextTakeover, ""},
		{"permessage-deflate; server_no_context_takeover; server_no_context_takeover", CompressionContextTakeover, ""},
		{"permessage-deflate; mystery", CompressionContextTakeover, ""},
		{"permessage-deflate; mystery, permessage-deflate", CompressionNoContextTakeover, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{`permessage-deflate; client_max_window_bits="12"`, CompressionContextTakeover, "permessage-deflate"},
	}
	for _, tc := range cases {
		exts, err := parseExtensions(http.Header{"Sec-Websocket-Extensions": {tc.offer}})
		if err != nil {
			t.Fatalf("%q: %v", tc.offer, err)
		}
		resp, _, ok := negotiateDeflate(exts, tc.mode)
		if resp != tc.resp || ok != (tc.resp != "") {
			t.Errorf("offer %q mode %d: got %q %v, want %q", tc.offer, tc.mode, resp, ok, tc.resp)
		}
	}
}

func TestAcceptDeflateResponse(t *testing.T) {
	cases := []struct {
		resp    string
		mode    CompressionMode
		ok      bool
		readNCT bool
		writeNC bool
	}{
		{"", CompressionContextTakeover, true, false, false},
		{"permessage-deflate", CompressionContextTakeover, true, false, false},
		{"permessage-deflate; server_no_context_takeover", CompressionContextTakeover, true, true, false},
		{"permessage-deflate; client_no_context_takeover", CompressionContextTakeover, true, false, true},
		{"permessage-deflate; server_max_window_bits=10", CompressionContextTakeover, true, false, false},
		{"permessage-deflate; server_no_context_takeover; client_no_context_takeover", CompressionNoContextTakeover, true, true, true},
		{"permessage-deflate; client_no_context_takeover", CompressionNoContextTakeover, true, false, true}, // took the fallback offer
		{"permessage-deflate", CompressionNoContextTakeover, true, false, true},
		{"permessage-deflate", CompressionDisabled, false, false, false},                                  // not offered
		{"permessage-deflate; client_max_window_bits=12", CompressionContextTakeover, true, false, false}, // offered, honoured
		{"permessage-deflate; client_max_window_bits", CompressionContextTakeover, false, false, false},
		{"permessage-deflate; bogus", CompressionContextTakeover, false, false, false},
		{"permessage-deflate, permessage-deflate", CompressionContextTakeover, false, false, false},
		{"other-ext", CompressionContextTakeover, false, false, false},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.resp != "" {
			h.Set("Sec-WebSocket-Extensions", tc.resp)
		}
		exts, _ := parseExtensions(h)
		p, err := acceptDeflateResponse(exts, tc.mode)
		if (err == nil) != tc.ok {
			t.Errorf("%q mode %d: err %v, want ok=%v", tc.resp, tc.mode, err, tc.ok)
			continue
		}
		if p != nil && (p.readNoContext != tc.readNCT || p.writeNoContext != tc.writeNC) {
			t.Errorf("%q: params %+v", tc.resp, *p)
		}
	}
}

// dialCompressed connects our client to our echo server, both compressing.
func dialCompressed(t *testing.T, serverMode, clientMode CompressionMode) *Conn {
	t.Helper()
	s := startServer(t, &Upgrader{Compression: serverMode, ReadLimit: 4 << 20}, echoHandler)
	d := &Dialer{Compression: clientMode, ReadLimit: 4 << 20}
	c, resp, err := d.Dial(context.Background(), wsURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.PerMessageDeflate() {
		t.Fatalf("not negotiated; response extensions %q", resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	return c
}

func TestCompressedRoundTrips(t *testing.T) {
	modes := []CompressionMode{CompressionNoContextTakeover, CompressionContextTakeover}
	for _, sm := range modes {
		for _, cm := range modes {
			t.Run(fmt.Sprintf("server%d-client%d", sm, cm), func(t *testing.T) {
				checkGoroutines(t)
				c := dialCompressed(t, sm, cm)
				rng := rand.New(rand.NewSource(1))
				for _, n := range []int{0, 1, 125, 64 << 10, 1 << 20} {
					for _, typ := range []MessageType{TextMessage, BinaryMessage} {
						p := []byte(strings.Repeat("compressible text, ", n/19+1))[:n]
						if typ == BinaryMessage {
							rng.Read(p) // incompressible
						}
						if err := c.WriteMessage(typ, p); err != nil {
							t.Fatal(err)
						}
						gt, got, err := c.ReadMessage()
						if err != nil || gt != typ || !bytes.Equal(got, p) {
							t.Fatalf("%v %d: %v len %d %v", typ, n, gt, len(got), err)
						}
					}
				}
				// Many similar messages: context takeover keeps working.
				for i := 0; i < 50; i++ {
					msg := []byte(fmt.Sprintf(`{"seq":%d,"event":"tick","payload":"same old payload"}`, i))
					c.WriteMessage(TextMessage, msg)
					if _, got, err := c.ReadMessage(); err != nil || !bytes.Equal(got, msg) {
						t.Fatalf("message %d: %q %v", i, got, err)
					}
				}
				// Per-message choice: uncompressed while the extension is on.
				c.SetWriteCompression(false)
				c.WriteMessage(BinaryMessage, []byte("raw"))
				if _, got, err := c.ReadMessage(); err != nil || string(got) != "raw" {
					t.Fatalf("%q %v", got, err)
				}
				c.SetWriteCompression(true)
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// deflateRaw compresses p the way a peer would and strips the tail.
func deflateRaw(t testing.TB, p []byte) []byte {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestSpeed)
	fw.Write(p)
	fw.Flush()
	out := b.Bytes()
	if !bytes.HasSuffix(out, []byte{0, 0, 0xff, 0xff}) {
		t.Fatal("no sync tail")
	}
	return out[:len(out)-4]
}

// rawDialDeflate is rawDial offering permessage-deflate.
func rawDialDeflate(t *testing.T, u *Upgrader, fn func(*Conn)) rawPeer {
	t.Helper()
	s := startServer(t, u, fn)
	nc, br := rawDialHeaders(t, s, "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n")
	return rawPeer{nc: nc, br: br}
}

type rawPeer struct {
	nc net.Conn
	br *bufio.Reader
}

func TestCompressedFramesFromRawPeer(t *testing.T) {
	msg := []byte(strings.Repeat("Hello, compressed world! ", 100))
	comp := deflateRaw(t, msg)
	t.Run("split into 1-byte frames with pings between", func(t *testing.T) {
		checkGoroutines(t)
		got := make(chan []byte, 1)
		p := rawDialDeflate(t, &Upgrader{Compression: CompressionNoContextTakeover}, func(c *Conn) {
			_, m, err := c.ReadMessage()
			if err != nil {
				t.Error(err)
			}
			got <- m
			c.ReadMessage()
		})
		for i, b := range comp {
			op, rsv := byte(opContinuation), byte(0)
			if i == 0 {
				op, rsv = opText, rsv1Bit
			}
			p.nc.Write(rawFrame(i == len(comp)-1, rsv, op, true, []byte{b}))
			if i%50 == 0 {
				p.nc.Write(rawFrame(true, 0, opPing, true, []byte("x")))
			}
		}
		if m := <-got; !bytes.Equal(m, msg) {
			t.Fatalf("got %q", m)
		}
		p.nc.Write(rawFrame(true, 0, opClose, true, closePayload(1000, "")))
		expectClose(t, p.br, 1000)
	})
	bad := []struct {
		name   string
		frames [][]byte
		code   StatusCode
	}{
		{"RSV1 on continuation", [][]byte{
			rawFrame(false, rsv1Bit, opText, true, comp[:5]),
			rawFrame(true, rsv1Bit, opContinuation, true, comp[5:])}, 1002},
		{"RSV1 on ping", [][]byte{rawFrame(true, rsv1Bit, opPing, true, nil)}, 1002},
		{"RSV2 on data", [][]byte{rawFrame(true, rsv2Bit, opText, true, comp)}, 1002},
		{"corrupt deflate data", [][]byte{rawFrame(true, rsv1Bit, opBinary, true, []byte{0xff, 0xff, 0xff, 0x00, 0x12})}, 1007},
		{"invalid UTF-8 after inflating", [][]byte{rawFrame(true, rsv1Bit, opText, true, deflateRaw(t, []byte("ok\xff")))}, 1007},
		{"compression bomb", [][]byte{rawFrame(true, rsv1Bit, opBinary, true, deflateRaw(t, make([]byte, 4<<20)))}, 1009},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			errc := make(chan error, 1)
			p := rawDialDeflate(t, &Upgrader{Compression: CompressionNoContextTakeover, ReadLimit: 1 << 20}, func(c *Conn) {
				_, _, err := c.ReadMessage()
				errc <- err
			})
			for _, f := range tc.frames {
				p.nc.Write(f)
			}
			expectClose(t, p.br, tc.code)
			var pe *ProtocolError
			if err := <-errc; !errors.As(err, &pe) || pe.Code != tc.code {
				t.Fatalf("got %v, want code %d", err, tc.code)
			}
		})
	}
	t.Run("RSV1 without negotiation", func(t *testing.T) {
		checkGoroutines(t)
		errc := make(chan error, 1)
		s := startServer(t, &Upgrader{}, func(c *Conn) {
			_, _, err := c.ReadMessage()
			errc <- err
		})
		nc, br := rawDialHeaders(t, s, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
		nc.Write(rawFrame(true, rsv1Bit, opText, true, comp))
		expectClose(t, br, 1002)
		<-errc
	})
}

// The server's compressed frames carry RSV1 on the first frame only, are
// unmasked, and inflate to the message.
func TestCompressedFramesOnTheWire(t *testing.T) {
	checkGoroutines(t)
	msg := bytes.Repeat([]byte("abcdefgh"), 10000)
	p := rawDialDeflate(t, &Upgrader{Compression: CompressionNoContextTakeover, WriteBufferSize: 512}, func(c *Conn) {
		c.WriteMessage(BinaryMessage, msg)
		c.ReadMessage() // until the peer closes
	})
	var data []byte
	first := true
	for {
		h, pl, err := readRawFrame(p.br)
		if err != nil {
			t.Fatal(err)
		}
		if first != (h.rsv == rsv1Bit) {
			t.Fatalf("frame rsv %#x (first=%v)", h.rsv, first)
		}
		first = false
		data = append(data, pl...)
		if h.fin {
			break
		}
	}
	fr := flate.NewReader(io.MultiReader(bytes.NewReader(data), bytes.NewReader(deflateTail)))
	got, err := io.ReadAll(fr)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("inflated %d bytes, err %v", len(got), err)
	}
	if len(data) > len(msg)/20 {
		t.Errorf("compressed %d to %d bytes", len(msg), len(data))
	}
	p.nc.Write(rawFrame(true, 0, opClose, true, closePayload(1000, "")))
	expectClose(t, p.br, 1000)
}

func TestCompressionAllocsAndIdleMemory(t *testing.T) {
	c := dialCompressed(t, CompressionNoContextTakeover, CompressionNoContextTakeover)
	defer c.Close()
	msg := []byte(strings.Repeat(`{"hello":"world"} `, 50))
	for i := 0; i < 10; i++ {
		c.WriteMessage(TextMessage, msg)
		c.ReadMessage()
	}
	// Between messages, no compressor or decompressor is held.
	if c.def.fw != nil || c.inf.fr != nil {
		t.Fatal("idle no-context-takeover connection holds compression state")
	}
}
