//go:build !js

package websocket

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Upgrader upgrades HTTP requests to WebSocket connections. The zero value
// accepts same-origin (and non-browser) requests without subprotocols.
//
// An Upgrader is an http.Handler: ServeHTTP upgrades the request and runs
// Handler with the new Conn. Inside another handler, call Upgrade instead.
// Its fields must not change while it is in use, and it must not be copied
// after first use.
type Upgrader struct {
	// Handler is run by ServeHTTP for each upgraded connection. When it
	// returns, ServeHTTP closes the Conn with StatusNormalClosure unless
	// it is closed already.
	Handler func(*Conn)

	// Subprotocols lists the subprotocols the server speaks, in order of
	// preference. The first one the client also offers is chosen; if the
	// client offers none of them, the connection has no subprotocol.
	Subprotocols []string

	// OriginPatterns lists additional browser origins that may connect,
	// as path.Match patterns on the origin's host ("example.com",
	// "*.example.com", "localhost:*") or on the whole origin
	// ("https://*.example.com"). "*" allows every origin. Requests whose
	// Origin host equals the Host they were sent to, and requests without
	// an Origin header, are always allowed. Ignored when CheckOrigin is set.
	//
	// Comparing Origin with Host does not stop DNS rebinding: a page on a
	// name that an attacker points at 127.0.0.1 sends Host and Origin
	// that agree. A server on loopback or a private network that browsers
	// can reach should check the Host itself (in a handler or middleware
	// before the Upgrader) or list its origins here with CheckOrigin
	// comparing exactly.
	OriginPatterns []string

	// CheckOrigin, if set, decides alone whether a request's origin is
	// allowed; a refused request is answered 403 Forbidden.
	CheckOrigin func(r *http.Request) bool

	// DropRequest makes ServeHTTP keep nothing of the upgrade request, so
	// that the Conns it passes to Handler return nil from Request. The
	// request (its headers, URL and context, with any values middleware
	// put there) is otherwise kept for the Conn's life: about 1.4 KiB of
	// an idle connection's 5.6 KiB. Set it when memory matters and the
	// Handler needs nothing from the request; RemoteAddr, LocalAddr and
	// Subprotocol are on the Conn itself. Upgrade called directly is not
	// affected: its caller holds the request anyway.
	DropRequest bool

	// TrustForwardedHost makes the default Origin policy also accept an
	// Origin that names the host a reverse proxy forwarded: the host
	// parameter of a single Forwarded header (RFC 7239), else a single
	// X-Forwarded-Host value. Set it only when every path to the server
	// goes through proxies that overwrite that header. It is off by
	// default because the Origin check exists against cross-site
	// hijacking, and the header is a claim of whoever sent the request:
	// any hop that passes a client's value through, or any way to reach
	// the server that skips the proxy, lets the request name the host its
	// Origin is compared with. Forwarding the browser's Host header
	// (nginx: proxy_set_header Host $http_host;) needs no such trust.
	TrustForwardedHost bool

	// OnReject, if set, is called for every handshake request Upgrade
	// refuses, before the refusal is written, with the HTTP status it
	// answers and the error Upgrade returns, which says why (for a refused
	// Origin: the Origin and Host compared, and what to change). Nothing
	// is logged otherwise: most refusals are the client's doing, and a
	// public server would log whatever scanners send. ServeHTTP drops
	// Upgrade's error, so OnReject is how its users see one, e.g.
	//
	//	OnReject: func(r *http.Request, status int, err error) {
	//		log.Printf("%s %s: %d %v", r.RemoteAddr, r.URL, status, err)
	//	},
	OnReject func(r *http.Request, status int, err error)

	// ReadLimit is the largest message the Conn accepts, in bytes;
	// 0 means DefaultReadLimit.
	ReadLimit int64

	// ReadBufferSize and WriteBufferSize set the size of the buffers a
	// Conn borrows from a pool while a message is in flight. 0 means
	// 4 KiB, except for reading plain TCP connections: 64 KiB plus room
	// for a frame header there (a 64 KiB message arrives in one read),
	// since an idle connection waits for data without any buffer.
	ReadBufferSize, WriteBufferSize int

	// CloseTimeout bounds the close handshake; 0 means DefaultCloseTimeout.
	CloseTimeout time.Duration

	// Compression enables permessage-deflate (RFC 7692) when the client
	// offers it; the first acceptable offer is taken. The zero value
	// disables it; CompressionNoContextTakeover suits most servers.
	Compression CompressionMode

	// PingInterval turns on keepalive: after this long without sending a
	// ping, the Conn sends one, and if nothing at all (a pong or any other
	// frame) arrives within PingTimeout, it drops the connection and the
	// reading goroutine's call returns an error saying the peer stopped
	// answering (it matches ErrClosed and os.ErrDeadlineExceeded). Proxies
	// and NATs that cut idle connections (nginx after 60 s by default) then
	// see traffic. Pongs are seen by the goroutine reading from the Conn,
	// so keep one reading (or call CloseRead). 0 turns keepalive off.
	PingInterval time.Duration

	// PingTimeout is how long keepalive waits for the peer after a ping;
	// 0 means PingInterval.
	PingTimeout time.Duration

	// HandshakeTimeout bounds writing the handshake response; 0 means 10s.
	HandshakeTimeout time.Duration

	// WriteTimeout is the former name of HandshakeTimeout, used when
	// HandshakeTimeout is 0.
	//
	// Deprecated: set HandshakeTimeout.
	WriteTimeout time.Duration

	conns registry // live connections, for Shutdown
}

// ServeHTTP upgrades the request and runs u.Handler with the Conn. A
// request that is not a valid WebSocket handshake gets an HTTP error.
//
// For HTTP/1.1 connections, Handler runs on a goroutine of its own and
// ServeHTTP returns at once, so that net/http frees the buffers it keeps
// for the connection (8 KiB) while the WebSocket lives on. The Conn's
// Request then carries a context that is not canceled when ServeHTTP
// returns. A panic in Handler is logged and closes the Conn with
// StatusInternalError (1011) instead of crashing the program.
func (u *Upgrader) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if u.Handler == nil {
		http.Error(w, "websocket: Upgrader has no Handler", http.StatusInternalServerError)
		return
	}
	c, err := u.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	switch {
	case u.DropRequest:
		c.request = nil
	case r.ProtoMajor < 2:
		// The Conn outlives this call: its request must not be
		// canceled when ServeHTTP returns.
		c.request = r.WithContext(context.WithoutCancel(r.Context()))
	}
	if r.ProtoMajor >= 2 {
		// An HTTP/2 stream lives only as long as its handler.
		u.run(c)
		return
	}
	go u.run(c)
}

// run runs the Handler and closes the Conn after it.
func (u *Upgrader) run(c *Conn) {
	defer func() {
		if p := recover(); p != nil {
			buf := make([]byte, 16<<10)
			buf = buf[:runtime.Stack(buf, false)]
			log.Printf("websocket: panic in Handler for %v: %v\n%s", c.RemoteAddr(), p, buf)
			c.CloseWithStatus(StatusInternalError, "internal error")
			return
		}
		c.Close()
	}()
	u.Handler(c)
}

// Upgrade upgrades the HTTP request to a WebSocket connection and returns
// it. responseHeader adds headers to the 101 response (for example
// Set-Cookie); it may not set the headers of the handshake itself.
//
// When the request is not an acceptable handshake, Upgrade answers it with
// an HTTP error (400, 403 for a refused origin, 405 for a non-GET method,
// 426 with Sec-WebSocket-Version: 13 for another version) and a short
// plain-text reason, and returns an error saying the same.
//
// Memory: called inside a handler, Upgrade leaves net/http's
// per-connection buffers (8 KiB) and the handler's goroutine (4 KiB of
// stack) alive for the Conn's life, since the handler has not returned:
// an idle connection costs about 16.6 KiB of heap and stack that way,
// against about 5.6 KiB with the Upgrader as the http.Handler (ServeHTTP),
// which lets net/http free them. Prefer ServeHTTP when connections are
// many.
//
// Over HTTP/2 the handshake is an extended CONNECT (RFC 8441), which
// net/http passes to handlers when the program runs with
// GODEBUG=http2xconnect=1 (Go 1.24 and later). Upgrade answers it with 200
// and the Conn lives on the request's stream: the handler that called
// Upgrade must not return while the Conn is in use. Conn.HTTP2 tells the
// two kinds of Conn apart.
func (u *Upgrader) Upgrade(w http.ResponseWriter, r *http.Request, responseHeader http.Header) (*Conn, error) {
	if u.conns.stopping.Load() {
		return nil, u.refuse(w, r, &refusal{http.StatusServiceUnavailable, "server is shutting down"})
	}
	if r.ProtoMajor == 2 {
		return u.upgradeHTTP2(w, r, responseHeader)
	}
	// The steps run in functions of their own, each off the stack again
	// before the next: the handler's goroutine then never needs more than
	// its first 4 KiB of stack, which it keeps, idle, for the Conn's life
	// (a goroutine grown to 8 KiB does not shrink back while it waits
	// under net/http's deep frames).
	key, neg, err := u.checkHandshake(w, r, responseHeader)
	if err != nil {
		return nil, err
	}
	nc, buffered, err := u.acceptHandshake(w, r, key, &neg, responseHeader)
	if err != nil {
		return nil, err
	}
	c := newConn(nc, buffered, u.connConfig(neg))
	c.request = r
	return u.register(c)
}

// checkHandshake validates an HTTP/1.1 handshake request and negotiates
// it, answering a refused one.
//
//go:noinline
func (u *Upgrader) checkHandshake(w http.ResponseWriter, r *http.Request, responseHeader http.Header) (string, negotiated, error) {
	key, herr := checkUpgradeRequest(r)
	if herr != nil {
		return "", negotiated{}, u.refuse(w, r, herr)
	}
	neg, herr := u.negotiate(r, responseHeader)
	if herr != nil {
		return "", negotiated{}, u.refuse(w, r, herr)
	}
	return key, neg, nil
}

// acceptHandshake hijacks the HTTP/1.1 connection and writes the 101
// response. It returns the connection and the bytes the client sent
// after its request.
//
//go:noinline
func (u *Upgrader) acceptHandshake(w http.ResponseWriter, r *http.Request, key string, neg *negotiated, responseHeader http.Header) (net.Conn, []byte, error) {
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, u.refuse(w, r, &refusal{http.StatusInternalServerError, "cannot take over the HTTP connection: " + err.Error()})
	}
	// Bytes the client sent right after its request belong to the Conn.
	var buffered []byte
	if n := brw.Reader.Buffered(); n > 0 {
		buffered, _ = brw.Reader.Peek(n)
	}
	resp := handshakeResponse(key, neg, responseHeader)
	wt := u.handshakeTimeout()
	// The http.Server may have left deadlines on the connection.
	nc.SetReadDeadline(time.Time{})
	nc.SetWriteDeadline(time.Now().Add(wt))
	if _, err := nc.Write(resp); err != nil {
		nc.Close()
		return nil, nil, errors.New("websocket: writing the handshake response: " + err.Error())
	}
	nc.SetWriteDeadline(time.Time{})
	return nc, buffered, nil
}

// handshakeResponse returns the 101 response to an HTTP/1.1 handshake.
//
//go:noinline
func handshakeResponse(key string, neg *negotiated, responseHeader http.Header) []byte {
	var b []byte
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = append(b, computeAccept(key)...)
	b = append(b, "\r\n"...)
	if neg.protocol != "" {
		b = append(b, "Sec-WebSocket-Protocol: "...)
		b = append(b, neg.protocol...)
		b = append(b, "\r\n"...)
	}
	if neg.extensions != "" {
		b = append(b, "Sec-WebSocket-Extensions: "...)
		b = append(b, neg.extensions...)
		b = append(b, "\r\n"...)
	}
	for k, vs := range responseHeader {
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, strings.NewReplacer("\r", " ", "\n", " ").Replace(v)...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}

// negotiated is what an acceptable handshake request agreed, whatever the
// HTTP version it came over.
type negotiated struct {
	protocol   string         // the subprotocol, or ""
	extensions string         // the Sec-WebSocket-Extensions answer, or ""
	deflate    *deflateParams // permessage-deflate, if agreed
}

// negotiate applies the checks and negotiations that HTTP/1.1 and HTTP/2
// handshakes share: the Origin policy, the extensions, responseHeader and
// the subprotocol.
func (u *Upgrader) negotiate(r *http.Request, responseHeader http.Header) (negotiated, *refusal) {
	var neg negotiated
	if why := u.originRefused(r); why != "" {
		return neg, &refusal{http.StatusForbidden, why}
	}
	offers, err := parseExtensions(r.Header)
	if err != nil {
		return neg, &refusal{http.StatusBadRequest, "malformed Sec-WebSocket-Extensions header"}
	}
	neg.extensions, neg.deflate, _ = negotiateDeflate(offers, u.Compression)
	if len(responseHeader) > 0 {
		if herr := checkResponseHeader(responseHeader); herr != nil {
			return neg, herr
		}
	}
	neg.protocol = selectSubprotocol(u.Subprotocols, headerTokens(r.Header, "Sec-WebSocket-Protocol"))
	return neg, nil
}

// checkResponseHeader refuses a responseHeader that sets a header of the
// handshake itself.
//
//go:noinline
func checkResponseHeader(responseHeader http.Header) *refusal {
	for k := range responseHeader {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "Sec-Websocket-") || http.CanonicalHeaderKey(k) == "Upgrade" || http.CanonicalHeaderKey(k) == "Connection" {
			return &refusal{http.StatusInternalServerError, "responseHeader may not set " + k}
		}
	}
	return nil
}

// connConfig is the configuration of the server Conns u makes.
func (u *Upgrader) connConfig(neg negotiated) connConfig {
	return connConfig{
		isServer:     true,
		readLimit:    u.ReadLimit,
		readBufSize:  u.ReadBufferSize,
		writeBufSize: u.WriteBufferSize,
		subprotocol:  neg.protocol,
		closeTimeout: u.CloseTimeout,
		deflate:      neg.deflate,
		pingInterval: u.PingInterval,
		pingTimeout:  u.PingTimeout,
	}
}

// handshakeTimeout bounds writing the handshake response.
func (u *Upgrader) handshakeTimeout() time.Duration {
	switch {
	case u.HandshakeTimeout > 0:
		return u.HandshakeTimeout
	case u.WriteTimeout > 0:
		return u.WriteTimeout
	}
	return 10 * time.Second
}

// register adds a new Conn to u's live connections, or closes it when
// Shutdown began while its upgrade was under way.
func (u *Upgrader) register(c *Conn) (*Conn, error) {
	if !u.conns.add(c) {
		c.writeClose(StatusGoingAway, ShutdownReason, time.Now().Add(time.Second))
		c.closeTransport()
		return nil, errShuttingDown
	}
	return c, nil
}

// originRefused returns why r's origin is refused, or "" if it is not.
func (u *Upgrader) originRefused(r *http.Request) string {
	if u.CheckOrigin != nil {
		if u.CheckOrigin(r) {
			return ""
		}
		return checkOriginRefusal(r)
	}
	return checkSameOrigin(r, u.OriginPatterns, u.TrustForwardedHost)
}

// checkOriginRefusal says why CheckOrigin refused r, in a frame of its own
// (see Upgrade).
//
//go:noinline
func checkOriginRefusal(r *http.Request) string {
	return "origin " + strconv.Quote(r.Header.Get("Origin")) + " is not allowed by the Upgrader's CheckOrigin"
}

// refuse answers a bad handshake with its status and reason.
func (u *Upgrader) refuse(w http.ResponseWriter, r *http.Request, e *refusal) error {
	if u.OnReject != nil {
		u.OnReject(r, e.status, e)
	}
	h := w.Header()
	if e.status == http.StatusUpgradeRequired {
		h.Set("Sec-WebSocket-Version", "13")
	}
	if e.status == http.StatusMethodNotAllowed && h.Get("Allow") == "" {
		h.Set("Allow", http.MethodGet) // HTTP/2 sets CONNECT first
	}
	http.Error(w, e.reason, e.status)
	return e
}
