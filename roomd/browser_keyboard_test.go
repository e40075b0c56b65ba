package roomd_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
)

// controls lists the page's visible, enabled controls out of a modal's way
// (a folded panel's are not visible), each as its id (or its tag and text
// where it has none).
const controls = `[...document.querySelectorAll("button, input, select, summary, a[href]")]
	.filter((el) => el.checkVisibility() && !el.disabled && !el.closest("[inert]"))
	.map((el) => el.id || el.tagName.toLowerCase() + ":" + el.textContent.trim())`

// TestBrowserKeyboard (issue 20): every control the page shows is reached
// with Tab, before joining, in a room and with a call ringing; the room is
// joined, muted and left, and a call answered and hung up, with the
// keyboard alone (Enter, Space), as a screen reader's user would.
func TestBrowserKeyboard(t *testing.T) {
	srv := startRoomd(t)
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := b.Open(ctx, srv.URL()+"/?lang=en&groupId=kb&openid=kim&enable1v1=1")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `window.voipd.registered`); err != nil {
		t.Fatal(err)
	}
	// reach tabs until the focus comes back round and returns every
	// control it met; it fails the test for each visible control missed.
	reach := func(what string) {
		t.Helper()
		var want []string
		if err := p.Eval(ctx, controls, &want); err != nil {
			t.Fatal(err)
		}
		var met []string
		for range 3 * len(want) {
			if err := p.Press(ctx, "\t"); err != nil {
				t.Fatal(err)
			}
			var id string
			if err := p.Eval(ctx, `(() => { const el = document.activeElement;
				return el === document.body ? "" : el.id || el.tagName.toLowerCase() + ":" + el.textContent.trim(); })()`, &id); err != nil {
				t.Fatal(err)
			}
			if id != "" && !slices.Contains(met, id) {
				met = append(met, id)
			}
		}
		for _, w := range want {
			if !slices.Contains(met, w) {
				t.Errorf("%s: Tab never reaches %q (reached %q)", what, w, met)
			}
		}
	}
	// focusAndPress tabs to the control id and presses key on it.
	focusAndPress := func(id, key string) {
		t.Helper()
		for range 40 {
			var at string
			if err := p.Eval(ctx, `document.activeElement.id`, &at); err != nil {
				t.Fatal(err)
			}
			if at == id {
				if err := p.Press(ctx, key); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err := p.Press(ctx, "\t"); err != nil {
				t.Fatal(err)
			}
		}
		t.Fatalf("Tab never reached #%s", id)
	}

	reach("before joining")
	focusAndPress("join", "\r")
	if err := p.WaitFor(ctx, `window.voipd.state === "joined"`); err != nil {
		t.Fatal(err)
	}
	reach("in a room")
	// The Devices panel unfolds with the keyboard, its choosers then in reach.
	focusAndPress("devices-summary", "\r")
	if err := p.WaitFor(ctx, `document.querySelector("#devices").open`); err != nil {
		t.Fatal(err)
	}
	reach("in a room, the Devices panel open")
	focusAndPress("mute", " ")
	if err := p.WaitFor(ctx, `window.voipd.muteConfig.muteMicrophone && document.querySelector("#mute").getAttribute("aria-pressed") === "true"`); err != nil {
		t.Fatal(err)
	}
	focusAndPress("leave", "\r")
	if err := p.WaitFor(ctx, `window.voipd.state === "left"`); err != nil {
		t.Fatal(err)
	}

	// A call rings: the first answer has the focus already.
	caller, err := b.Open(ctx, srv.URL()+"/?lang=en&openid=lee")
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	if err := caller.Eval(ctx, `window.voipd.call("kim", "voice")`, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `window.voipd.callState === "ringing" && document.activeElement === document.querySelector("#accept")`); err != nil {
		t.Fatal(err)
	}
	var want []string
	if err := p.Eval(ctx, controls, &want); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(want, "accept") || !slices.Contains(want, "decline") || slices.Contains(want, "accept-video") {
		t.Errorf("a voice call ringing shows the controls %q, want accept and decline, not accept-video", strings.Join(want, ", "))
	}
	reach("a call ringing")
	var outside int
	if err := p.Eval(ctx, `(`+controls+`).filter((id) => !["accept", "decline"].includes(id)).length`, &outside); err != nil || outside != 0 {
		t.Errorf("with a call ringing, %d controls outside its box are in reach (err %v), want none: it is modal", outside, err)
	}
	focusAndPress("accept", "\r")
	if err := p.WaitFor(ctx, `window.voipd.callState === "inCall"`); err != nil {
		t.Fatal(err)
	}
	focusAndPress("hangup", "\r")
	if err := p.WaitFor(ctx, `window.voipd.callState === "ended" && window.voipd.lastCallEnd.reason === "local"`); err != nil {
		t.Fatal(err)
	}
	if err := caller.WaitFor(ctx, `window.voipd.callState === "ended" && window.voipd.lastCallEnd.reason === "remote"`); err != nil {
		t.Fatal(err)
	}
}
