//go:build !js

package websocket

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Dialer opens client WebSocket connections. The zero value is ready to
// use: it dials TCP directly or through the proxy that the environment
// names (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), verifies TLS certificates
// against the system roots and offers no subprotocol.
type Dialer struct {
	// NetDialContext dials the TCP connection (to the server, or to the
	// proxy). nil means a net.Dialer.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// TLSClientConfig configures TLS for wss:// URLs and https proxies.
	// nil means the defaults; ServerName is set from the URL if empty.
	TLSClientConfig *tls.Config

	// Proxy returns the proxy for a request, as in http.Transport; a nil
	// URL means no proxy. nil means http.ProxyFromEnvironment.
	// The handshake is tunnelled through the proxy with CONNECT.
	Proxy func(*http.Request) (*url.URL, error)

	// HandshakeTimeout bounds the whole handshake (dial, proxy, TLS, HTTP
	// upgrade) in addition to the context's deadline; 0 means no bound
	// other than the context.
	HandshakeTimeout time.Duration

	// Subprotocols are offered to the server, in order of preference.
	Subprotocols []string

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

	// Compression offers permessage-deflate (RFC 7692) to the server. The
	// zero value offers nothing.
	Compression CompressionMode
}

// HandshakeError reports a server's response that did not complete the
// WebSocket handshake: a refusal (any status but 101, redirects included:
// they are not followed) or a 101 that breaks RFC 6455 section 4.1.
// Response is the server's response, with up to 4 KiB of its body readable.
type HandshakeError struct {
	Response *http.Response // the server's response
	Reason   string         // what was wrong with it, for people
}

// Error says why the handshake failed.
func (e *HandshakeError) Error() string {
	return "websocket: handshake failed: " + e.Reason
}

// Dial opens a WebSocket connection to a ws:// or wss:// URL with the zero
// Dialer. See Dialer.Dial.
func Dial(ctx context.Context, rawURL string, header http.Header) (*Conn, *http.Response, error) {
	var d Dialer
	return d.Dial(ctx, rawURL, header)
}

// handshakeHeaders are set by the Dialer and may not come from the caller.
var handshakeHeaders = []string{"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions", "Sec-Websocket-Protocol"}

// Dial opens a WebSocket connection to rawURL (ws://, wss://, or http://
// and https:// taken as the same), sending header with the handshake
// request (Origin, Cookie, Authorization, ...). The context bounds the
// whole handshake; once Dial returns, it no longer affects the Conn.
//
// The returned response is the server's, also on a refused handshake, in
// which case the error is a *HandshakeError.
func (d *Dialer) Dial(ctx context.Context, rawURL string, header http.Header) (*Conn, *http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: bad URL: %w", err)
	}
	if err := normalizeURL(u); err != nil {
		return nil, nil, err
	}
	for k := range header {
		if ck := http.CanonicalHeaderKey(k); contains(handshakeHeaders, ck) {
			return nil, nil, fmt.Errorf("websocket: header %s is set by the Dialer", ck)
		}
	}
	if d.HandshakeTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.HandshakeTimeout)
		defer cancel()
	}

	nc, err := d.dialTransport(ctx, u)
	if err != nil {
		return nil, nil, withContextErr(ctx, err)
	}
	// Bound the rest of the handshake by ctx: once it is done (deadline or
	// cancellation), a deadline in the past interrupts the I/O. Setting
	// ctx's deadline on the socket instead would race with ctx.Err().
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	c, resp, err := d.handshake(nc, u, header)
	if !stop() || ctx.Err() != nil {
		if err == nil {
			err = fmt.Errorf("websocket: handshake: %w", ctx.Err())
		}
	}
	if err != nil {
		nc.Close()
		var he *HandshakeError
		if !errors.As(err, &he) {
			err = withContextErr(ctx, err)
		}
		return nil, resp, err
	}
	nc.SetDeadline(time.Time{})
	return c, resp, nil
}

// dialTransport dials the server, through a proxy if one applies, and
// starts TLS for wss.
func (d *Dialer) dialTransport(ctx context.Context, u *url.URL) (net.Conn, error) {
	dial := d.NetDialContext
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}
	addr := hostPort(u)

	proxyFn := d.Proxy
	if proxyFn == nil {
		proxyFn = http.ProxyFromEnvironment
	}
	// Proxy functions decide by the http(s) scheme.
	pu := *u
	pu.Scheme = "http"
	if u.Scheme == "wss" {
		pu.Scheme = "https"
	}
	proxyURL, err := proxyFn(&http.Request{Method: http.MethodGet, URL: &pu, Header: http.Header{}})
	if err != nil {
		return nil, fmt.Errorf("websocket: choosing a proxy: %w", err)
	}

	var nc net.Conn
	if proxyURL == nil {
		nc, err = dial(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("websocket: dial %s: %w", addr, err)
		}
	} else {
		nc, err = d.dialProxy(ctx, dial, proxyURL, addr)
		if err != nil {
			return nil, err
		}
	}
	if u.Scheme == "wss" {
		tc, err := d.startTLS(ctx, nc, u.Hostname())
		if err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	return nc, nil
}

func (d *Dialer) startTLS(ctx context.Context, nc net.Conn, host string) (net.Conn, error) {
	cfg := d.TLSClientConfig.Clone()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	// Only HTTP/1.1 carries the Upgrade handshake.
	cfg.NextProtos = []string{"http/1.1"}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("websocket: TLS handshake: %w", err)
	}
	return tc, nil
}

// dialProxy opens a tunnel to addr through an HTTP or HTTPS proxy.
func (d *Dialer) dialProxy(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), p *url.URL, addr string) (net.Conn, error) {
	if p.Scheme != "http" && p.Scheme != "https" {
		return nil, fmt.Errorf("websocket: proxy scheme %q not supported", p.Scheme)
	}
	paddr := hostPort(&url.URL{Scheme: map[string]string{"http": "ws", "https": "wss"}[p.Scheme], Host: p.Host})
	nc, err := dial(ctx, "tcp", paddr)
	if err != nil {
		return nil, fmt.Errorf("websocket: dial proxy %s: %w", paddr, err)
	}
	if p.Scheme == "https" {
		tc, err := d.startTLS(ctx, nc, p.Hostname())
		if err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: http.Header{}}
	if p.User != nil {
		pw, _ := p.User.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(p.User.Username()+":"+pw)))
	}
	if err := req.Write(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("websocket: proxy CONNECT: %w", err)
	}
	lr := &io.LimitedReader{R: nc, N: maxHandshakeResponse}
	br := bufio.NewReader(lr)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("websocket: proxy CONNECT: %w", limitErr(lr, err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		nc.Close()
		hint := ""
		if resp.StatusCode == http.StatusProxyAuthRequired || resp.StatusCode == http.StatusUnauthorized {
			// Some proxies (tinyproxy) answer 401 where RFC 9110 says 407.
			if p.User == nil {
				hint = " (the proxy wants credentials: put them in the proxy URL, http://user:password@host:port)"
			} else {
				hint = fmt.Sprintf(" (the proxy rejected user %q of the proxy URL)", p.User.Username())
			}
		}
		return nil, fmt.Errorf("websocket: proxy %s refused CONNECT %s: %s%s", p.Host, addr, resp.Status, hint)
	}
	if br.Buffered() > 0 {
		nc.Close()
		return nil, errors.New("websocket: proxy sent data before the tunnel was used")
	}
	nc.SetDeadline(time.Time{})
	return nc, nil
}

// hostPort returns u's host with the scheme's default port added.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "wss" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// handshake sends the opening handshake on nc and checks the response.
func (d *Dialer) handshake(nc net.Conn, u *url.URL, header http.Header) (*Conn, *http.Response, error) {
	key := newKey()
	req := d.handshakeRequest(u, header, key)
	if err := req.Write(nc); err != nil {
		return nil, nil, fmt.Errorf("websocket: sending the handshake: %w", err)
	}
	lr := &io.LimitedReader{R: nc, N: maxHandshakeResponse}
	br := bufio.NewReaderSize(lr, 4096)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket: reading the handshake response: %w", limitErr(lr, err))
	}
	// Keep a bounded copy of the body for the caller's error handling.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))

	protocol, deflate, err := d.checkResponse(resp, key)
	if err != nil {
		return nil, resp, err
	}
	var buffered []byte
	if n := br.Buffered(); n > 0 {
		buffered, _ = br.Peek(n)
	}
	c := newConn(nc, buffered, connConfig{
		isServer:     false,
		readLimit:    d.ReadLimit,
		readBufSize:  d.ReadBufferSize,
		writeBufSize: d.WriteBufferSize,
		subprotocol:  protocol,
		closeTimeout: d.CloseTimeout,
		deflate:      deflate,
		pingInterval: d.PingInterval,
		pingTimeout:  d.PingTimeout,
	})
	c.response = resp
	return c, resp, nil
}

// handshakeRequest builds the opening handshake request for u with the
// caller's header and the Dialer's offers.
func (d *Dialer) handshakeRequest(u *url.URL, header http.Header, key string) *http.Request {
	hu := *u
	hu.Scheme = map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        &hu,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, len(header)+6),
		Host:       u.Host,
	}
	for k, v := range header {
		req.Header[k] = v
	}
	for k, v := range req.Header {
		if http.CanonicalHeaderKey(k) == "Host" {
			if len(v) > 0 && v[0] != "" {
				req.Host = v[0]
			}
			delete(req.Header, k)
		}
	}
	req.Header["Upgrade"] = []string{"websocket"}
	req.Header["Connection"] = []string{"Upgrade"}
	req.Header["Sec-WebSocket-Key"] = []string{key}
	req.Header["Sec-WebSocket-Version"] = []string{"13"}
	if len(d.Subprotocols) > 0 {
		req.Header["Sec-WebSocket-Protocol"] = []string{strings.Join(d.Subprotocols, ", ")}
	}
	if d.Compression != CompressionDisabled {
		req.Header["Sec-WebSocket-Extensions"] = []string{deflateOffer(d.Compression)}
	}
	return req
}

// checkResponse checks the server's handshake response against RFC 6455
// section 4.1 and what was offered, and returns what it agreed to.
func (d *Dialer) checkResponse(resp *http.Response, key string) (string, *deflateParams, error) {
	fail := func(reason string) (string, *deflateParams, error) {
		return "", nil, &HandshakeError{Response: resp, Reason: reason}
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		reason := "server answered " + resp.Status
		if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode/100 == 3 {
			reason += " redirecting to " + loc + " (redirects are not followed)"
		}
		return fail(reason)
	}
	if !hasToken(resp.Header, "Upgrade", "websocket") {
		return fail("response's Upgrade header is not websocket")
	}
	if !hasToken(resp.Header, "Connection", "upgrade") {
		return fail("response's Connection header does not contain upgrade")
	}
	if got := resp.Header.Values("Sec-WebSocket-Accept"); len(got) != 1 || got[0] != computeAccept(key) {
		return fail("wrong Sec-WebSocket-Accept in the response")
	}
	protocol := ""
	if ps := headerTokens(resp.Header, "Sec-WebSocket-Protocol"); len(ps) > 0 {
		if len(ps) > 1 || !contains(d.Subprotocols, ps[0]) {
			return fail(fmt.Sprintf("server chose subprotocol %q, which was not offered", strings.Join(ps, ", ")))
		}
		protocol = ps[0]
	}
	exts, err := parseExtensions(resp.Header)
	if err != nil {
		return fail("malformed Sec-WebSocket-Extensions in the response")
	}
	deflate, err := acceptDeflateResponse(exts, d.Compression)
	if err != nil {
		return fail(err.Error())
	}
	return protocol, deflate, nil
}

// maxHandshakeResponse bounds what the Dialer reads of a handshake (or
// proxy) response before the WebSocket starts, so that a hostile server
// cannot make it buffer without end.
const maxHandshakeResponse = 64 << 10

var errResponseTooLarge = errors.New("response headers larger than 64 KiB")

// limitErr names the cause when a response ran into maxHandshakeResponse.
func limitErr(lr *io.LimitedReader, err error) error {
	if lr.N <= 0 {
		return errResponseTooLarge
	}
	return err
}

// withContextErr makes err match ctx's error once ctx is done, since a
// cancelled handshake surfaces as an I/O error first.
func withContextErr(ctx context.Context, err error) error {
	ctxErr := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && ctxErr == nil && !time.Now().Before(dl) {
		// net's dialer enforces ctx's deadline with its own timer, which
		// can fire a moment before ctx reports it.
		ctxErr = context.DeadlineExceeded
	}
	if ctxErr == nil || errors.Is(err, ctxErr) {
		return err
	}
	return fmt.Errorf("%w (%v)", ctxErr, err)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
