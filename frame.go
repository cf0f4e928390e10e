package websocket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MessageType is the type of a WebSocket data message.
type MessageType int

// The data message types of RFC 6455 section 5.6. Their values are the
// frame opcodes that carry them.
const (
	TextMessage   MessageType = 1
	BinaryMessage MessageType = 2
)

// String returns "text", "binary" or a numeric form for other values.
func (t MessageType) String() string {
	switch t {
	case TextMessage:
		return "text"
	case BinaryMessage:
		return "binary"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// StatusCode is a close status code (RFC 6455 section 7.4).
type StatusCode int

// Close status codes registered by RFC 6455 section 7.4.1 and IANA.
// StatusNoStatusReceived, StatusAbnormalClosure and StatusTLSHandshake are
// reported locally and are never sent on the wire.
const (
	StatusNormalClosure           StatusCode = 1000
	StatusGoingAway               StatusCode = 1001
	StatusProtocolError           StatusCode = 1002
	StatusUnsupportedData         StatusCode = 1003
	StatusNoStatusReceived        StatusCode = 1005
	StatusAbnormalClosure         StatusCode = 1006
	StatusInvalidFramePayloadData StatusCode = 1007
	StatusPolicyViolation         StatusCode = 1008
	StatusMessageTooBig           StatusCode = 1009
	StatusMandatoryExtension      StatusCode = 1010
	StatusInternalError           StatusCode = 1011
	StatusServiceRestart          StatusCode = 1012
	StatusTryAgainLater           StatusCode = 1013
	StatusBadGateway              StatusCode = 1014
	StatusTLSHandshake            StatusCode = 1015
)

// validOnWire reports whether code may appear in a close frame: 1000-1003,
// 1007-1014 and the application ranges 3000-4999.
func (code StatusCode) validOnWire() bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

var statusNames = map[StatusCode]string{
	1000: "normal closure", 1001: "going away", 1002: "protocol error",
	1003: "unsupported data", 1005: "no status received", 1006: "abnormal closure",
	1007: "invalid frame payload data", 1008: "policy violation", 1009: "message too big",
	1010: "mandatory extension", 1011: "internal error", 1012: "service restart",
	1013: "try again later", 1014: "bad gateway", 1015: "TLS handshake",
}

// String returns the code's number and registered name.
func (code StatusCode) String() string {
	if s, ok := statusNames[code]; ok {
		return strconv.Itoa(int(code)) + " (" + s + ")"
	}
	return strconv.Itoa(int(code))
}

// CloseError reports a close frame received from the peer. Read calls
// return it (possibly wrapped) once the peer started the close handshake;
// use errors.As to get at it. Code is StatusNoStatusReceived when the
// peer's close frame had no payload.
type CloseError struct {
	Code   StatusCode
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return "websocket: peer closed the connection: " + e.Code.String()
	}
	return fmt.Sprintf("websocket: peer closed the connection: %v: %q", e.Code, e.Reason)
}

// ProtocolError reports that this side failed the connection because the
// peer broke the protocol or a limit. Code is the status code that was sent
// to the peer in the close frame (1002, 1007, 1009, ...).
type ProtocolError struct {
	Code   StatusCode
	Reason string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("websocket: connection failed with %v: %s", e.Code, e.Reason)
}

// CloseStatus returns the code of the first *CloseError in err's chain, or
// -1 if there is none.
func CloseStatus(err error) StatusCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}

func protocolErr(reason string) *ProtocolError {
	return &ProtocolError{Code: StatusProtocolError, Reason: reason}
}

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

// utf8Validator checks UTF-8 incrementally, so that a text message split
// across frames and reads fails at its first invalid byte.
type utf8Validator struct {
	need   int8 // continuation bytes still expected
	lo, hi byte // range of the next continuation byte
}

// valid feeds p to the validator and reports whether everything seen so far
// is a valid UTF-8 prefix.
func (v *utf8Validator) valid(p []byte) bool {
	i := 0
	for i < len(p) {
		if v.need == 0 {
			// Skip ASCII a word at a time.
			for i+8 <= len(p) && binary.LittleEndian.Uint64(p[i:])&0x8080808080808080 == 0 {
				i += 8
			}
			if i == len(p) {
				break
			}
			b := p[i]
			i++
			switch {
			case b < 0x80:
			case b >= 0xc2 && b <= 0xdf:
				v.need, v.lo, v.hi = 1, 0x80, 0xbf
			case b == 0xe0:
				v.need, v.lo, v.hi = 2, 0xa0, 0xbf
			case b >= 0xe1 && b <= 0xec, b == 0xee, b == 0xef:
				v.need, v.lo, v.hi = 2, 0x80, 0xbf
			case b == 0xed: // excludes UTF-16 surrogates
				v.need, v.lo, v.hi = 2, 0x80, 0x9f
			case b == 0xf0:
				v.need, v.lo, v.hi = 3, 0x90, 0xbf
			case b >= 0xf1 && b <= 0xf3:
				v.need, v.lo, v.hi = 3, 0x80, 0xbf
			case b == 0xf4: // caps code points at U+10FFFF
				v.need, v.lo, v.hi = 3, 0x80, 0x8f
			default:
				return false
			}
			continue
		}
		b := p[i]
		i++
		if b < v.lo || b > v.hi {
			return false
		}
		v.need--
		v.lo, v.hi = 0x80, 0xbf
	}
	return true
}

// complete reports whether the input ended on a character boundary.
func (v *utf8Validator) complete() bool { return v.need == 0 }

// Declarations shared by the native and the js/wasm builds.

// DefaultReadLimit is the largest message, in bytes, that a Conn accepts
// unless configured otherwise. A larger message fails the connection with
// StatusMessageTooBig.
const DefaultReadLimit = 16 << 20

// DefaultCloseTimeout bounds how long the close handshake waits for the
// peer: for the peer's close frame and, on a client, for the server to
// close the TCP connection afterwards.
const DefaultCloseTimeout = 5 * time.Second

// ErrClosed is returned by operations on a Conn whose close handshake has
// begun (writes of data after a close frame was sent) or that is closed.
var ErrClosed = errors.New("websocket: use of closed connection")

// errStaleWriter is returned by a message writer used after its Close.
var errStaleWriter = errors.New("websocket: write to a closed message writer")

// isTokenChar reports whether c may appear in an RFC 7230 token.
func isTokenChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	return !strings.ContainsRune(`()<>@,;:\"/[]?={}`, rune(c))
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}
