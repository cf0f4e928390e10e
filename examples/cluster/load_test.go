package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLoadSmoke runs cmd/load briefly (2 processes x 100 connections in 5
// rooms for 1 s), so that the load program keeps working; the real run is
// described in README.md. Every message must reach every member.
func TestLoadSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the load smoke run")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, loadBinary, "-bin", binary,
		"-procs", "2", "-conns", "100", "-rooms", "5", "-rate", "50", "-duration", "1s")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("cmd/load: %v", err)
	}
	if !strings.Contains(string(out), "result: ok=true") {
		t.Fatal("cmd/load: not every message reached every member")
	}
}
