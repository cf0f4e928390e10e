//go:build !js

package websocket

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHandshakeHeaderLimit pins down what the README says of large
// handshakes: net/http, not this package, bounds the request's headers, at
// MaxHeaderBytes plus 4 KiB of slack (1 MiB + 4 KiB by default). A request
// whose headers fit is upgraded, even at 1 MiB; one past the slack gets
// 431 before any of our code runs.
func TestHandshakeHeaderLimit(t *testing.T) {
	u := &Upgrader{Handler: func(c *Conn) { c.ReadMessage() }}
	_, addr := serveLoopback(t, u)
	for _, tc := range []struct {
		headerBytes int // total size of the request's header block
		want        int
	}{
		{1 << 20, http.StatusSwitchingProtocols},
		{1<<20 + 3<<10, http.StatusSwitchingProtocols},
		{1<<20 + 5<<10, http.StatusRequestHeaderFieldsTooLarge},
		{2 << 20, http.StatusRequestHeaderFieldsTooLarge},
	} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		req := handshakeRequest(addr)
		req = req[:len(req)-2] // without the blank line
		pad := tc.headerBytes - len(req) - len("X-Pad: \r\n\r\n")
		req += "X-Pad: " + strings.Repeat("a", pad) + "\r\n\r\n"
		if len(req) != tc.headerBytes {
			t.Fatalf("built %d bytes, want %d", len(req), tc.headerBytes)
		}
		go io.WriteString(nc, req) // a refused request is not read whole
		resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
		nc.Close()
		if err != nil {
			t.Fatalf("%d bytes of headers: %v", tc.headerBytes, err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("%s of headers: status %d, want %d", fmt.Sprintf("%d bytes", tc.headerBytes), resp.StatusCode, tc.want)
		}
	}
}
