package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsstd/websocket/internal/peerenv"
)

// TestBrowserChat has two users, each in a page of headless Chromium, join
// a room through the page's form and talk: alice types a line and presses
// Enter, bob types a reply and clicks Send. Both screens must then show the
// conversation, with the senders, in order, and alice's also bob's
// arrival. The browsers are driven by testdata/peers/chat_browsers.js.
// Without Node, playwright-core or Chromium the test is skipped, or fails
// when $CI is set (install them with: bash .ci/install-peers.sh). With
// $CHAT_SCREENSHOT_DIR set, the two pages are saved there as PNG files.
func TestBrowserChat(t *testing.T) {
	peers, err := filepath.Abs(filepath.Join("..", "..", "testdata", "peers"))
	if err != nil {
		t.Fatal(err)
	}
	if off := peerenv.ChromiumOff(); off != "" {
		t.Skip("browser test turned off by " + off)
	}
	if err := chatPeersAvailable(peers); err != nil {
		msg := fmt.Sprintf("headless Chromium is not available (%v); install it with: bash .ci/install-peers.sh", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	_, wsBase, _ := startChat(t, config{})
	base := "http" + strings.TrimPrefix(wsBase, "ws")
	const (
		room      = "gophers" // not the page's default, so the Room field counts
		aliceSays = "hi bob — ça va? 👋"
		bobSays   = "hello alice & <b>all</b>" // shown as typed, not as HTML
	)

	// Chromium's profile and temporary files go to tmp, which then tells
	// its processes apart from any other Chromium's.
	tmp := t.TempDir()
	env := append(os.Environ(), "TMPDIR="+tmp)
	if dir := os.Getenv("CHAT_SCREENSHOT_DIR"); dir != "" {
		// The script runs in testdata/peers: pass the directory as seen
		// from here.
		abs, err := filepath.Abs(dir)
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, "CHAT_SCREENSHOT_DIR="+abs)
		t.Logf("screenshots: %s", filepath.Join(abs, "chat-{alice,bob}.png"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, peerenv.NodePath(), "chat_browsers.js", base,
		"--timeout=20000", "--room="+room, "--alice-says="+aliceSays, "--bob-says="+bobSays)
	cmd.Dir = peers
	cmd.Env = env
	// On timeout, SIGTERM lets playwright close Chromium and the script
	// report how far it got; SIGKILL follows if it does not exit.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	runErr := cmd.Run()
	elapsed := time.Since(start)
	defer checkNoneLeft(t, tmp)

	var res struct {
		Alice  string           `json:"alice"`
		Bob    string           `json:"bob"`
		OK     bool             `json:"ok"`
		Errors []string         `json:"errors"`
		MS     map[string]int64 `json:"ms"`
	}
	out := bytes.TrimSpace(stdout.Bytes())
	if i := bytes.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	}
	if err := json.Unmarshal(out, &res); err != nil || runErr != nil || !res.OK {
		t.Fatalf("chat_browsers.js after %v: %v (ctx: %v); output %q: %v\nstderr:\n%s",
			elapsed.Round(time.Millisecond), runErr, ctx.Err(), out, err, stderr.Bytes())
	}
	t.Logf("chat_browsers.js took %v; steps (ms): %v", elapsed.Round(time.Millisecond), res.MS)
	t.Logf("alice's screen:\n%s", res.Alice)
	t.Logf("bob's screen:\n%s", res.Bob)

	check := func(who, screen string, want []string) {
		t.Helper()
		var got []string
		for _, l := range strings.Split(screen, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				got = append(got, l)
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s's screen shows:\n\t%s\nwant:\n\t%s", who, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
	}
	check("alice", res.Alice, []string{
		"alice joined " + room,
		"bob joined " + room,
		"alice: " + aliceSays,
		"bob: " + bobSays,
	})
	check("bob", res.Bob, []string{
		"bob joined " + room,
		"alice: " + aliceSays,
		"bob: " + bobSays,
	})
}

// chatPeersAvailable reports why the browser test cannot run here, if it
// cannot.
func chatPeersAvailable(peers string) error {
	if _, err := os.Stat(peerenv.ChromiumPath()); err != nil {
		return err
	}
	if _, err := exec.LookPath(peerenv.NodePath()); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, peerenv.NodePath(), "-e", `require("playwright-core")`)
	cmd.Dir = peers
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("node cannot load playwright-core from %s: %v: %s", peers, err, bytes.TrimSpace(out))
	}
	return nil
}

// checkNoneLeft fails the test if any process still mentions dir (the
// browser's TMPDIR) in its command line a few seconds after the script
// ended, and kills those processes. It needs /proc; elsewhere it does
// nothing.
func checkNoneLeft(t *testing.T, dir string) {
	t.Helper()
	var pids []int
	start := time.Now()
	for deadline := start.Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		pids = processesMentioning(dir + string(filepath.Separator))
		if len(pids) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(pids) == 0 {
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Logf("Chromium's last processes exited %v after the script", d.Round(time.Millisecond))
		}
		return
	}
	for _, pid := range pids {
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
		}
	}
	t.Errorf("Chromium processes left behind (killed): %v", pids)
}

func processesMentioning(s string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
