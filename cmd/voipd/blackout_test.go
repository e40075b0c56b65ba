//go:build linux

package main

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/netnstest"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd"
)

// nsDaemon runs a voipd in ns with a synthetic 440 Hz microphone, joined
// to the room server at url, and returns it with a control client
// subscribed to its room's events. roomKeys are more lines of [room].
func nsDaemon(t *testing.T, ns *netnstest.NS, openid, url, secret string, roomKeys ...string) (*proc, *ctl) {
	t.Helper()
	p := startProcWith(t, fmt.Sprintf(`
[identity]
appId = %q
openid = %q
sessionKey = %q
[room]
url = %q
`+strings.Join(roomKeys, "\n")+`
[audio]
backend = "null"
capture = "tone:440"
playback = "null"
`, testApp, openid, proto.SessionKey(secret, openid), url), nil, func(name string, args ...string) *exec.Cmd {
		return ns.Command(append([]string{name}, args...)...)
	})
	c := dialCtl(t, p.socket)
	c.mustOK("subscribe", map[string]any{"events": []string{"onVoIPChatStateChanged", "onVoIPChatInterrupted"}})
	return p, c
}

// receivesFrom reports whether c's daemon is receiving member's audio now:
// packets arrive and carry sound.
func receivesFrom(c *ctl, member string) bool {
	for _, in := range c.mustOK("getStats", nil)["inbound"].([]any) {
		in := in.(map[string]any)
		if in["member"] == member && in["kind"] == "audio" && in["audioLevel"].(float64) > 0.01 {
			return true
		}
	}
	return false
}

// eventSeen drains c's events and reports whether one named name with
// code (when code ≥ 0) came.
func eventSeen(c *ctl, name string, code float64) bool {
	seen := false
	for {
		select {
		case e := <-c.events:
			if e.Method == name && (code < 0 || e.Params["code"] == code) {
				seen = true
			}
		default:
			return seen
		}
	}
}

// TestBlackoutRiddenOut (issue 14): one member's network is cut for 60 s
// in the middle of a call. The other side never sees it leave (roomd keeps
// its seat); the cut member reconnects by itself (codes 1, 2, no
// interruption), and both hear each other again soon after the network
// returns.
func TestBlackoutRiddenOut(t *testing.T) {
	ns := netnstest.New(t)
	srv, secret := testRoomd(t, func(c *roomd.Config) { c.Listen = ns.HostIP + ":0" })
	url := wsURL(srv.URL())
	_, a := nsDaemon(t, ns, "cut", url, secret)
	b := startNode(t, "steady", url, secret, 1000, nil)
	b.ctl.mustOK("subscribe", map[string]any{"events": []string{"onVoIPChatMembersChanged"}})
	a.mustOK("joinVoIPChat", (&node{openid: "cut", secret: secret}).joinParams("storm"))
	b.ctl.mustOK("joinVoIPChat", b.joinParams("storm"))
	eventually(t, 15*time.Second, "steady hears cut", func() bool { return b.audio.heard(440, 1000) > 20 })
	eventually(t, 15*time.Second, "cut receives steady", func() bool { return receivesFrom(a, "steady") })

	ns.Drop(100)
	cut := time.Now()
	eventually(t, 45*time.Second, "cut reconnecting", func() bool { return eventSeen(a, "onVoIPChatStateChanged", 1) })
	time.Sleep(time.Until(cut.Add(60 * time.Second))) // the scenario: a minute without network
	ns.Drop(0)
	back := time.Now()
	eventually(t, 30*time.Second, "steady hears cut again", func() bool { return b.audio.heard(440, 1000) > 20 })
	eventually(t, 30*time.Second, "cut receives steady again", func() bool { return receivesFrom(a, "steady") })
	t.Logf("after a 60 s blackout, audio both ways %v after the network returned", time.Since(back).Round(10*time.Millisecond))
	if eventSeen(a, "onVoIPChatInterrupted", -1) {
		t.Fatal("the cut member was interrupted")
	}
	for {
		select {
		case e := <-b.ctl.events:
			if e.Method == "onVoIPChatMembersChanged" && !slices.Contains(strList(e.Params["openIdList"]), "cut") {
				t.Fatalf("steady saw cut leave: %v", e.Params)
			}
			continue
		default:
		}
		break
	}
	if st := a.mustOK("status", nil); st["state"] != "inRoom" {
		t.Fatalf("cut's state after the storm: %v", st["state"])
	}
}

// TestBlackoutPastTheGrace: a network cut longer than roomd's grace ends
// the room cleanly on both sides: the others see the member leave, the cut
// member is interrupted and idle, nothing hangs.
func TestBlackoutPastTheGrace(t *testing.T) {
	ns := netnstest.New(t)
	srv, secret := testRoomd(t, func(c *roomd.Config) { c.Listen, c.ResumeGrace = ns.HostIP+":0", 2*time.Second })
	url := wsURL(srv.URL())
	_, a := nsDaemon(t, ns, "gone", url, secret)
	b := startNode(t, "stays", url, secret, 1000, nil)
	b.ctl.mustOK("subscribe", map[string]any{"events": []string{"onVoIPChatMembersChanged"}})
	a.mustOK("joinVoIPChat", (&node{openid: "gone", secret: secret}).joinParams("long"))
	b.ctl.mustOK("joinVoIPChat", b.joinParams("long"))
	eventually(t, 15*time.Second, "stays hears gone", func() bool { return b.audio.heard(440, 1000) > 20 })

	ns.Drop(100)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a.waitEvent(ctx, "onVoIPChatInterrupted", nil)
	b.ctl.waitEvent(ctx, "onVoIPChatMembersChanged", func(p map[string]any) bool {
		return slices.Equal(strList(p["openIdList"]), []string{"stays"})
	})
	eventually(t, 15*time.Second, "the cut member idle after the grace", func() bool { return a.mustOK("status", nil)["state"] == "idle" })
	ns.Drop(0)
	a.mustFail("exitVoIPChat", nil, -1000, "not_in_room")
	if st := b.ctl.mustOK("status", nil); st["state"] != "inRoom" {
		t.Fatalf("the member that stayed: %v", st["state"])
	}
}

// TestICERestartOnUDPCut (issue 14): only UDP is cut (a firewall, a NAT
// that lost its mapping) while the connection to roomd works. The member
// keeps that connection and restarts ICE on it — again while no path is
// found — and once UDP is back both hear each other: codes 1 and 2, no
// new connection, no interruption, and the other side sees nothing.
func TestICERestartOnUDPCut(t *testing.T) {
	ns := netnstest.New(t)
	srv, secret := testRoomd(t, func(c *roomd.Config) { c.Listen, c.MediaTimeout = ns.HostIP+":0", 3*time.Second })
	url := wsURL(srv.URL())
	pa, a := nsDaemon(t, ns, "udp", url, secret, `mediaTimeout = "3s"`)
	defer func() {
		if t.Failed() {
			t.Log(pa.out.String())
		}
	}()
	b := startNode(t, "steady", url, secret, 1000, nil)
	b.ctl.mustOK("subscribe", map[string]any{"events": []string{"onVoIPChatMembersChanged"}})
	a.mustOK("joinVoIPChat", (&node{openid: "udp", secret: secret}).joinParams("fw"))
	b.ctl.mustOK("joinVoIPChat", b.joinParams("fw"))
	eventually(t, 15*time.Second, "steady hears udp", func() bool { return b.audio.heard(440, 1000) > 20 })
	eventually(t, 15*time.Second, "udp receives steady", func() bool { return receivesFrom(a, "steady") })

	ns.DropUDP(100)
	eventually(t, 30*time.Second, "udp reconnecting", func() bool { return eventSeen(a, "onVoIPChatStateChanged", 1) })
	if st := a.mustOK("status", nil); st["state"] != "reconnecting" {
		t.Fatalf("state during the restart: %v", st["state"])
	}
	time.Sleep(5 * time.Second) // more than one restart finds no path
	ns.DropUDP(0)
	back := time.Now()
	eventually(t, 30*time.Second, "udp back", func() bool { return eventSeen(a, "onVoIPChatStateChanged", 2) })
	eventually(t, 30*time.Second, "steady hears udp again", func() bool { return b.audio.heard(440, 1000) > 20 })
	eventually(t, 30*time.Second, "udp receives steady again", func() bool { return receivesFrom(a, "steady") })
	t.Logf("after 5 s of UDP cut past the failure, audio both ways %v after UDP returned", time.Since(back).Round(10*time.Millisecond))
	if eventSeen(a, "onVoIPChatInterrupted", -1) {
		t.Fatal("the member was interrupted")
	}
	st := a.mustOK("status", nil)
	net := st["room"].(map[string]any)["network"].(map[string]any)
	if st["state"] != "inRoom" || net["iceRestarts"] != 1.0 || net["reconnects"] != 0.0 {
		t.Fatalf("after the cut: state %v, network %v; want inRoom, 1 ICE restart, 0 reconnects", st["state"], net)
	}
	for {
		select {
		case e := <-b.ctl.events:
			if e.Method == "onVoIPChatMembersChanged" && !slices.Contains(strList(e.Params["openIdList"]), "udp") {
				t.Fatalf("steady saw udp leave: %v", e.Params)
			}
			continue
		default:
		}
		break
	}
}
