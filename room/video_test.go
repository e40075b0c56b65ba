package room_test

import (
	"context"
	"testing"
	"time"

	"github.com/voipd/voipd/room"
)

// Three members of a video room publish: each receives the other two's
// video under their ids (and audio still flows); a subscription narrows
// alice's video to carol's; a member leaving updates everyone's video
// member list and ends its video where it was received.
func TestVideoRoomThreeMembers(t *testing.T) {
	srv := startServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	names := []string{"alice", "bob", "carol"}
	recs := map[string]*videoRecorder{}
	sessions := map[string]*room.Session{}
	for _, n := range names {
		recs[n] = newVideoRecorder()
		sessions[n] = joinVideo(t, srv, n, "v3", recs[n])
		publish(ctx, t, sessions[n], n)
		go sendAudio(ctx, t, sessions[n], n)
	}
	for _, to := range names {
		for _, from := range names {
			if from != to {
				recs[to].waitVideoFrom(t, from)
				recs[to].waitPacketFrom(t, from)
			}
		}
		recs[to].waitVideoMembers(t, names...)
	}

	a := recs["alice"]
	if err := sessions["alice"].SubscribeVideo([]string{"carol"}); err != nil {
		t.Fatal(err)
	}
	a.waitVideoEnded(t, "bob")
	// Windows of 1.5 s until the streams are as wanted: on a loaded
	// machine a stream can pause for longer than one window; bob's video
	// reaching alice again would show in every window.
	a.videoWindowUntil(t, "after subscribing to carol, alice", func(got map[string]int) bool {
		return got["bob"] == 0 && got["carol"] > 0
	})
	// Bob, without a subscription, still gets both.
	recs["bob"].videoWindowUntil(t, "bob (alice's and carol's wanted)", func(got map[string]int) bool {
		return got["alice"] > 0 && got["carol"] > 0
	})

	lctx, lcancel := context.WithTimeout(ctx, 10*time.Second)
	defer lcancel()
	if err := sessions["carol"].Leave(lctx); err != nil {
		t.Fatal(err)
	}
	a.waitVideoMembers(t, "alice", "bob")
	recs["bob"].waitVideoMembers(t, "alice", "bob")
	a.waitVideoEnded(t, "carol")
	recs["bob"].waitVideoEnded(t, "carol")
	if got := sessions["bob"].VideoMembers(); len(got) != 2 || got[0] != "alice" || got[1] != "bob" {
		t.Errorf("bob's VideoMembers() = %v, want [alice bob]", got)
	}
}

// With four members and no subscription, the fourth receives the video of
// the first two joiners only (WeChat's rule), as does the first (bob and
// carol, the first two others).
func TestVideoDefaultFirstTwoJoiners(t *testing.T) {
	srv := startServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	names := []string{"m1", "m2", "m3", "m4"}
	recs := map[string]*videoRecorder{}
	for _, n := range names {
		recs[n] = newVideoRecorder()
		publish(ctx, t, joinVideo(t, srv, n, "v4", recs[n]), n)
	}
	for _, r := range recs {
		r.waitVideoMembers(t, names...)
	}
	for to, want := range map[string][2]string{"m4": {"m1", "m2"}, "m1": {"m2", "m3"}} {
		recs[to].waitVideoFrom(t, want[0])
		recs[to].waitVideoFrom(t, want[1])
		// The last join's renegotiation may still be settling (a loaded
		// machine): judge a window in which both wanted streams flow.
		var got map[string]int
		for deadline := time.Now().Add(15 * time.Second); ; {
			got = recs[to].videoSenders(t)
			if got[want[0]] > 0 && got[want[1]] > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never received %v's video together: %v", to, want, got)
			}
		}
		for _, n := range names {
			if wanted := n == want[0] || n == want[1]; wanted != (got[n] > 0) {
				t.Errorf("%s got video packets %v, want only %v's", to, got, want)
				break
			}
		}
	}
}

// A receiver's RequestKeyframe reaches the publisher as a PLI for its own
// SSRC, and so does a new receiver starting on its video.
func TestVideoKeyframeRequests(t *testing.T) {
	srv := startServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ra, rb := newVideoRecorder(), newVideoRecorder()
	plis := publish(ctx, t, joinVideo(t, srv, "pub", "kf", ra), "pub")
	b := joinVideo(t, srv, "sub", "kf", rb)
	rb.waitVideoFrom(t, "pub")
	// The requests of sub's start are through, and pion's clients send no
	// PLI of their own: from here on every PLI is one we caused.
	waitPLI(t, plis, "sub started receiving")
	time.Sleep(time.Second)
	drainPLIs(plis)

	if err := b.RequestKeyframe("pub"); err != nil {
		t.Fatal(err)
	}
	waitPLI(t, plis, "sub's RequestKeyframe")
	if err := b.RequestKeyframe("nobody"); err == nil {
		t.Error("RequestKeyframe of a member whose video is not received did not fail")
	}

	time.Sleep(time.Second)
	drainPLIs(plis)
	rc := newVideoRecorder()
	joinVideo(t, srv, "late", "kf", rc)
	waitPLI(t, plis, "a new receiver joined")
	rc.waitVideoFrom(t, "pub")
}

// A voice join into a video room gets audio only, and a video join into a
// voice room has no video track.
func TestVideoRoomTypes(t *testing.T) {
	srv := startServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rv, rvoice := newVideoRecorder(), newVideoRecorder()
	v := joinVideo(t, srv, "cam", "mixed", rv)
	publish(ctx, t, v, "cam")
	voice := join(t, srv, "phone", "mixed", rvoice)
	go sendAudio(ctx, t, voice, "phone")
	if voice.VideoTrack() != nil || voice.VideoSender() != nil {
		t.Error("a voice join has a video track")
	}
	rv.waitPacketFrom(t, "phone")
	rvoice.waitVideoMembers(t, "cam")
	if got := rvoice.videoSenders(t); len(got) != 0 {
		t.Errorf("a voice member got video packets %v", got)
	}

	join(t, srv, "first", "voiceonly", newRecorder())
	late := joinVideo(t, srv, "late", "voiceonly", newVideoRecorder())
	if late.VideoTrack() != nil || late.VideoSender() != nil {
		t.Error("a video join into a voice room has a video track")
	}
}
