package roomd_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
)

// videoStats is the video part of window.voipd.stats().
type videoStats struct {
	InboundVideo []struct {
		Member                                 string
		FramesDecoded, FrameWidth, FrameHeight int
		PacketsReceived                        int
	}
	OutboundVideo struct{ FramesEncoded, PacketsSent int }
}

func framesFrom(ctx context.Context, t *testing.T, p *browsertest.Page, member string) int {
	t.Helper()
	var s videoStats
	if err := p.Eval(ctx, `window.voipd.stats()`, &s); err != nil {
		t.Fatal(err)
	}
	for _, v := range s.InboundVideo {
		if v.Member == member {
			return v.FramesDecoded
		}
	}
	return 0
}

// TestBrowserVideoRoom joins two Chromium pages to a video room with the
// fake camera: each decodes the other's 640x480 video (framesDecoded keeps
// growing) in the member's <voip-room> tile, both are video members, and a
// subscription to no one stops a page's incoming video until it subscribes
// again.
func TestBrowserVideoRoom(t *testing.T) {
	srv := startRoomd(t)
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	pages := map[string]*browsertest.Page{}
	for _, id := range []string{"alice", "bob"} {
		p, err := b.Open(ctx, srv.URL()+"/?groupId=gv&roomType=video&openid="+id+"&autojoin=1")
		if err != nil {
			t.Fatal(err)
		}
		pages[id] = p
	}
	other := map[string]string{"alice": "bob", "bob": "alice"}

	for id, p := range pages {
		if err := p.WaitFor(ctx, `window.voipd.state === "joined" && window.voipd.members.length === 2`); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		cond := fmt.Sprintf(`(await window.voipd.stats()).inboundVideo.some(v =>
			v.member === %q && v.framesDecoded > 0 && v.frameWidth === 640 && v.frameHeight === 480)`, other[id])
		if err := p.WaitFor(ctx, cond); err != nil {
			t.Fatalf("%s never decoded %s's video: %v", id, other[id], err)
		}
		n := framesFrom(ctx, t, p, other[id])
		if err := p.WaitFor(ctx, fmt.Sprintf(`(await window.voipd.stats()).inboundVideo.some(v =>
			v.member === %q && v.framesDecoded > %d)`, other[id], n+10)); err != nil {
			t.Fatalf("%s's framesDecoded from %s stuck at %d: %v", id, other[id], n, err)
		}
		if err := p.WaitFor(ctx, `(await window.voipd.stats()).outboundVideo.framesEncoded > 0`); err != nil {
			t.Fatalf("%s encodes no video: %v", id, err)
		}
		if err := p.WaitFor(ctx, fmt.Sprintf(`window.voipd.videoMembers.length === 2 &&
			document.querySelector('voip-room[openid=%q]').mode === "video" &&
			document.querySelector('voip-room[openid=%q]').hasAttribute("data-has-video") &&
			document.querySelector('voip-room[openid=%q]').mode === "camera" &&
			document.querySelector('voip-room[openid=%q]').hasAttribute("data-has-video")`,
			other[id], other[id], id, id)); err != nil {
			t.Fatalf("%s's tiles or video members: %v", id, err)
		}
		// Both publish: the video members are the members, in join order.
		var vm struct{ Video, All []string }
		if err := p.Eval(ctx, `({video: window.voipd.videoMembers, all: window.voipd.members})`, &vm); err != nil ||
			!slices.Equal(vm.Video, vm.All) {
			t.Errorf("%s's videoMembers = %v (%v), want the members %v", id, vm.Video, err, vm.All)
		}
		// The fake camera draws no frame mark: the reader says so rather
		// than inventing a number.
		var fn *int
		if err := p.Eval(ctx, fmt.Sprintf(`window.voipd.frameNumber(%q)`, other[id]), &fn); err != nil || fn != nil {
			t.Errorf("%s: frameNumber of the fake camera = %v (%v), want null", id, fn, err)
		}
	}

	// A page that joins the video room as voice (a link without
	// roomType=video) receives none of the video, and says so with a link
	// that joins with video; the video members' pages say nothing.
	voice, err := b.Open(ctx, srv.URL()+"/?groupId=gv&openid=carol&autojoin=1")
	if err != nil {
		t.Fatal(err)
	}
	if err := voice.WaitFor(ctx, `window.voipd.state === "joined" && window.voipd.videoHint === true &&
		!document.querySelector('#video-hint').hidden &&
		new URL(document.querySelector('#video-link').href).searchParams.get('roomType') === 'video'`); err != nil {
		t.Fatalf("a voice page in a video room gives no hint: %v", err)
	}
	for id, p := range pages {
		var hint bool
		if err := p.Eval(ctx, `window.voipd.videoHint || !document.querySelector('#video-hint').hidden`, &hint); err != nil || hint {
			t.Errorf("%s (joined with video) shows the hint (%v)", id, err)
		}
	}
	if err := voice.Eval(ctx, `window.voipd.leave()`, nil); err != nil {
		t.Fatal(err)
	}

	alice := pages["alice"]
	if err := alice.Eval(ctx, `window.voipd.subscribeVideo([])`, nil); err != nil {
		t.Fatal(err)
	}
	steady := waitSteady(ctx, t, func() int { return framesFrom(ctx, t, alice, "bob") })
	if err := alice.Eval(ctx, `window.voipd.subscribeVideo(["bob"])`, nil); err != nil {
		t.Fatal(err)
	}
	// The new track counts its frames from zero: wait for a change, then growth.
	var again int
	for ctx.Err() == nil {
		if again = framesFrom(ctx, t, alice, "bob"); again != steady {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := alice.WaitFor(ctx, fmt.Sprintf(`(await window.voipd.stats()).inboundVideo.some(v =>
		v.member === "bob" && v.framesDecoded > %d)`, again)); err != nil {
		t.Fatalf("alice re-subscribed to bob but decodes nothing new: %v", err)
	}
	for id, p := range pages {
		for _, line := range p.Console() {
			if len(line) >= 9 && line[:9] == "exception" {
				t.Errorf("%s's page threw: %s", id, line)
			}
		}
	}
}
