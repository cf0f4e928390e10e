//go:build !unix && !js

package websocket

import "net"

// On systems without syscall.RawConn reads, a waiting Conn keeps its
// pooled read buffer (see park_unix.go).
type rawParker struct{}

func newParker(nc net.Conn, b *readBuf) *rawParker { return nil }

func (p *rawParker) park() (int, error) { panic("unreachable") }
