package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/roomd"
	"github.com/voipd/voipd/roomd/token"
)

const (
	rtcApp = "5f2a1b3c4d5e6f7081920a1b" // 24 characters, as Volcengine's
	rtcKey = "rtc-app-key-for-the-tests"
)

func rtcRoomd(t *testing.T) (*roomd.Server, string) {
	return testRoomd(t, func(c *roomd.Config) {
		c.Apps = append(c.Apps, roomd.App{ID: rtcApp, Secret: rtcKey})
		c.RTCTokenWarning = 2 * time.Second
	})
}

func mint(t *testing.T, room, user string, publish bool, expire time.Time) string {
	t.Helper()
	tk := token.New(rtcApp, room, user, time.Now())
	var at uint32
	if !expire.IsZero() {
		at = uint32(expire.Unix())
	}
	tk.ExpireAt = at
	if publish {
		tk.AddPrivilege(token.PublishStream, at)
	}
	tk.AddPrivilege(token.SubscribeStream, at)
	s, err := tk.Serialize(rtcKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rtcJoin(room, user, tok string) map[string]any {
	return map[string]any{"roomId": room, "userId": user, "token": tok}
}

// checkRTC checks an RTC answer's code, errNo and errMsg.
func checkRTC(t *testing.T, a rpcAnswer, code, errNo int, msgPart string) {
	t.Helper()
	if a.Error == nil {
		t.Fatalf("succeeded (%v), want %d/%d", a.Result, code, errNo)
	}
	d := a.Error.Data
	if a.Error.Code != code || d["errCode"] != float64(code) || d["errNo"] != float64(errNo) || !strings.Contains(a.Error.Message, msgPart) {
		t.Fatalf("got %d %q %v, want %d errNo %d with %q", a.Error.Code, a.Error.Message, d, code, errNo, msgPart)
	}
}

// Two publishers and a subscriber-only member in a token room: events,
// media where the tokens allow it, capture switches and camera switching.
func TestRTCRoom(t *testing.T) {
	srv, _ := rtcRoomd(t)
	url := wsURL(srv.URL())
	back := func(c *config.Config) { c.Video.Back = "back"; c.Display.Listen = "127.0.0.1:0" }
	a := startNode(t, "dev-a", url, "s", 440, back)
	b := startNode(t, "dev-b", url, "s", 1000, nil)
	c := startNode(t, "dev-c", url, "s", 660, nil)
	for _, n := range []*node{a, b, c} {
		n.ctl.mustOK("createRtcRoomContext", map[string]any{"appId": rtcApp})
	}
	a.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})
	b.ctl.mustOK("subscribe", map[string]any{"events": []string{"onRtcChatMembersChanged"}})
	a.ctl.mustOK("joinRtcRoom", rtcJoin("r1", "ua", mint(t, "r1", "ua", true, time.Time{})))
	b.ctl.mustOK("joinRtcRoom", rtcJoin("r1", "ub", mint(t, "*", "ub", true, time.Time{})))
	c.ctl.mustOK("joinRtcRoom", rtcJoin("r1", "uc", mint(t, "r1", "uc", false, time.Time{})))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.ctl.waitEvents(ctx, map[string]func(map[string]any) bool{
		"onRtcChatMembersChanged":  func(p map[string]any) bool { return len(strList(p["userIdList"])) == 3 },
		"onRtcVideoMembersChanged": func(p map[string]any) bool { return slices.Contains(strList(p["userIdList"]), "ub") },
		"onRtcChatSpeakersChanged": func(p map[string]any) bool { return slices.Contains(strList(p["userIdList"]), "ub") },
	})

	eventually(t, 15*time.Second, "b hears a", func() bool { return b.audio.heard(440, 1000) > 20 })
	eventually(t, 15*time.Second, "the subscriber hears a", func() bool { return c.audio.heard(440, 660) > 20 })
	if r := a.audio.heard(660, 1000); r > 2 {
		t.Fatalf("a hears the subscriber-only member (ratio %.1f)", r)
	}
	eventually(t, 15*time.Second, "b decodes a's camera", func() bool { _, id, _ := b.frames.of("ua"); return id == synth.PatternIDOf("cam-dev-a") })

	a.ctl.mustOK("changeAudioCapture", map[string]any{"state": 0})
	eventually(t, 10*time.Second, "b no longer hears a", func() bool { return b.audio.heard(440, 1000) < 2 })
	a.ctl.mustOK("changeAudioCapture", map[string]any{"state": 1})
	eventually(t, 10*time.Second, "b hears a again", func() bool { return b.audio.heard(440, 1000) > 20 })

	res := a.ctl.mustOK("switchCamera", nil)
	if res["devicePosition"] != "back" {
		t.Fatalf("switchCamera: %v", res)
	}
	eventually(t, 15*time.Second, "b sees a's back camera", func() bool { _, id, _ := b.frames.of("ua"); return id == synth.PatternIDOf("cam-dev-a-back") })
	// The local display follows: <voip-room device-position="back"> has its source.
	if srcs := displaySources(t, a); !slices.Contains(srcs, "self:back") || slices.Contains(srcs, "self") {
		t.Fatalf("display sources after switchCamera: %v", srcs)
	}

	a.ctl.mustOK("changeVideoCapture", map[string]any{"state": 0})
	// Frames already on their way are still decoded (a loaded machine
	// holds them longer): then a whole second passes with none.
	var last2 time.Time
	eventually(t, 10*time.Second, "b decodes no more of a's video after changeVideoCapture 0", func() bool {
		_, _, last := b.frames.of("ua")
		time.Sleep(time.Second)
		_, _, last2 = b.frames.of("ua")
		return last2.Equal(last)
	})
	a.ctl.mustOK("changeVideoCapture", map[string]any{"state": 1})
	eventually(t, 15*time.Second, "a's video is back", func() bool { _, _, at := b.frames.of("ua"); return at.After(last2) })

	a.ctl.mustOK("exitRtcRoom", map[string]any{"roomId": "r1"})
	b.ctl.waitEvent(ctx, "onRtcChatMembersChanged", func(p map[string]any) bool { return !slices.Contains(strList(p["userIdList"]), "ua") })
}

// Every code of the RTC table from a real situation over the socket.
func TestRTCErrorCodes(t *testing.T) {
	srv, _ := rtcRoomd(t)
	url := wsURL(srv.URL())
	n := startNode(t, "rtc-err", url, "s", 440, nil)
	n.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})

	checkRTC(t, n.ctl.call("joinRtcRoom", rtcJoin("r", "u", mint(t, "r", "u", true, time.Time{}))), 115910, 115910, "engine has been destroyed")
	n.ctl.mustOK("createRtcRoomContext", map[string]any{"appId": rtcApp})
	checkRTC(t, n.ctl.call("joinRtcRoom", map[string]any{"roomId": "r", "userId": "u"}), 115999, 20000, "token")
	checkRTC(t, n.ctl.call("joinRtcRoom", rtcJoin("r", "u", mint(t, "r", "other", true, time.Time{}))), 115902, 21101, "invalid token")
	checkRTC(t, n.ctl.call("joinRtcRoom", rtcJoin("r", "u", mint(t, "r", "u", true, time.Now().Add(-time.Minute)))), 115902, 21101, "")

	n.audio.setBusy(&hw.DeviceError{Op: "open capture", Kind: hw.ErrBusy})
	checkRTC(t, n.ctl.call("joinRtcRoom", rtcJoin("r", "u", mint(t, "r", "u", true, time.Time{}))), 115990, 115990, "microphone")
	n.audio.setBusy(nil)

	n.ctl.mustOK("joinRtcRoom", rtcJoin("r", "u", mint(t, "r", "u", true, time.Time{})))
	checkRTC(t, n.ctl.call("joinRtcRoom", rtcJoin("r", "u", mint(t, "r", "u", true, time.Time{}))), 115901, 21100, "user u is already in the room r")
	n.ctl.mustOK("exitRtcRoom", map[string]any{"roomId": "r"})

	n.ctl.mustOK("destroyRtcRoomContext", nil)
	checkRTC(t, n.ctl.call("changeAudioCapture", map[string]any{"state": 0}), 115910, 115910, "destroyed")

	scoped := startNode(t, "rtc-scope", url, "s", 440, func(c *config.Config) { c.Scopes.Record = []string{"uid:4000000000"} })
	scoped.ctl.mustOK("createRtcRoomContext", map[string]any{"appId": rtcApp})
	checkRTC(t, scoped.ctl.call("joinRtcRoom", rtcJoin("r", "u2", mint(t, "r", "u2", true, time.Time{}))), 10200, 10200, "auth deny")

	dead := startNode(t, "rtc-dead", "ws://127.0.0.1:9/ws", "s", 440, nil)
	dead.ctl.mustOK("createRtcRoomContext", map[string]any{"appId": rtcApp})
	checkRTC(t, dead.ctl.call("joinRtcRoom", rtcJoin("r", "u3", mint(t, "r", "u3", true, time.Time{}))), 115903, 21102, "")
}

// A token that expires during the call: the warning, then removal.
func TestRTCTokenExpires(t *testing.T) {
	srv, _ := rtcRoomd(t)
	n := startNode(t, "rtc-exp", wsURL(srv.URL()), "s", 440, nil)
	n.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})
	n.ctl.mustOK("createRtcRoomContext", map[string]any{"appId": rtcApp})
	n.ctl.mustOK("joinRtcRoom", rtcJoin("r", "u", mint(t, "r", "u", true, time.Now().Add(4*time.Second))))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	warn := n.ctl.waitEvent(ctx, "onRtcStateChange", func(p map[string]any) bool { return strings.Contains(p["errMsg"].(string), "expire") })
	t.Logf("warning: %v", warn)
	n.ctl.waitEvent(ctx, "onRtcChatInterrupted", func(p map[string]any) bool { return strings.Contains(p["errMsg"].(string), "token_expired") })
	eventually(t, 10*time.Second, "idle after removal", func() bool { return n.ctl.mustOK("status", nil)["state"] == "idle" })
}

// roomConfig: autoPublish false joins without sending until
// changeAudioCapture {state: 1}; autoSubscribe false receives nothing until
// changeSubscribeState {state: 1}.
func TestRTCRoomConfig(t *testing.T) {
	srv, _ := rtcRoomd(t)
	url := wsURL(srv.URL())
	a := startNode(t, "cfg-a", url, "s", 440, nil)
	b := startNode(t, "cfg-b", url, "s", 1000, nil)
	for _, n := range []*node{a, b} {
		n.ctl.mustOK("createRtcRoomContext", map[string]any{"appId": rtcApp})
	}
	pa := rtcJoin("r", "qa", mint(t, "r", "qa", true, time.Time{}))
	pa["roomConfig"] = map[string]any{"autoPublish": false}
	pb := rtcJoin("r", "qb", mint(t, "r", "qb", true, time.Time{}))
	pb["roomConfig"] = map[string]any{"autoSubscribe": false}
	a.ctl.mustOK("joinRtcRoom", pa)
	b.ctl.mustOK("joinRtcRoom", pb)

	// b publishes and a subscribes: a hears b; b hears nothing (it does not
	// subscribe, and a does not publish).
	eventually(t, 15*time.Second, "a hears b", func() bool { return a.audio.heard(1000, 440) > 20 })
	time.Sleep(time.Second)
	if r := b.audio.heard(440, 1000); r > 2 {
		t.Fatalf("b hears a before anything allows it (ratio %.1f)", r)
	}
	for _, x := range a.ctl.mustOK("getStats", nil)["outbound"].([]any) {
		if m := x.(map[string]any); m["packetsSent"].(float64) != 0 {
			t.Fatalf("a sends %v without publishing", m)
		}
	}
	b.ctl.mustOK("changeSubscribeState", map[string]any{"state": 1})
	time.Sleep(time.Second)
	if r := b.audio.heard(440, 1000); r > 2 {
		t.Fatalf("b hears a, who does not publish (ratio %.1f)", r)
	}
	a.ctl.mustOK("changeAudioCapture", map[string]any{"state": 1})
	eventually(t, 15*time.Second, "b hears a once a publishes and b subscribes", func() bool { return b.audio.heard(440, 1000) > 20 })
}

// The same userId joining elsewhere removes the earlier session, which
// hears of it through onRtcChatInterrupted with the reason.
func TestRTCDuplicateUser(t *testing.T) {
	srv, _ := rtcRoomd(t)
	url := wsURL(srv.URL())
	first := startNode(t, "dup-1", url, "s", 440, nil)
	second := startNode(t, "dup-2", url, "s", 1000, nil)
	for _, n := range []*node{first, second} {
		n.ctl.mustOK("createRtcRoomContext", map[string]any{"appId": rtcApp})
	}
	first.ctl.mustOK("subscribe", map[string]any{"events": []string{"onRtcChatInterrupted"}})
	first.ctl.mustOK("joinRtcRoom", rtcJoin("r", "same", mint(t, "r", "same", true, time.Time{})))
	second.ctl.mustOK("joinRtcRoom", rtcJoin("r", "same", mint(t, "r", "same", true, time.Time{})))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ev := first.ctl.waitEvent(ctx, "onRtcChatInterrupted", nil)
	if ev["reason"] != "duplicate" || ev["errNo"] == nil {
		t.Fatalf("interrupted: %v", ev)
	}
	eventually(t, 10*time.Second, "the first device is idle", func() bool { return first.ctl.mustOK("status", nil)["state"] == "idle" })
	if st := second.ctl.mustOK("status", nil); st["state"] != "inRoom" {
		t.Fatalf("the second device: %v", st["state"])
	}
}

func displaySources(t *testing.T, n *node) []string {
	t.Helper()
	resp, err := http.Get(n.in.displayURL + "/sources")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []string
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	return list
}
