package bench

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/lxzan/gws"
)

// lxzan/gws: event-driven. Upgrader with default options (ParallelEnabled
// off, so OnMessage runs on the connection's read goroutine), compression
// off, ReadLoop started in its own goroutine as the README does. Echo writes
// the pooled message buffer back with WriteMessage. OnPing answers with the
// ping's payload (gws.BuiltinEventHandler would answer with an empty pong).
// The client hands replies from OnMessage to RoundTrip over a channel.
// Broadcast uses gws.Broadcaster (frame encoded once, written through each
// connection's asynchronous write queue).

func init() { register(gwsLib{}) }

type gwsLib struct{}

func (gwsLib) Name() string { return "gws" }

func gwsServerOption() *gws.ServerOption {
	return &gws.ServerOption{
		ReadMaxPayloadSize:  ReadLimit,
		WriteMaxPayloadSize: ReadLimit,
	}
}

type gwsEcho struct{ gws.BuiltinEventHandler }

func (gwsEcho) OnPing(socket *gws.Conn, payload []byte) { socket.WritePong(payload) }

func (gwsEcho) OnMessage(socket *gws.Conn, m *gws.Message) {
	socket.WriteMessage(m.Opcode, m.Bytes())
	m.Close()
}

func (gwsLib) EchoHandler() http.Handler {
	up := gws.NewUpgrader(gwsEcho{}, gwsServerOption())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		socket, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go socket.ReadLoop()
	})
}

type gwsResult struct {
	b   []byte
	err error
}

type gwsClient struct {
	gws.BuiltinEventHandler
	conn *gws.Conn
	bufs chan []byte    // RoundTrip's reusable buffer, handed to OnMessage
	res  chan gwsResult // OnMessage/OnClose hand the reply back
}

func (c *gwsClient) OnPing(socket *gws.Conn, payload []byte) { socket.WritePong(payload) }

func (c *gwsClient) OnMessage(socket *gws.Conn, m *gws.Message) {
	var b []byte
	select {
	case b = <-c.bufs:
	default:
	}
	b = append(b[:0], m.Bytes()...)
	m.Close()
	select {
	case c.res <- gwsResult{b: b}:
	default: // unsolicited message: drop
	}
}

func (c *gwsClient) OnClose(socket *gws.Conn, err error) {
	if err == nil {
		err = gws.ErrConnClosed
	}
	select {
	case c.res <- gwsResult{err: err}:
	default:
	}
}

func (gwsLib) Dial(ctx context.Context, url string) (Client, error) {
	c := &gwsClient{bufs: make(chan []byte, 1), res: make(chan gwsResult, 1)}
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	conn, _, err := gws.NewClient(c, &gws.ClientOption{
		Addr:                url,
		HandshakeTimeout:    timeout,
		ReadMaxPayloadSize:  ReadLimit,
		WriteMaxPayloadSize: ReadLimit,
	})
	if err != nil {
		return nil, err
	}
	c.conn = conn
	go conn.ReadLoop()
	return c, nil
}

func (c *gwsClient) RoundTrip(msg, buf []byte) ([]byte, error) {
	select {
	case c.bufs <- buf:
	default:
	}
	if err := c.conn.WriteMessage(gws.OpcodeBinary, msg); err != nil {
		return buf, err
	}
	r := <-c.res
	if r.err != nil {
		return buf, r.err
	}
	return r.b, nil
}

func (c *gwsClient) Close() error { return c.conn.WriteClose(1000, nil) }

type gwsHub struct {
	gws.BuiltinEventHandler
	set  connSet[*gws.Conn]
	up   *gws.Upgrader
	bmu  sync.Mutex
	snap []*gws.Conn
}

func (gwsLib) NewHub() Hub {
	h := &gwsHub{}
	h.up = gws.NewUpgrader(h, gwsServerOption())
	return h
}

func (h *gwsHub) OnOpen(socket *gws.Conn)                 { h.set.add(socket) }
func (h *gwsHub) OnClose(socket *gws.Conn, err error)     { h.set.remove(socket) }
func (h *gwsHub) OnPing(socket *gws.Conn, payload []byte) { socket.WritePong(payload) }
func (h *gwsHub) OnMessage(socket *gws.Conn, m *gws.Message) {
	m.Close()
}

func (h *gwsHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	socket, err := h.up.Upgrade(w, r)
	if err != nil {
		return
	}
	go socket.ReadLoop()
}

func (h *gwsHub) Len() int { return h.set.len() }

func (h *gwsHub) Broadcast(msg []byte) error {
	h.bmu.Lock()
	defer h.bmu.Unlock()
	h.snap = h.set.snapshot(h.snap)
	b := gws.NewBroadcaster(gws.OpcodeBinary, msg)
	var first error
	for _, s := range h.snap {
		if err := b.Broadcast(s); err != nil && first == nil {
			first = err
		}
	}
	b.Close()
	return first
}

func (h *gwsHub) CloseAll() {
	for _, s := range h.set.snapshot(nil) {
		s.NetConn().Close()
	}
}

// permessage-deflate: the PermessageDeflate option on ServerOption and
// ClientOption, Server/ClientContextTakeover per mode, otherwise gws's
// defaults (threshold 512 B; window 2^12 with context takeover, 2^15
// without; compressor pool).

func gwsDeflate(m DeflateMode) gws.PermessageDeflate {
	ctx := m == DeflateContext
	return gws.PermessageDeflate{Enabled: true, ServerContextTakeover: ctx, ClientContextTakeover: ctx}
}

func (gwsLib) DeflateSupport(DeflateMode) string { return "" }

func (gwsLib) DeflateEchoHandler(m DeflateMode) http.Handler {
	opt := gwsServerOption()
	opt.PermessageDeflate = gwsDeflate(m)
	up := gws.NewUpgrader(gwsEcho{}, opt)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		socket, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go socket.ReadLoop()
	})
}

func (gwsLib) DeflateDial(ctx context.Context, url string, m DeflateMode) (Client, string, error) {
	c := &gwsClient{bufs: make(chan []byte, 1), res: make(chan gwsResult, 1)}
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	conn, resp, err := gws.NewClient(c, &gws.ClientOption{
		Addr:                url,
		HandshakeTimeout:    timeout,
		ReadMaxPayloadSize:  ReadLimit,
		WriteMaxPayloadSize: ReadLimit,
		PermessageDeflate:   gwsDeflate(m),
	})
	if err != nil {
		return nil, "", err
	}
	c.conn = conn
	go conn.ReadLoop()
	return c, resp.Header.Get("Sec-WebSocket-Extensions"), nil
}
