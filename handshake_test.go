//go:build !js

package websocket

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// Tests of the opening handshake's shared parts (handshake.go): the accept
// key, key validation, header tokens, extension parsing and subprotocol
// negotiation, over real loopback connections speaking raw HTTP on the
// other side. The server's and the client's sides are in server_test.go
// and client_test.go; the "hs" helpers they share are in helpers_test.go.

// The example of RFC 6455 section 1.3.
const (
	hsKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	hsAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

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
	checkGoroutines(t)
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
		nc.Write(rawFrame(true, 0, 0x8, true, []byte{0x03, 0xe8}))
		io.Copy(io.Discard, br)
		nc.Close()
		s.Close()
	}
}

func TestSubprotocolDial(t *testing.T) {
	checkGoroutines(t)
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
