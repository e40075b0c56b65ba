package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// floodSummary is ctlload's output (internal/ctlload).
type floodSummary struct {
	Connections, Refused, LineTimeout, Requests uint64
	Calls, Answered                             int
	Failures                                    []string
	P50Ms, P99Ms, MaxMs                         float64
}

// ctlload runs internal/ctlload as uid (primary group nogroup, which owns
// the test's socket) with args, and returns its summary.
func ctlload(t *testing.T, uid uint32, args ...string) <-chan floodSummary {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "ctlload"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: nogroup}}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan floodSummary, 1)
	go func() {
		var s floodSummary
		if err := cmd.Wait(); err != nil {
			t.Errorf("ctlload %v as uid %d: %v\n%s", args, uid, err, errOut.String())
		} else if err := json.Unmarshal(out.Bytes(), &s); err != nil {
			t.Errorf("ctlload's summary %q: %v", out.String(), err)
		}
		done <- s
	}()
	return done
}

const nogroup = 65534 // Debian's nogroup and nobody

// TestControlSocketUnderFlood (issue 16): one user (nobody) floods the
// control socket — 200 connections that send nothing, 200 that drip a
// line a byte every 500 ms, 200 that send requests as fast as the daemon
// takes them, each reconnecting as soon as it is closed or refused —
// while other users call status every 100 ms, on one connection (a kiosk
// UI) and each on a new one (voipctl). Every call of the others is answered (its latency is
// logged: the goal is a p99 within 100 ms); the flood is held to its
// user's share, its idle and dripping connections are closed by the
// timeouts, the refusals are logged a line per 10 s, not one each; and
// once the flood ends, the daemon's descriptors and goroutines are back
// where they were.
func TestControlSocketUnderFlood(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("this test connects as two other users and must run as root (CI does)")
	}
	p := startProc(t, `
[room]
url = "ws://127.0.0.1:9/ws"
[audio]
backend = "null"
capture = "tone:440"
playback = "null"
[control]
group = "nogroup"
lineTimeout = "2s"
idleTimeout = "3s"
`, nil)
	if err := os.Chmod(p.dir, 0o711); err != nil { // the other users reach the socket
		t.Fatal(err)
	}
	fds := func() int {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	goroutines := func() int {
		c := dialCtl(t, p.socket)
		defer c.conn.Close()
		return int(c.mustOK("status", nil)["runtime"].(map[string]any)["goroutines"].(float64))
	}
	fd0, g0 := fds(), goroutines()

	const dur = "10s"
	flood := ctlload(t, 65534, "-socket", p.socket, "-idle", "200", "-drip", "200", "-flood", "200", "-for", dur)
	time.Sleep(500 * time.Millisecond) // the flood fills its share first
	// The other user: a kiosk UI on one connection, and voipctl-like
	// calls each on a new one (which also wait behind the flood's
	// connection storm in the accept queue).
	ui := ctlload(t, 65533, "-socket", p.socket, "-status", "100ms", "-for", dur)
	cli := ctlload(t, 65532, "-socket", p.socket, "-status", "100ms", "-fresh", "-for", dur)
	f, u, c := <-flood, <-ui, <-cli
	t.Logf("the flood: %d connections, %d refused (-32000), %d closed with a line unended (-32600), %d requests answered",
		f.Connections, f.Refused, f.LineTimeout, f.Requests)
	for _, s := range []struct {
		who string
		floodSummary
	}{{"one connection", u}, {"a connection each", c}} {
		t.Logf("another user's status calls on %s: %d of %d answered; p50 %.1f ms, p99 %.1f ms, max %.1f ms",
			s.who, s.Answered, s.Calls, s.P50Ms, s.P99Ms, s.MaxMs)
		if s.Calls < 50 || s.Answered != s.Calls {
			t.Errorf("another user's calls on %s: %d answered of %d (failures %q)", s.who, s.Answered, s.Calls, s.Failures)
		}
	}
	if f.Refused == 0 || f.Requests == 0 {
		t.Errorf("the flood was not held (refused %d) or not served at all (%d requests)", f.Refused, f.Requests)
	}

	// Back where it was once the flood's connections are gone.
	deadline := time.Now().Add(20 * time.Second)
	for {
		fd, g := fds(), goroutines()
		if fd <= fd0+2 && g <= g0+5 {
			t.Logf("after the flood: %d descriptors (%d before), %d goroutines (%d before)", fd, fd0, g, g0)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the flood: %d descriptors (%d before), %d goroutines (%d before)", fd, fd0, g, g0)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ctl := dialCtl(t, p.socket).mustOK("status", nil)["control"].(map[string]any)
	// Its idle and dripping connections that got in were closed by the
	// timeouts (which of them got in is the scheduler's choice).
	if ctl["refused"].(float64) < float64(f.Refused) || ctl["timedOut"].(float64) == 0 {
		t.Errorf("status.control %v: the refusals or timeouts are not counted (the flood saw %d refused)", ctl, f.Refused)
	}
	lines := strings.Count(p.out.String(), "control: refused")
	if lines > 4 {
		t.Errorf("%d log lines about refused connections in 10 s, want one per 10 s with a count", lines)
	}
	t.Logf("refusals logged in %d lines; status.control %v", lines, ctl)
}
