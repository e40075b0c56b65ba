package main

import (
	"context"
	"slices"
	"testing"
	"time"
)

// Two daemons whose microphones are tones of different frequencies join one
// room on a real roomd: each hears the other's tone and not its own; mute
// and unmute work; speaker and member events follow.
func TestTwoDaemonsTalk(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	a := startNode(t, "door-a", url, secret, 440, nil)
	b := startNode(t, "door-b", url, secret, 1000, nil)
	a.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})

	t0 := time.Now()
	ra := a.ctl.mustOK("joinVoIPChat", a.joinParams("lobby"))
	t.Logf("first join took %v", time.Since(t0))
	if got := strList(ra["openIdList"]); !slices.Equal(got, []string{"door-a"}) {
		t.Fatalf("a's openIdList = %v", got)
	}
	t0 = time.Now()
	rb := b.ctl.mustOK("joinVoIPChat", b.joinParams("lobby"))
	t.Logf("second join took %v", time.Since(t0))
	got := strList(rb["openIdList"])
	slices.Sort(got)
	if !slices.Equal(got, []string{"door-a", "door-b"}) {
		t.Fatalf("b's openIdList = %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a.ctl.waitEvent(ctx, "onVoIPChatMembersChanged", func(p map[string]any) bool { return len(strList(p["openIdList"])) == 2 })

	// Each hears the other's tone, not its own.
	eventually(t, 15*time.Second, "a hears b's 1000 Hz", func() bool { return a.audio.heard(1000, 440) > 20 })
	eventually(t, 15*time.Second, "b hears a's 440 Hz", func() bool { return b.audio.heard(440, 1000) > 20 })

	// Speakers: a sees b (and itself) talking.
	a.ctl.waitEvent(ctx, "onVoIPChatSpeakersChanged", func(p map[string]any) bool { return slices.Contains(strList(p["openIdList"]), "door-b") })

	// a mutes its microphone: b stops hearing 440 Hz, and a's packets stop.
	a.ctl.mustOK("updateVoIPChatMuteConfig", map[string]any{"muteConfig": map[string]any{"muteMicrophone": true}})
	eventually(t, 10*time.Second, "b no longer hears a", func() bool { return b.audio.heard(440, 1000) < 2 })
	sent1 := packetsSent(t, a)
	time.Sleep(300 * time.Millisecond)
	if sent2 := packetsSent(t, a); sent2 != sent1 {
		t.Fatalf("muted a still sends: %v → %v packets", sent1, sent2)
	}
	st := a.ctl.mustOK("status", nil)
	if st["state"] != "inRoom" {
		t.Fatalf("status state = %v", st["state"])
	}
	// Speakers drop b... no: b still talks; a is muted so it leaves the list.
	a.ctl.waitEvent(ctx, "onVoIPChatSpeakersChanged", func(p map[string]any) bool {
		l := strList(p["openIdList"])
		return slices.Contains(l, "door-b") && !slices.Contains(l, "door-a")
	})
	a.ctl.mustOK("updateVoIPChatMuteConfig", map[string]any{"muteConfig": map[string]any{"muteMicrophone": false}})
	eventually(t, 10*time.Second, "b hears a again", func() bool { return b.audio.heard(440, 1000) > 20 })

	// Earphone mute: a plays silence.
	a.ctl.mustOK("updateVoIPChatMuteConfig", map[string]any{"muteConfig": map[string]any{"muteEarphone": true}})
	eventually(t, 10*time.Second, "a plays silence", func() bool { return a.audio.heard(1000, 440) < 2 })
	a.ctl.mustOK("updateVoIPChatMuteConfig", map[string]any{"muteConfig": map[string]any{}})

	// getStats: b's audio arrives at a.
	stats := a.ctl.mustOK("getStats", nil)
	in, _ := stats["inbound"].([]any)
	if len(in) != 1 || in[0].(map[string]any)["member"] != "door-b" || in[0].(map[string]any)["packetsReceived"].(float64) == 0 {
		t.Fatalf("a's inbound stats = %v", stats["inbound"])
	}

	// b leaves: a learns it.
	b.ctl.mustOK("exitVoIPChat", nil)
	a.ctl.waitEvent(ctx, "onVoIPChatMembersChanged", func(p map[string]any) bool {
		return slices.Equal(strList(p["openIdList"]), []string{"door-a"})
	})
	if st := b.ctl.mustOK("status", nil); st["state"] != "idle" || st["room"] != nil {
		t.Fatalf("b after exit: %v", st)
	}
	a.ctl.mustOK("exitVoIPChat", nil)
}

func packetsSent(t *testing.T, n *node) float64 {
	t.Helper()
	stats := n.ctl.mustOK("getStats", nil)
	out, _ := stats["outbound"].([]any)
	if len(out) != 1 {
		t.Fatalf("outbound stats = %v", stats["outbound"])
	}
	return out[0].(map[string]any)["packetsSent"].(float64)
}

func wsURL(httpURL string) string {
	if len(httpURL) > 5 && httpURL[:5] == "https" {
		return "wss" + httpURL[5:] + "/ws"
	}
	return "ws" + httpURL[4:] + "/ws"
}
