package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsstd/websocket"
)

// testServer serves, with our Upgrader:
//
//	/echo  every message back, same type
//	/info  first a text message "token=<X-Token header> protocol=<subprotocol>", then echo
//	/bye   "bye now", then a close with 4000 "done here"
func testServer(t *testing.T, tlsServer bool) string {
	t.Helper()
	echo := func(c *websocket.Conn) {
		for {
			typ, r, err := c.NextReader()
			if err != nil {
				return
			}
			w, err := c.NextWriter(typ)
			if err != nil {
				return
			}
			io.Copy(w, r)
			if w.Close() != nil {
				return
			}
		}
	}
	protocols := []string{"superchat", "chat"}
	mux := http.NewServeMux()
	mux.Handle("/echo", &websocket.Upgrader{Subprotocols: protocols, Handler: echo})
	mux.Handle("/info", &websocket.Upgrader{Subprotocols: protocols, Handler: func(c *websocket.Conn) {
		info := fmt.Sprintf("token=%s protocol=%s", c.Request().Header.Get("X-Token"), c.Subprotocol())
		if c.WriteMessage(websocket.TextMessage, []byte(info)) == nil {
			echo(c)
		}
	}})
	mux.Handle("/bye", &websocket.Upgrader{Handler: func(c *websocket.Conn) {
		c.WriteMessage(websocket.TextMessage, []byte("bye now"))
		c.CloseWithStatus(4000, "done here")
	}})
	var s *httptest.Server
	if tlsServer {
		s = httptest.NewUnstartedServer(mux)
		// Quiet the refused handshake of the test without -insecure.
		s.Config.ErrorLog = log.New(io.Discard, "", 0)
		s.StartTLS()
	} else {
		s = httptest.NewServer(mux)
	}
	t.Cleanup(s.Close)
	return "ws" + strings.TrimPrefix(s.URL, "http")
}

type result struct {
	code           int
	stdout, stderr string
}

// runClient runs the command in-process with stdin as input.
func runClient(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, stdin, &stdout, &stderr)
	if ctx.Err() != nil {
		t.Fatalf("client ran into the test's timeout; stderr:\n%s", stderr.String())
	}
	return result{code, stdout.String(), stderr.String()}
}

// syncBuffer is a bytes.Buffer that can be read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// step is one piece of input and the whole output expected after it.
type step struct{ in, out string }

// interact runs the command as a user at a terminal would: it types each
// step's input and waits for the output before going on, then ends the
// input.
func interact(t *testing.T, args []string, steps ...step) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, pr, &stdout, &stderr) }()
	for _, s := range steps {
		if s.in != "" {
			go pw.Write([]byte(s.in))
		}
		deadline := time.Now().Add(10 * time.Second)
		want := marked(s.out) // the output as received lines
		for stdout.String() != want {
			select {
			case code := <-done:
				t.Fatalf("client exited (%d) early; stdout %.300q, stderr %s", code, stdout.String(), stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("after input %.100q: stdout %.300q, want %.300q; stderr %s", s.in, stdout.String(), want, stderr.String())
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	pw.Close() // end of input
	select {
	case code := <-done:
		return result{code, stdout.String(), stderr.String()}
	case <-time.After(10 * time.Second):
		t.Fatalf("client did not exit at the end of input; stderr %s", stderr.String())
	}
	return result{}
}

func TestLinesEchoed(t *testing.T) {
	base := testServer(t, false)
	long := strings.Repeat("é", 100000) // 200 KB in one line
	r := interact(t, []string{base + "/echo"},
		step{"hello\n", "hello\n"},
		step{"world\r\n\n", "hello\nworld\n\n"},
		step{long + "\n", "hello\nworld\n\n" + long + "\n"},
	)
	want := "hello\nworld\n\n" + long + "\n"
	if r.code != 0 || r.stdout != marked(want) {
		t.Fatalf("exit %d, stdout %.200q, stderr %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "closed: 1000 (normal closure)") {
		t.Fatalf("stderr does not report the close: %s", r.stderr)
	}
}

// TestPipedInput is `printf 'a\nb\nc' | client URL`: the input ends
// before the echoes come back, and they must still be printed, the last
// line's too although it has no newline.
func TestPipedInput(t *testing.T) {
	base := testServer(t, false)
	r := runClient(t, strings.NewReader("a\nb\nc"), base+"/echo")
	if r.code != 0 || r.stdout != marked("a\nb\nc\n") {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	// Piped lines are not on the screen: what was sent is shown, marked.
	if !strings.Contains(r.stderr, sentMark+"a\n"+sentMark+"b\n"+sentMark+"c\n") {
		t.Errorf("stderr does not show the sent lines marked %q: %s", sentMark, r.stderr)
	}
}

func TestInvalidUTF8Skipped(t *testing.T) {
	base := testServer(t, false)
	r := interact(t, []string{base + "/echo"},
		step{"ok\n\xff\xfe\nstill ok\n", "ok\nstill ok\n"})
	if r.code != 0 || !strings.Contains(r.stderr, "line 2 is not valid UTF-8") {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
}

func TestBinary(t *testing.T) {
	base := testServer(t, false)
	out1 := "00000000  68 65 6c 6c 6f                                    |hello|\n" +
		"-- binary message, 5 bytes\n"
	out2 := out1 + "00000000  ff 00 62 69 6e 61 72 79                           |..binary|\n" +
		"-- binary message, 8 bytes\n"
	out3 := out2 + "-- binary message, 0 bytes\n"
	r := interact(t, []string{"-binary", base + "/echo"},
		step{"hello\n", out1}, step{"\xff\x00binary\n", out2}, step{"\n", out3})
	if r.code != 0 {
		t.Fatalf("exit %d, stderr: %s", r.code, r.stderr)
	}
}

func TestHeaderAndSubprotocol(t *testing.T) {
	base := testServer(t, false)
	r := interact(t, []string{
		"-H", "X-Token: s3cret value", "-H", "Origin: " + strings.Replace(base, "ws", "http", 1),
		"-subprotocol", "foo, chat", "-subprotocol", "other",
		base + "/info"},
		step{"", "token=s3cret value protocol=chat\n"},
		step{"ping\n", "token=s3cret value protocol=chat\nping\n"})
	if r.code != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, `subprotocol "chat"`) {
		t.Fatalf("stderr does not name the subprotocol: %s", r.stderr)
	}
	// Without a subprotocol the server picks none.
	r = interact(t, []string{base + "/info"}, step{"", "token= protocol=\n"})
	if r.code != 0 || strings.Contains(r.stderr, "subprotocol") {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
}

func TestServerCloses(t *testing.T) {
	base := testServer(t, false)
	// Input stays open: the client must notice the server's close anyway.
	pr, pw := io.Pipe()
	defer pw.Close()
	r := runClient(t, pr, base+"/bye")
	if r.stdout != marked("bye now\n") || !strings.Contains(r.stderr, `server closed the connection: 4000 "done here"`) {
		t.Fatalf("stdout %q, stderr %s", r.stdout, r.stderr)
	}
	if r.code != 1 {
		t.Fatalf("exit %d for close code 4000, want 1", r.code)
	}
}

func TestInterrupt(t *testing.T) {
	base := testServer(t, false)
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{base + "/echo"}, pr, &stdout, &stderr) }()
	go pw.Write([]byte("one\n"))
	// Interrupt once the echo is out: the client is then connected and
	// idle, the case under test.
	for deadline := time.Now().Add(10 * time.Second); stdout.String() != marked("one\n"); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no echo before the interrupt: stdout %q, stderr %s", stdout.String(), stderr.String())
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 || stdout.String() != marked("one\n") || !strings.Contains(stderr.String(), "closed: 1001 (going away)") {
			t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout.String(), stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("client did not stop on interrupt")
	}
}

func TestInsecure(t *testing.T) {
	base := testServer(t, true) // wss:// with httptest's self-signed certificate
	r := runClient(t, strings.NewReader("secure\n"), base+"/echo")
	if r.code != 1 || !strings.Contains(r.stderr, "certificate") {
		t.Fatalf("without -insecure: exit %d, stderr %s", r.code, r.stderr)
	}
	r = interact(t, []string{"-insecure", base + "/echo"}, step{"secure\n", "secure\n"})
	if r.code != 0 {
		t.Fatalf("with -insecure: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
}

func TestRefusedAndUsage(t *testing.T) {
	base := testServer(t, false)
	r := runClient(t, strings.NewReader(""), "-H", "Origin: http://evil.example", base+"/echo")
	if r.code != 1 || !strings.Contains(r.stderr, "403") || !strings.Contains(r.stderr, "not allowed") {
		t.Fatalf("refused origin: exit %d, stderr %s", r.code, r.stderr)
	}
	for _, args := range [][]string{
		{},
		{"-H", "no colon here", base + "/echo"},
		{base + "/echo", "extra"},
		{"-nosuchflag", base + "/echo"},
	} {
		if r := runClient(t, strings.NewReader(""), args...); r.code != 2 {
			t.Errorf("args %q: exit %d, want 2; stderr %s", args, r.code, r.stderr)
		}
	}
}

// marked returns s as the client prints received lines: each one after
// the mark "< ".
func marked(s string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = recvMark + l
		}
	}
	return strings.Join(lines, "")
}
