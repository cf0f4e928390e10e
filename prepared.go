//go:build !js

package websocket

import (
	"bytes"
	"errors"
	"sync"
	"time"
)

// PreparedMessage is a message encoded once and sent to many connections,
// for broadcasting: the frame a server Conn sends (and its compressed form,
// for connections that negotiated permessage-deflate without context
// takeover) is built on first use and then written as is, so fanning out
// to N connections frames and compresses the payload once, not N times.
//
// Client Conns mask every frame with a fresh key, and compression with
// context takeover depends on each connection's history; for those the
// message is encoded per connection, as WriteMessage would.
//
// A PreparedMessage is safe for concurrent use and must not be modified.
type PreparedMessage struct {
	typ  MessageType
	data []byte

	mu         sync.Mutex
	plain      []byte // server frame, uncompressed
	compressed []byte // server frame, compressed without context takeover
}

// NewPreparedMessage returns a PreparedMessage of type typ carrying data.
// It keeps data, which must not change afterwards. Text must be valid
// UTF-8.
func NewPreparedMessage(typ MessageType, data []byte) (*PreparedMessage, error) {
	if err := checkMessageType(typ); err != nil {
		return nil, err
	}
	return &PreparedMessage{typ: typ, data: data}, nil
}

// frame returns the encoded server frame, building it on first use.
func (pm *PreparedMessage) frame(compress bool) ([]byte, error) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	if !compress {
		if pm.plain == nil {
			pm.plain = encodeFrame(frameHeader{fin: true, opcode: byte(pm.typ)}, pm.data)
		}
		return pm.plain, nil
	}
	if pm.compressed == nil {
		var b bytes.Buffer
		fw := getFlateWriter(&b)
		fw.Write(pm.data)
		err := fw.Flush()
		flateWriters.Put(fw)
		if err != nil {
			return nil, err
		}
		out := b.Bytes()
		if !bytes.HasSuffix(out, []byte{0, 0, 0xff, 0xff}) {
			return nil, errors.New("websocket: compressor output lacks the sync-flush tail")
		}
		pm.compressed = encodeFrame(frameHeader{fin: true, rsv: rsv1Bit, opcode: byte(pm.typ)}, out[:len(out)-4])
	}
	return pm.compressed, nil
}

// encodeFrame returns an unmasked frame carrying payload.
func encodeFrame(h frameHeader, payload []byte) []byte {
	h.length = int64(len(payload))
	var hdr [maxHeaderLen]byte
	n := putHeader(hdr[:], h)
	out := make([]byte, n+len(payload))
	copy(out, hdr[:n])
	copy(out[n:], payload)
	return out
}

// WritePreparedMessage sends pm, like WriteMessage(pm's type, pm's data)
// but without encoding it again where the encoding can be shared.
func (c *Conn) WritePreparedMessage(pm *PreparedMessage) error {
	compress := c.deflate != nil && c.writeCompress.Load() && int64(len(pm.data)) >= c.compressMin.Load()
	if !c.isServer || (compress && c.def.keep) || c.batching.Load() {
		return c.WriteMessage(pm.typ, pm.data)
	}
	frame, err := pm.frame(compress)
	if err != nil {
		return err
	}
	if err := c.lock(c.mlock, time.Time{}); err != nil {
		return err
	}
	defer func() { <-c.mlock }()
	if err := c.lock(c.wlock, time.Time{}); err != nil {
		return err
	}
	defer c.unlockFrame()
	if err := c.dataWritable(); err != nil {
		return err
	}
	return c.writeRaw(frame)
}
