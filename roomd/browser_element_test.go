package roomd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
)

// TestVoipRoomElement checks the <voip-room> custom element on its own, in
// the page roomd serves: the seed's attributes with their defaults, the error
// event for bad attributes, initials without a stream and no WHEP attempt
// (daemon/display's tests cover WHEP), and video shown from an assigned
// MediaStream (Chromium's fake camera), mirrored only for one's own front
// camera.
func TestVoipRoomElement(t *testing.T) {
	srv := startRoomd(t)
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := b.Open(ctx, srv.URL()+"/")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `customElements.get("voip-room") !== undefined && window.voipd.state === "idle"`); err != nil {
		t.Fatal(err)
	}

	t.Run("defaults and errors", func(t *testing.T) {
		var got struct {
			Errors []struct {
				ErrCode int
				ErrMsg  string
			}
			Mode, DevicePosition, ObjectFit string
		}
		err := p.Eval(ctx, `(() => {
			const errors = [];
			const el = document.createElement("voip-room");
			el.addEventListener("error", e => errors.push(e.detail));
			el.setAttribute("mode", "sideways");
			document.body.append(el); // no openid, a bad mode: two errors
			el.setAttribute("object-fit", "stretch"); // a third
			const r = {errors, mode: el.mode, devicePosition: el.devicePosition, objectFit: el.objectFit};
			el.remove();
			return r;
		})()`, &got)
		if err != nil {
			t.Fatal(err)
		}
		codes := map[int]int{}
		for _, e := range got.Errors {
			codes[e.ErrCode]++
			if !strings.HasPrefix(e.ErrMsg, "voip-room:fail ") {
				t.Errorf("errMsg %q does not start with \"voip-room:fail \"", e.ErrMsg)
			}
		}
		if codes[1001] != 1 || codes[1002] != 2 || len(got.Errors) != 3 {
			t.Errorf("error events = %+v, want one 1001 (openid) and two 1002 (mode, object-fit)", got.Errors)
		}
		// Invalid values read back as the seed's defaults.
		if got.Mode != "camera" || got.DevicePosition != "front" || got.ObjectFit != "fill" {
			t.Errorf("defaults = %s/%s/%s, want camera/front/fill", got.Mode, got.DevicePosition, got.ObjectFit)
		}
	})

	// roomd's page feeds its tiles: an element without a srcObject shows
	// the member's initials and looks for no WHEP source (the client sets
	// no default server, and an attempt would set state "connecting" at
	// once); speaking and muted show on the tile.
	t.Run("no srcObject: initials, no connection", func(t *testing.T) {
		var got struct {
			DefaultServer           any
			State, Initials, Badge  string
			DataState, HasVideo     bool
			Errors                  []any
			Speaking, SpeakingStyle bool
		}
		err := p.Eval(ctx, `(async () => {
			const errors = [];
			const el = document.createElement("voip-room");
			el.addEventListener("error", e => errors.push(e.detail));
			el.openid = "alice-b";
			el.mode = "video";
			el.muted = true;
			el.speaking = true;
			document.body.append(el);
			await new Promise(r => setTimeout(r, 0)); // past the microtask that decides
			const root = el.shadowRoot;
			const r = {defaultServer: customElements.get("voip-room").defaultServer, state: el.state,
				dataState: el.hasAttribute("data-state"), hasVideo: el.hasAttribute("data-has-video"),
				initials: root.querySelector(".avatar").textContent, badge: root.querySelector(".badge").textContent,
				speaking: el.speaking, speakingStyle: getComputedStyle(el).boxShadow !== "none", errors};
			el.remove();
			return r;
		})()`, &got)
		if err != nil {
			t.Fatal(err)
		}
		if got.DefaultServer != "" {
			t.Errorf("VoipRoomElement.defaultServer = %#v on roomd's page, want \"\"", got.DefaultServer)
		}
		if got.State != "idle" || got.DataState || got.HasVideo || len(got.Errors) != 0 {
			t.Errorf("state %q (data-state %v), has video %v, errors %v; want idle, never changed, no video, no error",
				got.State, got.DataState, got.HasVideo, got.Errors)
		}
		if got.Initials != "ab" || got.Badge != "muted" || !got.Speaking || !got.SpeakingStyle {
			t.Errorf("initials %q, badge %q, speaking %v (ring %v); want ab, muted, a ring", got.Initials, got.Badge, got.Speaking, got.SpeakingStyle)
		}
	})

	t.Run("video from srcObject", func(t *testing.T) {
		err := p.Eval(ctx, `(async () => {
			const el = document.createElement("voip-room");
			el.id = "cam";
			el.openid = "door-1";
			el.setAttribute("object-fit", "cover");
			el.addEventListener("error", e => { window.camError = e.detail; });
			document.body.append(el);
			el.srcObject = await navigator.mediaDevices.getUserMedia({video: true});
		})()`, nil)
		if err != nil {
			t.Fatal(err)
		}
		const video = `document.getElementById("cam").shadowRoot.querySelector("video")`
		if err := p.WaitFor(ctx, `document.getElementById("cam").hasAttribute("data-has-video") && `+video+`.videoWidth > 0 && !`+video+`.paused &&
			document.getElementById("cam").state === "playing"`); err != nil {
			t.Fatal(err)
		}
		var style struct {
			Fit, Mirror, Back, Other, Name string
			Muted                          bool
			Err                            any
		}
		err = p.Eval(ctx, `(() => {
			const el = document.getElementById("cam"), v = el.shadowRoot.querySelector("video");
			const r = {fit: v.style.objectFit, mirror: v.style.transform, muted: v.muted,
				name: el.shadowRoot.querySelector(".name").textContent, err: window.camError || null};
			el.devicePosition = "back";
			r.back = v.style.transform;
			el.devicePosition = "front";
			el.mode = "video";
			r.other = v.style.transform;
			return r;
		})()`, &style)
		if err != nil {
			t.Fatal(err)
		}
		if style.Fit != "cover" || style.Mirror != "scaleX(-1)" || style.Back != "" || style.Other != "" {
			t.Errorf("video style: fit %q, front camera %q, back camera %q, mode video %q; want cover, scaleX(-1), none, none",
				style.Fit, style.Mirror, style.Back, style.Other)
		}
		if !style.Muted || style.Name != "door-1" || style.Err != nil {
			t.Errorf("video muted %v, label %q, error %v; want muted, door-1, no error", style.Muted, style.Name, style.Err)
		}
	})

	t.Run("audio-only stream shows initials", func(t *testing.T) {
		var got struct {
			HasVideo bool
			State    string
		}
		err := p.Eval(ctx, `(async () => {
			const el = document.getElementById("cam");
			el.srcObject = await navigator.mediaDevices.getUserMedia({audio: true});
			return {hasVideo: el.hasAttribute("data-has-video"), state: el.state};
		})()`, &got)
		if err != nil || got.HasVideo || got.State != "idle" {
			t.Errorf("audio-only srcObject: has video %v, state %q (err %v), want false, idle", got.HasVideo, got.State, err)
		}
	})
}
