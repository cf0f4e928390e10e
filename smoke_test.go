package websocket

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"bytes"
)

func TestSmoke(t *testing.T) {
	u := &Upgrader{Handler: func(c *Conn) {
		for {
			typ, r, err := c.NextReader()
			if err != nil {
				t.Logf("server: %v", err)
				return
			}
			w, _ := c.NextWriter(typ)
			io.Copy(w, r)
			w.Close()
		}
	}}
	s := httptest.NewServer(u)
	defer s.Close()
	c, _, err := Dial(context.Background(), "ws"+strings.TrimPrefix(s.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 125, 126, 4000, 5000, 65535, 65536, 1 << 20} {
		p := bytes.Repeat([]byte("a"), n)
		if err := c.WriteMessage(TextMessage, p); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.ReadMessage()
		if err != nil || typ != TextMessage || !bytes.Equal(got, p) {
			t.Fatalf("n=%d typ=%v len=%d err=%v", n, typ, len(got), err)
		}
	}
	if err := c.CloseWithStatus(4000, "bye"); err != nil {
		t.Fatal(err)
	}
}
