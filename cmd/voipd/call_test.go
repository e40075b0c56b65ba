package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/media/pipeline"
)

// The tones of call tests keep clear of the ringtone (700 Hz) and the
// ringback (450 Hz), so each can be told apart by Goertzel.
const (
	doorHz    = 1500
	monitorHz = 2500
)

func callParams(caller, listener, roomType string) map[string]any {
	return map[string]any{
		"caller":   map[string]any{"nickname": "Door " + caller, "openid": caller},
		"listener": map[string]any{"nickname": "Flat " + listener, "openid": listener},
		"roomType": roomType,
	}
}

// callPair starts a door panel and an indoor monitor reachable for calls.
func callPair(t *testing.T, mut func(*config.Config)) (door, monitor *node) {
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	door = startNode(t, "door", url, secret, doorHz, mut)
	monitor = startNode(t, "flat", url, secret, monitorHz, mut)
	monitor.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})
	door.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})
	monitor.ctl.mustOK("setEnable1v1Chat", map[string]any{"enable": true})
	return door, monitor
}

func waitInvite(t *testing.T, n *node) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	inv := n.ctl.waitEvent(ctx, "on1v1ChatInvite", nil)
	if inv["roomType"] == nil || inv["caller"].(map[string]any)["openid"] != "door" {
		t.Fatalf("invite %v", inv)
	}
	return inv["callId"].(string)
}

func waitEnded(t *testing.T, n *node, reason string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ev := n.ctl.waitEvent(ctx, "on1v1ChatEnded", nil)
	if ev["reason"] != reason || ev["callId"] == "" {
		t.Fatalf("%s: on1v1ChatEnded %v, want reason %s", n.openid, ev, reason)
	}
}

// Call, ring (ringtone at the monitor, ringback at the door), answer,
// talk both ways, hang up from either side.
func TestCallRingAnswerTalkHangUp(t *testing.T) {
	door, monitor := callPair(t, nil)
	for _, hangup := range []*node{monitor, door} {
		join, callID := ringUntilInvited(t, door, monitor, callParams("door", "flat", "voice"))
		eventually(t, 10*time.Second, "the monitor rings (700 Hz)", func() bool { return monitor.audio.heard(700, monitorHz) > 20 })
		eventually(t, 10*time.Second, "the door hears the ringback (450 Hz)", func() bool { return door.audio.heard(450, doorHz) > 20 })
		monitor.ctl.mustOK("answer1v1Chat", map[string]any{"callId": callID, "accept": true})
		res := door.ctl.await(join, 15*time.Second)
		if res.Error != nil || res.Result["callId"] != callID {
			t.Fatalf("join1v1Chat: %+v %+v", res.Result, res.Error)
		}
		eventually(t, 10*time.Second, "the monitor hears the door", func() bool { return monitor.audio.heard(doorHz, monitorHz) > 20 })
		eventually(t, 10*time.Second, "the door hears the monitor", func() bool { return door.audio.heard(monitorHz, doorHz) > 20 })
		if st := door.ctl.mustOK("status", nil); st["room"].(map[string]any)["kind"] != "1v1" {
			t.Fatalf("door status %v", st["room"])
		}
		other := door
		if hangup == door {
			other = monitor
		}
		hangup.ctl.mustOK("exitVoIPChat", nil)
		waitEnded(t, hangup, "local")
		waitEnded(t, other, "remote")
		eventually(t, 10*time.Second, "both idle", func() bool {
			return door.ctl.mustOK("status", nil)["state"] == "idle" && monitor.ctl.mustOK("status", nil)["state"] == "idle"
		})
	}
}

// Declined, not answered, listener offline, listener busy, auto-answer.
func TestCallOutcomes(t *testing.T) {
	door, monitor := callPair(t, func(c *config.Config) { c.Call.RingTimeout = config.Duration(time.Second); c.Call.AutoAnswerDelay = 0 })

	join := door.ctl.send("join1v1Chat", callParams("door", "flat", "voice"))
	monitor.ctl.mustOK("answer1v1Chat", map[string]any{"callId": waitInvite(t, monitor), "accept": false})
	checkFail(t, "join1v1Chat", door.ctl.await(join, 10*time.Second), -20010, "declined")

	join = door.ctl.send("join1v1Chat", callParams("door", "flat", "voice"))
	waitInvite(t, monitor)
	checkFail(t, "join1v1Chat", door.ctl.await(join, 10*time.Second), -20011, "no_answer")
	waitEnded(t, monitor, "remote")

	door.ctl.mustFail("join1v1Chat", callParams("door", "nobody", "voice"), -20012, "offline")

	// The monitor is in a group room: busy.
	monitor.ctl.mustOK("joinVoIPChat", monitor.joinParams("elsewhere"))
	door.ctl.mustFail("join1v1Chat", callParams("door", "flat", "voice"), -20013, "listener_busy")
	monitor.ctl.mustOK("exitVoIPChat", nil)

	// -3: the door hangs up while it rings; the monitor learns it. (roomd
	// may not have seen the monitor leave the group room yet: busy again
	// then, so ring once more.)
	join, _ = ringUntilInvited(t, door, monitor, callParams("door", "flat", "voice"))
	door.ctl.mustOK("exitVoIPChat", nil)
	checkFail(t, "join1v1Chat", door.ctl.await(join, 10*time.Second), -3, "interrupted")
	waitEnded(t, monitor, "remote")
}

func TestCallAutoAnswer(t *testing.T) {
	door, monitor := callPair(t, func(c *config.Config) {
		c.Call.AutoAnswer = true
		c.Call.AutoAnswerDelay = config.Duration(200 * time.Millisecond)
	})
	door.ctl.mustOK("join1v1Chat", callParams("door", "flat", "voice"))
	eventually(t, 10*time.Second, "the monitor hears the door", func() bool { return monitor.audio.heard(doorHz, monitorHz) > 20 })
	door.ctl.mustOK("exitVoIPChat", nil)
	waitEnded(t, monitor, "remote")
}

// Every code of join1v1Chat's own list that a situation can produce here.
func TestCallErrorCodes(t *testing.T) {
	door, monitor := callPair(t, nil)
	t.Run("-20002 and -20003: already in a call", func(t *testing.T) {
		join := door.ctl.send("join1v1Chat", callParams("door", "flat", "voice"))
		monitor.ctl.mustOK("answer1v1Chat", map[string]any{"callId": waitInvite(t, monitor), "accept": true})
		if a := door.ctl.await(join, 10*time.Second); a.Error != nil {
			t.Fatal(a.Error)
		}
		door.ctl.mustFail("join1v1Chat", callParams("door", "flat", "voice"), -20002, "busy")
		other := dialCtl(t, door.cfg.Control.Socket)
		other.mustFail("join1v1Chat", callParams("door", "flat", "voice"), -20003, "busy")
		door.ctl.mustOK("exitVoIPChat", nil)
		waitEnded(t, monitor, "remote")
	})
	t.Run("-1 in a group room", func(t *testing.T) {
		door.ctl.mustOK("joinVoIPChat", door.joinParams("g"))
		door.ctl.mustFail("join1v1Chat", callParams("door", "flat", "voice"), -1, "busy")
		door.ctl.mustOK("exitVoIPChat", nil)
	})
	t.Run("-2 microphone busy", func(t *testing.T) {
		door.audio.setBusy(&hw.DeviceError{Op: "open capture", Kind: hw.ErrBusy})
		door.ctl.mustFail("join1v1Chat", callParams("door", "flat", "voice"), -2, "busy")
	})
	t.Run("-30002 microphone denied", func(t *testing.T) {
		door.audio.setBusy(&hw.DeviceError{Op: "open capture", Kind: hw.ErrPermission})
		door.ctl.mustFail("join1v1Chat", callParams("door", "flat", "voice"), -30002, "permission")
		door.audio.setBusy(nil)
	})
	t.Run("-30001 camera denied", func(t *testing.T) {
		door.cams.mu.Lock()
		door.cams.deny = true
		door.cams.mu.Unlock()
		door.ctl.mustFail("join1v1Chat", callParams("door", "flat", "video"), -30001, "permission")
		door.cams.mu.Lock()
		door.cams.deny = false
		door.cams.mu.Unlock()
	})
	t.Run("-20001 video without a camera", func(t *testing.T) {
		door.cams.mu.Lock()
		door.cams.none = true
		door.cams.mu.Unlock()
		door.ctl.mustFail("join1v1Chat", callParams("door", "flat", "video"), -20001, "absent")
		door.cams.mu.Lock()
		door.cams.none = false
		door.cams.mu.Unlock()
	})
	t.Run("params", func(t *testing.T) {
		door.ctl.mustFail("join1v1Chat", map[string]any{"caller": map[string]any{"openid": "door"}}, -32602, "params")
		door.ctl.mustFail("join1v1Chat", callParams("someone-else", "flat", "voice"), -32602, "params")
		door.ctl.mustFail("answer1v1Chat", map[string]any{"callId": "nope", "accept": true}, -1000, "params")
	})
}

func TestCallSwitchedOff(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	n := startNode(t, "off", wsURL(srv.URL()), secret, doorHz, func(c *config.Config) { c.Call.Allowed = false })
	n.ctl.mustFail("join1v1Chat", callParams("off", "flat", "voice"), -20000, "disabled")
	n.ctl.mustFail("setEnable1v1Chat", map[string]any{"enable": true}, -20000, "disabled")
}

// failingMedia makes the audio pipeline fail to build: an internal error.
type failingMedia struct{ media.Factory }

func (failingMedia) NewCall(media.CallParams) (media.Call, error) {
	return nil, errors.New("no encoder")
}

func TestCallInternalError(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	door := startNodeWith(t, "door", url, secret, doorHz, nil, func(n *node) {
		n.media = failingMedia{pipeline.NewFactory(n.cfg.AudioSettings(), n.cfg.VideoSettings(), nil, nil)}
	})
	monitor := startNode(t, "flat", url, secret, monitorHz, func(c *config.Config) { c.Call.AutoAnswer = true; c.Call.AutoAnswerDelay = 0 })
	monitor.ctl.mustOK("setEnable1v1Chat", map[string]any{"enable": true})
	door.ctl.mustFail("join1v1Chat", callParams("door", "flat", "voice"), -30000, "internal")
}

// Scopes from peer credentials: control clients running under other numeric
// uids and gids (no change to the system's user database) are refused
// without scope.record (-30003) or scope.camera (-30004), and nothing is
// captured for them.
func TestCallScopesByPeerCredentials(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test starts clients under other uids and needs root (CI runs as root)")
	}
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	door := startNode(t, "door", url, secret, doorHz, func(c *config.Config) {
		c.Scopes.Record = []string{"uid:0", "gid:4242"}
		c.Scopes.Camera = []string{"uid:0"}
	})
	monitor := startNode(t, "flat", url, secret, monitorHz, func(c *config.Config) { c.Call.AutoAnswer = true; c.Call.AutoAnswerDelay = 0 })
	monitor.ctl.mustOK("setEnable1v1Chat", map[string]any{"enable": true})
	// Let other uids reach the test's socket and binaries.
	os.Chmod(filepath.Dir(door.cfg.Control.Socket), 0o755)
	os.Chmod(door.cfg.Control.Socket, 0o666)
	os.Chmod(binDir, 0o755)

	asUser := func(uid, gid uint32, params map[string]any) (string, int) {
		b, _ := json.Marshal(params)
		cmd := exec.Command(filepath.Join(binDir, "voipctl"), "-socket", door.cfg.Control.Socket, "join1v1Chat", string(b))
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
		cmd.Dir = "/"
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out)), code
	}
	out, code := asUser(31337, 31337, callParams("door", "flat", "voice"))
	if code != 1 || !strings.HasPrefix(out, "-30003 ") {
		t.Fatalf("a client without scope.record: exit %d %q, want -30003", code, out)
	}
	out, code = asUser(31337, 4242, callParams("door", "flat", "video"))
	if code != 1 || !strings.HasPrefix(out, "-30004 ") {
		t.Fatalf("a client with scope.record but not scope.camera: exit %d %q, want -30004", code, out)
	}
	door.audio.mu.Lock()
	opened := door.audio.opened
	door.audio.mu.Unlock()
	if opened != 0 {
		t.Fatalf("refused clients opened the microphone %d times", opened)
	}
	out, code = asUser(31337, 4242, callParams("door", "flat", "voice"))
	if code != 0 {
		t.Fatalf("a client holding scope.record (by gid): exit %d %q", code, out)
	}
	door.ctl.mustOK("exitVoIPChat", nil)
}

// -1000 for a call when the room server cannot be reached, with the reason.
func TestCallUnreachable(t *testing.T) {
	n := startNode(t, "door", "ws://127.0.0.1:9/ws", "s", doorHz, nil)
	n.ctl.mustFail("join1v1Chat", callParams("door", "flat", "voice"), -1000, "unreachable")
	n.ctl.mustFail("setEnable1v1Chat", map[string]any{"enable": true}, -1000, "unreachable")
}

// ringUntilInvited places a call until the monitor rings: roomd may still
// count the monitor in a room it just left (busy), so a busy answer is
// tried again. It returns the pending join's answer channel.
func ringUntilInvited(t *testing.T, door, monitor *node, params map[string]any) (<-chan rpcAnswer, string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		join := door.ctl.send("join1v1Chat", params)
		for waiting := true; waiting; {
			select {
			case a := <-join:
				checkFail(t, "join1v1Chat", a, -20013, "listener_busy")
				time.Sleep(100 * time.Millisecond)
				waiting = false
			case e := <-monitor.ctl.events:
				if e.Method == "on1v1ChatInvite" {
					return join, e.Params["callId"].(string)
				}
			case <-deadline:
				t.Fatal("the monitor never rang")
			}
		}
	}
}
