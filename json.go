package websocket

import (
	"encoding/json"
	"fmt"
	"io"
)

// ReadJSON reads the next data message, text or binary, and decodes it
// as one JSON value into v, as json.Unmarshal would.
//
// The payload is decoded as it streams in through NextReader; it is not
// first read into a slice of its own (though encoding/json buffers a
// value while it parses it, so the read limit still bounds the memory).
//
// An error from the connection, including the *CloseError reporting that
// the peer closed it, is returned unchanged, so CloseStatus works on it;
// such an error is final. A message that is not valid JSON, is empty,
// holds more than one value or does not fit v gives the decoding error
// (a *json.SyntaxError, *json.UnmarshalTypeError, io.ErrUnexpectedEOF or
// an error naming the extra data), and the rest of the message is
// discarded: the Conn stays usable and the next ReadJSON reads the next
// message.
//
// ReadJSON must not be called at the same time as other reads.
func (c *Conn) ReadJSON(v any) error {
	_, r, err := c.NextReader()
	if err != nil {
		return err
	}
	er := errRecorder{r: r}
	dec := json.NewDecoder(&er)
	derr := dec.Decode(v)
	if er.err != nil {
		// The connection failed in the middle of the message.
		return er.err
	}
	if derr == io.EOF {
		derr = io.ErrUnexpectedEOF // an empty message
	}
	if derr == nil {
		// Like json.Unmarshal, allow only white space after the value.
		derr = checkTrailing(dec.Buffered(), dec.InputOffset())
		if derr == nil {
			derr = checkTrailing(&er, -1)
		}
	}
	// Read the message to its end, so that a broken message fails here
	// and a good one lets its buffer go back to the pool.
	if _, err := io.Copy(io.Discard, &er); err != nil {
		return err
	}
	return derr
}

// errRecorder passes reads through, remembering a read error other than
// io.EOF: one from the connection rather than from decoding.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// checkTrailing reads r to its end and reports data other than JSON white
// space. offset is the position of r's start in the message, -1 if unknown.
func checkTrailing(r io.Reader, offset int64) error {
	var buf [512]byte
	for {
		n, err := r.Read(buf[:])
		for i, b := range buf[:n] {
			switch b {
			case ' ', '\t', '\r', '\n':
				continue
			}
			if offset >= 0 {
				return fmt.Errorf("websocket: JSON message has data after its value, at offset %d", offset+int64(i))
			}
			return fmt.Errorf("websocket: JSON message has data after its value")
		}
		if offset >= 0 {
			offset += int64(n)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// WriteJSON encodes v with json.NewEncoder and sends the result as one text
// message, written through NextWriter, so a large value goes out in
// several frames without an extra copy. As with Encoder.Encode, the message
// ends with a newline. When v cannot be encoded, WriteJSON returns the
// encoding error and sends nothing.
//
// Like NextWriter, WriteJSON may be called from many goroutines at once;
// each message goes out whole.
func (c *Conn) WriteJSON(v any) error {
	lw := lazyWriter{c: c}
	err := json.NewEncoder(&lw).Encode(v)
	if lw.w == nil {
		// Nothing was written: either encoding failed or NextWriter did.
		if lw.err != nil {
			return lw.err
		}
		return err
	}
	cerr := lw.w.Close()
	if err != nil {
		return err
	}
	return cerr
}

// lazyWriter starts the text message at the first write, so that a value
// that fails to encode (json.Encoder writes nothing then) sends no empty
// message, and the message lock is held only while bytes go out.
type lazyWriter struct {
	c   *Conn
	w   io.WriteCloser
	err error
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if l.w == nil {
		if l.err != nil {
			return 0, l.err
		}
		w, err := l.c.NextWriter(TextMessage)
		if err != nil {
			l.err = err
			return 0, err
		}
		l.w = w
	}
	return l.w.Write(p)
}
