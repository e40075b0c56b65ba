package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/voipd/voipd/proto"
)

// roomdProc is roomd running as a process, on addr, for a test to kill.
type roomdProc struct {
	t    *testing.T
	addr string
	cmd  *exec.Cmd
	out  *syncBuf
}

// startRoomdProc starts roomd on addr serving the test app with secret,
// and returns once it answers /healthz.
func startRoomdProc(t *testing.T, addr, secret string) *roomdProc {
	t.Helper()
	return startRoomdProcApp(t, addr, testApp, secret)
}

// startRoomdProcApp is startRoomdProc serving app.
func startRoomdProcApp(t *testing.T, addr, app, secret string) *roomdProc {
	t.Helper()
	p := &roomdProc{t: t, addr: addr, out: &syncBuf{}}
	p.cmd = exec.Command(filepath.Join(binDir, "roomd"), "-listen", addr, "-app-id", app)
	p.cmd.Env = append(os.Environ(), "ROOMD_APP_SECRET="+secret)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	eventually(t, 10*time.Second, "roomd answering on "+addr, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	return p
}

// kill ends roomd as a crash would: SIGKILL, nothing said to anyone.
func (p *roomdProc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

// freeAddr is a loopback address no one listens on now, for a server a
// test stops and starts again on the same address.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRoomServerRestart (issue 14): roomd killed with SIGKILL mid-call
// and started again 2 s later on the same address: both daemons get back
// into the same room by themselves (resume tickets, no new signature),
// each hears the other again, neither is interrupted (codes 1 and 2
// instead), status is as before, and exitVoIPChat works afterwards.
func TestRoomServerRestart(t *testing.T) {
	addr, secret := freeAddr(t), randomHex(16)
	srv := startRoomdProc(t, addr, secret)
	url := "ws://" + addr + "/ws"
	a := startNode(t, "rs-a", url, secret, 440, nil)
	b := startNode(t, "rs-b", url, secret, 1000, nil)
	for _, n := range []*node{a, b} {
		n.ctl.mustOK("subscribe", map[string]any{"events": []string{"onVoIPChatStateChanged", "onVoIPChatInterrupted", "onVoIPChatMembersChanged"}})
		n.ctl.mustOK("joinVoIPChat", n.joinParams("restart"))
	}
	eventually(t, 15*time.Second, "a hears b", func() bool { return a.audio.heard(1000, 440) > 20 })
	eventually(t, 15*time.Second, "b hears a", func() bool { return b.audio.heard(440, 1000) > 20 })
	before := a.ctl.mustOK("status", nil)["room"].(map[string]any)

	srv.kill()
	killed := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range []*node{a, b} {
		n.ctl.waitEvent(ctx, "onVoIPChatStateChanged", func(p map[string]any) bool { return p["code"] == 1.0 })
		if st := n.ctl.mustOK("status", nil); st["state"] != "reconnecting" {
			t.Fatalf("%s's state while roomd is down: %v", n.openid, st["state"])
		}
	}
	eventually(t, 10*time.Second, "silence while roomd is down", func() bool {
		return a.audio.heard(1000, 440) < 2 && b.audio.heard(440, 1000) < 2
	})
	time.Sleep(time.Until(killed.Add(2 * time.Second))) // the scenario: back 2 s later
	startRoomdProc(t, addr, secret)
	listening := time.Now()
	for _, n := range []*node{a, b} {
		n.ctl.waitEvent(ctx, "onVoIPChatStateChanged", func(p map[string]any) bool { return p["code"] == 2.0 })
	}
	eventually(t, 15*time.Second, "a hears b again", func() bool { return a.audio.heard(1000, 440) > 20 })
	eventually(t, 15*time.Second, "b hears a again", func() bool { return b.audio.heard(440, 1000) > 20 })
	t.Logf("both hear each other %v after roomd listened again", time.Since(listening).Round(10*time.Millisecond))

	after := a.ctl.mustOK("status", nil)
	room := after["room"].(map[string]any)
	if after["state"] != "inRoom" || room["id"] != before["id"] || !slices.Equal(strList(room["members"]), strList(before["members"])) {
		t.Fatalf("status after the restart: %v in %v, want inRoom in %v", after["state"], room, before)
	}
	for _, n := range []*node{a, b} {
		for {
			select {
			case e := <-n.ctl.events:
				if e.Method == "onVoIPChatInterrupted" {
					t.Fatalf("%s was interrupted: %v", n.openid, e.Params)
				}
				continue
			default:
			}
			break
		}
	}
	a.ctl.mustOK("exitVoIPChat", nil)
	if st := a.ctl.mustOK("status", nil); st["state"] != "idle" {
		t.Fatalf("after exit: %v", st["state"])
	}
}

// TestDaemonRestartRejoins (issue 14): voipd SIGKILLed mid-call and
// started again gets back into its room by itself, from the room it kept
// in its state directory (no command, no new signature), and the other
// side hears it again; after exitVoIPChat it forgets the room, and a
// restart then stays idle.
func TestDaemonRestartRejoins(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	state := shortDir(t)
	cfg := fmt.Sprintf(`
[identity]
appId = %q
openid = "phoenix"
sessionKey = %q
[room]
url = %q
[audio]
backend = "null"
capture = "tone:440"
playback = "null"
[state]
dir = %q
`, testApp, proto.SessionKey(secret, "phoenix"), wsURL(srv.URL()), state)
	a := startProc(t, cfg, nil)
	ac := dialCtl(t, a.socket)
	b := startNode(t, "witness", wsURL(srv.URL()), secret, 1000, nil)
	ac.mustOK("joinVoIPChat", (&node{openid: "phoenix", secret: secret}).joinParams("ashes"))
	b.ctl.mustOK("joinVoIPChat", b.joinParams("ashes"))
	eventually(t, 15*time.Second, "the witness hears phoenix", func() bool { return b.audio.heard(440, 1000) > 20 })
	if st, err := os.Stat(filepath.Join(state, "room.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the kept room: %v, %v", st, err)
	}

	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	eventually(t, 10*time.Second, "silence after the kill", func() bool { return b.audio.heard(440, 1000) < 2 })
	started := time.Now()
	a = startProc(t, cfg, nil)
	ac = dialCtl(t, a.socket)
	eventually(t, 15*time.Second, "phoenix back in its room", func() bool {
		st := ac.mustOK("status", nil)
		room, _ := st["room"].(map[string]any)
		return st["state"] == "inRoom" && room["id"] == "ashes"
	})
	eventually(t, 15*time.Second, "the witness hears phoenix again", func() bool { return b.audio.heard(440, 1000) > 20 })
	t.Logf("back in the room and heard %v after voipd started again", time.Since(started).Round(10*time.Millisecond))

	ac.mustOK("exitVoIPChat", nil)
	if _, err := os.Stat(filepath.Join(state, "room.json")); !os.IsNotExist(err) {
		t.Fatalf("the room is still kept after exit: %v", err)
	}
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	a = startProc(t, cfg, nil)
	if st := dialCtl(t, a.socket).mustOK("status", nil); st["state"] != "idle" {
		t.Fatalf("after exit and a restart: %v", st["state"])
	}
}
