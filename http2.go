//go:build !js

package websocket

// WebSockets over HTTP/2 (RFC 8441), server side.
//
// An HTTP/2 client opens a WebSocket as an extended CONNECT request: a
// stream whose :method is CONNECT and whose :protocol is "websocket". The
// server answers 200 and the stream then carries the WebSocket frames in
// both directions; there is no Sec-WebSocket-Key or -Accept, no Upgrade or
// Connection header. net/http's HTTP/2 server (Go 1.24 and later)
// advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and passes such requests to
// handlers only when the program starts with GODEBUG=http2xconnect=1: the
// request then has Method "CONNECT", ProtoMajor 2, the :protocol value in
// r.Header[":protocol"], and a body that can be read while the response is
// being written.
//
// Upgrade validates the request, answers 200 with the negotiated
// Sec-WebSocket-Protocol and Sec-WebSocket-Extensions, and runs a Conn
// over h2Stream: the request body for reading, the ResponseWriter (flushed
// after every write) for writing, the ResponseController for deadlines.

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HTTP2 reports whether c runs on an HTTP/2 stream, opened with an
// extended CONNECT request (RFC 8441), rather than on a connection of its
// own taken over from HTTP/1.1. Client Conns always use HTTP/1.1.
//
// A Conn on an HTTP/2 stream shares its TCP connection with the other
// streams of that connection; closing it ends only its stream, and it
// lives only as long as the handler of its request: a handler that calls
// Upgrade must not return while the Conn is in use.
func (c *Conn) HTTP2() bool {
	return c.request != nil && c.request.ProtoMajor == 2 && c.request.Method == http.MethodConnect
}

// checkExtendedConnect validates an HTTP/2 opening handshake request
// (RFC 8441 sections 4 and 5). The statuses are those of the HTTP/1.1
// checks where they apply: 405 for another method, 426 for another
// version, 400 for the rest, including a :protocol other than websocket.
func checkExtendedConnect(r *http.Request) *refusal {
	if r.Method != http.MethodConnect {
		return &refusal{http.StatusMethodNotAllowed, "over HTTP/2 the WebSocket handshake is an extended CONNECT request (RFC 8441)"}
	}
	switch p := r.Header.Get(":protocol"); {
	case p == "":
		return &refusal{http.StatusBadRequest, "the CONNECT request has no :protocol pseudo-header: not an RFC 8441 WebSocket handshake"}
	case !strings.EqualFold(p, "websocket"):
		return &refusal{http.StatusBadRequest, "the CONNECT request's :protocol is " + p + ", not websocket"}
	}
	if r.Host == "" {
		return &refusal{http.StatusBadRequest, "missing :authority"}
	}
	return checkVersion(r.Header)
}

// upgradeHTTP2 is Upgrade for an HTTP/2 request. The shutdown check is
// done; the Origin policy and negotiations are shared with HTTP/1.1.
func (u *Upgrader) upgradeHTTP2(w http.ResponseWriter, r *http.Request, responseHeader http.Header) (*Conn, error) {
	if herr := checkExtendedConnect(r); herr != nil {
		if herr.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodConnect)
		}
		return nil, u.refuse(w, herr)
	}
	neg, herr := u.negotiate(r, responseHeader)
	if herr != nil {
		return nil, u.refuse(w, herr)
	}

	// The stream's deadlines become the Conn's. Clear the ones the
	// http.Server set (ReadTimeout, WriteTimeout), bound the response by
	// u.HandshakeTimeout, and refuse a ResponseWriter that cannot do this.
	rc := http.NewResponseController(w)
	wt := u.handshakeTimeout()
	if err := rc.SetReadDeadline(time.Time{}); err != nil {
		return nil, u.refuse(w, &refusal{http.StatusInternalServerError, "cannot set deadlines on the HTTP/2 stream: " + err.Error()})
	}
	if err := rc.SetWriteDeadline(time.Now().Add(wt)); err != nil {
		return nil, u.refuse(w, &refusal{http.StatusInternalServerError, "cannot set deadlines on the HTTP/2 stream: " + err.Error()})
	}

	h := w.Header()
	for k, vs := range responseHeader {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	if neg.protocol != "" {
		h.Set("Sec-WebSocket-Protocol", neg.protocol)
	}
	if neg.extensions != "" {
		h.Set("Sec-WebSocket-Extensions", neg.extensions)
	}
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil, errors.New("websocket: writing the handshake response: " + err.Error())
	}
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		return nil, errors.New("websocket: clearing the write deadline: " + err.Error())
	}

	c := newConn(newH2Stream(w, r, rc), nil, u.connConfig(neg))
	c.request = r
	return u.register(c)
}

// h2Stream is the net.Conn under a Conn on an HTTP/2 stream: reads come
// from the request body, writes go to the ResponseWriter and are flushed
// at once, deadlines are the stream's.
//
// Close ends the Conn's use of the stream: the body is closed (a blocked
// Read returns), later writes fail, and a write still blocked by flow
// control is freed by resetting the stream. The stream itself ends, with
// END_STREAM, when the handler returns.
type h2Stream struct {
	body   io.ReadCloser
	w      http.ResponseWriter
	rc     *http.ResponseController
	local  net.Addr
	remote net.Addr

	wmu       sync.Mutex  // serializes writes; held while one is under way
	closed    atomic.Bool // Close was called
	ended     atomic.Bool // the request's context is done: the stream is gone
	closeOnce sync.Once
	stop      func() bool // stops watching the request's context
}

func newH2Stream(w http.ResponseWriter, r *http.Request, rc *http.ResponseController) *h2Stream {
	s := &h2Stream{body: r.Body, w: w, rc: rc}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		s.local = a
	} else {
		s.local = h2Addr("")
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		s.remote = net.TCPAddrFromAddrPort(ap)
	} else {
		s.remote = h2Addr(r.RemoteAddr)
	}
	// The request's context ends with the stream: reset by the client,
	// its connection lost, or the handler returned. The ResponseWriter
	// must not be used after that; reads fail by themselves, with the
	// reason the server gives.
	s.stop = context.AfterFunc(r.Context(), func() { s.ended.Store(true) })
	return s
}

var (
	// errStreamEnded is returned by writes after the stream ended.
	errStreamEnded = errors.New("websocket: the HTTP/2 stream has ended")
	// errHandlerReturned reports a write on a stream whose handler returned.
	errHandlerReturned = errors.New("websocket: the HTTP/2 stream ended: its handler returned while the Conn was in use")
)

// usable reports why the ResponseWriter may not be used any more, if so.
func (s *h2Stream) usable() error {
	switch {
	case s.closed.Load():
		return net.ErrClosed
	case s.ended.Load():
		return errStreamEnded
	}
	return nil
}

// guard turns the panic of a ResponseWriter used after its handler
// returned (a misuse of Upgrade) into an error.
func guard(err *error) {
	if p := recover(); p != nil {
		*err = errHandlerReturned
	}
}

func (s *h2Stream) Read(p []byte) (int, error) {
	if s.closed.Load() {
		return 0, net.ErrClosed
	}
	n, err := s.body.Read(p)
	if err != nil {
		switch {
		case s.closed.Load():
			err = net.ErrClosed
		case errors.Is(err, os.ErrDeadlineExceeded):
			err = os.ErrDeadlineExceeded // a net.Error with Timeout() true
		}
	}
	return n, err
}

func (s *h2Stream) Write(p []byte) (n int, err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.usable(); err != nil {
		return 0, err
	}
	defer guard(&err)
	n, err = s.w.Write(p)
	if err == nil {
		err = s.rc.Flush()
	}
	if err != nil {
		if e := s.usable(); e != nil {
			err = e
		}
	}
	return n, err
}

func (s *h2Stream) Close() error {
	first := false
	s.closeOnce.Do(func() {
		first = true
		s.closed.Store(true)
		s.stop()
		s.body.Close()
		if s.wmu.TryLock() {
			s.wmu.Unlock()
			return
		}
		if s.ended.Load() {
			return // the stream is gone, and the write failed with it
		}
		// A write is under way, perhaps blocked by flow control: a
		// deadline in the past resets the stream, which frees it.
		var err error
		func() {
			defer guard(&err)
			err = s.rc.SetWriteDeadline(time.Unix(1, 0))
		}()
	})
	if !first {
		return net.ErrClosed
	}
	return nil
}

func (s *h2Stream) LocalAddr() net.Addr  { return s.local }
func (s *h2Stream) RemoteAddr() net.Addr { return s.remote }

func (s *h2Stream) SetDeadline(t time.Time) error {
	if err := s.SetReadDeadline(t); err != nil {
		return err
	}
	return s.SetWriteDeadline(t)
}

func (s *h2Stream) SetReadDeadline(t time.Time) (err error) {
	if err := s.usable(); err != nil {
		return err
	}
	defer guard(&err)
	return s.rc.SetReadDeadline(t)
}

func (s *h2Stream) SetWriteDeadline(t time.Time) (err error) {
	if err := s.usable(); err != nil {
		return err
	}
	defer guard(&err)
	return s.rc.SetWriteDeadline(t)
}

// h2Addr is an address net/http gave as a string that does not parse.
type h2Addr string

func (a h2Addr) Network() string { return "tcp" }
func (a h2Addr) String() string  { return string(a) }
