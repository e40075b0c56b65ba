package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds voipd, voipctl and roomd built once for the tests that run them as
// processes (the busy chain through ALSA, SIGTERM, make run).
var binDir string

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "voipd-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		// Other users run ctlload (TestControlSocketUnderFlood).
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		cmd := exec.Command("go", "build", "-o", dir+"/", "github.com/voipd/voipd/cmd/voipd", "github.com/voipd/voipd/cmd/voipctl",
			"github.com/voipd/voipd/cmd/roomd", "github.com/voipd/voipd/internal/ctlload")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building voipd and voipctl for the tests:", err)
			return 1
		}
		binDir = dir
		return m.Run()
	}()
	os.Exit(code)
}

// proc is voipd running as a process.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	dir    string
	cfg    string
	socket string
	out    *syncBuf
	exited chan struct{}
	err    error
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startProc writes cfgBody (plus the control socket) to a mode-600 config
// and runs voipd on it with extra environment.
func startProc(t testing.TB, cfgBody string, env []string) *proc {
	return startProcWith(t, cfgBody, env, exec.Command)
}

// startProcWith is startProc with the command made by command (to run
// voipd in a network namespace, say).
func startProcWith(t testing.TB, cfgBody string, env []string, command func(string, ...string) *exec.Cmd) *proc {
	t.Helper()
	dir := shortDir(t)
	p := &proc{t: t, dir: dir, cfg: filepath.Join(dir, "config.toml"), socket: filepath.Join(dir, "c.sock"), out: &syncBuf{}, exited: make(chan struct{})}
	body := cfgBody + fmt.Sprintf("\n[control]\nsocket = %q\n", p.socket)
	if strings.Contains(cfgBody, "[control]\n") { // the test's own control keys
		body = strings.Replace(cfgBody, "[control]\n", fmt.Sprintf("[control]\nsocket = %q\n", p.socket), 1)
	}
	if !strings.Contains(cfgBody, "[display]") {
		body += "[display]\nlisten = \"127.0.0.1:0\"\n" // tests run voipds side by side
	}
	if !strings.Contains(cfgBody, "[embedded]") {
		body += "[embedded]\nlisten = \"127.0.0.1:0\"\n" // in case room.url is left "embedded"
	}
	if err := os.WriteFile(p.cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd = command(filepath.Join(binDir, "voipd"), "-config", p.cfg)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
		if t.Failed() {
			t.Logf("voipd output:\n%s", p.out.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(p.socket); err == nil {
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("voipd exited at start: %v\n%s", p.err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("voipd's socket did not appear\n%s", p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// term sends SIGTERM and waits for a clean exit.
func (p *proc) term(d time.Duration) {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(d)
}

// wait waits for a clean exit after a SIGTERM already sent (a second one
// would kill voipd at once, as designed).
func (p *proc) wait(d time.Duration) {
	p.t.Helper()
	select {
	case <-p.exited:
		if p.err != nil {
			p.t.Fatalf("voipd exited with %v after SIGTERM\n%s", p.err, p.out.String())
		}
	case <-time.After(d):
		p.t.Fatalf("voipd did not exit within %v of SIGTERM", d)
	}
}

// voipctl runs the voipctl binary and returns its stdout, stderr and exit code.
func voipctl(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "voipctl"), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("voipctl %v: %v", args, err)
	}
	return strings.TrimSpace(out.String()), strings.TrimSpace(errb.String()), code
}

// SIGTERM while a join waits on a silent room server: the join answers -3
// before the socket closes, and voipd exits 0.
func TestSIGTERMDuringJoinAnswersMinus3(t *testing.T) {
	silent := silentServer(t)
	p := startProc(t, fmt.Sprintf(`
[identity]
appId = %q
openid = "term"
[room]
url = "ws://%s/ws"
joinTimeout = "20s"
[audio]
backend = "null"
capture = "tone:440"
playback = "null"
`, testApp, silent), nil)
	c := dialCtl(t, p.socket)
	n := &node{openid: "term", secret: "s"}
	join := c.send("joinVoIPChat", n.joinParams("g"))
	eventually(t, 5*time.Second, "state joining", func() bool { return c.mustOK("status", nil)["state"] == "joining" })
	p.cmd.Process.Signal(syscall.SIGTERM)
	checkFail(t, "joinVoIPChat", c.await(join, 10*time.Second), -3, "interrupted")
	select {
	case <-c.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the socket stayed open after SIGTERM")
	}
	p.wait(10 * time.Second)
}
