package bench

import (
	"context"
	"io"
	"net/http"
	"sync"

	"github.com/coder/websocket"
)

// coder/websocket (formerly nhooyr.io/websocket): Accept/Dial with
// compression disabled and context.Background() on every call (a context
// with a deadline would add per-call timer setup). Echo reads each message
// through Reader into a per-connection buffer and writes it back with Write
// (one frame). There is no prepared-message type, so Broadcast loops Write.

func init() { register(coderLib{}) }

type coderLib struct{}

func (coderLib) Name() string { return "coder" }

var coderAccept = &websocket.AcceptOptions{
	InsecureSkipVerify: true,
	CompressionMode:    websocket.CompressionDisabled,
}

func (coderLib) EchoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, coderAccept)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(ReadLimit)
		ctx := context.Background()
		var buf []byte
		for {
			typ, rd, err := c.Reader(ctx)
			if err != nil {
				return
			}
			if buf, err = readInto(buf, rd); err != nil {
				return
			}
			if err := c.Write(ctx, typ, buf); err != nil {
				return
			}
		}
	})
}

type coderClient struct{ c *websocket.Conn }

func (coderLib) Dial(ctx context.Context, url string) (Client, error) {
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(ReadLimit)
	return &coderClient{c: c}, nil
}

func (k *coderClient) RoundTrip(msg, buf []byte) ([]byte, error) {
	ctx := context.Background()
	if err := k.c.Write(ctx, websocket.MessageBinary, msg); err != nil {
		return buf, err
	}
	_, rd, err := k.c.Reader(ctx)
	if err != nil {
		return buf, err
	}
	return readInto(buf, rd)
}

func (k *coderClient) Close() error { return k.c.Close(websocket.StatusNormalClosure, "") }

type coderHub struct {
	set  connSet[*websocket.Conn]
	bmu  sync.Mutex
	snap []*websocket.Conn
}

func (coderLib) NewHub() Hub { return &coderHub{} }

func (h *coderHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, coderAccept)
	if err != nil {
		return
	}
	h.set.add(c)
	defer func() {
		h.set.remove(c)
		c.CloseNow()
	}()
	ctx := context.Background()
	for {
		_, rd, err := c.Reader(ctx)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, rd); err != nil {
			return
		}
	}
}

func (h *coderHub) Len() int { return h.set.len() }

func (h *coderHub) Broadcast(msg []byte) error {
	h.bmu.Lock()
	defer h.bmu.Unlock()
	h.snap = h.set.snapshot(h.snap)
	ctx := context.Background()
	var first error
	for _, c := range h.snap {
		if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (h *coderHub) CloseAll() {
	for _, c := range h.set.snapshot(nil) {
		c.CloseNow()
	}
}

// permessage-deflate: CompressionMode on AcceptOptions and DialOptions,
// default thresholds (coder: 512 B without context takeover, 128 B with).

func coderMode(m DeflateMode) websocket.CompressionMode {
	if m == DeflateContext {
		return websocket.CompressionContextTakeover
	}
	return websocket.CompressionNoContextTakeover
}

func (coderLib) DeflateSupport(DeflateMode) string { return "" }

func (coderLib) DeflateEchoHandler(m DeflateMode) http.Handler {
	opts := *coderAccept
	opts.CompressionMode = coderMode(m)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &opts)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(ReadLimit)
		ctx := context.Background()
		var buf []byte
		for {
			typ, rd, err := c.Reader(ctx)
			if err != nil {
				return
			}
			if buf, err = readInto(buf, rd); err != nil {
				return
			}
			if err := c.Write(ctx, typ, buf); err != nil {
				return
			}
		}
	})
}

func (coderLib) DeflateDial(ctx context.Context, url string, m DeflateMode) (Client, string, error) {
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{CompressionMode: coderMode(m)})
	if err != nil {
		return nil, "", err
	}
	c.SetReadLimit(ReadLimit)
	return &coderClient{c: c}, resp.Header.Get("Sec-WebSocket-Extensions"), nil
}
