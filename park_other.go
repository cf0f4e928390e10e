//go:build !unix && !js

package websocket

import "net"

// On systems without syscall.RawConn reads, a waiting Conn keeps its
// pooled read buffer (see park_unix.go).
type rawParker struct{}

func (b *readBuf) initParker(nc net.Conn) {}

func (b *readBuf) canPark() bool { return false }

func (b *readBuf) park() (int, error) { panic("unreachable") }
