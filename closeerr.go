package websocket

import (
	"context"
	"errors"
	"net"
	"os"
)

// IsCloseError reports whether err carries the peer's close frame (a
// *CloseError) with one of codes; with no codes, any close frame counts.
// Like gorilla/websocket's function of the same name, it is false for a
// connection that ended without a close frame: see IsUnexpectedCloseError.
func IsCloseError(err error, codes ...StatusCode) bool {
	var ce *CloseError
	if !errors.As(err, &ce) {
		return false
	}
	return len(codes) == 0 || hasCode(codes, ce.Code)
}

// IsUnexpectedCloseError reports whether err, returned by a read, says that
// the peer ended the connection in a way not listed in expected:
//   - the peer's close frame (*CloseError) with a code not in expected;
//   - the connection lost without a close frame (the TCP connection ended
//     or was reset: browsers report this as 1006), unless
//     StatusAbnormalClosure is in expected.
//
// It is false for nil and for endings this side chose: a Conn closed here
// (ErrClosed), a connection this side failed (*ProtocolError, whose Code
// was sent to the peer), an expired deadline and a canceled context.
//
// gorilla/websocket reports a lost connection as a *CloseError with 1006;
// this package returns the read error itself (it wraps io.ErrUnexpectedEOF
// or the network error), and CloseStatus returns -1 for it.
func IsUnexpectedCloseError(err error, expected ...StatusCode) bool {
	if err == nil {
		return false
	}
	var ce *CloseError
	if errors.As(err, &ce) {
		return !hasCode(expected, ce.Code)
	}
	var pe *ProtocolError
	if errors.As(err, &pe) || errors.Is(err, ErrClosed) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return !hasCode(expected, StatusAbnormalClosure)
}

func hasCode(codes []StatusCode, code StatusCode) bool {
	for _, c := range codes {
		if c == code {
			return true
		}
	}
	return false
}
