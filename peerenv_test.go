//go:build !js

package websocket

// Where the interop peers live, and how to turn them off. Every peer can be
// located or disabled through the environment:
//
//	WSSTD_PEERS=off          skip every test that needs an outside peer
//	WSSTD_NODE=/path/node    Node.js (ws, playwright-core in testdata/peers)
//	WSSTD_PYTHON=/path/py    a Python 3 with the websockets package
//	WSSTD_CHROMIUM=/path     Chromium, driven through playwright-core
//	WSSTD_FIREFOX=/path      Firefox (ESR), started headless
//	WSSTD_WEBKIT=/path       WebKitGTK's MiniBrowser, started under Xvfb
//	WSSTD_XVFB=/path         the Xvfb server MiniBrowser needs
//
// Any of them set to "off" skips that peer's tests, even under $CI. A peer
// that is missing skips its tests with one line saying how to install it,
// or fails them when $CI is set.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The browsers besides Chromium (browsers_test.go).
const (
	peerFirefox = "firefox"
	peerWebKit  = "webkit"
)

// peerEnv names the variable that locates or disables each peer.
var peerEnv = map[string]string{
	peerNode:     "WSSTD_NODE",
	peerPython:   "WSSTD_PYTHON",
	peerChromium: "WSSTD_CHROMIUM",
	peerFirefox:  "WSSTD_FIREFOX",
	peerWebKit:   "WSSTD_WEBKIT",
}

// errPeerOff marks a peer turned off through the environment.
type errPeerOff string

func (e errPeerOff) Error() string { return string(e) + "=off" }

// peerOff reports whether the environment turns what off, and how.
func peerOff(what string) error {
	if strings.EqualFold(os.Getenv("WSSTD_PEERS"), "off") {
		return errPeerOff("WSSTD_PEERS")
	}
	if v := peerEnv[what]; v != "" && strings.EqualFold(os.Getenv(v), "off") {
		return errPeerOff(v)
	}
	return nil
}

// peerPath returns $env when it is set (and not "off"), else def.
func peerPath(env, def string) string {
	if v := os.Getenv(env); v != "" && !strings.EqualFold(v, "off") {
		return v
	}
	return def
}

func nodeBin() string   { return peerPath("WSSTD_NODE", "node") }
func pythonBin() string { return peerPath("WSSTD_PYTHON", "/usr/bin/python3") }
func chromiumBin() string {
	return peerPath("WSSTD_CHROMIUM", peerPath("CHROMIUM", "/usr/bin/chromium"))
}
func firefoxBin() string { return peerPath("WSSTD_FIREFOX", "/usr/bin/firefox-esr") }
func xvfbBin() string    { return peerPath("WSSTD_XVFB", "/usr/bin/Xvfb") }

// webkitBin returns MiniBrowser's path: Debian installs it under the
// multiarch library directory of libwebkit2gtk-4.1-0 (or 4.0).
func webkitBin() string {
	if v := peerPath("WSSTD_WEBKIT", ""); v != "" {
		return v
	}
	for _, pattern := range []string{"/usr/lib/*/webkit2gtk-4.1/MiniBrowser", "/usr/lib/*/webkit2gtk-4.0/MiniBrowser", "/usr/libexec/webkit2gtk-4.*/MiniBrowser"} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return m[0]
		}
	}
	return "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
}

// peerArgv resolves the interpreter of a peer command line: the scripts'
// argv say "node" or "/usr/bin/python3", which WSSTD_NODE and WSSTD_PYTHON
// replace.
func peerArgv(argv []string) []string {
	if len(argv) == 0 {
		return argv
	}
	out := append([]string(nil), argv...)
	switch out[0] {
	case "node":
		out[0] = nodeBin()
	case "/usr/bin/python3", "python3":
		out[0] = pythonBin()
	}
	return out
}

func init() {
	// The Node scripts (chromium.js) read CHROMIUM; child processes of
	// this test binary inherit it.
	if v := peerPath("WSSTD_CHROMIUM", ""); v != "" {
		os.Setenv("CHROMIUM", v)
	}
}

// skippedPeers collects, per peer, why its tests were skipped, so that the
// test binary can say it once at the end instead of once per test.
var skippedPeers sync.Map // what -> reason

// skipPeer skips t because what is unavailable, with one short line: the
// first skip of a peer gives the whole reason, later ones refer to it.
func skipPeer(t testing.TB, what, msg string) {
	t.Helper()
	if _, loaded := skippedPeers.LoadOrStore(what, msg); loaded {
		t.Skipf("peer %q unavailable (reason given in its first skip)", what)
	}
	t.Skip(msg)
}

// peerSkipSummary returns one line per peer whose tests were skipped.
func peerSkipSummary() []string {
	var lines []string
	skippedPeers.Range(func(k, v any) bool {
		lines = append(lines, fmt.Sprintf("skipped tests of peer %q: %s", k, v))
		return true
	})
	sort.Strings(lines)
	return lines
}

func TestMain(m *testing.M) {
	code := m.Run()
	// go test prints a passing package's output only with -v or when run
	// on the current directory; there this says what was not covered.
	for _, l := range peerSkipSummary() {
		fmt.Fprintln(os.Stderr, "websocket: "+l)
	}
	os.Exit(code)
}

// checkBrowserPeer tells whether Firefox or WebKit can run here.
func checkBrowserPeer(what string) error {
	var bins []string
	switch what {
	case peerFirefox:
		bins = []string{firefoxBin()}
	case peerWebKit:
		bins = []string{webkitBin(), xvfbBin()}
	default:
		return fmt.Errorf("unknown browser %q", what)
	}
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			return err
		}
	}
	return nil
}
