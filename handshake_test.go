//go:build !js

package websocket

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The tests in this file exercise the opening handshake over real loopback
// connections, speaking raw HTTP on the other side. Helpers are prefixed
// with "hs" to keep them apart from the helpers of other test files.

// The example of RFC 6455 section 1.3.
const (
	hsKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	hsAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// ---- helpers ----

// hsGoroutines returns the stacks of all goroutines by goroutine id.
func hsGoroutines() map[string]string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	m := make(map[string]string)
	for _, g := range strings.Split(string(buf), "\n\n") {
		g = strings.TrimSpace(g)
		rest, ok := strings.CutPrefix(g, "goroutine ")
		if !ok {
			continue
		}
		id, _, _ := strings.Cut(rest, " ")
		m[id] = g
	}
	return m
}

// hsLeakCheck fails t if goroutines started during the test are still
// running (after a grace period) once the test and the cleanups registered
// after this call have finished. Call it first in a test.
func hsLeakCheck(t *testing.T) {
	t.Helper()
	before := hsGoroutines()
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			var leaked []string
			for id, g := range hsGoroutines() {
				if _, ok := before[id]; !ok {
					leaked = append(leaked, g)
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				sort.Strings(leaked)
				t.Errorf("%d goroutine(s) leaked:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// hsServe starts an httptest.Server with h, closed when the test ends.
func hsServe(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// hsServeTLS is hsServe with TLS.
func hsServeTLS(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func hsAddr(s *httptest.Server) string { return s.Listener.Addr().String() }

func hsCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// hsEcho is an Upgrader that echoes every message until the peer closes.
func hsEcho() *Upgrader {
	return &Upgrader{CloseTimeout: time.Second, Handler: func(c *Conn) {
		for {
			typ, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, p); err != nil {
				return
			}
		}
	}}
}

// hsCheckEcho sends a message on c and expects it back.
func hsCheckEcho(t *testing.T, c *Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	defer c.SetDeadline(time.Time{})
	if err := c.WriteMessage(TextMessage, []byte(msg)); err != nil {
		t.Fatalf("WriteMessage: %v", err)
	}
	typ, p, err := c.ReadMessage()
	if err != nil || typ != TextMessage || string(p) != msg {
		t.Fatalf("ReadMessage = %v, %q, %v; want text %q", typ, p, err, msg)
	}
}

// hsRequest builds a raw handshake request: requestLine, then the standard
// header lines (Host, Upgrade, Connection, Sec-WebSocket-Key,
// Sec-WebSocket-Version). mod replaces a standard line by its values (one
// line each; nil or empty removes it) and adds its other entries, in
// sorted order, after the standard lines.
func hsRequest(requestLine, host string, mod map[string][]string) string {
	std := []struct {
		k string
		v []string
	}{
		{"Host", []string{host}},
		{"Upgrade", []string{"websocket"}},
		{"Connection", []string{"Upgrade"}},
		{"Sec-WebSocket-Key", []string{hsKey}},
		{"Sec-WebSocket-Version", []string{"13"}},
	}
	var b strings.Builder
	b.WriteString(requestLine + "\r\n")
	seen := map[string]bool{}
	for _, h := range std {
		vs := h.v
		if m, ok := mod[h.k]; ok {
			vs = m
			seen[h.k] = true
		}
		for _, v := range vs {
			b.WriteString(h.k + ": " + v + "\r\n")
		}
	}
	var extra []string
	for k := range mod {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		for _, v := range mod[k] {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// hsDo writes raw to a new connection to addr and reads the response. The
// body of a non-101 response is read whole.
func hsDo(t *testing.T, addr, raw string) (*http.Response, string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(nc, raw); err != nil {
		t.Fatalf("writing the request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	var body []byte
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, err = io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("reading the response body: %v", err)
		}
	}
	return resp, string(body)
}

// hsCheck101 checks that resp completes the handshake for hsKey.
func hsCheck101(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status = %d, want 101", resp.StatusCode)
	}
	if got := resp.Header.Get("Upgrade"); !strings.EqualFold(got, "websocket") {
		t.Errorf("Upgrade = %q, want websocket", got)
	}
	if !hasToken(resp.Header, "Connection", "upgrade") {
		t.Errorf("Connection = %q, want Upgrade", resp.Header.Values("Connection"))
	}
	if got := resp.Header.Values("Sec-WebSocket-Accept"); len(got) != 1 || got[0] != hsAccept {
		t.Errorf("Sec-WebSocket-Accept = %q, want %q", got, hsAccept)
	}
}

// hsRawServer is a TCP server on loopback that reads one HTTP request per
// connection and hands it to a handler that answers with raw bytes.
type hsRawServer struct {
	addr     string
	accepted atomic.Int32
	requests atomic.Int32
}

func hsNewRawServer(t *testing.T, handle func(nc net.Conn, br *bufio.Reader, req *http.Request)) *hsRawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rs := &hsRawServer{addr: ln.Addr().String()}
	var (
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
		wg     sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			rs.accepted.Add(1)
			mu.Lock()
			if closed {
				nc.Close()
			}
			conns = append(conns, nc)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(5 * time.Second)) // a safety net
				br := bufio.NewReader(nc)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				rs.requests.Add(1)
				handle(nc, br, req)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return rs
}

// hs101 is a correct 101 response to a request with key, plus extra
// header lines.
func hs101(key string, extra ...string) string {
	s := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + computeAccept(key) + "\r\n"
	for _, e := range extra {
		s += e + "\r\n"
	}
	return s + "\r\n"
}

// hsFrame is a final frame with opcode op and payload p (at most 64 KiB),
// masked when masked is set.
func hsFrame(op byte, p []byte, masked bool) []byte {
	b := []byte{0x80 | op}
	var m byte
	if masked {
		m = 0x80
	}
	switch {
	case len(p) <= 125:
		b = append(b, m|byte(len(p)))
	case len(p) <= 0xffff:
		b = append(b, m|126, byte(len(p)>>8), byte(len(p)))
	default:
		panic("hsFrame: payload too long")
	}
	if !masked {
		return append(b, p...)
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b = append(b, key[:]...)
	for i, c := range p {
		b = append(b, c^key[i%4])
	}
	return b
}

// hsMaskedFrame is a final client frame with opcode op and payload p.
func hsMaskedFrame(op byte, p []byte) []byte { return hsFrame(op, p, true) }

// hsReadFrame reads one unmasked server frame of at most 64 KiB.
func hsReadFrame(t *testing.T, r io.Reader) (byte, []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatalf("reading a frame header: %v", err)
	}
	if h[1]&0x80 != 0 || h[1]&0x7f == 127 {
		t.Fatalf("unexpected frame header % x (masked or 64-bit length)", h)
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			t.Fatalf("reading a frame length: %v", err)
		}
		n = int(l[0])<<8 | int(l[1])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatalf("reading a frame payload: %v", err)
	}
	return h[0], p
}

// ---- accept key, key validation, header parsing ----

func TestHandshakeComputeAccept(t *testing.T) {
	if got := computeAccept(hsKey); got != hsAccept {
		t.Errorf("computeAccept(%q) = %q, want %q (RFC 6455 section 1.3)", hsKey, got, hsAccept)
	}
	// Two other known pairs (RFC 6455 section 4.2.2 and 4.1 examples).
	if got, want := computeAccept("x3JJHMbDL1EzLkh9GBhXDw=="), "HSmrc0sMlYUkAGmm5OPpG2HaGWk="; got != want {
		t.Errorf("computeAccept = %q, want %q", got, want)
	}
}

func TestHandshakeValidKey(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString
	tests := []struct {
		key  string
		want bool
	}{
		{hsKey, true},
		{enc(bytes.Repeat([]byte{0xff}, 16)), true},
		{"", false},
		{"dGhlIHNhbXBsZSBub25jZQ", false},    // no padding
		{" dGhlIHNhbXBsZSBub25jZQ==", false}, // leading space
		{enc(make([]byte, 15)), false},       // 15 bytes, 20 characters
		{enc(make([]byte, 17)), false},       // 17 bytes, 24 characters
		{enc(make([]byte, 18)), false},       // 18 bytes, 24 characters
		{"!!!!!!!!!!!!!!!!!!!!!!==", false},  // not base64
		{"dGhlIHNhbXBsZSBub25jZQ-_", false},  // URL alphabet
		{"dGhlIHNhbXBsZSBub25jZQ=A", false},  // padding in the middle
		{"AAAAAAAAAAAAAAAAAAAAAAAAAAAA", false},
	}
	for _, tt := range tests {
		if got := validKey(tt.key); got != tt.want {
			t.Errorf("validKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
	a, b := newKey(), newKey()
	if !validKey(a) || !validKey(b) {
		t.Errorf("newKey returned invalid keys %q, %q", a, b)
	}
	if a == b {
		t.Errorf("newKey returned %q twice", a)
	}
}

func TestHandshakeHeaderTokens(t *testing.T) {
	tests := []struct {
		lines []string
		want  []string
	}{
		{nil, nil},
		{[]string{""}, nil},
		{[]string{"Upgrade"}, []string{"Upgrade"}},
		{[]string{"keep-alive, Upgrade"}, []string{"keep-alive", "Upgrade"}},
		{[]string{"a", "b, c"}, []string{"a", "b", "c"}},
		{[]string{" a ,, b ,\t", ","}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		h := http.Header{"Connection": tt.lines}
		if got := headerTokens(h, "connection"); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("headerTokens(%q) = %q, want %q", tt.lines, got, tt.want)
		}
	}

	has := []struct {
		lines []string
		token string
		want  bool
	}{
		{[]string{"keep-alive, Upgrade"}, "upgrade", true},
		{[]string{"keep-alive", "UPGRADE"}, "upgrade", true},
		{[]string{"WebSocket"}, "websocket", true},
		{[]string{"keep-alive"}, "upgrade", false},
		{[]string{"Upgraded, upgrade-insecure"}, "upgrade", false},
		{[]string{"up grade"}, "upgrade", false},
		{nil, "upgrade", false},
	}
	for _, tt := range has {
		h := http.Header{"Connection": tt.lines}
		if got := hasToken(h, "Connection", tt.token); got != tt.want {
			t.Errorf("hasToken(%q, %q) = %v, want %v", tt.lines, tt.token, got, tt.want)
		}
	}
}

func TestHandshakeParseExtensions(t *testing.T) {
	type p = extensionParam
	valid := []struct {
		lines []string
		want  []extension
	}{
		{nil, nil},
		{[]string{""}, nil},
		{[]string{"permessage-deflate"}, []extension{{name: "permessage-deflate"}}},
		{[]string{"permessage-deflate; client_max_window_bits"},
			[]extension{{"permessage-deflate", []p{{"client_max_window_bits", "", false}}}}},
		{[]string{"permessage-deflate; client_max_window_bits=15; server_no_context_takeover"},
			[]extension{{"permessage-deflate", []p{{"client_max_window_bits", "15", true}, {"server_no_context_takeover", "", false}}}}},
		{[]string{`permessage-deflate; client_max_window_bits="10"`},
			[]extension{{"permessage-deflate", []p{{"client_max_window_bits", "10", true}}}}},
		{[]string{`x; a="b\c"`}, []extension{{"x", []p{{"a", "bc", true}}}}},
		{[]string{"foo, bar; baz=2"}, []extension{{name: "foo"}, {"bar", []p{{"baz", "2", true}}}}},
		{[]string{"foo", "bar; baz=2"}, []extension{{name: "foo"}, {"bar", []p{{"baz", "2", true}}}}},
		{[]string{"  foo ;  a = 1 ,\tbar\t;b  "}, []extension{{"foo", []p{{"a", "1", true}}}, {"bar", []p{{"b", "", false}}}}},
		{[]string{"foo,,bar,"}, []extension{{name: "foo"}, {name: "bar"}}},
	}
	for _, tt := range valid {
		got, err := parseExtensions(http.Header{"Sec-Websocket-Extensions": tt.lines})
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseExtensions(%q) = %+v, %v; want %+v", tt.lines, got, err, tt.want)
		}
	}

	invalid := [][]string{
		{"; a"},          // missing name
		{"=1"},           // missing name
		{"foo;;bar"},     // empty parameter
		{"foo;"},         // missing parameter name
		{"foo; =1"},      // missing parameter name
		{"foo bar"},      // two tokens
		{"foo; a=b c"},   // two tokens as a value
		{"foo; a="},      // missing value
		{"foo; a=@"},     // value not a token
		{`foo; a="b`},    // unterminated quoted string
		{`foo; a="b\`},   // unterminated escape
		{`foo; a="b c"`}, // quoted value not a token
		{`foo; a=""`},    // empty quoted value
		{`foo; a="b"c`},  // garbage after a quoted value
		{"foo", "bar;"},  // bad second line
		{"f\x00o"},       // control character
	}
	for _, lines := range invalid {
		if got, err := parseExtensions(http.Header{"Sec-Websocket-Extensions": lines}); err == nil {
			t.Errorf("parseExtensions(%q) = %+v, nil; want an error", lines, got)
		}
	}

	e := extension{"permessage-deflate", []p{{"client_max_window_bits", "15", true}, {"server_no_context_takeover", "", false}}}
	if got, want := e.String(), "permessage-deflate; client_max_window_bits=15; server_no_context_takeover"; got != want {
		t.Errorf("extension.String() = %q, want %q", got, want)
	}
}

// ---- server side ----

func TestUpgradeRequestChecks(t *testing.T) {
	hsLeakCheck(t)
	u := &Upgrader{Handler: func(c *Conn) { c.CloseNow() }}
	s := hsServe(t, u)
	addr := hsAddr(s)
	get := "GET /ws HTTP/1.1"

	tests := []struct {
		name     string
		line     string
		mod      map[string][]string
		want     int
		wantBody string // a part of the plain-text reason
	}{
		{"valid", get, nil, 101, ""},
		{"POST", "POST /ws HTTP/1.1", map[string][]string{"Content-Length": {"0"}}, 405, "GET"},
		{"PUT", "PUT /ws HTTP/1.1", map[string][]string{"Content-Length": {"0"}}, 405, "GET"},
		{"HTTP/1.0", "GET /ws HTTP/1.0", nil, 400, "HTTP/1.1"},
		{"no Host", get, map[string][]string{"Host": nil}, 400, "Host"},
		{"no Connection", get, map[string][]string{"Connection": nil}, 400, "Connection"},
		{"Connection keep-alive", get, map[string][]string{"Connection": {"keep-alive"}}, 400, "Connection"},
		{"Connection close", get, map[string][]string{"Connection": {"close"}}, 400, "Connection"},
		{"Connection Upgraded", get, map[string][]string{"Connection": {"Upgraded"}}, 400, "Connection"},
		{"Connection token list", get, map[string][]string{"Connection": {"keep-alive, Upgrade"}}, 101, ""},
		{"Connection two lines", get, map[string][]string{"Connection": {"keep-alive", "upgrade"}}, 101, ""},
		{"Connection lower case", get, map[string][]string{"Connection": {"upgrade"}}, 101, ""},
		{"Upgrade WebSocket", get, map[string][]string{"Upgrade": {"WebSocket"}}, 101, ""},
		{"Upgrade list", get, map[string][]string{"Upgrade": {"foo/2, websocket"}}, 101, ""},
		{"no Upgrade", get, map[string][]string{"Upgrade": nil}, 400, "Upgrade"},
		{"Upgrade h2c", get, map[string][]string{"Upgrade": {"h2c"}}, 400, "Upgrade"},
		{"no key", get, map[string][]string{"Sec-WebSocket-Key": nil}, 400, "Sec-WebSocket-Key"},
		{"short key", get, map[string][]string{"Sec-WebSocket-Key": {"abc"}}, 400, "Sec-WebSocket-Key"},
		{"key not base64", get, map[string][]string{"Sec-WebSocket-Key": {"!!!!!!!!!!!!!!!!!!!!!!=="}}, 400, "Sec-WebSocket-Key"},
		{"key of 17 bytes", get, map[string][]string{"Sec-WebSocket-Key": {"AAAAAAAAAAAAAAAAAAAAAAA="}}, 400, "Sec-WebSocket-Key"},
		{"two keys", get, map[string][]string{"Sec-WebSocket-Key": {hsKey, "x3JJHMbDL1EzLkh9GBhXDw=="}}, 400, "Sec-WebSocket-Key"},
		{"two keys one line", get, map[string][]string{"Sec-WebSocket-Key": {hsKey + ", x3JJHMbDL1EzLkh9GBhXDw=="}}, 400, "Sec-WebSocket-Key"},
		{"version 8", get, map[string][]string{"Sec-WebSocket-Version": {"8"}}, 426, "13"},
		{"no version", get, map[string][]string{"Sec-WebSocket-Version": nil}, 426, "13"},
		{"two versions", get, map[string][]string{"Sec-WebSocket-Version": {"13", "8"}}, 426, "13"},
		{"version list", get, map[string][]string{"Sec-WebSocket-Version": {"13, 8"}}, 426, "13"},
		{"bad extensions", get, map[string][]string{"Sec-WebSocket-Extensions": {"permessage-deflate;;"}}, 400, "Sec-WebSocket-Extensions"},
		{"bad extension value", get, map[string][]string{"Sec-WebSocket-Extensions": {`x; a="b c"`}}, 400, "Sec-WebSocket-Extensions"},
		{"valid extensions", get, map[string][]string{"Sec-WebSocket-Extensions": {"permessage-deflate; client_max_window_bits", "x-foo"}}, 101, ""},
		{"no Origin", get, nil, 101, ""},
		{"same Origin", get, map[string][]string{"Origin": {"http://" + addr}}, 101, ""},
		{"same Origin other case", get, map[string][]string{"Origin": {"HTTP://" + strings.ToUpper("localhost") + ":1"}, "Host": {"localhost:1"}}, 101, ""},
		{"cross Origin", get, map[string][]string{"Origin": {"https://evil.example"}}, 403, "origin"},
		{"cross Origin port", get, map[string][]string{"Origin": {"http://127.0.0.1:1"}}, 403, "origin"},
		{"null Origin", get, map[string][]string{"Origin": {"null"}}, 403, "origin"},
		{"two Origins", get, map[string][]string{"Origin": {"http://" + addr, "https://evil.example"}}, 403, "origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := hsDo(t, addr, hsRequest(tt.line, addr, tt.mod))
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d (%q), want %d", resp.StatusCode, body, tt.want)
			}
			if tt.want == 101 {
				hsCheck101(t, resp)
				if got := resp.Header.Values("Sec-WebSocket-Extensions"); len(got) != 0 {
					t.Errorf("Sec-WebSocket-Extensions = %q in the response, want none", got)
				}
				return
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q, want text/plain", ct)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body = %q, want a reason mentioning %q", body, tt.wantBody)
			}
			if got := resp.Header.Values("Sec-WebSocket-Accept"); len(got) != 0 {
				t.Errorf("refusal carries Sec-WebSocket-Accept %q", got)
			}
			switch tt.want {
			case 426:
				if got := resp.Header.Values("Sec-WebSocket-Version"); len(got) != 1 || got[0] != "13" {
					t.Errorf("426 response has Sec-WebSocket-Version %q, want [13]", got)
				}
			case 405:
				if got := resp.Header.Get("Allow"); got != "GET" {
					t.Errorf("405 response has Allow %q, want GET", got)
				}
			}
		})
	}
}

// TestUpgradeReturnsError checks Upgrade's error result on a refused
// request and that the request is answered only once.
func TestUpgradeReturnsError(t *testing.T) {
	hsLeakCheck(t)
	errc := make(chan error, 1)
	var u Upgrader
	s := hsServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, nil)
		if c != nil {
			c.CloseNow()
		}
		errc <- err
	}))
	addr := hsAddr(s)
	resp, _ := hsDo(t, addr, hsRequest("GET / HTTP/1.1", addr, map[string][]string{"Sec-WebSocket-Version": {"8"}}))
	if resp.StatusCode != 426 {
		t.Errorf("status = %d, want 426", resp.StatusCode)
	}
	if err := <-errc; err == nil || !strings.Contains(err.Error(), "13") {
		t.Errorf("Upgrade error = %v, want one about version 13", err)
	}
	resp, _ = hsDo(t, addr, hsRequest("GET / HTTP/1.1", addr, nil))
	hsCheck101(t, resp)
	if err := <-errc; err != nil {
		t.Errorf("Upgrade error = %v on a valid request", err)
	}
}

func TestUpgradeNoHandler(t *testing.T) {
	hsLeakCheck(t)
	s := hsServe(t, &Upgrader{})
	addr := hsAddr(s)
	resp, _ := hsDo(t, addr, hsRequest("GET / HTTP/1.1", addr, nil))
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("ServeHTTP without Handler: status = %d, want 500", resp.StatusCode)
	}
}

func TestUpgradeOriginPatterns(t *testing.T) {
	hsLeakCheck(t)
	tests := []struct {
		patterns []string
		origin   string
		want     int
	}{
		{[]string{"*.example.com"}, "https://foo.example.com", 101},
		{[]string{"*.example.com"}, "http://a.example.com", 101},
		{[]string{"*.example.com"}, "https://FOO.Example.COM", 101},
		{[]string{"*.example.com"}, "https://example.com", 403},
		{[]string{"*.example.com"}, "https://foo.example.org", 403},
		{[]string{"*.example.com"}, "https://fooexample.com", 403},
		{[]string{"*.example.com"}, "https://evil.com/.example.com", 403},
		{[]string{"*.example.com"}, "https://foo.example.com.evil.com", 403},
		{[]string{"*"}, "https://anything.example:8443", 101},
		{[]string{"*"}, "http://127.0.0.1:1", 101},
		{[]string{"https://foo.example"}, "https://foo.example", 101},
		{[]string{"https://foo.example"}, "http://foo.example", 403},
		{[]string{"https://foo.example"}, "https://bar.example", 403},
		{[]string{"https://foo.example"}, "https://foo.example:444", 403},
		{[]string{"https://*.example.com"}, "https://a.example.com", 101},
		{[]string{"https://*.example.com"}, "http://a.example.com", 403},
		{[]string{"localhost:*"}, "http://localhost:3000", 101},
		{[]string{"localhost:*"}, "http://localhost.evil:3000", 403},
		{[]string{"a.example", "b.example"}, "https://b.example", 101},
		{[]string{"[bad"}, "https://x.example", 403}, // a bad pattern matches nothing
		{nil, "https://x.example", 403},
	}
	for _, tt := range tests {
		u := &Upgrader{OriginPatterns: tt.patterns, Handler: func(c *Conn) { c.CloseNow() }}
		s := hsServe(t, u)
		addr := hsAddr(s)
		resp, body := hsDo(t, addr, hsRequest("GET / HTTP/1.1", addr, map[string][]string{"Origin": {tt.origin}}))
		if resp.StatusCode != tt.want {
			t.Errorf("OriginPatterns %q, Origin %q: status = %d (%q), want %d", tt.patterns, tt.origin, resp.StatusCode, body, tt.want)
		}
		// Same-origin and origin-less requests pass whatever the patterns.
		for _, o := range []string{"", "http://" + addr} {
			mod := map[string][]string{}
			if o != "" {
				mod["Origin"] = []string{o}
			}
			resp, _ := hsDo(t, addr, hsRequest("GET / HTTP/1.1", addr, mod))
			if resp.StatusCode != 101 {
				t.Errorf("OriginPatterns %q, Origin %q: status = %d, want 101", tt.patterns, o, resp.StatusCode)
			}
		}
		s.Close()
	}
}

func TestUpgradeCheckOrigin(t *testing.T) {
	hsLeakCheck(t)
	var calls atomic.Int32
	u := &Upgrader{
		OriginPatterns: []string{"*"}, // ignored: CheckOrigin decides alone
		CheckOrigin: func(r *http.Request) bool {
			calls.Add(1)
			return r.Header.Get("Origin") == "https://ok.example" && r.URL.Path == "/ws"
		},
		Handler: func(c *Conn) { c.CloseNow() },
	}
	s := hsServe(t, u)
	addr := hsAddr(s)
	tests := []struct {
		origin string
		want   int
	}{
		{"https://ok.example", 101},
		{"https://other.example", 403},
		{"http://" + addr, 403}, // even same-origin
		{"", 403},               // even without Origin
	}
	for _, tt := range tests {
		mod := map[string][]string{}
		if tt.origin != "" {
			mod["Origin"] = []string{tt.origin}
		}
		before := calls.Load()
		resp, body := hsDo(t, addr, hsRequest("GET /ws HTTP/1.1", addr, mod))
		if resp.StatusCode != tt.want {
			t.Errorf("CheckOrigin, Origin %q: status = %d (%q), want %d", tt.origin, resp.StatusCode, body, tt.want)
		}
		if n := calls.Load() - before; n != 1 {
			t.Errorf("CheckOrigin called %d times for one request, want 1", n)
		}
	}
	// CheckOrigin is not consulted for requests that are not handshakes.
	before := calls.Load()
	resp, _ := hsDo(t, addr, hsRequest("GET /ws HTTP/1.1", addr, map[string][]string{"Upgrade": nil, "Origin": {"https://ok.example"}}))
	if resp.StatusCode != 400 {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	if calls.Load() != before {
		t.Errorf("CheckOrigin called for an invalid handshake")
	}
}

func TestUpgradeResponseHeader(t *testing.T) {
	hsLeakCheck(t)
	headers := map[string]http.Header{
		"accept":     {"Sec-Websocket-Accept": {"x"}},
		"protocol":   {"Sec-Websocket-Protocol": {"chat"}},
		"extensions": {"sec-websocket-extensions": {"permessage-deflate"}}, // not canonical
		"version":    {"Sec-WebSocket-Version": {"13"}},                    // not canonical
		"upgrade":    {"Upgrade": {"h2c"}},
		"connection": {"Connection": {"close"}},
		"cookie":     {"Set-Cookie": {"a=b"}, "X-Served-By": {"test"}},
	}
	errc := make(chan error, 1)
	var u Upgrader
	s := hsServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, headers[r.URL.Query().Get("h")])
		if c != nil {
			c.CloseNow()
		}
		errc <- err
	}))
	addr := hsAddr(s)
	for name := range headers {
		resp, body := hsDo(t, addr, hsRequest("GET /?h="+name+" HTTP/1.1", addr, nil))
		err := <-errc
		if name == "cookie" {
			hsCheck101(t, resp)
			if err != nil {
				t.Errorf("Upgrade with Set-Cookie: %v", err)
			}
			if got := resp.Header.Get("Set-Cookie"); got != "a=b" {
				t.Errorf("Set-Cookie = %q, want a=b", got)
			}
			if got := resp.Header.Get("X-Served-By"); got != "test" {
				t.Errorf("X-Served-By = %q, want test", got)
			}
			continue
		}
		if resp.StatusCode == 101 || err == nil {
			t.Errorf("responseHeader %v: status %d, Upgrade error %v; want a refusal", headers[name], resp.StatusCode, err)
		}
		if resp.StatusCode != 500 {
			t.Errorf("responseHeader %v: status %d (%q), want 500", headers[name], resp.StatusCode, body)
		}
	}
}

// TestUpgradeFrameBehindRequest writes the handshake request and two
// masked frames in one write: the frames land in the HTTP server's read
// buffer and must reach the Conn.
func TestUpgradeFrameBehindRequest(t *testing.T) {
	hsLeakCheck(t)
	s := hsServe(t, hsEcho())
	addr := hsAddr(s)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(3 * time.Second))
	// The long message makes the whole more than the HTTP server's 4 KiB
	// read buffer: part of it is buffered, the rest still in the socket.
	long := strings.Repeat("0123456789", 600)
	msg := []byte(hsRequest("GET / HTTP/1.1", addr, nil))
	msg = append(msg, hsMaskedFrame(0x1, []byte("hello"))...)
	msg = append(msg, hsMaskedFrame(0x2, []byte("world"))...)
	msg = append(msg, hsMaskedFrame(0x1, []byte(long))...)
	if _, err := nc.Write(msg); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	hsCheck101(t, resp)
	for _, want := range []struct {
		op byte
		p  string
	}{{0x81, "hello"}, {0x82, "world"}, {0x81, long}} {
		op, p := hsReadFrame(t, br)
		if op != want.op || string(p) != want.p {
			t.Fatalf("echo = %#x %.20q (%d bytes), want %#x %.20q (%d bytes): frames sent behind the request were lost",
				op, p, len(p), want.op, want.p, len(want.p))
		}
	}
	// Close cleanly: the server answers our close frame and hangs up.
	if _, err := nc.Write(hsMaskedFrame(0x8, []byte{0x03, 0xe8})); err != nil {
		t.Fatal(err)
	}
	op, p := hsReadFrame(t, br)
	if op != 0x88 || !bytes.Equal(p, []byte{0x03, 0xe8}) {
		t.Errorf("close answer = %#x % x, want 0x88 03 e8", op, p)
	}
	if n, err := br.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("after the close handshake: read %d, %v; want EOF", n, err)
	}
}

// ---- subprotocols ----

// hsProtoServer is an Upgrader with the given subprotocols whose Handler
// sends the negotiated subprotocol as its first message.
func hsProtoServer(protocols ...string) *Upgrader {
	return &Upgrader{Subprotocols: protocols, CloseTimeout: time.Second, Handler: func(c *Conn) {
		if err := c.WriteMessage(TextMessage, []byte("subprotocol="+c.Subprotocol())); err != nil {
			return
		}
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}}
}

func TestSubprotocolRawRequest(t *testing.T) {
	hsLeakCheck(t)
	tests := []struct {
		server  []string
		offered []string // header lines
		want    string
	}{
		{[]string{"superchat", "chat"}, []string{"chat, superchat"}, "superchat"},
		{[]string{"chat", "superchat"}, []string{"superchat, chat"}, "chat"},
		{[]string{"b"}, []string{"a", "b"}, "b"},
		{[]string{"v2", "v1"}, []string{" v1 ,v2 "}, "v2"},
		{[]string{"chat"}, []string{"other"}, ""},
		{[]string{"chat"}, []string{"Chat"}, ""}, // subprotocols are case-sensitive
		{[]string{"chat"}, nil, ""},
		{nil, []string{"chat"}, ""},
	}
	for _, tt := range tests {
		s := hsServe(t, hsProtoServer(tt.server...))
		addr := hsAddr(s)
		mod := map[string][]string{}
		if tt.offered != nil {
			mod["Sec-WebSocket-Protocol"] = tt.offered
		}
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(3 * time.Second))
		io.WriteString(nc, hsRequest("GET / HTTP/1.1", addr, mod))
		br := bufio.NewReader(nc)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		hsCheck101(t, resp)
		got := resp.Header.Values("Sec-WebSocket-Protocol")
		if tt.want == "" && len(got) != 0 || tt.want != "" && (len(got) != 1 || got[0] != tt.want) {
			t.Errorf("server %q, offered %q: Sec-WebSocket-Protocol = %q, want %q", tt.server, tt.offered, got, tt.want)
		}
		_, p := hsReadFrame(t, br)
		if string(p) != "subprotocol="+tt.want {
			t.Errorf("server %q, offered %q: server Conn has %q, want %q", tt.server, tt.offered, p, "subprotocol="+tt.want)
		}
		nc.Write(hsMaskedFrame(0x8, []byte{0x03, 0xe8}))
		io.Copy(io.Discard, br)
		nc.Close()
		s.Close()
	}
}

func TestSubprotocolDial(t *testing.T) {
	hsLeakCheck(t)
	tests := []struct {
		server, client []string
		want           string
	}{
		{[]string{"v1", "v2"}, []string{"v2", "v1"}, "v1"}, // the server's preference wins
		{[]string{"v2", "v1"}, []string{"v1", "v2"}, "v2"},
		{[]string{"v3", "v2"}, []string{"v1", "v2"}, "v2"},
		{[]string{"v1"}, []string{"v2"}, ""},
		{[]string{"v1"}, nil, ""},
		{nil, []string{"v1"}, ""},
	}
	for _, tt := range tests {
		s := hsServe(t, hsProtoServer(tt.server...))
		d := &Dialer{Subprotocols: tt.client}
		c, resp, err := d.Dial(hsCtx(t), "ws://"+hsAddr(s), nil)
		if err != nil {
			t.Fatalf("server %q, client %q: Dial: %v", tt.server, tt.client, err)
		}
		if got := c.Subprotocol(); got != tt.want {
			t.Errorf("server %q, client %q: client Subprotocol() = %q, want %q", tt.server, tt.client, got, tt.want)
		}
		got := resp.Header.Values("Sec-WebSocket-Protocol")
		if tt.want == "" && len(got) != 0 || tt.want != "" && (len(got) != 1 || got[0] != tt.want) {
			t.Errorf("server %q, client %q: response Sec-WebSocket-Protocol = %q, want %q", tt.server, tt.client, got, tt.want)
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, p, err := c.ReadMessage()
		if err != nil || string(p) != "subprotocol="+tt.want {
			t.Errorf("server %q, client %q: server says %q, %v; want %q", tt.server, tt.client, p, err, "subprotocol="+tt.want)
		}
		c.SetReadDeadline(time.Time{})
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		s.Close()
	}
}

// ---- client side ----

func TestDialRequest(t *testing.T) {
	hsLeakCheck(t)
	reqs := make(chan *http.Request, 2)
	rs := hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		reqs <- req
		io.WriteString(nc, hs101(req.Header.Get("Sec-WebSocket-Key")))
		io.Copy(io.Discard, br)
	})
	h := http.Header{
		"Origin":        {"http://example.com"},
		"X-Custom":      {"a", "b"},
		"Authorization": {"Bearer t"},
	}
	hcopy := h.Clone()
	var keys []string
	for i := 0; i < 2; i++ {
		c, resp, err := Dial(hsCtx(t), "ws://"+rs.addr+"/path?q=1", h)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		if resp == nil || resp.StatusCode != 101 || c.Response() != resp {
			t.Errorf("Dial response = %v, Conn.Response() = %v", resp, c.Response())
		}
		c.CloseNow()
		req := <-reqs
		if req.Method != "GET" || req.Proto != "HTTP/1.1" || req.RequestURI != "/path?q=1" {
			t.Errorf("request line = %s %s %s, want GET /path?q=1 HTTP/1.1", req.Method, req.RequestURI, req.Proto)
		}
		if req.Host != rs.addr {
			t.Errorf("Host = %q, want %q", req.Host, rs.addr)
		}
		for k, want := range map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-Websocket-Version": "13"} {
			if got := req.Header[k]; len(got) != 1 || got[0] != want {
				t.Errorf("%s = %q, want [%s]", k, got, want)
			}
		}
		key := req.Header["Sec-Websocket-Key"]
		if len(key) != 1 || !validKey(key[0]) {
			t.Errorf("Sec-WebSocket-Key = %q, want one base64 encoding of 16 bytes", key)
		} else {
			keys = append(keys, key[0])
		}
		for _, k := range []string{"Sec-Websocket-Protocol", "Sec-Websocket-Extensions"} {
			if got, ok := req.Header[k]; ok {
				t.Errorf("%s = %q sent, want none", k, got)
			}
		}
		if got := req.Header.Values("X-Custom"); !reflect.DeepEqual(got, []string{"a", "b"}) {
			t.Errorf("X-Custom = %q, want [a b]", got)
		}
		if got := req.Header.Get("Origin"); got != "http://example.com" {
			t.Errorf("Origin = %q", got)
		}
		if got := req.Header.Get("Authorization"); got != "Bearer t" {
			t.Errorf("Authorization = %q", got)
		}
	}
	if len(keys) == 2 && keys[0] == keys[1] {
		t.Errorf("two handshakes used the same key %q", keys[0])
	}
	if !reflect.DeepEqual(h, hcopy) {
		t.Errorf("Dial modified the caller's header: %v, was %v", h, hcopy)
	}

	// The URL's empty path becomes "/", the http scheme is taken as ws, a
	// Host header replaces the URL's host and Subprotocols are offered.
	d := &Dialer{Subprotocols: []string{"a", "b"}}
	c, _, err := d.Dial(hsCtx(t), "http://"+rs.addr, http.Header{"Host": {"example.org"}})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	c.CloseNow()
	req := <-reqs
	if req.RequestURI != "/" || req.Host != "example.org" {
		t.Errorf("request %s with Host %q, want / with Host example.org", req.RequestURI, req.Host)
	}
	if got := headerTokens(req.Header, "Sec-WebSocket-Protocol"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Sec-WebSocket-Protocol offered %q, want [a b]", got)
	}
}

func TestDialRefusesHandshakeHeaders(t *testing.T) {
	hsLeakCheck(t)
	rs := hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {})
	for _, k := range []string{"Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol"} {
		h := http.Header{}
		h.Set(k, "x")
		c, resp, err := Dial(hsCtx(t), "ws://"+rs.addr, h)
		if err == nil || c != nil || resp != nil {
			t.Errorf("Dial with header %s: %v, %v, %v; want an error", k, c, resp, err)
			if c != nil {
				c.CloseNow()
			}
		}
	}
	// Header maps written as literals keep the keys' spelling; the RFC's
	// spelling is not the canonical one and must be refused too.
	for _, h := range []http.Header{
		{"Sec-WebSocket-Protocol": {"chat"}},
		{"Sec-WebSocket-Extensions": {"permessage-deflate"}},
		{"Sec-WebSocket-Key": {hsKey}},
		{"sec-websocket-version": {"8"}},
		{"upgrade": {"h2c"}},
	} {
		c, _, err := Dial(hsCtx(t), "ws://"+rs.addr, h)
		if err == nil {
			c.CloseNow()
		}
		if err == nil || !strings.Contains(err.Error(), "set by the Dialer") {
			t.Errorf("Dial with header %v: error %v; want it refused as set by the Dialer "+
				"(Dial looks up only canonical keys, so a literal key reaches the wire)", h, err)
		}
	}
	for _, u := range []string{"ftp://" + rs.addr, "ws://user:pw@" + rs.addr, "ws:///path", "ws://%zz"} {
		if c, _, err := Dial(hsCtx(t), u, nil); err == nil {
			t.Errorf("Dial(%q) succeeded", u)
			c.CloseNow()
		}
	}
	if n := rs.accepted.Load(); n != 0 {
		t.Errorf("the server saw %d connections, want none", n)
	}
}

func TestDialBadResponse(t *testing.T) {
	hsLeakCheck(t)
	tests := []struct {
		name       string
		offer      []string
		response   func(key string) string
		wantStatus int
		wantReason string
	}{
		{"wrong accept", nil, func(string) string {
			return hs101("AAAAAAAAAAAAAAAAAAAAAA==")
		}, 101, "Accept"},
		{"RFC accept for another key", nil, func(string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + hsAccept + "\r\n\r\n"
		}, 101, "Accept"},
		{"no accept", nil, func(string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		}, 101, "Accept"},
		{"two accepts", nil, func(key string) string {
			return hs101(key, "Sec-WebSocket-Accept: "+computeAccept(key))
		}, 101, "Accept"},
		{"no Upgrade", nil, func(key string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + computeAccept(key) + "\r\n\r\n"
		}, 101, "Upgrade"},
		{"Upgrade h2c", nil, func(key string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + computeAccept(key) + "\r\n\r\n"
		}, 101, "Upgrade"},
		{"no Connection", nil, func(key string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + computeAccept(key) + "\r\n\r\n"
		}, 101, "Connection"},
		{"subprotocol not offered", nil, func(key string) string {
			return hs101(key, "Sec-WebSocket-Protocol: chat")
		}, 101, "chat"},
		{"other subprotocol", []string{"chat"}, func(key string) string {
			return hs101(key, "Sec-WebSocket-Protocol: superchat")
		}, 101, "superchat"},
		{"two subprotocols", []string{"chat", "superchat"}, func(key string) string {
			return hs101(key, "Sec-WebSocket-Protocol: chat, superchat")
		}, 101, "subprotocol"},
		{"extension not offered", nil, func(key string) string {
			return hs101(key, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover")
		}, 101, "permessage-deflate"},
		{"malformed extension", nil, func(key string) string {
			return hs101(key, "Sec-WebSocket-Extensions: ;;")
		}, 101, "Extensions"},
		{"200", nil, func(string) string {
			return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 22\r\n\r\nnot a websocket server"
		}, 200, "200"},
		{"200 long body", nil, func(string) string {
			return "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n" + strings.Repeat("x", 10000)
		}, 200, "200"},
		{"404 close-delimited", nil, func(string) string {
			return "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nnot a websocket server"
		}, 404, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
				io.WriteString(nc, tt.response(req.Header.Get("Sec-WebSocket-Key")))
				if tt.wantStatus == 404 {
					return // the body ends with the connection
				}
				io.Copy(io.Discard, br)
			})
			d := &Dialer{Subprotocols: tt.offer}
			c, resp, err := d.Dial(hsCtx(t), "ws://"+rs.addr, nil)
			if c != nil {
				c.CloseNow()
				t.Fatalf("Dial succeeded; want a *HandshakeError")
			}
			var he *HandshakeError
			if !errors.As(err, &he) {
				t.Fatalf("Dial error = %v (%T), want a *HandshakeError", err, err)
			}
			if resp == nil || he.Response != resp {
				t.Fatalf("Dial response = %v, HandshakeError.Response = %v; want the same non-nil response", resp, he.Response)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("StatusCode = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if !strings.Contains(err.Error(), tt.wantReason) {
				t.Errorf("error %q does not mention %q", err, tt.wantReason)
			}
			if tt.wantStatus != 101 {
				want := "not a websocket server"
				if tt.name == "200 long body" {
					want = strings.Repeat("x", 4096) // "up to 4 KiB of its body"
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil || string(body) != want {
					t.Errorf("response body = %.40q (%d bytes), %v; want %.40q (%d bytes)", body, len(body), err, want, len(want))
				}
			}
		})
	}
}

func TestDialRedirectNotFollowed(t *testing.T) {
	hsLeakCheck(t)
	rs := hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		if req.URL.Path == "/other" {
			io.WriteString(nc, hs101(req.Header.Get("Sec-WebSocket-Key")))
		} else {
			io.WriteString(nc, "HTTP/1.1 302 Found\r\nLocation: /other\r\nContent-Length: 0\r\n\r\n")
		}
		io.Copy(io.Discard, br)
	})
	c, resp, err := Dial(hsCtx(t), "ws://"+rs.addr+"/start", nil)
	if c != nil {
		c.CloseNow()
		t.Fatal("Dial followed the redirect")
	}
	var he *HandshakeError
	if !errors.As(err, &he) || resp == nil || resp.StatusCode != 302 {
		t.Fatalf("Dial = %v, %v; want a *HandshakeError with a 302 response", resp, err)
	}
	if !strings.Contains(err.Error(), "redirect") || !strings.Contains(err.Error(), "/other") {
		t.Errorf("error %q does not mention the redirect to /other", err)
	}
	if got := resp.Header.Get("Location"); got != "/other" {
		t.Errorf("Location = %q", got)
	}
	if n, m := rs.accepted.Load(), rs.requests.Load(); n != 1 || m != 1 {
		t.Errorf("server saw %d connections and %d requests, want exactly one", n, m)
	}
}

// hsSilentServer reads the request, signals on got (if not nil) and then
// never answers (it writes partial, if not empty, first).
func hsSilentServer(t *testing.T, partial string, got chan<- struct{}) *hsRawServer {
	return hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		if partial != "" {
			io.WriteString(nc, partial)
		}
		if got != nil {
			got <- struct{}{}
		}
		io.Copy(io.Discard, br) // until the client hangs up
	})
}

// hsCheckBounded checks that Dial failed, not with a *HandshakeError, and
// that it returned after between min and max. If want is not nil, the
// error must also match it with errors.Is; otherwise it must be some
// timeout.
func hsCheckBounded(t *testing.T, err error, want error, elapsed, min, max time.Duration) {
	t.Helper()
	if err == nil {
		t.Fatal("Dial succeeded against a silent server")
	}
	var he *HandshakeError
	if errors.As(err, &he) {
		t.Errorf("error %v is a *HandshakeError; want a context error", err)
	}
	var ne net.Error
	if want != nil && !errors.Is(err, want) {
		t.Errorf("error %q (%T) is not %v", err, err, want)
	} else if want == nil && !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("error %q (%T) is not a timeout", err, err)
	}
	if elapsed < min || elapsed > max {
		t.Errorf("Dial returned after %v, want between %v and %v", elapsed, min, max)
	}
}

func TestDialContextTimeout(t *testing.T) {
	hsLeakCheck(t)
	for _, partial := range []string{"", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"} {
		rs := hsSilentServer(t, partial, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		c, resp, err := Dial(ctx, "ws://"+rs.addr, nil)
		elapsed := time.Since(start)
		cancel()
		if c != nil {
			c.CloseNow()
		}
		if resp != nil {
			t.Errorf("response %v from a silent server", resp)
		}
		// Whether the error is context.DeadlineExceeded is checked by
		// TestDialTimeoutIsContextError.
		hsCheckBounded(t, err, nil, elapsed, 150*time.Millisecond, 1500*time.Millisecond)
	}
}

func TestDialHandshakeTimeout(t *testing.T) {
	hsLeakCheck(t)
	rs := hsSilentServer(t, "", nil)
	d := &Dialer{HandshakeTimeout: 200 * time.Millisecond}
	start := time.Now()
	c, _, err := d.Dial(context.Background(), "ws://"+rs.addr, nil)
	elapsed := time.Since(start)
	if c != nil {
		c.CloseNow()
	}
	hsCheckBounded(t, err, nil, elapsed, 150*time.Millisecond, 1500*time.Millisecond)

	// The HandshakeTimeout does not outlive Dial: the Conn works after it.
	s := hsServe(t, hsEcho())
	c, _, err = d.Dial(context.Background(), "ws://"+hsAddr(s), nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	time.Sleep(300 * time.Millisecond)
	hsCheckEcho(t, c, "still here")
}

func TestDialCancelMidHandshake(t *testing.T) {
	hsLeakCheck(t)
	for _, partial := range []string{"", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"} {
		got := make(chan struct{}, 1)
		rs := hsSilentServer(t, partial, got)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		var cancelled time.Time
		go func() {
			select {
			case <-got:
				cancelled = time.Now()
				cancel()
			case <-done:
			}
		}()
		c, _, err := Dial(ctx, "ws://"+rs.addr, nil)
		returned := time.Now()
		close(done)
		cancel()
		if c != nil {
			c.CloseNow()
		}
		if cancelled.IsZero() {
			t.Fatalf("Dial returned (%v) before the server got the request", err)
		}
		hsCheckBounded(t, err, context.Canceled, returned.Sub(cancelled), 0, 500*time.Millisecond)
	}
}

// TestDialTimeoutIsContextError checks that a handshake ended by the
// context's deadline (or HandshakeTimeout) fails with an error that
// errors.Is context.DeadlineExceeded, as it does for cancellation. The
// failure is a race between the connection deadline and the context's
// timer, so the test tries many times with short timeouts.
func TestDialTimeoutIsContextError(t *testing.T) {
	hsLeakCheck(t)
	rs := hsSilentServer(t, "", nil)
	const n = 20
	bad := 0
	var example error
	for i := 0; i < n; i++ {
		var d Dialer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		if i%2 == 1 {
			d.HandshakeTimeout = 20 * time.Millisecond
			cancel()
			ctx, cancel = context.WithCancel(context.Background())
		}
		c, _, err := d.Dial(ctx, "ws://"+rs.addr, nil)
		cancel()
		if c != nil {
			c.CloseNow()
			t.Fatal("Dial succeeded against a silent server")
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			bad++
			example = err
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d timed-out Dials failed with an error that is not context.DeadlineExceeded, e.g. %q (%T): "+
			"the connection deadline set from the context can fire before the context is done", bad, n, example, example)
	}
}

// TestDialConnAfterContext checks that the Dial context no longer affects
// the Conn once Dial has returned.
func TestDialConnAfterContext(t *testing.T) {
	hsLeakCheck(t)
	s := hsServe(t, hsEcho())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	c, _, err := Dial(ctx, "ws://"+hsAddr(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cancel()
	time.Sleep(10 * time.Millisecond)
	hsCheckEcho(t, c, "after cancel")
}

// TestDialFrameBehindResponse has the server send a frame in the same
// write as its 101 response: the frame lands in the Dialer's HTTP read
// buffer and must reach the Conn.
func TestDialFrameBehindResponse(t *testing.T) {
	hsLeakCheck(t)
	long := strings.Repeat("0123456789", 600)
	rs := hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		b := []byte(hs101(req.Header.Get("Sec-WebSocket-Key")))
		b = append(b, hsFrame(0x1, []byte("hello"), false)...)
		b = append(b, hsFrame(0x2, []byte("world"), false)...)
		b = append(b, hsFrame(0x1, []byte(long), false)...) // beyond the Dialer's 4 KiB buffer
		nc.Write(b)
		io.Copy(io.Discard, br)
	})
	c, _, err := Dial(hsCtx(t), "ws://"+rs.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	for _, want := range []struct {
		typ MessageType
		p   string
	}{{TextMessage, "hello"}, {BinaryMessage, "world"}, {TextMessage, long}} {
		typ, p, err := c.ReadMessage()
		if err != nil || typ != want.typ || string(p) != want.p {
			t.Fatalf("ReadMessage = %v, %.20q (%d bytes), %v; want %v %.20q (%d bytes): frames sent behind the 101 were lost",
				typ, p, len(p), err, want.typ, want.p, len(want.p))
		}
	}
}

// ---- proxy ----

type hsProxy struct {
	*hsRawServer
	mu   sync.Mutex
	reqs []*http.Request
}

func (p *hsProxy) requests() []*http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*http.Request(nil), p.reqs...)
}

// hsNewProxy starts an HTTP CONNECT proxy on loopback. If refuse is not
// empty, it is the raw response to every request.
func hsNewProxy(t *testing.T, refuse string) *hsProxy {
	p := &hsProxy{}
	p.hsRawServer = hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {
		p.mu.Lock()
		p.reqs = append(p.reqs, req)
		p.mu.Unlock()
		if refuse != "" {
			io.WriteString(nc, refuse)
			io.Copy(io.Discard, br)
			return
		}
		if req.Method != http.MethodConnect {
			io.WriteString(nc, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
			return
		}
		target, err := net.DialTimeout("tcp", req.Host, time.Second)
		if err != nil {
			io.WriteString(nc, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
			return
		}
		io.WriteString(nc, "HTTP/1.1 200 Connection established\r\n\r\n")
		done := make(chan struct{})
		go func() {
			io.Copy(target, br)
			target.Close()
			nc.Close()
			close(done)
		}()
		io.Copy(nc, target)
		target.Close()
		nc.Close()
		<-done
	})
	return p
}

func TestDialProxy(t *testing.T) {
	hsLeakCheck(t)
	s := hsServe(t, hsEcho())
	target := hsAddr(s)
	for _, user := range []*url.Userinfo{nil, url.UserPassword("alice", "s3cret:!")} {
		p := hsNewProxy(t, "")
		d := &Dialer{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: p.addr, User: user})}
		c, resp, err := d.Dial(hsCtx(t), "ws://"+target+"/echo", nil)
		if err != nil {
			t.Fatalf("Dial through the proxy: %v", err)
		}
		if resp.StatusCode != 101 {
			t.Errorf("status = %d", resp.StatusCode)
		}
		hsCheckEcho(t, c, "through the proxy")
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		reqs := p.requests()
		if len(reqs) != 1 {
			t.Fatalf("proxy saw %d requests, want 1", len(reqs))
		}
		req := reqs[0]
		if req.Method != http.MethodConnect || req.RequestURI != target || req.Host != target {
			t.Errorf("proxy saw %s %s (Host %q), want CONNECT %s", req.Method, req.RequestURI, req.Host, target)
		}
		auth := req.Header.Get("Proxy-Authorization")
		if user == nil {
			if auth != "" {
				t.Errorf("Proxy-Authorization %q sent without user info in the proxy URL", auth)
			}
		} else if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret:!")); auth != want {
			t.Errorf("Proxy-Authorization = %q, want %q", auth, want)
		}
	}
}

func TestDialProxyTLS(t *testing.T) {
	hsLeakCheck(t)
	s := hsServeTLS(t, hsEcho())
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	p := hsNewProxy(t, "")
	d := &Dialer{
		Proxy:           http.ProxyURL(&url.URL{Scheme: "http", Host: p.addr}),
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}
	c, _, err := d.Dial(hsCtx(t), "wss://"+hsAddr(s), nil)
	if err != nil {
		t.Fatalf("wss Dial through the proxy: %v", err)
	}
	hsCheckEcho(t, c, "tls through the proxy")
	c.Close()
	if reqs := p.requests(); len(reqs) != 1 || reqs[0].Method != "CONNECT" || reqs[0].Host != hsAddr(s) {
		t.Errorf("proxy saw %d requests (%v), want one CONNECT %s", len(reqs), reqs, hsAddr(s))
	}
}

func TestDialProxyRefused(t *testing.T) {
	hsLeakCheck(t)
	rs := hsNewRawServer(t, func(nc net.Conn, br *bufio.Reader, req *http.Request) {})
	p := hsNewProxy(t, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
	d := &Dialer{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: p.addr})}
	c, _, err := d.Dial(hsCtx(t), "ws://"+rs.addr, nil)
	if c != nil {
		c.CloseNow()
		t.Fatal("Dial succeeded through a refusing proxy")
	}
	if err == nil || !strings.Contains(err.Error(), "407") {
		t.Errorf("Dial error = %v, want one mentioning 407", err)
	}
	if n := rs.accepted.Load(); n != 0 {
		t.Errorf("target saw %d connections, want none", n)
	}
	if reqs := p.requests(); len(reqs) != 1 || reqs[0].Method != "CONNECT" {
		t.Errorf("proxy saw %v, want one CONNECT", reqs)
	}
}

// TestDialProxyStall checks that the context bounds the CONNECT exchange
// with a proxy that never answers, and that the error says so.
func TestDialProxyStall(t *testing.T) {
	hsLeakCheck(t)
	got := make(chan struct{}, 1)
	p := hsSilentServer(t, "", got)
	d := &Dialer{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: p.addr})}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var cancelled time.Time
	go func() {
		select {
		case <-got:
			cancelled = time.Now()
			cancel()
		case <-done:
		}
	}()
	c, _, err := d.Dial(ctx, "ws://127.0.0.1:1", nil)
	returned := time.Now()
	close(done)
	cancel()
	if c != nil {
		c.CloseNow()
	}
	if cancelled.IsZero() {
		t.Fatalf("Dial returned (%v) before the proxy got the CONNECT", err)
	}
	hsCheckBounded(t, err, context.Canceled, returned.Sub(cancelled), 0, 500*time.Millisecond)

	d.HandshakeTimeout = 200 * time.Millisecond
	start := time.Now()
	c, _, err = d.Dial(context.Background(), "ws://127.0.0.1:1", nil)
	elapsed := time.Since(start)
	if c != nil {
		c.CloseNow()
	}
	select {
	case <-got:
	case <-time.After(time.Second):
		t.Error("the proxy never got the second CONNECT")
	}
	hsCheckBounded(t, err, context.DeadlineExceeded, elapsed, 150*time.Millisecond, 1500*time.Millisecond)
}

// ---- TLS ----

func TestDialTLS(t *testing.T) {
	hsLeakCheck(t)
	tlsSeen := make(chan bool, 1)
	u := hsEcho()
	echo := u.Handler
	u.Handler = func(c *Conn) {
		tlsSeen <- c.Request() != nil && c.Request().TLS != nil
		echo(c)
	}
	s := hsServeTLS(t, u)
	addr := hsAddr(s)

	// The test certificate is not trusted by default.
	c, resp, err := Dial(hsCtx(t), "wss://"+addr, nil)
	if c != nil {
		c.CloseNow()
		t.Fatal("wss Dial trusted the test server's certificate")
	}
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) {
		t.Errorf("Dial error = %v (%T), want a *tls.CertificateVerificationError", err, err)
	}
	var he *HandshakeError
	if errors.As(err, &he) || resp != nil {
		t.Errorf("TLS failure reported as a handshake refusal: %v, %v", resp, err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	cfg := &tls.Config{RootCAs: pool}
	d := &Dialer{TLSClientConfig: cfg}
	for _, scheme := range []string{"wss", "https"} {
		c, _, err := d.Dial(hsCtx(t), scheme+"://"+addr, nil)
		if err != nil {
			t.Fatalf("%s Dial with the server's root: %v", scheme, err)
		}
		if !<-tlsSeen {
			t.Errorf("server Conn's Request has no TLS state")
		}
		hsCheckEcho(t, c, "over TLS")
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if cfg.ServerName != "" || cfg.NextProtos != nil {
		t.Errorf("Dial modified TLSClientConfig: ServerName %q, NextProtos %q", cfg.ServerName, cfg.NextProtos)
	}

	// A ws:// URL to the TLS port does not speak TLS and fails.
	c, _, err = d.Dial(hsCtx(t), "ws://"+addr, nil)
	if err == nil {
		c.CloseNow()
		t.Errorf("ws Dial to a TLS server succeeded")
	}
}
