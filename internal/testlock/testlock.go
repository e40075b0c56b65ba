// Package testlock keeps apart, on one machine, the tests that must not
// overlap: the ARM emulation test (qemu and two cross-builds saturate both
// cores for minutes), the packages' build and install test (two cgo
// builds, xz and lintian), and the real-time audio measurements over
// PulseAudio (an echo canceller's figures need its audio on time). Each takes the
// machine-wide lock for its whole run; the others wait. It holds across
// test binaries and across two make test runs side by side, since the lock
// is a file in the system's temporary directory.
package testlock

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Heavy holds the machine-wide lock until t ends, waiting for it first.
func Heavy(t testing.TB) {
	t.Helper()
	path := filepath.Join(os.TempDir(), "voipd-heavy-tests.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("testlock: %v", err)
	}
	start := time.Now()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("testlock: flock %s: %v", path, err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Logf("testlock: waited %v for the other heavy test on this machine", waited.Round(time.Second))
	}
	t.Cleanup(func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}
