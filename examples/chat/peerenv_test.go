package main

import (
	"os"
	"strings"
)

// The peers' environment, as in the root package's peerenv_test.go:
// WSSTD_PEERS=off or WSSTD_CHROMIUM=off skip the browser test (even in CI),
// WSSTD_CHROMIUM and WSSTD_NODE locate Chromium and Node.

// chromiumOff names the variable that turns the browser test off, or "".
func chromiumOff() string {
	for _, v := range []string{"WSSTD_PEERS", "WSSTD_CHROMIUM", "WSSTD_NODE"} {
		if strings.EqualFold(os.Getenv(v), "off") {
			return v + "=off"
		}
	}
	return ""
}

func chromiumPath() string {
	for _, v := range []string{"WSSTD_CHROMIUM", "CHROMIUM"} {
		if p := os.Getenv(v); p != "" {
			return p
		}
	}
	return "/usr/bin/chromium"
}

func nodePath() string {
	if p := os.Getenv("WSSTD_NODE"); p != "" {
		return p
	}
	return "node"
}
