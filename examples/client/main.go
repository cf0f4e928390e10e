// Command client is a small wscat: it connects to a WebSocket server, sends
// each line read from standard input as a message and prints the messages
// it receives.
//
//	go run ./examples/client ws://127.0.0.1:8080/ws
//	go run ./examples/client -subprotocol chat,superchat -H 'Origin: http://127.0.0.1:8080' ws://127.0.0.1:8080/ws
//	go run ./examples/client -insecure -binary wss://localhost:8443/ws < data.txt
//
// Flags come before the URL:
//
//	-binary           send each line as a binary message (default: text)
//	-subprotocol P    offer subprotocol P; repeat the flag or separate with commas
//	-H 'Name: value'  add a header to the handshake request; repeatable
//	-insecure         do not verify the server's TLS certificate (wss://)
//	-timeout D        bound the opening handshake (default 10s)
//
// Each line of input, without its line ending ("\n" or "\r\n"), is one
// message; an empty line sends an empty message. In text mode a line that
// is not valid UTF-8 is skipped with a warning. At the end of input the
// client closes the connection with 1000 (normal closure) and waits for
// the server's answer; on an interrupt it closes with 1001 (going away).
//
// Output: standard output carries only received messages, every line of
// them marked "< " so that they stand apart from what you type. A text
// message is printed as it is, followed by a newline. A binary message is
// printed as a hex dump (the format of hex.Dump: offset, 16 bytes in hex,
// the same bytes as ASCII) followed by the line "-- binary message, N
// bytes". When the input is not a terminal, each line sent is also shown,
// marked "> ", on standard error.
// Diagnostics go to standard error: the negotiated subprotocol on
// connecting and, at the end, the close code and reason, for example
// "server closed the connection: 4000 \"done\"" or "closed: 1000 (normal
// closure)" after a close that this side started.
//
// The exit status is 0 when the connection ended with a close handshake
// with code 1000 or 1001, 1 when it ended otherwise (another code, a
// failure, a refused handshake) and 2 for bad usage.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/wsstd/websocket"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// listFlag collects repeated, comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// headerFlag collects repeated "Name: value" headers.
type headerFlag struct{ h http.Header }

func (f *headerFlag) String() string { return "" }
func (f *headerFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return fmt.Errorf("want 'Name: value', got %q", s)
	}
	if f.h == nil {
		f.h = http.Header{}
	}
	f.h.Add(name, strings.TrimSpace(value))
	return nil
}

// run is the whole command, with its environment passed in so that tests
// can run it in-process. It returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binary := fs.Bool("binary", false, "send each line as a binary message instead of text")
	insecure := fs.Bool("insecure", false, "do not verify the server's TLS certificate (wss:// with a self-signed certificate)")
	timeout := fs.Duration("timeout", 10*time.Second, "bound on the opening handshake")
	var protocols listFlag
	fs.Var(&protocols, "subprotocol", "subprotocol to offer; repeat the flag or separate with commas")
	var headers headerFlag
	fs.Var(&headers, "H", "header 'Name: value' for the handshake request; repeatable")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: client [flags] ws://host[:port]/path")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	url := fs.Arg(0)

	d := websocket.Dialer{Subprotocols: protocols, HandshakeTimeout: *timeout}
	if *insecure {
		d.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	c, resp, err := d.Dial(ctx, url, headers.h)
	if err != nil {
		fmt.Fprintf(stderr, "client: %v\n", err)
		var he *websocket.HandshakeError
		if errors.As(err, &he) && resp != nil {
			if body, _ := io.ReadAll(resp.Body); len(body) > 0 {
				fmt.Fprintf(stderr, "client: server said: %s\n", strings.TrimSpace(string(body)))
			}
		}
		return 1
	}
	defer c.CloseNow()
	if p := c.Subprotocol(); p != "" {
		fmt.Fprintf(stderr, "connected to %s, subprotocol %q\n", url, p)
	} else {
		fmt.Fprintf(stderr, "connected to %s\n", url)
	}

	// The reader prints messages until the connection ends.
	readDone := make(chan error, 1)
	go func() { readDone <- printMessages(c, stdout) }()

	// stdin is read on its own goroutine: a read from it cannot be
	// interrupted when the server ends the connection first.
	quit := make(chan struct{})
	defer close(quit)
	lines := make(chan []byte)
	stdinErr := make(chan error, 1)
	go readLines(stdin, lines, stdinErr, quit)

	var closing atomic.Bool // this side started the close handshake
	closeAndWait := func(code websocket.StatusCode) int {
		closing.Store(true)
		if err := c.CloseWithStatus(code, ""); err != nil && !errors.Is(err, websocket.ErrClosed) {
			fmt.Fprintf(stderr, "client: close: %v\n", err)
		}
		return report(<-readDone, true, stderr)
	}

	echoSent := !isTerminal(stdin)
	n := 0
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				if err := <-stdinErr; err != nil {
					fmt.Fprintf(stderr, "client: reading input: %v\n", err)
				}
				return closeAndWait(websocket.StatusNormalClosure)
			}
			n++
			typ := websocket.TextMessage
			if *binary {
				typ = websocket.BinaryMessage
			} else if !utf8.Valid(line) {
				fmt.Fprintf(stderr, "client: line %d is not valid UTF-8, not sent (use -binary)\n", n)
				continue
			}
			if echoSent {
				// Typed lines are on the screen already; piped ones are
				// not, so say what went out.
				fmt.Fprintf(stderr, "%s%s\n", sentMark, line)
			}
			if err := c.WriteMessage(typ, line); err != nil {
				// The connection is ending; the reader says why.
				select {
				case rerr := <-readDone:
					return report(rerr, closing.Load(), stderr)
				case <-time.After(websocket.DefaultCloseTimeout):
					fmt.Fprintf(stderr, "client: send: %v\n", err)
					return 1
				}
			}
		case err := <-readDone:
			return report(err, closing.Load(), stderr)
		case <-ctx.Done():
			return closeAndWait(websocket.StatusGoingAway)
		}
	}
}

// readLines sends each line of r, without its line ending, on lines, and
// closes lines at the end of input, after putting the read error (nil at
// io.EOF) on errc. It gives up when quit is closed.
func readLines(r io.Reader, lines chan<- []byte, errc chan<- error, quit <-chan struct{}) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			line = trimEOL(line)
			select {
			case lines <- line:
			case <-quit:
				return
			}
		}
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			errc <- err
			close(lines)
			return
		}
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// printMessages writes every message received to w until the connection
// ends, and returns the error that ended it. Every line it prints starts
// with "< ", so that received lines stand apart from typed ones.
func printMessages(c *websocket.Conn, w io.Writer) error {
	bw := bufio.NewWriter(&linePrefixer{w: w, prefix: []byte(recvMark), atStart: true})
	for {
		typ, r, err := c.NextReader()
		if err != nil {
			return err
		}
		switch typ {
		case websocket.TextMessage:
			_, err = io.Copy(bw, r)
			if err == nil {
				err = bw.WriteByte('\n')
			}
		default:
			d := hex.Dumper(bw)
			var n int64
			n, err = io.Copy(d, r)
			d.Close()
			if err == nil {
				_, err = fmt.Fprintf(bw, "-- binary message, %d bytes\n", n)
			}
		}
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
		if err != nil {
			return err
		}
	}
}

// report prints how the connection ended and returns the exit status.
func report(err error, weClosed bool, stderr io.Writer) int {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		fmt.Fprintf(stderr, "client: connection ended: %v\n", err)
		return 1
	}
	how := "server closed the connection"
	if weClosed {
		how = "closed"
	}
	if ce.Reason != "" {
		fmt.Fprintf(stderr, "%s: %v %q\n", how, ce.Code, ce.Reason)
	} else {
		fmt.Fprintf(stderr, "%s: %v\n", how, ce.Code)
	}
	if ce.Code == websocket.StatusNormalClosure || ce.Code == websocket.StatusGoingAway {
		return 0
	}
	return 1
}

// The marks of received and sent lines.
const (
	recvMark = "< "
	sentMark = "> "
)

// linePrefixer writes prefix at the start of every line written through it.
type linePrefixer struct {
	w       io.Writer
	prefix  []byte
	atStart bool
}

func (l *linePrefixer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if l.atStart {
			if _, err := l.w.Write(l.prefix); err != nil {
				return n, err
			}
			l.atStart = false
		}
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk, l.atStart = p[:i+1], true
		}
		m, err := l.w.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		p = p[len(chunk):]
	}
	return n, nil
}

// isTerminal reports whether r is a character device (a terminal).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
