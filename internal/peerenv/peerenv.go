// Package peerenv reads the environment variables with which the examples'
// tests find their real peers, as the root package's tests do:
// WSSTD_PEERS=off or WSSTD_CHROMIUM=off (or WSSTD_NODE=off) skip a browser
// test, even in CI; WSSTD_CHROMIUM and WSSTD_NODE locate Chromium and Node.
package peerenv

import (
	"os"
	"strings"
)

// ChromiumOff names the variable that turns the browser tests off, as
// "NAME=off", or returns "".
func ChromiumOff() string {
	for _, v := range []string{"WSSTD_PEERS", "WSSTD_CHROMIUM", "WSSTD_NODE"} {
		if strings.EqualFold(os.Getenv(v), "off") {
			return v + "=off"
		}
	}
	return ""
}

// ChromiumPath is the Chromium binary to start: $WSSTD_CHROMIUM, else
// $CHROMIUM, else Debian's /usr/bin/chromium.
func ChromiumPath() string {
	for _, v := range []string{"WSSTD_CHROMIUM", "CHROMIUM"} {
		if p := os.Getenv(v); p != "" {
			return p
		}
	}
	return "/usr/bin/chromium"
}

// NodePath is the Node binary to start: $WSSTD_NODE, else node on PATH.
func NodePath() string {
	if p := os.Getenv("WSSTD_NODE"); p != "" {
		return p
	}
	return "node"
}
