package bench

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// gorilla/websocket: Upgrader with default 4 KiB buffers (reusing net/http's
// hijacked buffers), no compression. Echo reads each message through
// NextReader into a per-connection buffer and writes it back with
// WriteMessage (the server-side single-frame fast path). Broadcast encodes
// once with NewPreparedMessage and loops WritePreparedMessage.

func init() { register(gorillaLib{}) }

type gorillaLib struct{}

func (gorillaLib) Name() string { return "gorilla" }

var gorillaUpgrader = websocket.Upgrader{
	CheckOrigin: func(*http.Request) bool { return true },
}

func (gorillaLib) EchoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := gorillaUpgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(ReadLimit)
		var buf []byte
		for {
			typ, rd, err := c.NextReader()
			if err != nil {
				return
			}
			if buf, err = readInto(buf, rd); err != nil {
				return
			}
			if err := c.WriteMessage(typ, buf); err != nil {
				return
			}
		}
	})
}

type gorillaClient struct{ c *websocket.Conn }

func (gorillaLib) Dial(ctx context.Context, url string) (Client, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(ReadLimit)
	return &gorillaClient{c: c}, nil
}

func (g *gorillaClient) RoundTrip(msg, buf []byte) ([]byte, error) {
	if err := g.c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
		return buf, err
	}
	_, rd, err := g.c.NextReader()
	if err != nil {
		return buf, err
	}
	return readInto(buf, rd)
}

func (g *gorillaClient) Close() error {
	g.c.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	return g.c.Close()
}

type gorillaHubConn struct {
	mu sync.Mutex // gorilla allows one concurrent writer
	c  *websocket.Conn
}

type gorillaHub struct {
	set  connSet[*gorillaHubConn]
	bmu  sync.Mutex // serialises Broadcast (guards snap)
	snap []*gorillaHubConn
}

func (gorillaLib) NewHub() Hub { return &gorillaHub{} }

func (h *gorillaHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := gorillaUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	hc := &gorillaHubConn{c: c}
	h.set.add(hc)
	defer func() {
		h.set.remove(hc)
		c.Close()
	}()
	for {
		if _, _, err := c.NextReader(); err != nil {
			return
		}
	}
}

func (h *gorillaHub) Len() int { return h.set.len() }

func (h *gorillaHub) Broadcast(msg []byte) error {
	pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, msg)
	if err != nil {
		return err
	}
	h.bmu.Lock()
	defer h.bmu.Unlock()
	h.snap = h.set.snapshot(h.snap)
	var first error
	for _, hc := range h.snap {
		hc.mu.Lock()
		err := hc.c.WritePreparedMessage(pm)
		hc.mu.Unlock()
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (h *gorillaHub) CloseAll() {
	for _, hc := range h.set.snapshot(nil) {
		hc.c.Close()
	}
}

// permessage-deflate: EnableCompression on Upgrader and Dialer (gorilla
// implements only no context takeover), write compression on (its default
// once negotiated), no threshold.

func (gorillaLib) DeflateSupport(m DeflateMode) string {
	if m == DeflateContext {
		return "gorilla implements no-context-takeover only"
	}
	return ""
}

func (gorillaLib) DeflateEchoHandler(DeflateMode) http.Handler {
	up := gorillaUpgrader
	up.EnableCompression = true
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(ReadLimit)
		var buf []byte
		for {
			typ, rd, err := c.NextReader()
			if err != nil {
				return
			}
			if buf, err = readInto(buf, rd); err != nil {
				return
			}
			if err := c.WriteMessage(typ, buf); err != nil {
				return
			}
		}
	})
}

func (gorillaLib) DeflateDial(ctx context.Context, url string, _ DeflateMode) (Client, string, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, EnableCompression: true}
	c, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, "", err
	}
	c.SetReadLimit(ReadLimit)
	return &gorillaClient{c: c}, resp.Header.Get("Sec-WebSocket-Extensions"), nil
}
