package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/timerslack"
)

// voipd under a NOTIFY_SOCKET the test owns: READY=1 once the socket
// listens, STATUS= on each state change, WATCHDOG=1, and on SIGTERM
// STOPPING=1, leaving the room (the other member sees it) and exit 0.
func TestSystemdNotifyLifecycle(t *testing.T) {
	dir := shortDir(t)
	notifyPath := filepath.Join(dir, "notify")
	nc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := nc.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			for _, l := range strings.Split(strings.TrimSpace(string(buf[:n])), "\n") {
				msgs <- l
			}
		}
	}()
	expect := func(want string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case m := <-msgs:
				if m == want {
					return
				}
			case <-timeout:
				t.Fatalf("no %q from voipd", want)
			}
		}
	}

	srv, secret := testRoomd(t, nil)
	id := "notified"
	p := startProc(t, identityConfig(id, secret, wsURL(srv.URL()))+`[audio]
backend = "null"
capture = "tone:440"
playback = "null"
`, []string{"NOTIFY_SOCKET=" + notifyPath, "WATCHDOG_USEC=200000"})
	expect("READY=1")
	if _, err := os.Stat(p.socket); err != nil {
		t.Fatalf("READY=1 before the socket listens: %v", err)
	}
	expect("STATUS=idle")
	expect("WATCHDOG=1")
	expect("WATCHDOG=1") // and again: it keeps coming

	other := startNode(t, "witness", wsURL(srv.URL()), secret, 1000, nil)
	other.ctl.mustOK("subscribe", map[string]any{"events": []string{"onVoIPChatMembersChanged"}})
	c := dialCtl(t, p.socket)
	c.mustOK("joinVoIPChat", (&node{openid: id, secret: secret}).joinParams("sd"))
	expect("STATUS=joining")
	expect("STATUS=inRoom")
	other.ctl.mustOK("joinVoIPChat", other.joinParams("sd"))

	p.cmd.Process.Signal(syscall.SIGTERM)
	expect("STOPPING=1")
	expect("STATUS=leaving")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	other.ctl.waitEvent(ctx, "onVoIPChatMembersChanged", func(m map[string]any) bool {
		return slices.Equal(strList(m["openIdList"]), []string{"witness"})
	})
	p.wait(10 * time.Second)
}

// Socket activation: systemd-socket-activate holds the socket and starts
// voipd on the first connection, which voipd serves on the inherited fd;
// also when voipd executes itself again at start for a timer slack other
// than its default (runtime.timerSlack): same pid, same fd.
func TestSocketActivation(t *testing.T) {
	t.Run("default", func(t *testing.T) { socketActivation(t, "", timerslack.Default) })
	t.Run("timerSlack 2ms", func(t *testing.T) { socketActivation(t, "[runtime]\ntimerSlack = \"2ms\"\n", 2*time.Millisecond) })
}

func socketActivation(t *testing.T, extra string, slack time.Duration) {
	bin, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Fatal("systemd-socket-activate not found: install the Debian package systemd")
	}
	dir := shortDir(t)
	sock := filepath.Join(dir, "activated.sock")
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
[identity]
appId = %q
[room]
url = "ws://127.0.0.1:9/ws"
[control]
socket = %q
[audio]
backend = "null"
capture = "tone:440"
playback = "null"
[display]
listen = "127.0.0.1:0"
`, testApp, filepath.Join(dir, "unused.sock"))+extra), 0o600)
	cmd := exec.Command(bin, "-l", sock, filepath.Join(binDir, "voipd"), "-config", cfg)
	out := &syncBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	})
	eventually(t, 10*time.Second, "the activation socket exists", func() bool { _, err := os.Stat(sock); return err == nil })
	c := dialCtl(t, sock)
	st := c.mustOK("status", nil)
	if st["state"] != "idle" {
		t.Fatalf("status over the activated socket: %v", st)
	}
	if got := time.Duration(st["runtime"].(map[string]any)["timerSlackNs"].(float64)); got != slack {
		t.Errorf("timer slack %v, want %v", got, slack)
	}
	if _, err := os.Stat(filepath.Join(dir, "unused.sock")); err == nil {
		t.Fatal("voipd listened on control.socket although systemd passed it a socket")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		if waitErr != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", waitErr, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}
