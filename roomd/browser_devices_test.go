package roomd_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
)

// TestBrowserDevices (issue 20): the Devices panel lists the browser's
// cameras, microphones and speakers (Chromium's fake ones here) by name
// once the page has the microphone; choosing another microphone and camera
// while in a video room switches what the room's senders carry without
// leaving (the other member keeps receiving both; a muted microphone stays
// muted), choosing a speaker moves every member's <audio> to it, a device
// that cannot be opened is said in words (the one before goes on), and the
// choice is kept for the next visit, whose join asks for those devices (or
// the default for a device unplugged since). axe-core with the panel open.
func TestBrowserDevices(t *testing.T) {
	srv := startRoomd(t)
	b := browsertest.StartWith(t, browsertest.Options{FakeCameras: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	other, err := b.Open(ctx, srv.URL()+"/?groupId=dev&openid=other&autojoin=1&roomType=video")
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Open(ctx, srv.URL()+"/?groupId=dev&openid=me&autojoin=1&roomType=video&lang=en")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `window.voipd.state === "joined" && window.voipd.members.length === 2`); err != nil {
		t.Fatal(err)
	}
	// The choosers, named once the page has the microphone: the browser's
	// default and Chromium's fake devices (two of each kind but cameras:
	// three, of which the third is one a room can send; the second gives
	// depth frames).
	if err := p.WaitFor(ctx, `["camera", "microphone", "speaker"].every((k) => {
		const o = [...document.querySelectorAll("#" + k + "-select option")];
		return o.length === (k === "camera" ? 4 : 3) && o[0].value === "" && o[0].textContent === "Default" && o.slice(1).every((x) => x.value && x.textContent && !x.textContent.startsWith("Device "));
	})`); err != nil {
		var got string
		p.Eval(ctx, `JSON.stringify(["camera", "microphone", "speaker"].map((k) => [...document.querySelectorAll("#" + k + "-select option")].map((o) => [o.value, o.textContent])))`, &got)
		t.Fatalf("%v; the choosers: %s", err, got)
	}
	var devs struct {
		Camera, Microphone, Speaker []struct{ DeviceID, Label string }
	}
	if err := p.Eval(ctx, `window.voipd.devices()`, &devs); err != nil {
		t.Fatal(err)
	}
	pick := func(list []struct{ DeviceID, Label string }, label string) string {
		for _, d := range list {
			if d.Label == label {
				return d.DeviceID
			}
		}
		t.Fatalf("no device %q in %+v", label, list)
		return ""
	}
	mic, cam, spk := pick(devs.Microphone, "Fake Audio Input 2"), pick(devs.Camera, "fake_device_2"), pick(devs.Speaker, "Fake Audio Output 1")
	if err := p.WaitFor(ctx, `window.voipd.sending().microphone.deviceId !== "`+mic+`" && window.voipd.sending().camera.deviceId !== "`+cam+`"`); err != nil {
		t.Fatal(err)
	}
	if err := p.Eval(ctx, `document.querySelector("#devices").open = true`, nil); err != nil {
		t.Fatal(err)
	}
	p.CheckAxe(ctx, t, "the Devices panel open, in a room")

	// Muted first: a new microphone must not unmute the page.
	if err := p.Eval(ctx, `document.querySelector("#mute").click()`, nil); err != nil {
		t.Fatal(err)
	}
	choose := func(kind, id string) {
		t.Helper()
		if err := p.Eval(ctx, `(() => { const s = document.querySelector("#`+kind+`-select"); s.value = "`+id+`"; s.dispatchEvent(new Event("change")); })()`, nil); err != nil {
			t.Fatal(err)
		}
	}
	choose("microphone", mic)
	choose("camera", cam)
	if err := p.WaitFor(ctx, `window.voipd.sending().microphone.deviceId === "`+mic+`" && window.voipd.sending().camera.deviceId === "`+cam+`"`); err != nil {
		t.Fatalf("the senders do not carry the chosen devices: %v", err)
	}
	sent := browsertest.Twice(`(await window.voipd.stats()).outboundAudio.packetsSent`, 600*time.Millisecond)
	if err := p.WaitFor(ctx, `window.voipd.muteConfig.muteMicrophone && (([a, b]) => a === b)(`+sent+`)`); err != nil {
		t.Fatalf("the new microphone is sent though muted: %v", err)
	}
	if err := p.Eval(ctx, `document.querySelector("#mute").click()`, nil); err != nil {
		t.Fatal(err)
	}
	// The other member receives both again, from the new devices.
	var before struct{ Audio, Video float64 }
	if err := other.Eval(ctx, `(async () => { const s = await window.voipd.stats();
		return {audio: s.inboundAudio.find((a) => a.member === "me").packetsReceived,
			video: s.inboundVideo.find((v) => v.member === "me").framesDecoded}; })()`, &before); err != nil {
		t.Fatal(err)
	}
	if err := other.WaitFor(ctx, fmt.Sprintf(`(async () => { const s = await window.voipd.stats();
		return s.inboundAudio.find((a) => a.member === "me").packetsReceived > %v + 25 &&
			s.inboundVideo.find((v) => v.member === "me").framesDecoded > %v + 10; })()`, before.Audio, before.Video)); err != nil {
		t.Fatalf("the other member stopped receiving after the switch: %v", err)
	}

	// A speaker: every member's <audio> plays on it.
	choose("speaker", spk)
	if err := p.WaitFor(ctx, `(() => { const a = [...document.querySelectorAll("#audio audio")];
		return a.length === 1 && a.every((x) => x.sinkId === "`+spk+`"); })()`); err != nil {
		t.Fatal(err)
	}

	// A chosen microphone that cannot be opened (another application
	// holds it): the page says so, and the one before goes on.
	if err := p.Eval(ctx, `window.realGUM = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
		navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("Could not start audio source", "NotReadableError"))`, nil); err != nil {
		t.Fatal(err)
	}
	first := pick(devs.Microphone, "Fake Audio Input 1")
	choose("microphone", first)
	if err := p.WaitFor(ctx, `window.voipd.deviceError && window.voipd.deviceError.reason === "busy" &&
		!document.querySelector("#device-error").hidden &&
		document.querySelector("#device-error").textContent === "Could not switch to the chosen microphone: the device is in use by another application" &&
		window.voipd.sending().microphone.deviceId === "`+mic+`"`); err != nil {
		t.Fatalf("a microphone that cannot be opened: %v", err)
	}
	if err := p.Eval(ctx, `navigator.mediaDevices.getUserMedia = window.realGUM`, nil); err != nil {
		t.Fatal(err)
	}
	choose("microphone", mic)
	if err := p.WaitFor(ctx, `window.voipd.deviceError === null && document.querySelector("#device-error").hidden`); err != nil {
		t.Fatalf("a switch that works clears the error: %v", err)
	}

	// The next visit joins with the chosen devices.
	p.Close()
	again, err := b.Open(ctx, srv.URL()+"/?groupId=dev&openid=me2&autojoin=1&roomType=video")
	if err != nil {
		t.Fatal(err)
	}
	if err := again.WaitFor(ctx, `window.voipd.state === "joined" && window.voipd.sending().microphone.deviceId === "`+mic+`" &&
		window.voipd.sending().camera.deviceId === "`+cam+`" && document.querySelector("#microphone-select").value === "`+mic+`" &&
		document.querySelector("#speaker-select").value === "`+spk+`" &&
		[...document.querySelectorAll("#audio audio")].every((x) => x.sinkId === "`+spk+`")`); err != nil {
		var got string
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		again.Eval(dctx, `(async () => JSON.stringify({state: window.voipd.state, err: window.voipd.lastError, sending: window.voipd.sending(),
			chosen: (await window.voipd.devices()).chosen, mic: document.querySelector("#microphone-select").value}))()`, &got)
		t.Fatalf("the next visit did not use the kept devices: %v; the page: %s", err, got)
	}
	// A kept device that is gone since: the default instead, not an error.
	if err := again.Eval(ctx, `localStorage.setItem("voipd.devices", JSON.stringify({microphone: "unplugged", camera: "unplugged"}))`, nil); err != nil {
		t.Fatal(err)
	}
	again.Close()
	gone, err := b.Open(ctx, srv.URL()+"/?groupId=dev&openid=me3&autojoin=1&roomType=video")
	if err != nil {
		t.Fatal(err)
	}
	if err := gone.WaitFor(ctx, `window.voipd.state === "joined" && window.voipd.sending().microphone.deviceId === "default" &&
		!!window.voipd.sending().camera`); err != nil {
		t.Fatalf("a kept device since unplugged: %v", err)
	}
	other.Close()
}
