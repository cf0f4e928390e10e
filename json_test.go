//go:build !js

package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type jsonDoc struct {
	ID    int               `json:"id"`
	Name  string            `json:"name"`
	Tags  []string          `json:"tags,omitempty"`
	Attrs map[string]string `json:"attrs,omitempty"`
	Blob  string            `json:"blob,omitempty"`
}

// jsonPair starts a server running handler and dials it.
func jsonPair(t *testing.T, handler func(*Conn)) *Conn {
	t.Helper()
	done := make(chan struct{})
	s := httptest.NewServer(&Upgrader{Handler: func(c *Conn) {
		defer close(done)
		handler(c)
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http"), nil)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.CloseNow()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("server handler did not return")
		}
		s.Close()
	})
	return c
}

// jsonEcho decodes each message into a jsonDoc and sends it back.
func jsonEcho(c *Conn) {
	for {
		var d jsonDoc
		if err := c.ReadJSON(&d); err != nil {
			if CloseStatus(err) >= 0 || errors.Is(err, ErrClosed) {
				return
			}
			// A bad message: report it and go on.
			if werr := c.WriteJSON(jsonDoc{ID: -1, Name: err.Error()}); werr != nil {
				return
			}
			continue
		}
		if err := c.WriteJSON(d); err != nil {
			return
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	c := jsonPair(t, jsonEcho)
	want := jsonDoc{ID: 7, Name: "héllo \"world\" <&>", Tags: []string{"a", "b"}, Attrs: map[string]string{"k": "v"}}
	if err := c.WriteJSON(want); err != nil {
		t.Fatal(err)
	}
	var got jsonDoc
	if err := c.ReadJSON(&got); err != nil {
		t.Fatal(err)
	}
	if got.ID != want.ID || got.Name != want.Name || strings.Join(got.Tags, ",") != "a,b" || got.Attrs["k"] != "v" {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// The wire format is a text message holding the JSON and a newline.
	if err := c.WriteJSON(jsonDoc{ID: 1}); err != nil {
		t.Fatal(err)
	}
	typ, p, err := c.ReadMessage()
	if err != nil || typ != TextMessage || string(p) != `{"id":1,"name":""}`+"\n" {
		t.Fatalf("ReadMessage = %v %q %v", typ, p, err)
	}
}

func TestJSONLargeValue(t *testing.T) {
	c := jsonPair(t, jsonEcho)
	blob := strings.Repeat("0123456789abcdef", 20000) // 320 KB: many frames
	tags := make([]string, 5000)
	for i := range tags {
		tags[i] = strings.Repeat("t", i%50)
	}
	for i := 0; i < 3; i++ {
		want := jsonDoc{ID: i, Name: "large", Tags: tags, Blob: blob}
		if err := c.WriteJSON(want); err != nil {
			t.Fatal(err)
		}
		var got jsonDoc
		if err := c.ReadJSON(&got); err != nil {
			t.Fatal(err)
		}
		if got.ID != i || got.Blob != blob || len(got.Tags) != len(tags) || got.Tags[49] != tags[49] {
			t.Fatalf("round %d: large value came back different (blob %d bytes, %d tags)", i, len(got.Blob), len(got.Tags))
		}
	}
}

func TestJSONInvalidThenValid(t *testing.T) {
	big := `{"id":1,"name":"` + strings.Repeat("x", 100<<10) + `", oops` + strings.Repeat(" more", 20000) + `}`
	bad := []struct {
		name    string
		typ     MessageType
		payload string
		check   func(error) bool
	}{
		{"syntax", TextMessage, `{"id": 1, "name": nope}`, isSyntaxError},
		{"large syntax", TextMessage, big, isSyntaxError},
		{"truncated", TextMessage, `{"id": 1, "na`, func(err error) bool { return err == io.ErrUnexpectedEOF }},
		{"empty", TextMessage, ``, func(err error) bool { return err == io.ErrUnexpectedEOF }},
		{"blank", BinaryMessage, " \n\t ", func(err error) bool { return err == io.ErrUnexpectedEOF }},
		{"type", TextMessage, `{"id": "seven"}`, func(err error) bool {
			var te *json.UnmarshalTypeError
			return errors.As(err, &te)
		}},
		{"two values", TextMessage, `{"id": 1} {"id": 2}`, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "data after its value")
		}},
		{"trailing garbage far away", TextMessage, `{"id": 1}` + strings.Repeat(" ", 70<<10) + `x`, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "data after its value")
		}},
	}
	c := jsonPair(t, func(c *Conn) {
		for i, b := range bad {
			if err := c.WriteMessage(b.typ, []byte(b.payload)); err != nil {
				return
			}
			if err := c.WriteJSON(jsonDoc{ID: i, Name: "valid"}); err != nil {
				return
			}
		}
		// Binary JSON with trailing white space is fine.
		c.WriteMessage(BinaryMessage, []byte("{\"id\": 99, \"name\": \"bin\"}\r\n \t"))
		c.ReadMessage() // until the client closes
	})
	for i, b := range bad {
		var d jsonDoc
		err := c.ReadJSON(&d)
		if err == nil || !b.check(err) {
			t.Fatalf("%s: ReadJSON error = %v (%T)", b.name, err, err)
		}
		if CloseStatus(err) != -1 {
			t.Fatalf("%s: decode error looks like a close: %v", b.name, err)
		}
		d = jsonDoc{}
		if err := c.ReadJSON(&d); err != nil || d.ID != i || d.Name != "valid" {
			t.Fatalf("%s: ReadJSON after the bad message = %+v, %v", b.name, d, err)
		}
	}
	var d jsonDoc
	if err := c.ReadJSON(&d); err != nil || d.ID != 99 || d.Name != "bin" {
		t.Fatalf("binary JSON: %+v, %v", d, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func isSyntaxError(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se)
}

func TestJSONAfterPeerClose(t *testing.T) {
	c := jsonPair(t, func(c *Conn) {
		c.WriteJSON(jsonDoc{ID: 1})
		c.Close()
	})
	var d jsonDoc
	if err := c.ReadJSON(&d); err != nil || d.ID != 1 {
		t.Fatalf("first ReadJSON = %+v, %v", d, err)
	}
	err := c.ReadJSON(&d)
	if CloseStatus(err) != StatusNormalClosure {
		t.Fatalf("ReadJSON after close = %v, CloseStatus %d, want 1000", err, CloseStatus(err))
	}
	var ce *CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("error %T is not a *CloseError", err)
	}
	// The error is final.
	if err2 := c.ReadJSON(&d); CloseStatus(err2) != StatusNormalClosure {
		t.Fatalf("second ReadJSON after close = %v", err2)
	}
	// Writing after the close fails.
	if err := c.WriteJSON(jsonDoc{}); err == nil {
		t.Fatal("WriteJSON after close succeeded")
	}
}

func TestJSONPeerClosesMidMessage(t *testing.T) {
	// The peer fails the connection (an invalid UTF-8 text message) while
	// the value streams in: ReadJSON returns the connection's error.
	c := jsonPair(t, func(c *Conn) {
		w, err := c.NextWriter(TextMessage)
		if err != nil {
			return
		}
		w.Write([]byte(`{"id": 1, "name": "`))
		w.Write([]byte(strings.Repeat("y", 10000)))
		w.Write([]byte{0xff, 0xfe})
		w.Write([]byte(`"}`))
		w.Close()
		c.ReadMessage()
	})
	var d jsonDoc
	err := c.ReadJSON(&d)
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Code != StatusInvalidFramePayloadData {
		t.Fatalf("ReadJSON = %v (%T), want a 1007 *ProtocolError", err, err)
	}
	if err2 := c.ReadJSON(&d); err2 != err {
		t.Fatalf("later ReadJSON = %v, want the same final error", err2)
	}
}

func TestWriteJSONUnencodable(t *testing.T) {
	c := jsonPair(t, jsonEcho)
	var ue *json.UnsupportedTypeError
	if err := c.WriteJSON(map[string]any{"ch": make(chan int)}); !errors.As(err, &ue) {
		t.Fatalf("WriteJSON(chan) = %v", err)
	}
	// Nothing was sent: the next message is the next value's echo.
	if err := c.WriteJSON(jsonDoc{ID: 5}); err != nil {
		t.Fatal(err)
	}
	var d jsonDoc
	if err := c.ReadJSON(&d); err != nil || d.ID != 5 {
		t.Fatalf("ReadJSON = %+v, %v", d, err)
	}
}

func TestWriteJSONConcurrent(t *testing.T) {
	c := jsonPair(t, jsonEcho)
	const n = 20
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			errs <- c.WriteJSON(jsonDoc{ID: i, Blob: strings.Repeat("z", 10000*(i%3))})
		}(i)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int]bool{}
	for i := 0; i < n; i++ {
		var d jsonDoc
		if err := c.ReadJSON(&d); err != nil {
			t.Fatal(err)
		}
		if d.ID < 0 || len(d.Blob) != 10000*(d.ID%3) {
			t.Fatalf("interleaved or bad message: id %d name %q blob %d", d.ID, d.Name, len(d.Blob))
		}
		seen[d.ID] = true
	}
	if len(seen) != n {
		t.Fatalf("saw %d distinct messages, want %d", len(seen), n)
	}
}
