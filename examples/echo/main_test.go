package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsstd/websocket"
)

// defaultReadLimit is the -readlimit flag's default.
const defaultReadLimit = 16 << 20

func startEcho(t *testing.T, origins []string) (httpURL, wsURL string) {
	t.Helper()
	mux, _ := newMux(defaultReadLimit, origins)
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s.URL, "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
}

func dial(t *testing.T, url string, h http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, h)
	if c != nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

func TestPage(t *testing.T) {
	base, _ := startEcho(t, nil)
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %s, Content-Type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(string(body), "Hello, Server!") {
		t.Fatalf("the page does not contain 'Hello, Server!':\n%s", body)
	}
	resp, err = http.Get(base + "/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /elsewhere: %s, want 404", resp.Status)
	}
	// /ws without a handshake is refused, not served the page.
	resp, err = http.Get(base + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 4 {
		t.Fatalf("plain GET /ws: %s, want a 4xx", resp.Status)
	}
}

func TestEcho(t *testing.T) {
	_, url := startEcho(t, nil)
	c, _, err := dial(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	for _, m := range []struct {
		typ websocket.MessageType
		p   []byte
	}{
		{websocket.TextMessage, []byte("Hello, Server!")},
		{websocket.TextMessage, []byte("")},
		{websocket.BinaryMessage, []byte{0, 1, 2, 0xff}},
		{websocket.BinaryMessage, big},
		{websocket.TextMessage, bytes.Repeat([]byte("ünïcode "), 1<<17)}, // 1.25 MB of text
	} {
		if err := c.WriteMessage(m.typ, m.p); err != nil {
			t.Fatal(err)
		}
		typ, p, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if typ != m.typ || !bytes.Equal(p, m.p) {
			t.Fatalf("sent %v of %d bytes, got %v of %d bytes back", m.typ, len(m.p), typ, len(p))
		}
	}
	// A 1 MiB message streamed in many frames comes back too.
	w, err := c.NextWriter(websocket.BinaryMessage)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(big); off += 1000 {
		w.Write(big[off:min(off+1000, len(big))])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	typ, p, err := c.ReadMessage()
	if err != nil || typ != websocket.BinaryMessage || !bytes.Equal(p, big) {
		t.Fatalf("fragmented 1 MiB: %v, %d bytes, %v", typ, len(p), err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

func TestOrigins(t *testing.T) {
	evil := http.Header{"Origin": {"https://evil.example"}}

	_, url := startEcho(t, nil)
	_, resp, err := dial(t, url, evil)
	var he *websocket.HandshakeError
	if !errors.As(err, &he) || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin dial: %v (response %v), want 403", err, resp)
	}
	// The page's own origin is fine.
	same := http.Header{"Origin": {"http" + strings.TrimSuffix(strings.TrimPrefix(url, "ws"), "/ws")}}
	c, _, err := dial(t, url, same)
	if err != nil {
		t.Fatalf("same-origin dial: %v", err)
	}
	c.Close()

	// -origins '*' allows any.
	_, url = startEcho(t, []string{"*"})
	c, _, err = dial(t, url, evil)
	if err != nil {
		t.Fatalf("cross-origin dial with -origins '*': %v", err)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, p, err := c.ReadMessage(); err != nil || string(p) != "hi" {
		t.Fatalf("echo: %q, %v", p, err)
	}
	c.Close()

	// And -origins as the flag spells it, a comma list.
	if got := splitList(" evil.example, *.example.org ,"); len(got) != 2 || got[0] != "evil.example" || got[1] != "*.example.org" {
		t.Fatalf("splitList: %q", got)
	}
	_, url = startEcho(t, splitList("evil.example,other.example"))
	if _, _, err := dial(t, url, evil); err != nil {
		t.Fatalf("cross-origin dial with -origins evil.example: %v", err)
	}
}
