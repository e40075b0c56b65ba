package alsatest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPluginOpenErrors opens the PCM with plain alsa-lib (a small C
// program, so no miniaudio is involved) and checks the raw errnos.
func TestPluginOpenErrors(t *testing.T) {
	p := Build(t)
	prog := filepath.Join(t.TempDir(), "pcmopen")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "gcc", "-Wall", "-o", prog, "testdata/pcmopen.c", "-lasound").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	run := func() string {
		cmd := exec.CommandContext(ctx, prog, p.PCM)
		cmd.Env = append(os.Environ(), p.Env()...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pcmopen: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := run(); !strings.Contains(out, "open 0\n") || !strings.Contains(out, "read 4800\n") {
		t.Fatalf("healthy PCM:\n%s", out)
	}
	for _, tc := range []struct {
		set   func(bool) error
		errno syscall.Errno
	}{
		{p.SetBusy, syscall.EBUSY},
		{p.SetAbsent, syscall.ENOENT},
		{p.SetDenied, syscall.EACCES},
	} {
		if err := tc.set(true); err != nil {
			t.Fatal(err)
		}
		want := "open -" + strconv.Itoa(int(tc.errno)) + "\n"
		if out := run(); !strings.Contains(out, want) {
			t.Errorf("with %v set: got %q, want %q", tc.errno, out, want)
		}
		if err := tc.set(false); err != nil {
			t.Fatal(err)
		}
	}
	if out := run(); !strings.Contains(out, "open 0\n") {
		t.Fatalf("after clearing: %s", out)
	}
}

func TestEnvRoundTrip(t *testing.T) {
	p := Build(t)
	for _, kv := range p.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	q := FromEnv(t)
	if q.ConfigPath != p.ConfigPath || q.StateDir != p.StateDir || q.PCM != "voipdtest" {
		t.Fatalf("FromEnv = %+v, want %+v", q, p)
	}
	if err := q.SetBusy(true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(p.StateDir, "busy")); err != nil {
		t.Fatalf("SetBusy(true) through FromEnv: %v", err)
	}
	if err := q.SetBusy(false); err != nil {
		t.Fatal(err)
	}
	if err := q.SetBusy(false); err != nil { // idempotent
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(p.StateDir, "busy")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("SetBusy(false) left the file: %v", err)
	}
	cfg, err := os.ReadFile(p.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"</usr/share/alsa/alsa.conf>", "pcm_type.voipdtest", p.Library, "show on"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
}
