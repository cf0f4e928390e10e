package websocket

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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
	Code   StatusCode // the peer's status code
	Reason string     // the peer's reason, valid UTF-8, possibly empty
}

// Error names the peer's code and reason.
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
	Code   StatusCode // the status code sent to the peer
	Reason string     // what the peer did wrong
}

// Error names the code sent and what went wrong.
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
// Like the errors of a closed net.Conn, it satisfies
// errors.Is(err, net.ErrClosed). When the library itself dropped the
// connection (a control frame could not be written in time, or keepalive
// gave up), read and write calls return an error that matches ErrClosed
// and net.ErrClosed and also wraps that cause, such as
// os.ErrDeadlineExceeded.
var ErrClosed error = &closedError{}

// closedError is ErrClosed, with the reason the library closed the
// connection when there is one.
type closedError struct {
	cause error
}

func (e *closedError) Error() string {
	if e.cause == nil {
		return "websocket: use of closed connection"
	}
	return "websocket: connection closed: " + e.cause.Error()
}

// Is makes every closedError match ErrClosed and net.ErrClosed.
func (e *closedError) Is(target error) bool {
	return target == ErrClosed || target == net.ErrClosed
}

func (e *closedError) Unwrap() error { return e.cause }

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

// checkMessageType reports an error unless typ is a data message type.
func checkMessageType(typ MessageType) error {
	if typ != TextMessage && typ != BinaryMessage {
		return fmt.Errorf("websocket: invalid message type %v", typ)
	}
	return nil
}

// checkCloseReason reports an error unless reason fits a close frame: valid
// UTF-8 of at most 123 bytes (RFC 6455 section 5.5.1).
func checkCloseReason(reason string) error {
	if len(reason) > maxControlPayload-2 || !utf8.ValidString(reason) {
		return errors.New("websocket: close reason must be valid UTF-8 of at most 123 bytes")
	}
	return nil
}

// errCloseTimeout is the result of a close handshake the peer did not
// finish within the close timeout.
var errCloseTimeout = errors.New("websocket: close handshake timed out: peer sent no close frame")

// normalizeURL checks a WebSocket URL, taking http and https as ws and
// wss (RFC 6455 section 3), and rewrites its scheme to ws or wss.
func normalizeURL(u *url.URL) error {
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "ws"
	case "wss", "https":
		u.Scheme = "wss"
	default:
		return fmt.Errorf("websocket: bad URL scheme %q: want ws or wss", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("websocket: URL has no host")
	}
	if u.User != nil {
		return errors.New("websocket: URL with user info is not supported: send credentials in a header, a cookie or the query")
	}
	return nil
}
