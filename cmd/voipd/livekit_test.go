package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/internal/browsertest"

	"github.com/voipd/voipd/internal/lktest"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd"
	"github.com/voipd/voipd/roomd/lkgate"
)

// lkGateways starts n gateways (roomd in gateway mode) of the test app in
// front of LiveKit at lkURL (one node, or several comma-separated), their
// nonces in redis; it returns their URLs and the app's secret.
func lkGateways(t *testing.T, n int, lkURL, redis string) ([]string, string) {
	t.Helper()
	secret := randomHex(16)
	var urls []string
	for range n {
		gw, err := lkgate.New(lkgate.Config{URL: lkURL, APIKey: lktest.Key, APISecret: lktest.Secret, Redis: redis})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { gw.Close() })
		srv, _ := testRoomd(t, func(c *roomd.Config) {
			c.Apps = []roomd.App{{ID: testApp, Secret: secret}, {ID: rtcApp, Secret: rtcKey}}
			c.Gateway = gw
		})
		urls = append(urls, wsURL(srv.URL()))
	}
	return urls, secret
}

// TestPanelsOnLiveKit (issue 18, tests 1 and 2): two voipd panels, their
// room.url each at a different gateway, join one groupId with the control
// socket's joinVoIPChat as ever: they land in one LiveKit room (its
// RoomService lists both), each hears the other's tone, and an exit is
// seen by LiveKit and by the other panel. A nonce spent through gateway 0
// is refused through gateway 1 (-1000, replay).
func TestPanelsOnLiveKit(t *testing.T) {
	redis := lktest.Redis(t)
	node := lktest.LiveKit(t, redis)
	gws, secret := lkGateways(t, 2, node.URL, redis)
	a := startNode(t, "door-a", gws[0], secret, 440, nil)
	b := startNode(t, "door-b", gws[1], secret, 1000, nil)
	joinBoth(t, a, b, "lobby")

	room := lkgate.RoomName(proto.KindVoIP, testApp, "lobby")
	eventually(t, 20*time.Second, "LiveKit lists both panels", func() bool {
		got, err := node.Participants(room)
		return err == nil && slices.Equal(got, []string{"door-a", "door-b"})
	})
	eventually(t, 20*time.Second, "a hears b's 1000 Hz", func() bool { return a.audio.heard(1000, 440) > 20 })
	eventually(t, 20*time.Second, "b hears a's 440 Hz", func() bool { return b.audio.heard(440, 1000) > 20 })
	checkInbound(t, a, "door-b")
	checkInbound(t, b, "door-a")
	// Who speaks: each panel's tone is loud at the other.
	eventually(t, 20*time.Second, "a sees b speaking", func() bool {
		r, _ := a.ctl.mustOK("status", nil)["room"].(map[string]any)
		return slices.Contains(strList(r["speakers"]), "door-b")
	})
	st := a.ctl.mustOK("status", nil)
	if r, _ := st["room"].(map[string]any); r == nil || r["id"] != "lobby" {
		t.Errorf("a's status room %v", st["room"])
	}

	b.ctl.mustOK("exitVoIPChat", nil)
	eventually(t, 20*time.Second, "LiveKit sees b leave", func() bool {
		got, err := node.Participants(room)
		return err == nil && slices.Equal(got, []string{"door-a"})
	})
	eventually(t, 20*time.Second, "a sees b leave", func() bool {
		r, _ := a.ctl.mustOK("status", nil)["room"].(map[string]any)
		return slices.Equal(strList(r["members"]), []string{"door-a"})
	})

	// A nonce a panel spent through gateway 0 is refused through gateway
	// 1: one identity, two daemons, each at its gateway.
	c0 := startNode(t, "door-c", gws[0], secret, 440, nil)
	c1 := startNode(t, "door-c", gws[1], secret, 440, nil)
	p := c0.joinParams("hall")
	c0.ctl.mustOK("joinVoIPChat", p)
	c0.ctl.mustOK("exitVoIPChat", nil)
	c1.ctl.mustFail("joinVoIPChat", p, -1000, proto.ReasonReplay)
	c1.ctl.mustOK("joinVoIPChat", c1.joinParams("hall"))
	c1.ctl.mustOK("exitVoIPChat", nil)
}

// TestVideoRoomOnLiveKit: panels with synthetic cameras in a video room on
// LiveKit (each through its own gateway) decode each other's frames; the
// video members reach the app; with three, WeChat's rule holds (the first
// two others by default) and a subscription narrows what a member
// receives.
func TestVideoRoomOnLiveKit(t *testing.T) {
	redis := lktest.Redis(t)
	node := lktest.LiveKit(t, redis)
	gws, secret := lkGateways(t, 2, node.URL, redis)
	a := startNode(t, "vid-a", gws[0], secret, 440, nil)
	b := startNode(t, "vid-b", gws[1], secret, 1000, nil)
	videoPair(t, a, b, "v")
	if vi := videoInbound(t, a, "vid-b"); vi["framesDecoded"].(float64) == 0 {
		t.Fatalf("a's inbound video stats: %v", vi)
	}
	// video.bitrate caps what the send-side estimate (LiveKit's feedback)
	// may ask for.
	if tb := videoOutbound(t, a)["targetBitrate"].(float64); tb > float64(a.cfg.Video.Bitrate) || tb <= 0 {
		t.Fatalf("a's video target %v bit/s, want within (0, video.bitrate %d]", tb, a.cfg.Video.Bitrate)
	}

	// A third member: it decodes both (LiveKit asks the publishers for a
	// keyframe for it).
	c := startNode(t, "vid-c", gws[0], secret, 660, nil)
	c.ctl.mustOK("joinVoIPChat", videoParams(c, "v"))
	eventually(t, 20*time.Second, "c decodes a and b", func() bool {
		x, _, _ := c.frames.of("vid-a")
		y, _, _ := c.frames.of("vid-b")
		return len(x) > 10 && len(y) > 10
	})

	// a subscribes to c only: b's video stops arriving, c's keeps coming.
	a.ctl.mustOK("subscribeVoIPVideoMembers", map[string]any{"openIdList": []string{"vid-c"}})
	eventually(t, 20*time.Second, "a decodes c's video", func() bool { n, _, _ := a.frames.of("vid-c"); return len(n) > 10 })
	time.Sleep(time.Second) // let the unsubscription land
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
}

// TestLiveKitNodeKilled (issue 18, test 4): two LiveKit nodes share a
// Redis, the gateways know both; the node hosting the room is SIGKILLed
// mid-call. Both panels get back into the room by themselves through the
// surviving node (a fresh token from their gateway with the resume
// ticket; LiveKit re-creates the room there), say reconnecting and
// reconnected (codes 1 and 2), are not interrupted, and hear and see each
// other again (a video room: the same tracks carry on). How long hearing
// took is logged (the goal: 5 s; LiveKit counts a dead node as
// the room's for up to 5 s after its last report, docs/SCALE-OUT.md).
func TestLiveKitNodeKilled(t *testing.T) {
	redis := lktest.Redis(t)
	nodes := []*lktest.Node{lktest.LiveKit(t, redis), lktest.LiveKit(t, redis)}
	gws, secret := lkGateways(t, 2, nodes[0].URL+","+nodes[1].URL, redis)
	a := startNode(t, "kill-a", gws[0], secret, 440, nil)
	b := startNode(t, "kill-b", gws[1], secret, 1000, nil)
	for _, n := range []*node{a, b} {
		n.ctl.mustOK("subscribe", map[string]any{"events": []string{"onVoIPChatStateChanged", "onVoIPChatInterrupted"}})
		n.ctl.mustOK("joinVoIPChat", videoParams(n, "lobby"))
	}
	eventually(t, 20*time.Second, "a hears b", func() bool { return a.audio.heard(1000, 440) > 20 })
	eventually(t, 20*time.Second, "b hears a", func() bool { return b.audio.heard(440, 1000) > 20 })
	eventually(t, 20*time.Second, "a and b see each other", func() bool {
		x, _, _ := a.frames.of("kill-b")
		y, _, _ := b.frames.of("kill-a")
		return len(x) > 10 && len(y) > 10
	})

	// The node hosting the room is the one a's media goes to.
	port := func(n *node) int {
		r, _ := n.ctl.mustOK("status", nil)["room"].(map[string]any)
		net, _ := r["network"].(map[string]any)
		p, _ := net["remotePort"].(float64)
		return int(p)
	}
	var host, other *lktest.Node
	for i, nd := range nodes {
		if nd.UDPPort == port(a) {
			host, other = nd, nodes[1-i]
		}
	}
	if host == nil || port(b) != host.UDPPort {
		t.Fatalf("a's media goes to port %d, b's to %d; the nodes' are %d and %d", port(a), port(b), nodes[0].UDPPort, nodes[1].UDPPort)
	}

	host.Kill()
	killed := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, n := range []*node{a, b} {
		n.ctl.waitEvent(ctx, "onVoIPChatStateChanged", func(p map[string]any) bool { return p["code"] == 1.0 })
	}
	for _, n := range []*node{a, b} {
		n.ctl.waitEvent(ctx, "onVoIPChatStateChanged", func(p map[string]any) bool { return p["code"] == 2.0 })
	}
	eventually(t, 30*time.Second, "a hears b again", func() bool { return a.audio.heard(1000, 440) > 20 })
	eventually(t, 30*time.Second, "b hears a again", func() bool { return b.audio.heard(440, 1000) > 20 })
	t.Logf("both hear each other %v after the node hosting the room was killed", time.Since(killed).Round(10*time.Millisecond))
	_, _, seenB := a.frames.of("kill-b")
	_, _, seenA := b.frames.of("kill-a")
	eventually(t, 20*time.Second, "a and b see each other again", func() bool {
		_, _, lastB := a.frames.of("kill-b")
		_, _, lastA := b.frames.of("kill-a")
		return lastB.After(seenB.Add(500*time.Millisecond)) && lastA.After(seenA.Add(500*time.Millisecond))
	})
	for _, n := range []*node{a, b} {
		if p := port(n); p != other.UDPPort {
			t.Errorf("%s's media goes to port %d, not the surviving node's %d", n.openid, p, other.UDPPort)
		}
		st := n.ctl.mustOK("status", nil)
		if st["state"] != "inRoom" {
			t.Errorf("%s's state after the node was killed: %v", n.openid, st["state"])
		}
	drain:
		for {
			select {
			case e := <-n.ctl.events:
				if e.Method == "onVoIPChatInterrupted" {
					t.Fatalf("%s was interrupted: %v", n.openid, e.Params)
				}
			default:
				break drain
			}
		}
	}
	room := lkgate.RoomName(proto.KindVoIP, testApp, "lobby")
	eventually(t, 20*time.Second, "the surviving node lists both", func() bool {
		got, err := other.Participants(room)
		return err == nil && slices.Equal(got, []string{"kill-a", "kill-b"})
	})
	a.ctl.mustOK("exitVoIPChat", nil)
}

// TestCallAcrossGatewaysOnLiveKit (issue 18, test 3): an indoor monitor
// registered for calls at gateway 0 is rung by a door panel whose room.url
// is gateway 1: it rings, is answered, and the call, on LiveKit, carries
// audio both ways; hanging up ends it on both sides.
func TestCallAcrossGatewaysOnLiveKit(t *testing.T) {
	redis := lktest.Redis(t)
	lkNode := lktest.LiveKit(t, redis)
	gws, secret := lkGateways(t, 2, lkNode.URL, redis)
	monitor := startNode(t, "flat", gws[0], secret, monitorHz, nil)
	door := startNode(t, "door", gws[1], secret, doorHz, nil)
	for _, n := range []*node{door, monitor} {
		n.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})
	}
	monitor.ctl.mustOK("setEnable1v1Chat", map[string]any{"enable": true})
	eventually(t, 10*time.Second, "the monitor reachable for calls", func() bool {
		c, _ := monitor.ctl.mustOK("status", nil)["calls"].(map[string]any)
		return c["reachable"] == true
	})

	join, callID := ringUntilInvited(t, door, monitor, callParams("door", "flat", "voice"))
	eventually(t, 10*time.Second, "the monitor rings (700 Hz)", func() bool { return monitor.audio.heard(700, monitorHz) > 20 })
	monitor.ctl.mustOK("answer1v1Chat", map[string]any{"callId": callID, "accept": true})
	res := door.ctl.await(join, 20*time.Second)
	if res.Error != nil || res.Result["callId"] != callID {
		t.Fatalf("join1v1Chat: %+v %+v", res.Result, res.Error)
	}
	eventually(t, 15*time.Second, "the monitor hears the door", func() bool { return monitor.audio.heard(doorHz, monitorHz) > 20 })
	eventually(t, 15*time.Second, "the door hears the monitor", func() bool { return door.audio.heard(monitorHz, doorHz) > 20 })
	room := lkgate.RoomName(proto.Kind1v1, testApp, proto.CallRoomPrefix+callID)
	eventually(t, 10*time.Second, "LiveKit's call room holds both", func() bool {
		got, err := lkNode.Participants(room)
		return err == nil && slices.Equal(got, []string{"door", "flat"})
	})
	if st := door.ctl.mustOK("status", nil); st["room"].(map[string]any)["kind"] != "1v1" {
		t.Fatalf("door status %v", st["room"])
	}
	door.ctl.mustOK("exitVoIPChat", nil)
	waitEnded(t, door, "local")
	waitEnded(t, monitor, "remote")

	// The monitor in a group room on LiveKit is busy: no gateway sees
	// that room, so the monitor's daemon answers listener_busy itself,
	// rung through the other gateway or its own; it does not ring.
	door0 := startNode(t, "door0", gws[0], secret, doorHz, nil)
	eventually(t, 10*time.Second, "the monitor has left the call", func() bool {
		return monitor.ctl.mustOK("status", nil)["state"] == "idle"
	})
	monitor.ctl.mustOK("joinVoIPChat", monitor.joinParams("elsewhere"))
	door.ctl.mustFail("join1v1Chat", callParams("door", "flat", "voice"), -20013, "listener_busy")
	door0.ctl.mustFail("join1v1Chat", callParams("door0", "flat", "voice"), -20013, "listener_busy")
	for drained := false; !drained; {
		select {
		case e := <-monitor.ctl.events:
			if e.Method == "on1v1ChatInvite" {
				t.Fatalf("a busy monitor was invited: %v", e.Params)
			}
		default:
			drained = true
		}
	}
	monitor.ctl.mustOK("exitVoIPChat", nil)
	join, callID = ringUntilInvited(t, door, monitor, callParams("door", "flat", "voice"))
	monitor.ctl.mustOK("answer1v1Chat", map[string]any{"callId": callID, "accept": false})
	checkFail(t, "join1v1Chat", door.ctl.await(join, 10*time.Second), -20010, "declined")
}

// TestRTCRoomOnLiveKit: token rooms on LiveKit through gateways: two
// publishers (one with a camera) and a subscribe-only member; media where
// the tokens allow it; a capture switched off and on; autoSubscribe false
// until changeSubscribeState; the subscribe-only member cannot publish;
// a token that expires warns, then ends the stay.
func TestRTCRoomOnLiveKit(t *testing.T) {
	redis := lktest.Redis(t)
	lkNode := lktest.LiveKit(t, redis)
	gws, _ := lkGateways(t, 2, lkNode.URL, redis)
	a := startNode(t, "dev-a", gws[0], "s", 440, nil)
	b := startNode(t, "dev-b", gws[1], "s", 1000, nil)
	c := startNode(t, "dev-c", gws[0], "s", 660, nil)
	for _, n := range []*node{a, b, c} {
		n.ctl.mustOK("createRtcRoomContext", map[string]any{"appId": rtcApp})
	}
	a.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})
	a.ctl.mustOK("joinRtcRoom", rtcJoin("r1", "ua", mint(t, "r1", "ua", true, time.Time{})))
	pb := rtcJoin("r1", "ub", mint(t, "r1", "ub", true, time.Time{}))
	pb["roomConfig"] = map[string]any{"autoSubscribe": false}
	b.ctl.mustOK("joinRtcRoom", pb)
	c.ctl.mustOK("joinRtcRoom", rtcJoin("r1", "uc", mint(t, "r1", "uc", false, time.Time{})))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.ctl.waitEvents(ctx, map[string]func(map[string]any) bool{
		"onRtcChatMembersChanged":  func(p map[string]any) bool { return len(strList(p["userIdList"])) == 3 },
		"onRtcVideoMembersChanged": func(p map[string]any) bool { return slices.Contains(strList(p["userIdList"]), "ub") },
	})
	eventually(t, 15*time.Second, "the subscriber hears a", func() bool { return c.audio.heard(440, 660) > 20 })
	eventually(t, 15*time.Second, "a hears b", func() bool { return a.audio.heard(1000, 440) > 20 })
	time.Sleep(time.Second)
	if r := b.audio.heard(440, 1000); r > 2 {
		t.Fatalf("b hears a before it subscribes (ratio %.1f)", r)
	}
	b.ctl.mustOK("changeSubscribeState", map[string]any{"state": 1})
	eventually(t, 15*time.Second, "b hears a once it subscribes", func() bool { return b.audio.heard(440, 1000) > 20 })
	eventually(t, 15*time.Second, "b decodes a's camera", func() bool { _, id, _ := b.frames.of("ua"); return id == synth.PatternIDOf("cam-dev-a") })
	if r := a.audio.heard(660, 1000); r > 2 {
		t.Fatalf("a hears the subscriber-only member (ratio %.1f)", r)
	}

	// The subscribe-only member cannot publish.
	if res := c.ctl.call("changeAudioCapture", map[string]any{"state": 1}); res.Error == nil || !strings.Contains(res.Error.Message, "publish") {
		t.Errorf("a subscribe-only member publishing: %+v %+v, want an error saying it may not publish", res.Result, res.Error)
	} else {
		t.Logf("subscribe-only publishing: %d %s", res.Error.Code, res.Error.Message)
	}

	a.ctl.mustOK("changeAudioCapture", map[string]any{"state": 0})
	eventually(t, 10*time.Second, "b no longer hears a", func() bool { return b.audio.heard(440, 1000) < 2 })
	a.ctl.mustOK("changeAudioCapture", map[string]any{"state": 1})
	eventually(t, 10*time.Second, "b hears a again", func() bool { return b.audio.heard(440, 1000) > 20 })

	a.ctl.mustOK("exitRtcRoom", map[string]any{"roomId": "r1"})
	eventually(t, 20*time.Second, "LiveKit sees a leave", func() bool {
		got, err := lkNode.Participants(lkgate.RoomName(proto.KindRTC, rtcApp, "r1"))
		return err == nil && slices.Equal(got, []string{"ub", "uc"})
	})

	// A token that expires during the stay: the warning, then removal.
	e := startNode(t, "rtc-exp", gws[1], "s", 440, nil)
	e.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})
	e.ctl.mustOK("createRtcRoomContext", map[string]any{"appId": rtcApp})
	e.ctl.mustOK("joinRtcRoom", rtcJoin("r2", "ue", mint(t, "r2", "ue", true, time.Now().Add(4*time.Second))))
	warn := e.ctl.waitEvent(ctx, "onRtcStateChange", func(p map[string]any) bool { return strings.Contains(p["errMsg"].(string), "expire") })
	t.Logf("warning: %v", warn)
	e.ctl.waitEvent(ctx, "onRtcChatInterrupted", func(p map[string]any) bool { return strings.Contains(p["errMsg"].(string), "token_expired") })
	eventually(t, 10*time.Second, "idle after removal", func() bool { return e.ctl.mustOK("status", nil)["state"] == "idle" })
}

// TestBrowserOnLiveKit (issue 18, test 5): a person in a browser (headless
// Chromium, the page a gateway serves) and a panel join one group room
// through different gateways: both land in LiveKit's room, which the page
// joins with LiveKit's own browser client; the browser hears the panel
// (its WebRTC stats), the panel the browser (getStats), each lists the
// other, and the page's leave is seen by the panel.
func TestBrowserOnLiveKit(t *testing.T) {
	redis := lktest.Redis(t)
	lkNode := lktest.LiveKit(t, redis)
	gws, secret := lkGateways(t, 2, lkNode.URL, redis)
	n := startNode(t, "kiosk", gws[0], secret, 440, nil)
	n.ctl.mustOK("subscribe", map[string]any{"events": []string{"onVoIPChatMembersChanged"}})
	n.ctl.mustOK("joinVoIPChat", n.joinParams("demo"))

	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	web := "http" + strings.TrimSuffix(strings.TrimPrefix(gws[1], "ws"), "/ws")
	page, err := b.Open(ctx, web+"/?groupId=demo&openid=browser-1&autojoin=1")
	if err != nil {
		t.Fatal(err)
	}
	n.ctl.waitEvent(ctx, "onVoIPChatMembersChanged", func(p map[string]any) bool {
		return slices.Contains(strList(p["openIdList"]), "browser-1")
	})
	if err := page.WaitFor(ctx, `window.voipd && window.voipd.members.includes("kiosk")`); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(page.Console(), "\n"))
	}
	if err := page.WaitFor(ctx, `(await window.voipd.stats()).inboundAudio.some(a => a.member === "kiosk" && a.packetsReceived > 0 && a.audioLevel > 0)`); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(page.Console(), "\n"))
	}
	eventually(t, 20*time.Second, "the panel receives the browser's audio", func() bool {
		in, _ := n.ctl.mustOK("getStats", nil)["inbound"].([]any)
		for _, x := range in {
			m := x.(map[string]any)
			if m["member"] == "browser-1" && m["packetsReceived"].(float64) > 0 && m["framesDecoded"].(float64) > 0 {
				return true
			}
		}
		return false
	})
	// Another microphone chosen (the page's Devices panel): LiveKit's
	// publication sends it at once, and the panel still hears the page.
	if err := page.Eval(ctx, `(async () => {
		const d = (await window.voipd.devices()).microphone.find((x) => x.label === "Fake Audio Input 1");
		await window.voipd.chooseDevice("microphone", d.deviceId);
	})()`, nil); err != nil {
		t.Fatal(err)
	}
	if err := page.WaitFor(ctx, `window.voipd.sending().microphone.label === "Fake Audio Input 1"`); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(page.Console(), "\n"))
	}
	d0 := audioDecoded(n, "browser-1")
	eventually(t, 20*time.Second, "the panel hears the page's new microphone", func() bool { return audioDecoded(n, "browser-1") > d0+25 })

	got, err := lkNode.Participants(lkgate.RoomName(proto.KindVoIP, testApp, "demo"))
	if err != nil || !slices.Equal(got, []string{"browser-1", "kiosk"}) {
		t.Fatalf("LiveKit's room holds %v (%v), want the browser and the panel", got, err)
	}

	// A quiet room is not a lost one: with both muted no media flows, and
	// the page's media watch (3 s without a packet: lost) must hear
	// LiveKit's RTCP and keepalives instead. Twice its limit, nothing.
	n.ctl.mustOK("updateVoIPChatMuteConfig", map[string]any{"muteConfig": map[string]any{"muteMicrophone": true}})
	if err := page.Eval(ctx, `window.voipd.setMute({muteMicrophone: true})`, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * time.Second)
	var quiet struct {
		State string `json:"state"`
		Cause any    `json:"cause"`
	}
	if err := page.Eval(ctx, `({state: window.voipd.state, cause: window.voipd.reconnectCause})`, &quiet); err != nil {
		t.Fatal(err)
	}
	if quiet.State != "joined" || quiet.Cause != nil {
		t.Fatalf("the page in a quiet room: state %q, reconnect cause %v; want joined, never reconnecting\n%s", quiet.State, quiet.Cause, strings.Join(page.Console(), "\n"))
	}
	if err := page.Eval(ctx, `window.voipd.leave()`, nil); err != nil {
		t.Fatal(err)
	}
	n.ctl.waitEvent(ctx, "onVoIPChatMembersChanged", func(p map[string]any) bool {
		return !slices.Contains(strList(p["openIdList"]), "browser-1")
	})
}

// TestBrowserOnLiveKitNodeKilled: a browser and a panel in one LiveKit
// room; the node hosting it is SIGKILLed. The page says reconnecting,
// LiveKit's client gives up on the dead node, the page asks its gateway
// again with the resume ticket and joins the room where LiveKit re-created
// it; both hear each other again.
func TestBrowserOnLiveKitNodeKilled(t *testing.T) {
	redis := lktest.Redis(t)
	nodes := []*lktest.Node{lktest.LiveKit(t, redis), lktest.LiveKit(t, redis)}
	gws, secret := lkGateways(t, 2, nodes[0].URL+","+nodes[1].URL, redis)
	n := startNode(t, "kiosk", gws[0], secret, 440, nil)
	n.ctl.mustOK("subscribe", map[string]any{"events": []string{"onVoIPChatMembersChanged", "onVoIPChatStateChanged", "onVoIPChatInterrupted"}})
	n.ctl.mustOK("joinVoIPChat", n.joinParams("demo"))

	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	web := "http" + strings.TrimSuffix(strings.TrimPrefix(gws[1], "ws"), "/ws")
	page, err := b.Open(ctx, web+"/?groupId=demo&openid=browser-1&autojoin=1")
	if err != nil {
		t.Fatal(err)
	}
	fail := func(err error) {
		t.Helper()
		t.Fatalf("%v\n%s", err, strings.Join(page.Console(), "\n"))
	}
	if err := page.WaitFor(ctx, `(await window.voipd.stats()).inboundAudio.some(a => a.member === "kiosk" && a.packetsReceived > 0 && a.audioLevel > 0)`); err != nil {
		fail(err)
	}
	eventually(t, 20*time.Second, "the panel decodes the browser's audio", func() bool { return audioDecoded(n, "browser-1") > 0 })

	r, _ := n.ctl.mustOK("status", nil)["room"].(map[string]any)
	port, _ := r["network"].(map[string]any)["remotePort"].(float64)
	var host *lktest.Node
	for _, nd := range nodes {
		if nd.UDPPort == int(port) {
			host = nd
		}
	}
	if host == nil {
		t.Fatalf("the panel's media goes to port %v, no node's", port)
	}
	var killedAt float64 // the page's clock
	if err := page.Eval(ctx, `Date.now()`, &killedAt); err != nil {
		t.Fatal(err)
	}
	host.Kill()
	killed := time.Now()

	if err := page.WaitFor(ctx, `window.voipd.reconnectCause !== null`); err != nil {
		fail(err)
	}
	t.Logf("the page reconnecting %v after the kill", time.Since(killed).Round(10*time.Millisecond))
	if err := page.WaitFor(ctx, fmt.Sprintf(`window.voipd.state === "joined" && (await window.voipd.stats()).inboundAudio.some(a => a.member === "kiosk" && a.lastPacketReceivedTimestamp > %f && a.audioLevel > 0)`, killedAt+500)); err != nil {
		fail(err)
	}
	t.Logf("the page hears the panel again %v after the node hosting the room was killed", time.Since(killed).Round(10*time.Millisecond))
	n.ctl.waitEvent(ctx, "onVoIPChatStateChanged", func(p map[string]any) bool { return p["code"] == 2.0 })
	before := audioDecoded(n, "browser-1")
	eventually(t, 20*time.Second, "the panel decodes the browser's audio again", func() bool { return audioDecoded(n, "browser-1") > before+10 })
	var state string
	if err := page.Eval(ctx, `window.voipd.state`, &state); err != nil || state != "joined" {
		t.Fatalf("the page's state %q (%v), want joined", state, err)
	}
	got, err := nodes[0].Participants(lkgate.RoomName(proto.KindVoIP, testApp, "demo"))
	if host == nodes[0] {
		got, err = nodes[1].Participants(lkgate.RoomName(proto.KindVoIP, testApp, "demo"))
	}
	if err != nil || !slices.Equal(got, []string{"browser-1", "kiosk"}) {
		t.Fatalf("the surviving node's room holds %v (%v), want the browser and the panel", got, err)
	}
}

// TestCallBrowserAnswersOnLiveKit: a door panel whose room.url is gateway
// 0 calls a resident's browser registered at gateway 1: the page rings and
// answers, the call room is on LiveKit, audio flows both ways, the page
// hangs up and the door sees on1v1ChatEnded.
func TestCallBrowserAnswersOnLiveKit(t *testing.T) {
	redis := lktest.Redis(t)
	lkNode := lktest.LiveKit(t, redis)
	gws, secret := lkGateways(t, 2, lkNode.URL, redis)
	door := startNode(t, "door", gws[0], secret, doorHz, nil)
	door.ctl.mustOK("subscribe", map[string]any{"events": []string{"on1v1ChatEnded"}})
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	web := "http" + strings.TrimSuffix(strings.TrimPrefix(gws[1], "ws"), "/ws")
	page, err := b.Open(ctx, web+"/?openid=resident&enable1v1=1")
	if err != nil {
		t.Fatal(err)
	}
	fail := func(err error) {
		t.Helper()
		t.Fatalf("%v\n%s", err, strings.Join(page.Console(), "\n"))
	}
	if err := page.WaitFor(ctx, `window.voipd.registered === true`); err != nil {
		fail(err)
	}
	join := door.ctl.send("join1v1Chat", callParams("door", "resident", "voice"))
	if err := page.WaitFor(ctx, `window.voipd.callState === "ringing"`); err != nil {
		fail(err)
	}
	if err := page.Eval(ctx, `window.voipd.answer(true)`, nil); err != nil {
		t.Fatal(err)
	}
	a := door.ctl.await(join, 20*time.Second)
	if a.Error != nil {
		t.Fatalf("join1v1Chat: %+v", a.Error)
	}
	callID, _ := a.Result["callId"].(string)
	if err := page.WaitFor(ctx, `(await window.voipd.stats()).inboundAudio.some(a => a.member === "door" && a.packetsReceived > 0 && a.audioLevel > 0)`); err != nil {
		fail(err)
	}
	eventually(t, 20*time.Second, "the door receives the resident", func() bool {
		for _, x := range door.ctl.mustOK("getStats", nil)["inbound"].([]any) {
			if m := x.(map[string]any); m["member"] == "resident" && m["framesDecoded"].(float64) > 0 {
				return true
			}
		}
		return false
	})
	got, err := lkNode.Participants(lkgate.RoomName(proto.Kind1v1, testApp, proto.CallRoomPrefix+callID))
	if err != nil || !slices.Equal(got, []string{"door", "resident"}) {
		t.Fatalf("LiveKit's call room %q holds %v (%v), want the door and the resident", callID, got, err)
	}
	if err := page.Eval(ctx, `window.voipd.hangup()`, nil); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, door, "remote")
}
