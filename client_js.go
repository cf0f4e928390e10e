//go:build js && wasm

package websocket

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"syscall/js"
	"time"
)

// Dialer opens client WebSocket connections through the browser's
// WebSocket. The zero value is ready to use and offers no subprotocol.
type Dialer struct {
	// Subprotocols are offered to the server, in order of preference.
	// Each must be an HTTP token, and no two may be the same. Unlike the
	// native Dialer, browsers fail the handshake (Dial returns an error)
	// when the server accepts none of the offered subprotocols.
	Subprotocols []string

	// ReadLimit is the largest message the Conn accepts, in bytes;
	// 0 means DefaultReadLimit.
	ReadLimit int64

	// HandshakeTimeout bounds the opening handshake in addition to the
	// context's deadline; 0 means no bound other than the context.
	HandshakeTimeout time.Duration

	// CloseTimeout bounds the close handshake; 0 means DefaultCloseTimeout.
	CloseTimeout time.Duration
}

// Dial opens a WebSocket connection with the zero Dialer. See Dialer.Dial.
func Dial(ctx context.Context, rawURL string, header http.Header) (*Conn, *http.Response, error) {
	var d Dialer
	return d.Dial(ctx, rawURL, header)
}

// errDialFailed is what a refused or unreachable handshake gives: the
// browser tells the page nothing more (no HTTP status, no reason).
var errDialFailed = errors.New("the server refused the handshake or could not be reached (the browser does not tell which)")

// Dial opens a WebSocket connection to rawURL with the browser's WebSocket
// and waits until it is open, the browser reports a failure, or ctx is done;
// once Dial returns, ctx no longer affects the Conn.
//
// rawURL is a ws://, wss://, http:// or https:// URL; in a page, a URL
// without a scheme ("/ws") is resolved against the page's location.
// header must be nil or empty: browsers do not let a page set handshake
// headers (send credentials in cookies, the URL's query or a subprotocol),
// and a non-empty header gives an error before anything is sent. The
// browser sends Origin and cookies itself.
//
// The returned *http.Response is always nil: the browser does not show the
// server's response to the page. For the same reason a refused handshake
// (any status but 101) cannot be told apart from an unreachable server:
// both give a plain error, not a *HandshakeError (which this build lacks).
func (d *Dialer) Dial(ctx context.Context, rawURL string, header http.Header) (*Conn, *http.Response, error) {
	if err := d.checkDial(header); err != nil {
		return nil, nil, err
	}
	wsURL, err := resolveURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	ctor := js.Global().Get("WebSocket")
	if ctor.Type() != js.TypeFunction {
		return nil, nil, errors.New("websocket: this JavaScript environment has no global WebSocket (Node.js needs version 22, or --experimental-websocket on Node 20)")
	}
	if d.HandshakeTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.HandshakeTimeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("websocket: dial %s: %w", wsURL, err)
	}

	c := &Conn{
		closeTimeout: d.CloseTimeout,
		openCh:       make(chan error, 1),
		closedCh:     make(chan struct{}),
		wake:         make(chan struct{}),
	}
	if c.closeTimeout <= 0 {
		c.closeTimeout = DefaultCloseTimeout
	}
	c.SetReadLimit(d.ReadLimit)

	if err := c.open(ctor, wsURL, d.Subprotocols); err != nil {
		return nil, nil, fmt.Errorf("websocket: dial %s: %w", wsURL, err)
	}

	select {
	case err := <-c.openCh:
		if err != nil {
			c.abandon(nil)
			return nil, nil, fmt.Errorf("websocket: dial %s: %w", wsURL, err)
		}
	case <-ctx.Done():
		c.abandon(ErrClosed)
		return nil, nil, fmt.Errorf("websocket: dial %s: %w", wsURL, ctx.Err())
	}
	return c, nil, nil
}

// checkDial refuses what the browser's WebSocket cannot do: handshake
// headers, and subprotocol offers it would reject.
func (d *Dialer) checkDial(header http.Header) error {
	if len(header) > 0 {
		names := make([]string, 0, len(header))
		for k := range header {
			names = append(names, k)
		}
		return fmt.Errorf("websocket: cannot send handshake headers (%s) on js/wasm: browsers do not let pages set them; pass nil (use cookies, the URL's query or a subprotocol instead)", strings.Join(names, ", "))
	}
	for i, p := range d.Subprotocols {
		if !isToken(p) {
			return fmt.Errorf("websocket: subprotocol %q is not a valid token", p)
		}
		for _, q := range d.Subprotocols[:i] {
			if q == p {
				return fmt.Errorf("websocket: subprotocol %q offered twice", p)
			}
		}
	}
	return nil
}

// open creates the browser's WebSocket for wsURL and attaches c's event
// handlers to it.
func (c *Conn) open(ctor js.Value, wsURL string, subprotocols []string) error {
	var ws js.Value
	err := jsTry(func() {
		if len(subprotocols) > 0 {
			protocols := make([]any, len(subprotocols))
			for i, p := range subprotocols {
				protocols[i] = p
			}
			ws = ctor.New(wsURL, protocols)
		} else {
			ws = ctor.New(wsURL)
		}
	})
	if err != nil {
		return err
	}
	c.ws = ws
	ws.Set("binaryType", "arraybuffer")
	c.handlers = []struct {
		name string
		fn   js.Func
	}{
		{"onopen", js.FuncOf(c.onOpen)},
		{"onmessage", js.FuncOf(c.onMessage)},
		{"onerror", js.FuncOf(c.onError)},
		{"onclose", js.FuncOf(c.onClose)},
	}
	for _, h := range c.handlers {
		ws.Set(h.name, h.fn)
	}
	return nil
}

// resolveURL checks rawURL and returns it as a ws:// or wss:// URL.
func resolveURL(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("websocket: bad URL: %w", err)
	}
	if u.Scheme == "" {
		loc := js.Global().Get("location")
		if loc.Type() != js.TypeObject {
			return "", fmt.Errorf("websocket: URL %q has no scheme, and there is no page location to resolve it against", rawURL)
		}
		base, err := url.Parse(loc.Get("href").String())
		if err != nil {
			return "", fmt.Errorf("websocket: bad page location: %w", err)
		}
		u = base.ResolveReference(u)
	}
	if err := normalizeURL(u); err != nil {
		return "", err
	}
	u.Fragment, u.RawFragment = "", "" // the WebSocket constructor refuses fragments
	return u.String(), nil
}
