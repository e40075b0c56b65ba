package room_test

import (
	"bytes"
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/internal/lossynet"
	"github.com/voipd/voipd/internal/rtptest"
	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/roomd"
)

func newLossyNet(t *testing.T, loss float64, seed uint64) *lossynet.Net {
	n, err := lossynet.New(loss, seed)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// estimates records a session's OnBitrateEstimate calls.
type estimates struct{ calls, last atomic.Int64 }

func watchEstimates(s *room.Session) *estimates {
	e := &estimates{}
	s.OnBitrateEstimate(func(bps int) {
		e.calls.Add(1)
		e.last.Store(int64(bps))
	})
	return e
}

// joinVideoWith joins with roomType video and a Config that mod adjusts.
func joinVideoWith(t *testing.T, srv *roomd.Server, openid, group string, h room.Handler,
	mod func(room.Config) room.Config) *room.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p := params(openid, group)
	p.RoomType = "video"
	s, err := room.Join(ctx, mod(room.Config{URL: wsURL(srv), Logger: testLogger()}), p, h)
	if err != nil {
		t.Fatalf("%s: join: %v", openid, err)
	}
	t.Cleanup(func() { s.Leave(context.Background()) })
	return s
}

// sendVideo writes VP8-sized RTP (rtptest.SteadyVideo, payload
// "openid:...") to the session's video track until ctx ends, and reads its
// VideoSender's RTCP: roomd's feedback arrives there.
func sendVideo(ctx context.Context, t *testing.T, s *room.Session, openid string) {
	track, sender := s.VideoTrack(), s.VideoSender()
	if track == nil || sender == nil {
		t.Fatalf("%s: no video track in a video room", openid)
	}
	rtptest.SteadyVideo(ctx, track, sender, append([]byte(openid+":"), bytes.Repeat([]byte{0x55}, 1000)...)[:1000])
}

// roomd's offer carries transport-wide congestion control for video: the
// sequence number extension and transport-cc feedback.
func checkTWCCNegotiated(t *testing.T, s *room.Session) {
	t.Helper()
	params := s.VideoSender().GetParameters()
	if !slices.ContainsFunc(params.HeaderExtensions, func(e webrtc.RTPHeaderExtensionParameter) bool {
		return e.URI == sdp.TransportCCURI
	}) {
		t.Errorf("video sender's header extensions %+v lack %s", params.HeaderExtensions, sdp.TransportCCURI)
	}
	if len(params.Codecs) == 0 || !slices.ContainsFunc(params.Codecs[0].RTCPFeedback, func(f webrtc.RTCPFeedback) bool {
		return f.Type == webrtc.TypeRTCPFBTransportCC
	}) {
		t.Errorf("video sender's codecs %+v lack transport-cc feedback", params.Codecs)
	}
}

// Two publishers in one video room send the same steady video through a
// real roomd to a viewer; one of them loses 30 % of its RTP on the way.
// Both get estimates from roomd's transport-wide feedback; the lossy one's
// falls below where it started and clearly below the loss-free one's. A
// voice member of the same room gets none.
func TestBitrateEstimateFollowsLoss(t *testing.T) {
	srv := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const group = "bwe"
	viewer := newVideoRecorder()
	joinVideo(t, srv, "viewer", group, viewer)
	voice := join(t, srv, "voice", group, newRecorder())
	voiceCalls := watchEstimates(voice)
	go sendAudio(ctx, t, voice, "voice")

	lossy := newLossyNet(t, 0.3, 7)
	cleanS := joinVideoWith(t, srv, "clean", group, newVideoRecorder(), func(c room.Config) room.Config { return c })
	lossyS := joinVideoWith(t, srv, "lossy", group, newVideoRecorder(), func(c room.Config) room.Config {
		return room.WithSettings(c, func(se *webrtc.SettingEngine) { se.SetNet(lossy) })
	})
	checkTWCCNegotiated(t, cleanS)
	checkTWCCNegotiated(t, lossyS)
	clean, lossyE := watchEstimates(cleanS), watchEstimates(lossyS)
	for _, p := range []struct {
		s  *room.Session
		id string
	}{{cleanS, "clean"}, {lossyS, "lossy"}} {
		sendVideo(ctx, t, p.s, p.id)
		go sendAudio(ctx, t, p.s, p.id)
	}
	viewer.waitVideoFrom(t, "clean")
	viewer.waitVideoFrom(t, "lossy")

	const initial = 800_000 // Config's default VideoBitrate
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var c, l int
	for {
		c, l = cleanS.BitrateEstimate(), lossyS.BitrateEstimate()
		if clean.calls.Load() > 0 && lossyE.calls.Load() > 0 && c > 0 && l > 0 && l < initial && 2*l < c {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("estimates: loss-free %d bit/s (%d calls), 30 %% loss %d bit/s (%d calls); want the lossy one below %d and half the other",
				c, clean.calls.Load(), l, lossyE.calls.Load(), initial)
		}
	}
	t.Logf("video targets: loss-free %d bit/s (%d calls), 30 %% loss %d bit/s (%d calls)",
		c, clean.calls.Load(), l, lossyE.calls.Load())

	if clean.last.Load() <= 0 || lossyE.last.Load() <= 0 {
		t.Errorf("callbacks got %d and %d bit/s", clean.last.Load(), lossyE.last.Load())
	}
	// A callback set late (the daemon's, after Join) gets the current
	// target at once and replaces the first.
	late := make(chan int, 1)
	cleanS.OnBitrateEstimate(func(bps int) {
		select {
		case late <- bps:
		default:
		}
	})
	calls := clean.calls.Load()
	select {
	case bps := <-late:
		if bps <= 0 {
			t.Errorf("late callback got %d bit/s", bps)
		}
	case <-ctx.Done():
		t.Fatal("a callback set after the first estimate was not called")
	}
	// Let a change pass: it must reach the new callback, not the old.
	for cleanS.BitrateEstimate() == c {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the loss-free estimate stopped changing")
		}
	}
	if n := clean.calls.Load(); n > calls+1 { // one may have been under way
		t.Errorf("the replaced callback got %d more calls", n-calls)
	}
	if n, e := voiceCalls.calls.Load(), voice.BitrateEstimate(); n != 0 || e != 0 {
		t.Errorf("voice member: %d estimate calls, BitrateEstimate %d; want none", n, e)
	}

	// The loss was what the test says it was, over enough packets for the
	// share to mean something (the draws are seeded, so this is the same
	// sequence every run).
	for lossy.Dropped()+lossy.Passed() < 300 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal("the lossy publisher stopped sending")
		}
	}
	d, p := lossy.Dropped(), lossy.Passed()
	if ratio := float64(d) / float64(d+p); ratio < 0.2 || ratio > 0.4 {
		t.Errorf("dropped %d of %d RTP packets (%.2f), want about 0.3", d, d+p, ratio)
	} else {
		t.Logf("dropped %d of %d RTP packets (%.2f)", d, d+p, ratio)
	}
}
