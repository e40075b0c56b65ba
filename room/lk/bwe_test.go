package lk_test

import (
	"bytes"
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/internal/lktest"
	"github.com/voipd/voipd/internal/lossynet"
	"github.com/voipd/voipd/internal/rtptest"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room/lk"
)

// publisher is a test's member of a LiveKit video room that sends steady
// VP8-shaped video (30 packets of 1000 bytes a second, each a key frame
// of its own) and audio, reads its video feedback as the daemon does, and
// counts the estimates it is given.
type publisher struct {
	r           *lk.Room
	calls, last atomic.Int64
}

func publish(ctx context.Context, t *testing.T, gw, id, group string, mod func(lk.Params) lk.Params) *publisher {
	t.Helper()
	rd := redirectAs(t, gw, id, group, proto.RoomVideo)
	p := mod(lk.Params{URL: rd.URL, Token: rd.Token, Identity: id, Resume: rd.Resume, Grace: rd.Grace,
		Video: true, JoinTimeout: 20 * time.Second})
	r, err := lk.JoinRoom(ctx, p, nil, newMember())
	if err != nil {
		t.Fatalf("%s joining LiveKit: %v", id, err)
	}
	t.Cleanup(func() { r.Leave(context.Background()) })
	pub := &publisher{r: r}
	r.OnBitrateEstimate(func(bps int) {
		pub.calls.Add(1)
		pub.last.Store(int64(bps))
	})
	track, fb := r.VideoTrack(), r.VideoFeedback()
	if track == nil || fb == nil {
		t.Fatalf("%s: no video track in a video room", id)
	}
	// A VP8 payload descriptor (start of partition 0) and a key frame's
	// first bytes (its start code and 640x480), then filler.
	rtptest.SteadyVideo(ctx, track, fb,
		append([]byte{0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01}, bytes.Repeat([]byte{0x55}, 1000)...)[:1000])
	go speakOn(ctx, r.AudioTrack())
	return pub
}

// TestBitrateEstimateOnLiveKit: two panels publish the same steady video
// into a LiveKit room; one loses 30 % of its RTP on the way. LiveKit's
// transport-wide feedback on the video reaches both (estimates come only
// from it), and the lossy one's
// estimate falls below where it started and clearly below the loss-free
// one's, as with roomd (room's TestBitrateEstimateFollowsLoss). A voice
// member gets none.
func TestBitrateEstimateOnLiveKit(t *testing.T) {
	redis := lktest.Redis(t)
	node := lktest.LiveKit(t, redis)
	gw := gateway(t, node, redis)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const group = "bwe"
	lossy, err := lossynet.New(0.3, 7)
	if err != nil {
		t.Fatal(err)
	}
	clean := publish(ctx, t, gw, "clean", group, func(p lk.Params) lk.Params { return p })
	lossyP := publish(ctx, t, gw, "lossy", group, func(p lk.Params) lk.Params {
		return lk.WithSettings(p, func(se *webrtc.SettingEngine) { se.SetNet(lossy) })
	})

	rd := redirectAs(t, gw, "voice", group, proto.RoomVoice)
	voice, err := lk.JoinRoom(ctx, lk.Params{URL: rd.URL, Token: rd.Token, Identity: "voice", JoinTimeout: 20 * time.Second}, nil, newMember())
	if err != nil {
		t.Fatalf("voice joining LiveKit: %v", err)
	}
	defer voice.Leave(context.Background())
	var voiceCalls atomic.Int64
	voice.OnBitrateEstimate(func(int) { voiceCalls.Add(1) })
	go speakOn(ctx, voice.AudioTrack())

	const initial = 800_000 // room's default video bitrate
	var c, l int
	eventually(t, 45*time.Second, func() (bool, string) {
		c, l = clean.r.BitrateEstimate(), lossyP.r.BitrateEstimate()
		return clean.calls.Load() > 0 && lossyP.calls.Load() > 0 && c > 0 && l > 0 && l < initial && 2*l < c,
			fmtEstimates(c, l, clean, lossyP)
	})
	t.Logf("video targets: %s", fmtEstimates(c, l, clean, lossyP))
	if clean.last.Load() <= 0 || lossyP.last.Load() <= 0 {
		t.Errorf("callbacks got %d and %d bit/s", clean.last.Load(), lossyP.last.Load())
	}
	if n, e := voiceCalls.Load(), voice.BitrateEstimate(); n != 0 || e != 0 {
		t.Errorf("voice member: %d estimate calls, BitrateEstimate %d; want none", n, e)
	}
	// The loss was what the test says it was, over enough packets for the
	// share to mean something (the draws are seeded: the same sequence
	// every run).
	eventually(t, 30*time.Second, func() (bool, string) {
		return lossy.Dropped()+lossy.Passed() >= 300, "the lossy publisher stopped sending"
	})
	d, p := lossy.Dropped(), lossy.Passed()
	if ratio := float64(d) / float64(d+p); ratio < 0.2 || ratio > 0.4 {
		t.Errorf("dropped %d of %d RTP packets (%.2f), want about 0.3", d, d+p, ratio)
	}
}

func fmtEstimates(c, l int, clean, lossy *publisher) string {
	return "loss-free " + strconv.Itoa(c) + " bit/s (" + strconv.Itoa(int(clean.calls.Load())) + " calls), 30 % loss " +
		strconv.Itoa(l) + " bit/s (" + strconv.Itoa(int(lossy.calls.Load())) + " calls); want the lossy one below 800000 and half the other"
}
