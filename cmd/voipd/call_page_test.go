package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
)

// headImage is a data: URL of a small PNG, the head image a door panel
// gives with its calls (a URL the page loads as it is).
func headImage(t *testing.T) string {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = []uint8{0x1f, 0x66, 0xc8, 0xff}[i%4]
	}
	img.Set(8, 8, color.White)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())
}

// TestCallPageFlows (issue 20): calls as a resident meets them on a phone
// (390×844), against voipd at the other end. A door panel's video call
// rings: the page shows the door's nickname and head image over the whole
// screen, plays its ring, and offers answer with video, answer with voice
// and decline, the first focused; answered with voice, the page sends no
// picture and shows the door's across the phone's width (the group room's
// parts give the call the page), the call's duration runs, its mute stops
// what the page sends, another microphone chosen is sent at once, and
// hanging up ends it at the door. A voice call offers answer and decline (in Chinese
// after the switch), and declining fails the door's join1v1Chat with
// -20010; a video call answered with video sends the page's picture to
// the door, its own shown small and mirrored. The page calls an indoor monitor (voipd): the card says it
// rings, the ring-back plays, cancel ends it at the monitor; then the
// monitor declines, does not answer, is busy, and an openid nobody holds
// is offline, each said in words. axe-core finds nothing serious in the
// ringing, running and ended states.
func TestCallPageFlows(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	door := startNode(t, "door", url, secret, doorHz, nil)
	door.ctl.mustOK("subscribe", map[string]any{"events": []string{"on1v1ChatEnded"}})
	monitor := startNode(t, "flat", url, secret, monitorHz, nil)
	monitor.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})
	monitor.ctl.mustOK("setEnable1v1Chat", map[string]any{"enable": true})

	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	page, err := b.Open(ctx, srv.URL()+"/?openid=resident&enable1v1=1&lang=en")
	if err != nil {
		t.Fatal(err)
	}
	if err := page.Viewport(ctx, 390, 844, true); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what, cond string) {
		t.Helper()
		if err := page.WaitFor(ctx, cond); err != nil {
			var state string
			page.Eval(ctx, `JSON.stringify({callState: window.voipd.callState, lastCallEnd: window.voipd.lastCallEnd,
				text: document.querySelector("#call").innerText})`, &state)
			t.Fatalf("%s: %v; the page: %s", what, err, state)
		}
	}
	click := func(sel string) {
		t.Helper()
		if err := page.Eval(ctx, `document.querySelector(`+jsString(sel)+`).click()`, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("registered", `window.voipd.registered === true && window.voipd.callState === "idle"`)

	// A video call from the door, with its head image.
	params := callParams("door", "resident", "video")
	params["caller"].(map[string]any)["headImage"] = headImage(t)
	join := door.ctl.send("join1v1Chat", params)
	waitFor("the video call rings", `window.voipd.callState === "ringing" && window.voipd.ringing === "incoming" &&
		document.querySelector("#incoming-who").innerText.startsWith("Door door is calling") &&
		document.querySelector("#incoming-type").innerText === "Video call" &&
		document.querySelector("#incoming .avatar img").naturalWidth === 16 &&
		!document.querySelector("#incoming .avatar img").hidden &&
		document.activeElement === document.querySelector("#accept-video")`)
	waitFor("the ring sounds", `window.voipd.ringLevel() > 0.02`)
	var box struct {
		Box     rect
		Buttons []rect
		Labels  []string
	}
	if err := page.Eval(ctx, `(() => {
		const r = (el) => { const b = el.getBoundingClientRect(); return {x: b.x, y: b.y, w: b.width, h: b.height}; };
		const shown = [...document.querySelectorAll("#incoming .actions button")].filter(b => !b.hidden);
		return {box: r(document.querySelector("#incoming")), buttons: shown.map(r), labels: shown.map(b => b.innerText)};
	})()`, &box); err != nil {
		t.Fatal(err)
	}
	if box.Box.W < 389 || box.Box.H < 843 {
		t.Errorf("the ringing call covers %.0f×%.0f px of the 390×844 screen, want all of it", box.Box.W, box.Box.H)
	}
	want := []string{"Answer with video", "Answer with voice", "Decline"}
	if len(box.Labels) != 3 || box.Labels[0] != want[0] || box.Labels[1] != want[1] || box.Labels[2] != want[2] {
		t.Errorf("a video call offers %q, want %q", box.Labels, want)
	}
	for i, r := range box.Buttons {
		if r.Y < 844/2 || r.H < 48 || r.W < 300 {
			t.Errorf("answer %q at %+v: want in the screen's lower half, ≥ 48 px tall, ≥ 300 px wide (under the thumb)", box.Labels[i], r)
		}
	}
	page.CheckAxe(ctx, t, "a video call ringing")

	click("#accept") // answer with voice
	if a := door.ctl.await(join, 20*time.Second); a.Error != nil {
		t.Fatalf("join1v1Chat: %+v", a.Error)
	}
	waitFor("in the call, the door's picture shown", `window.voipd.callState === "inCall" && window.voipd.ringing === null &&
		!window.voipd.callVideo && document.querySelector("#incoming").hidden &&
		!document.querySelector("#call-card").hidden && document.querySelector("#call-peer").innerText === "Door door" &&
		document.querySelector("#call-video").videoWidth > 0 && document.querySelector("#call-self").hidden &&
		getComputedStyle(document.querySelector(".room")).display === "none" &&
		getComputedStyle(document.querySelector("#join-form")).display === "none" &&
		document.querySelector("#call-video").getBoundingClientRect().width >= 340 &&
		(await window.voipd.stats()).inboundVideo.some(v => v.member === "door" && v.framesDecoded > 0)`)
	waitFor("the duration runs", `(() => {
		const s = window.voipd.callSeconds;
		return s >= 2 && document.querySelector("#call-duration").innerText === Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
	})()`)
	var sentVideo float64
	if err := page.Eval(ctx, `(async () => (await window.voipd.stats()).outboundVideo.framesEncoded)()`, &sentVideo); err != nil || sentVideo != 0 {
		t.Errorf("answered with voice, the page encoded %v video frames (err %v), want none", sentVideo, err)
	}
	page.CheckAxe(ctx, t, "in a call")

	// Muting the microphone in the call stops what the page sends; unmuting
	// brings it back.
	sent := browsertest.Twice(`(await window.voipd.stats()).outboundAudio.packetsSent`, 600*time.Millisecond)
	click("#call-mute")
	waitFor("muted in the call", `window.voipd.callMuted && document.querySelector("#call-mute").getAttribute("aria-pressed") === "true" &&
		document.querySelector("#call-mute").innerText === "Unmute microphone" && (([a, b]) => a > 0 && a === b)(`+sent+`)`)
	click("#call-mute")
	waitFor("unmuted in the call", `!window.voipd.callMuted && (([a, b]) => b > a)(`+sent+`)`)

	// Another microphone chosen in the call: sent at once, the door hears it.
	if err := page.Eval(ctx, `(async () => {
		const d = (await window.voipd.devices()).microphone.find((x) => x.label === "Fake Audio Input 1");
		await window.voipd.chooseDevice("microphone", d.deviceId);
	})()`, nil); err != nil {
		t.Fatal(err)
	}
	waitFor("the chosen microphone sent", `window.voipd.callSending().microphone.label === "Fake Audio Input 1"`)
	h0 := audioDecoded(door, "resident")
	eventually(t, 20*time.Second, "the door hears the new microphone", func() bool { return audioDecoded(door, "resident") > h0+25 })
	click("#hangup")
	waitEnded(t, door, "remote")
	waitFor("the end said", `window.voipd.callState === "ended" && window.voipd.lastCallEnd.reason === "local" &&
		document.querySelector("#call-state").innerText === "Call ended: you hung up" && document.querySelector("#call-card").hidden`)
	page.CheckAxe(ctx, t, "a call ended")

	// A voice call: answer and decline only; the page in Chinese meanwhile.
	join = door.ctl.send("join1v1Chat", callParams("door", "resident", "voice"))
	waitFor("the voice call rings", `window.voipd.callState === "ringing" && document.querySelector("#accept-video").hidden &&
		document.querySelector("#accept").innerText === "Answer" && document.querySelector("#incoming-type").innerText === "Voice call" &&
		document.querySelector("#incoming .avatar .initial").innerText === "D"`)
	click("#lang")
	waitFor("the ringing call in Chinese", `document.querySelector("#accept").innerText === "接听" &&
		document.querySelector("#decline").innerText === "拒绝" && document.querySelector("#incoming-type").innerText === "语音通话"`)
	page.CheckAxe(ctx, t, "a voice call ringing, in Chinese")
	click("#decline")
	checkFail(t, "join1v1Chat", door.ctl.await(join, 10*time.Second), -20010, "declined")
	waitFor("declined said", `document.querySelector("#call-state").innerText === "通话已结束：你已拒绝"`)
	click("#lang")

	// A video call answered with video: the door gets the page's picture,
	// the page shows its own small and mirrored.
	join = door.ctl.send("join1v1Chat", callParams("door", "resident", "video"))
	waitFor("the video call rings again", `window.voipd.callState === "ringing" && !document.querySelector("#accept-video").hidden`)
	click("#accept-video")
	if a := door.ctl.await(join, 20*time.Second); a.Error != nil {
		t.Fatalf("join1v1Chat: %+v", a.Error)
	}
	waitFor("in the call with video", `window.voipd.callState === "inCall" && window.voipd.callVideo &&
		!document.querySelector("#call-self").hidden && document.querySelector("#call-self").videoWidth > 0 &&
		getComputedStyle(document.querySelector("#call-self")).transform === "matrix(-1, 0, 0, 1, 0, 0)" &&
		(await window.voipd.stats()).outboundVideo.framesEncoded > 0`)
	eventually(t, 20*time.Second, "the door receives the page's video", func() bool { return videoInboundOK(t, door, "resident") })
	click("#hangup")
	waitEnded(t, door, "remote")

	// The page calls the monitor; the card says it rings; cancel.
	call := func() {
		t.Helper()
		if err := page.Eval(ctx, `document.querySelector("#call-to").value = "flat"; document.querySelector("#call-button").click()`, nil); err != nil {
			t.Fatal(err)
		}
	}
	call()
	pageInvite(t, monitor)
	waitFor("ringing at the monitor", `window.voipd.callState === "calling" && window.voipd.outgoingRinging &&
		window.voipd.ringing === "outgoing" && !document.querySelector("#call-card").hidden &&
		document.querySelector("#call-peer").innerText === "flat" && document.querySelector("#call-detail").innerText === "Ringing…" &&
		document.querySelector("#hangup").innerText === "Cancel" && document.querySelector("#call-form").hidden`)
	waitFor("the ring-back sounds", `window.voipd.ringLevel() > 0.02`)
	click("#hangup")
	waitFor("cancelled said", `document.querySelector("#call-state").innerText === "Call ended: you cancelled" && window.voipd.ringing === null`)
	waitEnded(t, monitor, "remote")

	// The monitor declines.
	call()
	inv := pageInvite(t, monitor)
	monitor.ctl.mustOK("answer1v1Chat", map[string]any{"callId": inv, "accept": false})
	waitFor("declined by the monitor", `document.querySelector("#call-state").innerText === "Call ended: declined"`)

	// The monitor does not answer before the ring timeout the page asked for.
	if err := page.Eval(ctx, `window.voipd.call("flat", "voice", {ringTimeoutMs: 1500})`, nil); err != nil {
		t.Fatal(err)
	}
	pageInvite(t, monitor)
	waitFor("not answered", `document.querySelector("#call-state").innerText === "Call ended: not answered"`)
	waitEnded(t, monitor, "remote")

	// The monitor is in a group room: busy.
	monitor.ctl.mustOK("joinVoIPChat", monitor.joinParams("elsewhere"))
	if err := page.Eval(ctx, `window.voipd.call("flat", "voice")`, nil); err != nil {
		t.Fatal(err)
	}
	waitFor("busy said", `document.querySelector("#call-state").innerText === "Call ended: the other side is busy"`)
	monitor.ctl.mustOK("exitVoIPChat", nil)

	// Nobody holds this openid: offline.
	if err := page.Eval(ctx, `window.voipd.call("nobody", "voice")`, nil); err != nil {
		t.Fatal(err)
	}
	waitFor("offline said", `document.querySelector("#call-state").innerText === "Call ended: the other side is offline"`)
	page.CheckAxe(ctx, t, "a call placed and ended")
}

// pageInvite waits for the invitation of the page's call at n and returns
// its callId.
func pageInvite(t *testing.T, n *node) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	inv := n.ctl.waitEvent(ctx, "on1v1ChatInvite", nil)
	if c, _ := inv["caller"].(map[string]any); c["openid"] != "resident" {
		t.Fatalf("%s: invite %v, want from resident", n.openid, inv)
	}
	return inv["callId"].(string)
}

// rect is a bounding box as getBoundingClientRect gives it.
type rect struct{ X, Y, W, H float64 }

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
