//go:build !js

package websocket

import (
	"io"
	"net"
	"time"
)

// NetConn returns a net.Conn whose byte stream travels in messages of type
// typ over c: each Write sends one message, and Read returns the payload of
// the received messages one after another, whatever their type. Read
// returns io.EOF once the peer closed with StatusNormalClosure or
// StatusGoingAway. Close closes c with StatusNormalClosure. Deadlines are
// c's, with the same caveat: a timed-out read or write fails the Conn.
func NetConn(c *Conn, typ MessageType) net.Conn {
	return &netConn{c: c, typ: typ}
}

type netConn struct {
	c   *Conn
	typ MessageType
	r   io.Reader // current message, nil between messages
}

func (n *netConn) Read(p []byte) (int, error) {
	for {
		if n.r == nil {
			_, r, err := n.c.NextReader()
			if err != nil {
				if code := CloseStatus(err); code == StatusNormalClosure || code == StatusGoingAway {
					return 0, io.EOF
				}
				return 0, err
			}
			n.r = r
		}
		m, err := n.r.Read(p)
		if err == io.EOF {
			n.r = nil
			if m > 0 || len(p) == 0 {
				return m, nil
			}
			continue
		}
		return m, err
	}
}

func (n *netConn) Write(p []byte) (int, error) {
	if err := n.c.WriteMessage(n.typ, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (n *netConn) Close() error { return n.c.Close() }

func (n *netConn) LocalAddr() net.Addr { return n.c.LocalAddr() }

func (n *netConn) RemoteAddr() net.Addr { return n.c.RemoteAddr() }

func (n *netConn) SetDeadline(t time.Time) error { return n.c.SetDeadline(t) }

func (n *netConn) SetReadDeadline(t time.Time) error { return n.c.SetReadDeadline(t) }

func (n *netConn) SetWriteDeadline(t time.Time) error { return n.c.SetWriteDeadline(t) }
