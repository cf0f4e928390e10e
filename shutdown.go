//go:build !js

package websocket

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
)

// ShutdownReason is the close reason sent with StatusGoingAway by Shutdown.
const ShutdownReason = "server shutting down"

// registry tracks the live connections of an Upgrader so that Shutdown can
// close them all. Conns join when upgraded and leave when their transport
// closes: it never grows with connections that have ended, and nothing on
// the message path touches it.
type registry struct {
	mu       sync.Mutex
	conns    map[*Conn]struct{}
	stopping atomic.Bool
	stopOnce sync.Once
	stopped  chan struct{} // closed when Shutdown begins
	idle     chan struct{} // signalled when conns becomes empty
}

func (g *registry) init() {
	if g.stopped == nil {
		g.stopped = make(chan struct{})
		g.idle = make(chan struct{}, 1)
		g.conns = make(map[*Conn]struct{})
	}
}

// add registers c; it reports false when shutdown has begun.
func (g *registry) add(c *Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	if g.stopping.Load() {
		return false
	}
	g.conns[c] = struct{}{}
	c.registry = g
	return true
}

func (g *registry) remove(c *Conn) {
	g.mu.Lock()
	delete(g.conns, c)
	empty := len(g.conns) == 0
	g.mu.Unlock()
	if empty {
		select {
		case g.idle <- struct{}{}:
		default:
		}
	}
}

func (g *registry) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// done returns the channel closed when shutdown begins.
func (g *registry) done() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	return g.stopped
}

// shutdown closes every registered Conn with code and reason, in parallel
// so that one unresponsive peer delays nobody, waits for the close
// handshakes or ctx, then drops whatever is left.
func (g *registry) shutdown(ctx context.Context, code StatusCode, reason string) error {
	g.mu.Lock()
	g.init()
	g.stopping.Store(true)
	g.stopOnce.Do(func() { close(g.stopped) })
	conns := make([]*Conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()

	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func(c *Conn) {
			defer wg.Done()
			c.CloseWithStatus(code, reason)
		}(c)
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	var err error
	select {
	case <-finished:
	case <-ctx.Done():
		err = ctx.Err()
		for _, c := range conns {
			c.CloseNow()
		}
		<-finished // bounded: every transport is closed now
	}
	// Conns that were mid-upgrade when shutdown began close themselves;
	// wait for the registry to empty as well.
	for g.len() > 0 {
		select {
		case <-g.idle:
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			g.mu.Lock()
			rest := make([]*Conn, 0, len(g.conns))
			for c := range g.conns {
				rest = append(rest, c)
			}
			g.mu.Unlock()
			for _, c := range rest {
				c.CloseNow()
			}
			return err
		}
	}
	return err
}

// errShuttingDown is returned by Upgrade once Shutdown has begun.
var errShuttingDown = errors.New("websocket: server is shutting down")

// Shutdown closes every connection this Upgrader accepted: new upgrade
// requests are answered 503 Service Unavailable from now on, every live
// Conn is sent a close frame with StatusGoingAway and ShutdownReason (between
// frames, so a message being written is never cut), and Shutdown waits
// until each peer has answered or ctx is done. Connections still open then
// are dropped, and ctx's error is returned; otherwise nil. Handlers reading
// from their Conn see a *CloseError with StatusGoingAway.
//
// http.Server.Shutdown does not track hijacked connections: to stop a
// server and its WebSockets together, call ShutdownServer.
func (u *Upgrader) Shutdown(ctx context.Context) error {
	return u.conns.shutdown(ctx, StatusGoingAway, ShutdownReason)
}

// ShuttingDown returns a channel that is closed when Shutdown begins, so
// that handlers which only write can stop producing.
func (u *Upgrader) ShuttingDown() <-chan struct{} { return u.conns.done() }

// ActiveConns returns the number of connections accepted by u that are
// not closed yet.
func (u *Upgrader) ActiveConns() int { return u.conns.len() }

// ShutdownServer stops srv and the WebSockets of upgraders together, and
// returns when all of them are done or ctx is: it is the one call a
// program needs at exit (for example on SIGTERM).
//
// It runs srv.Shutdown, which closes the listeners and waits for the HTTP
// requests in flight, and, at the same time, each Upgrader's Shutdown,
// which answers new upgrades 503 and closes every WebSocket with
// StatusGoingAway. Both are needed: http.Server.Shutdown does not track
// hijacked connections, and a WebSocket over HTTP/2 keeps its handler, so
// its request, running until the Upgrader closes it.
//
// It returns nil once the HTTP server has finished and every peer has
// answered its close frame. When ctx is done first, it closes whatever is
// still open (srv.Close and the Upgrader's unanswered Conns are dropped)
// and returns ctx's error. It does not wait for Handlers to return, only
// for their Conns to close.
func ShutdownServer(ctx context.Context, srv *http.Server, upgraders ...*Upgrader) error {
	errs := make(chan error, len(upgraders)+1)
	for _, u := range upgraders {
		go func(u *Upgrader) { errs <- u.Shutdown(ctx) }(u)
	}
	go func() {
		err := srv.Shutdown(ctx)
		if err != nil && ctx.Err() != nil {
			// Requests still running: end them too.
			srv.Close()
		}
		errs <- err
	}()
	var first error
	for range len(upgraders) + 1 {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}
