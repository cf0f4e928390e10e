package bench

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	websocket "github.com/wsstd/websocket"
)

// github.com/wsstd/websocket (this repository, via the replace directive in
// go.mod): Upgrader used as an http.Handler with its Handler field,
// compression off (zero value), default 4 KiB pooled buffers, read limit
// ReadLimit. Echo reads each message through NextReader into a
// per-connection buffer and writes it back with WriteMessage (one frame),
// with write batching on (SetWriteBatching: replies wait until the
// handler next waits for a request, so pipelined replies share a write).
// Broadcast encodes the message once with NewPreparedMessage and writes
// the same frame to every connection.
//
// The client variant wsstd-readloop is the same library used the way gws's
// client works (its only API): a goroutine per connection loops on
// NextReader and hands each reply to RoundTrip over a channel, while
// RoundTrip writes. See the bench README for why it is measured.

func init() {
	register(wsstdLib{})
	registerClientVariant(ClientVariant{Name: "wsstd-readloop", Of: "wsstd", Dial: dialReadLoop,
		Doc: "wsstd's client with a goroutine per connection looping on NextReader and handing replies to the writer over a channel, the structure gws's client has"})
	// The root package's mask function is unexported (maskBytes in
	// mask.go) and stays so: its throughput beside copy() and a byte loop
	// is measured by the root module's BenchmarkMask (see README.md).
	registerMask(MaskImpl{Name: "wsstd maskBytes", Fn: nil})
}

type wsstdLib struct{}

func (wsstdLib) Name() string { return "wsstd" }

func (wsstdLib) EchoHandler() http.Handler {
	return &websocket.Upgrader{
		ReadLimit: ReadLimit,
		Handler: func(c *websocket.Conn) {
			// The handler is the Conn's only writer and always reads:
			// replies to pipelined messages go out together.
			c.SetWriteBatching(true)
			var buf []byte
			for {
				typ, r, err := c.NextReader()
				if err != nil {
					return
				}
				if buf, err = readInto(buf, r); err != nil {
					return
				}
				if err := c.WriteMessage(typ, buf); err != nil {
					return
				}
			}
		},
	}
}

type wsstdClient struct{ c *websocket.Conn }

var wsstdDialer = &websocket.Dialer{
	ReadLimit:        ReadLimit,
	HandshakeTimeout: 10 * time.Second,
	Proxy:            func(*http.Request) (*url.URL, error) { return nil, nil },
}

func (wsstdLib) Dial(ctx context.Context, url string) (Client, error) {
	c, _, err := wsstdDialer.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	return &wsstdClient{c: c}, nil
}

func (w *wsstdClient) RoundTrip(msg, buf []byte) ([]byte, error) {
	if err := w.c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
		return buf, err
	}
	_, r, err := w.c.NextReader()
	if err != nil {
		return buf, err
	}
	return readInto(buf, r)
}

func (w *wsstdClient) Close() error { return w.c.Close() }

type readLoopReply struct {
	b   []byte
	err error
}

type wsstdReadLoopClient struct {
	c       *websocket.Conn
	bufs    chan []byte        // RoundTrip's reusable buffer, handed to the reader
	replies chan readLoopReply // the reader hands the reply back
	done    chan struct{}      // closed by Close, so the reader never blocks forever
	ended   chan struct{}      // closed when the reader returns
}

func dialReadLoop(ctx context.Context, url string) (Client, error) {
	c, _, err := wsstdDialer.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	w := &wsstdReadLoopClient{c: c, bufs: make(chan []byte, 1), replies: make(chan readLoopReply, 1),
		done: make(chan struct{}), ended: make(chan struct{})}
	go w.readLoop()
	return w, nil
}

func (w *wsstdReadLoopClient) readLoop() {
	defer close(w.ended)
	for {
		var rep readLoopReply
		_, r, err := w.c.NextReader()
		if err != nil {
			rep.err = err
		} else {
			select {
			case rep.b = <-w.bufs:
			case <-w.done:
				return
			}
			rep.b, rep.err = readInto(rep.b, r)
		}
		select {
		case w.replies <- rep:
		case <-w.done:
			return
		}
		if rep.err != nil {
			return
		}
	}
}

func (w *wsstdReadLoopClient) RoundTrip(msg, buf []byte) ([]byte, error) {
	select {
	case w.bufs <- buf:
	default:
	}
	if err := w.c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
		return buf, err
	}
	select {
	case rep := <-w.replies:
		return rep.b, rep.err
	case <-w.ended:
		return buf, errReadLoopEnded
	}
}

var errReadLoopEnded = errors.New("wsstd-readloop: reader has stopped")

func (w *wsstdReadLoopClient) Close() error {
	close(w.done)
	err := w.c.Close()
	<-w.ended
	return err
}

type wsstdHub struct {
	set  connSet[*websocket.Conn]
	up   *websocket.Upgrader
	bmu  sync.Mutex
	snap []*websocket.Conn
}

func (wsstdLib) NewHub() Hub {
	h := &wsstdHub{}
	h.up = &websocket.Upgrader{
		ReadLimit: ReadLimit,
		Handler: func(c *websocket.Conn) {
			h.set.add(c)
			defer h.set.remove(c)
			for {
				_, r, err := c.NextReader()
				if err != nil {
					return
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					return
				}
			}
		},
	}
	return h
}

func (h *wsstdHub) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.up.ServeHTTP(w, r) }

func (h *wsstdHub) Len() int { return h.set.len() }

func (h *wsstdHub) Broadcast(msg []byte) error {
	h.bmu.Lock()
	defer h.bmu.Unlock()
	h.snap = h.set.snapshot(h.snap)
	pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, msg)
	if err != nil {
		return err
	}
	var first error
	for _, c := range h.snap {
		if err := c.WritePreparedMessage(pm); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (h *wsstdHub) CloseAll() {
	for _, c := range h.set.snapshot(nil) {
		c.CloseNow()
	}
}

// permessage-deflate: Upgrader.Compression / Dialer.Compression in mode,
// default threshold (64 B). Negotiation is checked with PerMessageDeflate()
// plus the response header.

func wsstdMode(m DeflateMode) websocket.CompressionMode {
	if m == DeflateContext {
		return websocket.CompressionContextTakeover
	}
	return websocket.CompressionNoContextTakeover
}

func (wsstdLib) DeflateSupport(DeflateMode) string { return "" }

func (l wsstdLib) DeflateEchoHandler(m DeflateMode) http.Handler {
	u := l.EchoHandler().(*websocket.Upgrader)
	u.Compression = wsstdMode(m)
	return u
}

func (wsstdLib) DeflateDial(ctx context.Context, url string, m DeflateMode) (Client, string, error) {
	d := *wsstdDialer
	d.Compression = wsstdMode(m)
	c, resp, err := d.Dial(ctx, url, nil)
	if err != nil {
		return nil, "", err
	}
	ext := ""
	if c.PerMessageDeflate() && resp != nil {
		ext = resp.Header.Get("Sec-WebSocket-Extensions")
	}
	return &wsstdClient{c: c}, ext, nil
}
