//go:build linux

// Timer slack is Linux's (prctl's PR_SET_TIMERSLACK): macOS has none.

package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/internal/timerslack"
)

// prSetTimerSlack is prctl's PR_SET_TIMERSLACK.
const prSetTimerSlack = 29

// setThreadSlack sets the calling thread's timer slack (the caller holds
// its thread).
func setThreadSlack(t *testing.T, d time.Duration) {
	t.Helper()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, uintptr(d), 0); errno != 0 {
		t.Fatal(errno)
	}
}

// runtime.timerSlack, as the process runs it: the default from the first
// instruction; another value by executing voipd again, still the process
// the test started; 0 the slack voipd was started with. status says which.
func TestTimerSlack(t *testing.T) {
	if d := time.Duration(config.Default().Runtime.TimerSlack); d != timerslack.Default {
		t.Fatalf("runtime.timerSlack defaults to %v, the constructor to %v: keep them one", d, timerslack.Default)
	}
	const audio = "[audio]\nbackend = \"null\"\ncapture = \"tone:440\"\nplayback = \"null\"\n"
	// The test starts each voipd from a thread whose slack is 3 ms, which
	// the child inherits (the runtime forks from the calling thread).
	start := func(runtimeKeys string) (p *proc, slack float64, execed bool) {
		t.Helper()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		setThreadSlack(t, 3*time.Millisecond)
		p = startProc(t, audio+"[runtime]\n"+runtimeKeys, nil)
		setThreadSlack(t, timerslack.Default)
		c := dialCtl(t, p.socket)
		slack = c.mustOK("status", nil)["runtime"].(map[string]any)["timerSlackNs"].(float64)
		// The process the test started (its pid), executed again when the
		// environment it was last given names the slack.
		env, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/environ")
		if err != nil {
			t.Fatal(err)
		}
		return p, slack, strings.Contains(string(env), timerslack.EnvVar+"=")
	}
	for _, c := range []struct {
		keys string
		want time.Duration
	}{
		{"", timerslack.Default},
		{"timerSlack = \"2ms\"\n", 2 * time.Millisecond},
		{"timerSlack = \"0s\"\n", 3 * time.Millisecond},
		{"timerSlack = \"1ms\"\n", time.Millisecond},
	} {
		p, got, execed := start(c.keys)
		if time.Duration(got) != c.want {
			t.Errorf("[runtime] %q: status.runtime.timerSlackNs = %v, want %d", strings.TrimSpace(c.keys), got, c.want)
		}
		// Only a value the constructor did not set costs an exec.
		if want := c.want != timerslack.Default; execed != want {
			t.Errorf("[runtime] %q: executed again %v, want %v", strings.TrimSpace(c.keys), execed, want)
		}
		if out := p.out.String(); strings.Contains(out, "warning") {
			t.Errorf("[runtime] %q: voipd warned: %s", strings.TrimSpace(c.keys), out)
		}
		p.term(10 * time.Second)
	}
}
