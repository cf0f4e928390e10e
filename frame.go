package websocket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// Frame opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Bits of a frame header's first byte.
const (
	finBit  = 0x80
	rsv1Bit = 0x40
	rsv2Bit = 0x20
	rsv3Bit = 0x10
	maskBit = 0x80
)

// maxHeaderLen is the largest frame header: 2 + 8 length bytes + 4 key bytes.
const maxHeaderLen = 14

// maxControlPayload is the largest payload of a control frame.
const maxControlPayload = 125

// frameHeader is a decoded frame header.
type frameHeader struct {
	fin    bool
	rsv    byte // the RSV1-3 bits, in their wire positions (rsv1Bit...)
	opcode byte
	masked bool
	length int64
	key    [4]byte
}

func isControl(op byte) bool { return op&0x8 != 0 }

// headerLen returns the full length of a frame header that starts with b0 b1.
func headerLen(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&maskBit != 0 {
		n += 4
	}
	return n
}

var errShortHeader = errors.New("websocket: short frame header")

// parseHeader decodes the frame header at the start of b. It returns the
// header and its encoded length, errShortHeader when b does not hold the
// whole header yet, or a *ProtocolError for a length that is not minimally
// encoded or has its most significant bit set.
func parseHeader(b []byte) (frameHeader, int, error) {
	var h frameHeader
	if len(b) < 2 {
		return h, 0, errShortHeader
	}
	n := headerLen(b[1])
	if len(b) < n {
		return h, 0, errShortHeader
	}
	h.fin = b[0]&finBit != 0
	h.rsv = b[0] & (rsv1Bit | rsv2Bit | rsv3Bit)
	h.opcode = b[0] & 0x0f
	h.masked = b[1]&maskBit != 0
	p := 2
	switch l := b[1] & 0x7f; l {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(b[2:]))
		p += 2
		if h.length < 126 {
			return h, 0, protocolErr("frame length not minimally encoded")
		}
	case 127:
		u := binary.BigEndian.Uint64(b[2:])
		p += 8
		if u>>63 != 0 {
			return h, 0, protocolErr("frame length has its most significant bit set")
		}
		if u <= 0xffff {
			return h, 0, protocolErr("frame length not minimally encoded")
		}
		h.length = int64(u)
	default:
		h.length = int64(l)
	}
	if h.masked {
		copy(h.key[:], b[p:p+4])
	}
	return h, n, nil
}

// putHeader encodes h at the start of b, which must hold maxHeaderLen bytes,
// using the minimal length encoding, and returns the number of bytes written.
func putHeader(b []byte, h frameHeader) int {
	_ = b[maxHeaderLen-1]
	b0 := h.rsv | h.opcode
	if h.fin {
		b0 |= finBit
	}
	b[0] = b0
	var b1 byte
	if h.masked {
		b1 = maskBit
	}
	n := 2
	switch {
	case h.length <= 125:
		b[1] = b1 | byte(h.length)
	case h.length <= 0xffff:
		b[1] = b1 | 126
		binary.BigEndian.PutUint16(b[2:], uint16(h.length))
		n += 2
	default:
		b[1] = b1 | 127
		binary.BigEndian.PutUint64(b[2:], uint64(h.length))
		n += 8
	}
	if h.masked {
		copy(b[n:], h.key[:])
		n += 4
	}
	return n
}

// checkHeader applies the rules of RFC 6455 section 5 that do not depend on
// earlier frames: opcode known, control frames short and unfragmented, masking
// by role, RSV bits only where allowed. rsvAllowed holds the RSV bits a
// negotiated extension permits on this frame.
func checkHeader(h *frameHeader, fromClient bool, rsvAllowed byte) error {
	switch h.opcode {
	case opContinuation, opText, opBinary:
	case opClose, opPing, opPong:
		if !h.fin {
			return protocolErr("fragmented control frame")
		}
		if h.length > maxControlPayload {
			return protocolErr("control frame payload longer than 125 bytes")
		}
	default:
		return protocolErr(fmt.Sprintf("reserved opcode %#x", h.opcode))
	}
	if h.rsv&^rsvAllowed != 0 {
		return protocolErr("reserved bit set without a negotiated extension")
	}
	if fromClient && !h.masked {
		return protocolErr("unmasked frame from client")
	}
	if !fromClient && h.masked {
		return protocolErr("masked frame from server")
	}
	return nil
}

// parseClosePayload decodes a close frame's payload into a code and reason,
// checking the rules of RFC 6455 sections 5.5.1 and 7.4.
func parseClosePayload(p []byte) (StatusCode, string, error) {
	switch {
	case len(p) == 0:
		return StatusNoStatusReceived, "", nil
	case len(p) == 1:
		return 0, "", protocolErr("close frame with a 1-byte payload")
	}
	code := StatusCode(binary.BigEndian.Uint16(p))
	if !code.validOnWire() {
		return 0, "", protocolErr("close frame with invalid status code " + strconv.Itoa(int(code)))
	}
	var v utf8Validator
	if !v.valid(p[2:]) || !v.complete() {
		return 0, "", &ProtocolError{Code: StatusInvalidFramePayloadData, Reason: "close reason is not valid UTF-8"}
	}
	return code, string(p[2:]), nil
}
