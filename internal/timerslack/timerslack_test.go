//go:build linux && cgo

package timerslack

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childEnv marks this test binary run as the child of TestEnvVar.
const childEnv = "TIMERSLACK_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		// The child reports what its constructor did, from a fresh thread.
		var out string
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			out = EnvValue(Current()) + " " + EnvValue(Inherited())
			if err := Err(); err != nil {
				out += " " + err.Error()
			}
			close(done)
		}()
		<-done
		os.Stdout.WriteString(out)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestDefaultIsTheConstructors(t *testing.T) {
	if time.Duration(cDefault) != Default {
		t.Fatalf("the C constructor's default is %d ns, Default %v", cDefault, Default)
	}
}

// Every thread has the slack, the runtime's own first (sysmon is
// invisible to Go code, but was made as these were: inheriting from the
// main thread or from a thread that did).
func TestEveryThreadInherits(t *testing.T) {
	if err := Err(); err != nil {
		t.Fatal(err)
	}
	want := Default
	if v := os.Getenv(EnvVar); v != "" {
		t.Fatalf("%s=%s in the test's environment: unset it", EnvVar, v)
	}
	// Holding 16 goroutines on their own threads at once makes the runtime
	// create threads, from threads it made before.
	const n = 16
	var wg sync.WaitGroup
	release := make(chan struct{})
	got := make([]time.Duration, n)
	tids := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			got[i], tids[i] = Current(), syscall.Gettid()
			wg.Done()
			<-release
		}()
	}
	wg.Wait()
	close(release)
	seen := map[int]bool{}
	for i, d := range got {
		seen[tids[i]] = true
		if d != want {
			t.Errorf("thread %d: slack %v, want %v", tids[i], d, want)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct threads, want %d", len(seen), n)
	}
}

// EnvVar is what the constructor sets instead of Default; a value that is
// not a whole number of nanoseconds above 0 sets nothing and says so.
func TestEnvVar(t *testing.T) {
	run := func(v string) []string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=1", EnvVar+"="+v)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s=%s: %v: %s", EnvVar, v, err, out.String())
		}
		return strings.SplitN(out.String(), " ", 3)
	}
	if f := run("2500000"); len(f) != 2 || f[0] != "2500000" {
		t.Errorf("%s=2500000: child says %q, want its slack 2500000 and no error", EnvVar, f)
	}
	// This process's threads have Default: the child inherits it and, with
	// a bad value, keeps it.
	for _, bad := range []string{"0", "-5", "1ms", "12x"} {
		f := run(bad)
		if len(f) != 3 || f[0] != EnvValue(Default) || f[1] != EnvValue(Default) || !strings.Contains(f[2], EnvVar) {
			t.Errorf("%s=%s: child says %q, want the inherited %v kept and an error naming %s", EnvVar, bad, f, Default, EnvVar)
		}
	}
}

func TestPlan(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name                             string
		want, current, inherited, passed time.Duration
		target                           time.Duration
		reexec                           bool
	}{
		{"the default, set by the constructor", ms, ms, 50 * time.Microsecond, 0, ms, false},
		{"another value", 2 * ms, ms, 50 * time.Microsecond, 0, 2 * ms, true},
		{"0: the inherited slack back", 0, ms, 50 * time.Microsecond, 0, 50 * time.Microsecond, true},
		{"0, inherited what the constructor sets", 0, ms, ms, 0, ms, false},
		{"executed again, reached", 2 * ms, 2 * ms, ms, 2 * ms, 2 * ms, false},
		{"executed again for 0: inherited is the image before's", 0, 3 * ms, ms, 3 * ms, 3 * ms, false},
		{"executed again, refused: no loop", 2 * ms, ms, ms, 2 * ms, 2 * ms, false},
		{"nothing to read (not Linux)", ms, 0, 0, 0, ms, false},
	} {
		target, reexec := Plan(c.want, c.current, c.inherited, c.passed)
		if target != c.target || reexec != c.reexec {
			t.Errorf("%s: Plan = %v, %v; want %v, %v", c.name, target, reexec, c.target, c.reexec)
		}
	}
	for v, want := range map[string]time.Duration{"": 0, "2000000": 2 * ms, "0": 0, "-1": 0, "1ms": 0, "7 ": 0} {
		if got := Passed(v); got != want {
			t.Errorf("Passed(%q) = %v, want %v", v, got, want)
		}
	}
}
