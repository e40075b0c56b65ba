package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/voipd/voipd/hw/synth"
)

func videoParams(n *node, g string) map[string]any {
	p := n.joinParams(g)
	p["roomType"] = "video"
	return p
}

// checkAdvancing asserts that the frame numbers read back from a member's
// decoded pictures increase, with few gaps (loopback loses nothing; the
// pattern camera drops a frame only when its reader is late).
func checkAdvancing(t *testing.T, who string, nums []uint32) {
	t.Helper()
	if len(nums) < 10 {
		t.Fatalf("%s: only %d frames read back", who, len(nums))
	}
	gaps := 0
	for i := 1; i < len(nums); i++ {
		if nums[i] <= nums[i-1] {
			t.Fatalf("%s: frame numbers go back: %d after %d", who, nums[i], nums[i-1])
		}
		if nums[i] != nums[i-1]+1 {
			gaps++
		}
	}
	span := nums[len(nums)-1] - nums[0] + 1
	t.Logf("%s: %d frames decoded of %d sent over the span (%d gaps)", who, len(nums), span, gaps)
	if float64(len(nums)) < 0.5*float64(span) {
		t.Fatalf("%s: decoded %d of %d frames", who, len(nums), span)
	}
}

// videoPair joins a and b (tones 440 and 1000 Hz, pattern cameras) to the
// video room g, and checks what every video room must do: a learns that b
// publishes video, each decodes the other's frames in order and from the
// right camera, and a still hears b.
func videoPair(t *testing.T, a, b *node, g string) {
	t.Helper()
	a.ctl.mustOK("subscribe", map[string]any{"events": []string{"onVoIPVideoMembersChanged"}})
	a.ctl.mustOK("joinVoIPChat", videoParams(a, g))
	b.ctl.mustOK("joinVoIPChat", videoParams(b, g))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.ctl.waitEvent(ctx, "onVoIPVideoMembersChanged", func(p map[string]any) bool {
		return slices.Contains(strList(p["openIdList"]), b.openid)
	})
	eventually(t, 20*time.Second, "a decodes b's video", func() bool { n, _, _ := a.frames.of(b.openid); return len(n) >= 30 })
	eventually(t, 20*time.Second, "b decodes a's video", func() bool { n, _, _ := b.frames.of(a.openid); return len(n) >= 30 })
	na, ida, _ := a.frames.of(b.openid)
	nb, idb, _ := b.frames.of(a.openid)
	checkAdvancing(t, "a ← b", na)
	checkAdvancing(t, "b ← a", nb)
	if wa, wb := synth.PatternIDOf("cam-"+a.openid), synth.PatternIDOf("cam-"+b.openid); ida != wb || idb != wa {
		t.Fatalf("pattern ids read back %d/%d, want b's %d and a's %d", ida, idb, wb, wa)
	}
	eventually(t, 10*time.Second, "a hears b", func() bool { return a.audio.heard(1000, 440) > 20 })
}

// Two daemons with synthetic cameras in a video room decode each other's
// frames, whose numbers advance; a third member's arrival makes roomd ask
// the publishers for a keyframe (a PLI), and a subscription narrows what a
// member receives.
func TestVideoRoom(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	a := startNode(t, "vid-a", url, secret, 440, nil)
	b := startNode(t, "vid-b", url, secret, 1000, nil)
	videoPair(t, a, b, "v") // audio still flows in a video room too

	st := a.ctl.mustOK("status", nil)
	cam := st["devices"].(map[string]any)["camera"].(map[string]any)
	if cam["synthetic"] != true || cam["state"] != "open" {
		t.Fatalf("status camera = %v", cam)
	}
	if vi := videoInbound(t, a, "vid-b"); vi["framesDecoded"].(float64) == 0 || vi["frameWidth"].(float64) != 320 {
		t.Fatalf("a's inbound video stats: %v", vi)
	}

	// video.bitrate caps what the send-side estimate may ask for.
	if tb := videoOutbound(t, a)["targetBitrate"].(float64); tb > float64(a.cfg.Video.Bitrate) || tb <= 0 {
		t.Fatalf("a's video target %v bit/s, want within (0, video.bitrate %d]", tb, a.cfg.Video.Bitrate)
	}

	// A new member: roomd asks the publishers for a keyframe (PLI).
	keysBefore := videoOutbound(t, b)["keyFramesEncoded"].(float64)
	c := startNode(t, "vid-c", url, secret, 660, nil)
	c.ctl.mustOK("joinVoIPChat", videoParams(c, "v"))
	eventually(t, 10*time.Second, "b encodes a keyframe for the PLI", func() bool {
		return videoOutbound(t, b)["keyFramesEncoded"].(float64) > keysBefore
	})
	eventually(t, 20*time.Second, "c decodes a and b", func() bool {
		x, _, _ := c.frames.of("vid-a")
		y, _, _ := c.frames.of("vid-b")
		return len(x) > 10 && len(y) > 10
	})

	// a subscribes to c only: b's video stops arriving, c's keeps coming.
	a.ctl.mustOK("subscribeVoIPVideoMembers", map[string]any{"openIdList": []string{"vid-c"}})
	time.Sleep(time.Second) // let the renegotiation land
	_, _, lastB := a.frames.of("vid-b")
	nc1, _, _ := a.frames.of("vid-c")
	time.Sleep(2 * time.Second)
	_, _, lastB2 := a.frames.of("vid-b")
	nc2, _, _ := a.frames.of("vid-c")
	if !lastB2.Equal(lastB) {
		t.Fatalf("a still decodes b's video after subscribing to c only")
	}
	if len(nc2) <= len(nc1) {
		t.Fatalf("a stopped decoding c's video (%d → %d frames)", len(nc1), len(nc2))
	}
	a.ctl.mustFail("subscribeVoIPVideoMembers", map[string]any{}, -32602, "params")
}

func videoOutbound(t *testing.T, n *node) map[string]any {
	t.Helper()
	stats := n.ctl.mustOK("getStats", nil)
	for _, x := range stats["outbound"].([]any) {
		if m := x.(map[string]any); m["kind"] == "video" {
			return m
		}
	}
	t.Fatalf("%s has no outbound video: %v", n.openid, stats)
	return nil
}

func videoInbound(t *testing.T, n *node, member string) map[string]any {
	t.Helper()
	stats := n.ctl.mustOK("getStats", nil)
	for _, x := range stats["inbound"].([]any) {
		if m := x.(map[string]any); m["kind"] == "video" && m["member"] == member {
			return m
		}
	}
	t.Fatalf("%s has no inbound video from %s: %v", n.openid, member, stats)
	return nil
}

// The camera paths V4L2 would take: busy at join answers -2, absent
// answers -1000 absent, and a camera that vanishes mid-call is reported
// with onVoIPChatStateChanged while the call goes on with audio; it comes
// back (5) when the device does.
func TestCameraBusyAbsentAndUnplug(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	a := startNode(t, "cam-a", url, secret, 440, nil)
	b := startNode(t, "cam-b", url, secret, 1000, nil)

	a.cams.mu.Lock()
	a.cams.busy = true
	a.cams.mu.Unlock()
	a.ctl.mustFail("joinVoIPChat", videoParams(a, "u"), -2, "busy")
	a.cams.mu.Lock()
	a.cams.busy = false
	a.cams.mu.Unlock()
	a.cams.unplug(true)
	a.ctl.mustFail("joinVoIPChat", videoParams(a, "u"), -1000, "absent")
	a.cams.unplug(false)

	a.ctl.mustOK("subscribe", map[string]any{"events": []string{"onVoIPChatStateChanged"}})
	a.ctl.mustOK("joinVoIPChat", videoParams(a, "u"))
	b.ctl.mustOK("joinVoIPChat", videoParams(b, "u"))
	eventually(t, 20*time.Second, "b decodes a's video", func() bool { n, _, _ := b.frames.of("cam-a"); return len(n) > 10 })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.cams.unplug(true)
	ev := a.ctl.waitEvent(ctx, "onVoIPChatStateChanged", func(p map[string]any) bool { return p["code"] == 4.0 })
	if ev["data"].(map[string]any)["device"] != "camera" {
		t.Fatalf("state event %v", ev)
	}
	if st := a.ctl.mustOK("status", nil); st["state"] != "inRoom" {
		t.Fatalf("the call did not go on without the camera: %v", st["state"])
	}
	eventually(t, 10*time.Second, "b still hears a", func() bool { return b.audio.heard(440, 1000) > 20 })
	_, _, last := b.frames.of("cam-a")

	a.cams.unplug(false)
	a.ctl.waitEvent(ctx, "onVoIPChatStateChanged", func(p map[string]any) bool { return p["code"] == 5.0 })
	eventually(t, 15*time.Second, "b decodes a's video again", func() bool { _, _, at := b.frames.of("cam-a"); return at.After(last) })
}
