//go:build !js

package websocket

// permessage-deflate window sizes (RFC 7692 sections 7.1.2.1 and 7.1.2.2)
// in both roles, checked on the raw bytes: the exact handshake answer, and
// frames that a decoder enforcing the negotiated window accepts
// (windowInflater; compress/flate has no window-limited decoder).

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// windowOffer builds a client offer from its parts; clientBits is "" (not
// offered), "-" (offered without a value) or a value.
func windowOffer(serverBits int, clientBits string, snct, cnct bool) string {
	s := extDeflate
	if snct {
		s += "; server_no_context_takeover"
	}
	if cnct {
		s += "; client_no_context_takeover"
	}
	if serverBits != 0 {
		s += fmt.Sprintf("; server_max_window_bits=%d", serverBits)
	}
	switch clientBits {
	case "":
	case "-":
		s += "; client_max_window_bits"
	default:
		s += "; client_max_window_bits=" + clientBits
	}
	return s
}

// TestDeflateServerWindowAnswer: every server_max_window_bits, with every
// combination of the other parameters and both modes, is accepted and
// answered with the same value; the parameters agreed follow.
func TestDeflateServerWindowAnswer(t *testing.T) {
	for _, mode := range []CompressionMode{CompressionContextTakeover, CompressionNoContextTakeover} {
		for bits := 8; bits <= 15; bits++ {
			for _, cb := range []string{"", "-", "9", "15"} {
				for _, snct := range []bool{false, true} {
					for _, cnct := range []bool{false, true} {
						offer := windowOffer(bits, cb, snct, cnct)
						exts, err := parseExtensions(http.Header{"Sec-Websocket-Extensions": {offer}})
						if err != nil {
							t.Fatal(err)
						}
						resp, p, ok := negotiateDeflate(exts, mode)
						want := extDeflate
						if snct || mode == CompressionNoContextTakeover {
							want += "; server_no_context_takeover"
						}
						if cnct || mode == CompressionNoContextTakeover {
							want += "; client_no_context_takeover"
						}
						want += fmt.Sprintf("; server_max_window_bits=%d", bits)
						if !ok || resp != want {
							t.Fatalf("mode %d offer %q: answered %q (ok %v), want %q", mode, offer, resp, ok, want)
						}
						readBits, _ := strconv.Atoi(cb) // 0 unless a value was offered
						if p.writeBits != bits || p.readBits != readBits {
							t.Fatalf("offer %q: writeBits %d readBits %d, want %d %d", offer, p.writeBits, p.readBits, bits, readBits)
						}
						var d deflater
						d.init(&Conn{}, p)
						if d.huffman != (bits < 15) || d.keep != (bits == 15 && !p.writeNoContext) {
							t.Fatalf("offer %q: huffman %v keep %v", offer, d.huffman, d.keep)
						}
					}
				}
			}
		}
	}
	// Without server_max_window_bits in the offer, none in the answer.
	exts, _ := parseExtensions(http.Header{"Sec-Websocket-Extensions": {"permessage-deflate; client_max_window_bits=10"}})
	if resp, p, _ := negotiateDeflate(exts, CompressionContextTakeover); resp != extDeflate || p.writeBits != 0 || p.readBits != 10 {
		t.Fatalf("answered %q %+v", resp, p)
	}
}

// TestDeflateDialerWindowResponse: the Dialer offers client_max_window_bits
// and honours every answer.
func TestDeflateDialerWindowResponse(t *testing.T) {
	for _, mode := range []CompressionMode{CompressionContextTakeover, CompressionNoContextTakeover} {
		for _, offer := range strings.Split(deflateOffer(mode), ",") {
			if !strings.HasSuffix(offer, "; client_max_window_bits") {
				t.Errorf("mode %d offer %q lacks client_max_window_bits", mode, offer)
			}
		}
		for cb := 8; cb <= 15; cb++ {
			for _, sb := range []int{0, 8, 12, 15} {
				for _, snct := range []bool{false, true} {
					for _, cnct := range []bool{false, true} {
						resp := windowOffer(sb, fmt.Sprint(cb), snct, cnct)
						exts, _ := parseExtensions(http.Header{"Sec-Websocket-Extensions": {resp}})
						p, err := acceptDeflateResponse(exts, mode)
						if err != nil {
							t.Fatalf("%q: %v", resp, err)
						}
						if p.writeBits != cb || p.readBits != sb || p.readNoContext != snct ||
							p.writeNoContext != (cnct || mode == CompressionNoContextTakeover) {
							t.Fatalf("%q mode %d: %+v", resp, mode, *p)
						}
					}
				}
			}
		}
	}
}

// windowMessages are similar JSON messages: deflate with a window finds
// back-references in them, within a message and across messages.
func windowMessages() [][]byte {
	var out [][]byte
	for i := 0; i < 12; i++ {
		var b strings.Builder
		for j := 0; b.Len() < 300+i*150; j++ {
			fmt.Fprintf(&b, `{"seq":%d,"user":"user%03d","event":"message","text":"hello %d"}`, i*100+j, (i*7+j)%40, j)
		}
		out = append(out, []byte(b.String()))
	}
	return out
}

// readRawMessages reads n messages' payloads from br, checking that each
// is compressed (RSV1 on its first frame) and unmasking client frames.
func readRawMessages(br *bufio.Reader, n int) ([][]byte, error) {
	var out [][]byte
	for i := 0; i < n; i++ {
		var payload []byte
		for first := true; ; first = false {
			h, p, err := readRawFrame(br)
			if err != nil {
				return out, fmt.Errorf("message %d: %v", i, err)
			}
			if first && h.rsv != rsv1Bit {
				return out, fmt.Errorf("message %d: first frame has RSV %#x, want RSV1", i, h.rsv)
			}
			payload = append(payload, p...)
			if h.fin {
				break
			}
		}
		out = append(out, payload)
	}
	return out, nil
}

// decodeWindowMessages decodes payloads with a decoder enforcing a window
// of 2^bits (a fresh one per message without context takeover) and
// compares them with want.
func decodeWindowMessages(t *testing.T, payloads, want [][]byte, bits int, takeover bool) *windowInflater {
	t.Helper()
	dec := &windowInflater{window: 1 << bits}
	refs := 0
	for i, w := range want {
		if !takeover {
			refs += dec.refs
			dec = &windowInflater{window: 1 << bits}
		}
		got, err := dec.message(payloads[i])
		if err != nil {
			t.Fatalf("window 2^%d, message %d: %v", bits, i, err)
		}
		if !bytes.Equal(got, w) {
			t.Fatalf("window 2^%d, message %d: decoded %d bytes, want %d", bits, i, len(got), len(w))
		}
	}
	dec.refs += refs
	return dec
}

// checkWindowRefs: below 15 the stream has no back-references at all
// (Huffman coding only); at 15 it has them.
func checkWindowRefs(t *testing.T, dec *windowInflater, bits int) {
	t.Helper()
	if bits < 15 && dec.refs != 0 {
		t.Errorf("window 2^%d: %d back-references (farthest %d), want none", bits, dec.refs, dec.maxDist)
	}
	if bits == 15 && dec.refs == 0 {
		t.Errorf("window 2^15: no back-references: not compressed with LZ77")
	}
}

// writeWindowMessages writes msgs: most with WriteMessage, every third
// through NextWriter in small writes.
func writeWindowMessages(c *Conn, msgs [][]byte) error {
	for i, m := range msgs {
		if i%3 != 2 {
			if err := c.WriteMessage(TextMessage, m); err != nil {
				return err
			}
			continue
		}
		w, err := c.NextWriter(TextMessage)
		if err != nil {
			return err
		}
		for rest := m; len(rest) > 0; rest = rest[min(97, len(rest)):] {
			if _, err := w.Write(rest[:min(97, len(rest))]); err != nil {
				return err
			}
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}

// TestDeflateServerWindowWire: a raw client offers every
// server_max_window_bits; the server's answer is exact and its messages
// decode within that window, in both modes.
func TestDeflateServerWindowWire(t *testing.T) {
	msgs := windowMessages()
	for _, m := range compressModes {
		for bits := 8; bits <= 15; bits++ {
			t.Run(fmt.Sprintf("%s/%d", m.name, bits), func(t *testing.T) {
				checkGoroutines(t)
				done := make(chan error, 1)
				huffman := make(chan bool, 1)
				s := startServer(t, &Upgrader{Compression: m.mode, WriteBufferSize: 512}, func(c *Conn) {
					huffman <- c.def.huffman
					done <- writeWindowMessages(c, msgs)
					c.ReadMessage() // until the peer closes
				})
				offer := fmt.Sprintf("permessage-deflate; server_max_window_bits=%d; client_max_window_bits", bits)
				nc, br, resp := rawDialResp(t, s, offer)
				want := "permessage-deflate"
				if m.mode == CompressionNoContextTakeover {
					want += deflateNoContext
				}
				want += fmt.Sprintf("; server_max_window_bits=%d", bits)
				if got := resp.Header.Get("Sec-WebSocket-Extensions"); got != want {
					t.Fatalf("answered %q, want %q", got, want)
				}
				if h := <-huffman; h != (bits < 15) {
					t.Errorf("Huffman-only compressor %v for window 2^%d", h, bits)
				}
				payloads, err := readRawMessages(br, len(msgs))
				if err != nil {
					t.Fatal(err)
				}
				dec := decodeWindowMessages(t, payloads, msgs, bits, m.mode == CompressionContextTakeover)
				checkWindowRefs(t, dec, bits)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				nc.Write(rawFrame(true, 0, opClose, true, closePayload(1000, "")))
				expectClose(t, br, 1000)
			})
		}
	}
}

// rawDialResp is rawDialHeaders that offers ext and returns the response.
func rawDialResp(t *testing.T, s *httptest.Server, ext string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	addr := s.Listener.Addr().String()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	key := newKey()
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: %s\r\n\r\n", addr, key, ext)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != computeAccept(key) {
		t.Fatalf("handshake: %s %v", resp.Status, resp.Header)
	}
	return nc, br, resp
}

// TestDeflateClientWindowWire: a raw server answers our Dialer's offer
// with every client_max_window_bits (and the other parameters); the
// client's messages decode within that window, and the client reads the
// server's messages compressed within server_max_window_bits.
func TestDeflateClientWindowWire(t *testing.T) {
	msgs := windowMessages()
	for _, m := range compressModes {
		for bits := 8; bits <= 15; bits++ {
			t.Run(fmt.Sprintf("%s/%d", m.name, bits), func(t *testing.T) {
				checkGoroutines(t)
				answer := fmt.Sprintf("permessage-deflate; client_max_window_bits=%d", bits)
				if m.mode == CompressionNoContextTakeover {
					answer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10" +
						fmt.Sprintf("; client_max_window_bits=%d", bits)
				}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				type result struct {
					offer    string
					payloads [][]byte
					err      error
				}
				srv := make(chan result, 1)
				go func() {
					nc, err := ln.Accept()
					if err != nil {
						srv <- result{err: err}
						return
					}
					defer nc.Close()
					nc.SetDeadline(time.Now().Add(10 * time.Second))
					br := bufio.NewReader(nc)
					req, err := http.ReadRequest(br)
					if err != nil {
						srv <- result{err: err}
						return
					}
					fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nSec-WebSocket-Extensions: %s\r\n\r\n",
						computeAccept(req.Header.Get("Sec-WebSocket-Key")), answer)
					res := result{offer: req.Header.Get("Sec-WebSocket-Extensions")}
					// Two messages to the client, compressed by Huffman
					// coding alone (valid for its window of 2^10).
					for _, p := range msgs[:2] {
						nc.Write(rawFrame(true, rsv1Bit, opText, false, huffmanRaw(t, p)))
					}
					res.payloads, res.err = readRawMessages(br, len(msgs))
					nc.Write(rawFrame(true, 0, opClose, false, closePayload(1000, "")))
					srv <- res
				}()
				d := &Dialer{Compression: m.mode}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, resp, err := d.Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
				if err != nil {
					t.Fatal(err)
				}
				defer c.CloseNow()
				if got := resp.Header.Get("Sec-WebSocket-Extensions"); got != answer || !c.PerMessageDeflate() {
					t.Fatalf("agreed %q (%v), want %q", got, c.PerMessageDeflate(), answer)
				}
				if c.def.huffman != (bits < 15) {
					t.Errorf("Huffman-only compressor %v for window 2^%d", c.def.huffman, bits)
				}
				for _, p := range msgs[:2] {
					if _, got, err := c.ReadMessage(); err != nil || !bytes.Equal(got, p) {
						t.Fatalf("read: %d bytes, %v", len(got), err)
					}
				}
				if err := writeWindowMessages(c, msgs); err != nil {
					t.Fatal(err)
				}
				r := <-srv
				if r.err != nil {
					t.Fatal(r.err)
				}
				dec := decodeWindowMessages(t, r.payloads, msgs, bits, m.mode == CompressionContextTakeover)
				checkWindowRefs(t, dec, bits)
				if r.offer != deflateOffer(m.mode) {
					t.Errorf("offered %q, want %q", r.offer, deflateOffer(m.mode))
				}
				c.ReadMessage() // the close
			})
		}
	}
}

// huffmanRaw compresses p with Huffman coding only and strips the tail.
func huffmanRaw(t testing.TB, p []byte) []byte {
	var b bytes.Buffer
	fw := getHuffWriter(&b)
	fw.Write(p)
	fw.Flush()
	flateHuffWriters.Put(fw)
	out := b.Bytes()
	if !bytes.HasSuffix(out, []byte{0, 0, 0xff, 0xff}) {
		t.Fatal("no sync tail")
	}
	return out[:len(out)-4]
}
