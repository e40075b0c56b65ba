//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/netnstest"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd"
)

// answeredCall rings monitor from door, answers and waits until each
// hears the other; it returns the call's id.
func answeredCall(t *testing.T, door, monitor *node) string {
	t.Helper()
	join, callID := ringUntilInvited(t, door, monitor, callParams("door", "flat", "voice"))
	monitor.ctl.mustOK("answer1v1Chat", map[string]any{"callId": callID, "accept": true})
	if res := door.ctl.await(join, 15*time.Second); res.Error != nil {
		t.Fatalf("join1v1Chat: %+v", res.Error)
	}
	eventually(t, 15*time.Second, "the monitor hears the door", func() bool { return monitor.audio.heard(doorHz, monitorHz) > 20 })
	eventually(t, 15*time.Second, "the door hears the monitor", func() bool { return door.audio.heard(monitorHz, doorHz) > 20 })
	return callID
}

// stillInCall fails the test unless n is in the call callID.
func stillInCall(t *testing.T, n *node, callID string) {
	t.Helper()
	st := n.ctl.mustOK("status", nil)
	room, _ := st["room"].(map[string]any)
	if st["state"] != "inRoom" || room == nil || room["kind"] != "1v1" {
		t.Fatalf("%s: %v in %v, want inRoom in the call %s", n.openid, st["state"], room, callID)
	}
}

// TestCallSurvivesRoomdRestart (issue 14): roomd SIGKILLed in the middle
// of an answered call and started again 2 s later: both ends say they are
// reconnecting (code 1), get back into the call room with their resume
// tickets (code 2), hear each other again, and the call has not ended; it
// hangs up as usual afterwards.
func TestCallSurvivesRoomdRestart(t *testing.T) {
	addr, secret := freeAddr(t), randomHex(16)
	srv := startRoomdProc(t, addr, secret)
	url := "ws://" + addr + "/ws"
	door := startNode(t, "door", url, secret, doorHz, nil)
	monitor := startNode(t, "flat", url, secret, monitorHz, nil)
	for _, n := range []*node{door, monitor} {
		n.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})
	}
	monitor.ctl.mustOK("setEnable1v1Chat", map[string]any{"enable": true})
	callID := answeredCall(t, door, monitor)

	srv.kill()
	killed := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range []*node{door, monitor} {
		n.ctl.waitEvent(ctx, "onVoIPChatStateChanged", func(p map[string]any) bool { return p["code"] == 1.0 })
	}
	time.Sleep(time.Until(killed.Add(2 * time.Second)))
	startRoomdProc(t, addr, secret)
	listening := time.Now()
	for _, n := range []*node{door, monitor} {
		n.ctl.waitEvent(ctx, "onVoIPChatStateChanged", func(p map[string]any) bool { return p["code"] == 2.0 })
	}
	eventually(t, 15*time.Second, "the monitor hears the door again", func() bool { return monitor.audio.heard(doorHz, monitorHz) > 20 })
	eventually(t, 15*time.Second, "the door hears the monitor again", func() bool { return door.audio.heard(monitorHz, doorHz) > 20 })
	t.Logf("the call's two ends hear each other %v after roomd listened again", time.Since(listening).Round(10*time.Millisecond))
	stillInCall(t, door, callID)
	stillInCall(t, monitor, callID)
	door.ctl.mustOK("exitVoIPChat", nil)
	waitEnded(t, monitor, "remote")
}

// TestCallRidesOutBlackout (issue 14): the door panel's network is cut for
// 35 s in the middle of a call (longer than the 25 s after which its media
// connection fails, so the call room's seat is resumed, not merely kept
// alive). The monitor never sees the call end; the door reconnects by
// itself, and both hear each other again once the network is back.
func TestCallRidesOutBlackout(t *testing.T) {
	ns := netnstest.New(t)
	srv, secret := testRoomd(t, func(c *roomd.Config) { c.Listen = ns.HostIP + ":0" })
	url := wsURL(srv.URL())
	p := startProcWith(t, fmt.Sprintf(`
[identity]
appId = %q
openid = "door"
sessionKey = %q
[room]
url = %q
[audio]
backend = "null"
capture = "tone:%d"
playback = "null"
`, testApp, proto.SessionKey(secret, "door"), url, doorHz), nil, func(name string, args ...string) *exec.Cmd {
		return ns.Command(append([]string{name}, args...)...)
	})
	door := dialCtl(t, p.socket)
	door.mustOK("subscribe", map[string]any{"events": []string{"*"}})
	monitor := startNode(t, "flat", url, secret, monitorHz, nil)
	monitor.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})
	monitor.ctl.mustOK("setEnable1v1Chat", map[string]any{"enable": true})

	join := door.send("join1v1Chat", callParams("door", "flat", "voice"))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	inv := monitor.ctl.waitEvent(ctx, "on1v1ChatInvite", nil)
	callID := inv["callId"].(string)
	monitor.ctl.mustOK("answer1v1Chat", map[string]any{"callId": callID, "accept": true})
	if res := door.await(join, 15*time.Second); res.Error != nil {
		t.Fatalf("join1v1Chat: %+v", res.Error)
	}
	eventually(t, 15*time.Second, "the monitor hears the door", func() bool { return monitor.audio.heard(doorHz, monitorHz) > 20 })
	receivesMonitor := func() bool { return receivesFrom(door, "flat") }
	eventually(t, 15*time.Second, "the door receives the monitor", receivesMonitor)

	ns.Drop(100)
	cut := time.Now()
	door.waitEvent(ctx, "onVoIPChatStateChanged", func(p map[string]any) bool { return p["code"] == 1.0 })
	time.Sleep(time.Until(cut.Add(35 * time.Second)))
	ns.Drop(0)
	back := time.Now()
	door.waitEvent(ctx, "onVoIPChatStateChanged", func(p map[string]any) bool { return p["code"] == 2.0 })
	eventually(t, 30*time.Second, "the monitor hears the door again", func() bool { return monitor.audio.heard(doorHz, monitorHz) > 20 })
	eventually(t, 30*time.Second, "the door receives the monitor again", receivesMonitor)
	t.Logf("after a 35 s blackout, audio both ways %v after the network returned", time.Since(back).Round(10*time.Millisecond))
	stillInCall(t, monitor, callID)
	if st := door.mustOK("status", nil); st["state"] != "inRoom" {
		t.Fatalf("the door after the blackout: %v", st["state"])
	}
}

// TestDaemonRestartRejoinsCall (issue 14): the door panel's voipd is
// SIGKILLed in an answered call and started again: it gets back into the
// call's room with the resume ticket it kept (no command), status shows
// the call, the two ends hear each other again, and the monitor never saw
// the call end. Hanging up afterwards ends it as usual, and forgets it.
func TestDaemonRestartRejoinsCall(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	state := shortDir(t)
	cfg := fmt.Sprintf(`
[identity]
appId = %q
openid = "door"
sessionKey = %q
[room]
url = %q
[audio]
backend = "null"
capture = "tone:%d"
playback = "null"
[state]
dir = %q
`, testApp, proto.SessionKey(secret, "door"), url, doorHz, state)
	p := startProc(t, cfg, nil)
	door := &node{openid: "door", ctl: dialCtl(t, p.socket)}
	monitor := startNode(t, "flat", url, secret, monitorHz, nil)
	monitor.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})
	monitor.ctl.mustOK("setEnable1v1Chat", map[string]any{"enable": true})
	join, callID := ringUntilInvited(t, door, monitor, callParams("door", "flat", "voice"))
	monitor.ctl.mustOK("answer1v1Chat", map[string]any{"callId": callID, "accept": true})
	if res := door.ctl.await(join, 15*time.Second); res.Error != nil {
		t.Fatalf("join1v1Chat: %+v", res.Error)
	}
	eventually(t, 15*time.Second, "the monitor hears the door", func() bool { return monitor.audio.heard(doorHz, monitorHz) > 20 })
	if st, err := os.Stat(filepath.Join(state, "room.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the kept call: %v, %v", st, err)
	}

	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	eventually(t, 10*time.Second, "silence after the kill", func() bool { return monitor.audio.heard(doorHz, monitorHz) < 2 })
	started := time.Now()
	p = startProc(t, cfg, nil)
	door.ctl = dialCtl(t, p.socket)
	door.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})
	eventually(t, 15*time.Second, "the door back in its call", func() bool {
		st := door.ctl.mustOK("status", nil)
		room, _ := st["room"].(map[string]any)
		return st["state"] == "inRoom" && room["kind"] == "1v1" && room["id"] == callID
	})
	eventually(t, 15*time.Second, "the monitor hears the door again", func() bool { return monitor.audio.heard(doorHz, monitorHz) > 20 })
	t.Logf("back in the call and heard %v after voipd started again", time.Since(started).Round(10*time.Millisecond))
	stillInCall(t, monitor, callID)
	for {
		select {
		case e := <-monitor.ctl.events:
			if e.Method == "on1v1ChatEnded" {
				t.Fatalf("the monitor saw the call end: %v", e.Params)
			}
			continue
		default:
		}
		break
	}

	door.ctl.mustOK("exitVoIPChat", nil)
	waitEnded(t, monitor, "remote")
	if _, err := os.Stat(filepath.Join(state, "room.json")); !os.IsNotExist(err) {
		t.Fatalf("the call is still kept after hanging up: %v", err)
	}
}
