package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voipd/voipd/media/settings"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/voipd/voipd/codec/yuv"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
)

// minVideoPSNR is the floor for a received frame against the camera's
// picture: VP8 at 800 kbit/s, 320x240, after 4:2:2 JPEG or scaling on
// the way, stays far above it; below it the picture is not the same one.
const minVideoPSNR = 30

const testW, testH = 320, 240

// videoRig is camera → VideoSender → rtpPipe → VideoReceiver, with the
// receiver's keyframe requests wired to the sender as a PLI would be.
type videoRig struct {
	t    *testing.T
	cam  *fakeCamera
	snd  *VideoSender
	pipe *rtpPipe
	rcv  *VideoReceiver

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	sendErr error

	mu    sync.Mutex
	psnr  []float64
	keys  []bool
	drop  map[uint64]bool // packet numbers (1-based) the sender's writer drops
	count uint64
}

func newVideoRig(t *testing.T, cam *fakeCamera, seed uint64, reorder float64, drop ...uint64) *videoRig {
	return newVideoRigDecoding(t, true, cam, seed, reorder, drop...)
}

// newVideoRigDecoding is newVideoRig whose receiver has no onFrame (so no
// decoder) when decode is false, as in voipd.
func newVideoRigDecoding(t *testing.T, decode bool, cam *fakeCamera, seed uint64, reorder float64, drop ...uint64) *videoRig {
	r := &videoRig{t: t, cam: cam, pipe: newRTPPipe(seed, 0, reorder), drop: map[uint64]bool{}}
	for _, n := range drop {
		r.drop[n] = true
	}
	snd, err := NewVideoSender(cam, writerFunc(r.write), testVideo(testW, testH), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.snd = snd
	onFrame := r.onFrame
	if !decode {
		onFrame = nil
	}
	r.rcv = NewVideoReceiver("door", r.pipe, nil, onFrame)
	// The fake camera runs faster than real time: the receiver's waits
	// (vp8rtp.MaxWait) are measured in packets, 20 ms each.
	var packets atomic.Int64
	t0 := time.Now()
	r.rcv.clock = func() time.Time { return t0.Add(time.Duration(packets.Add(1)) * 20 * time.Millisecond) }
	r.rcv.OnKeyframeNeeded(snd.RequestKeyframe)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(2)
	go func() { defer r.wg.Done(); r.sendErr = snd.Run(ctx) }()
	go func() {
		defer r.wg.Done()
		if err := r.rcv.Run(ctx); err != nil {
			t.Errorf("receiver: %v", err)
		}
	}()
	t.Cleanup(r.stop)
	return r
}

type writerFunc func(*rtp.Packet) error

func (f writerFunc) WriteRTP(p *rtp.Packet) error { return f(p) }

func (r *videoRig) write(p *rtp.Packet) error {
	r.mu.Lock()
	r.count++
	dropped := r.drop[r.count]
	r.mu.Unlock()
	if dropped {
		return nil
	}
	return r.pipe.WriteRTP(p)
}

// onFrame compares each decoded frame with the camera's: without loss the
// k-th decoded frame is camera frame k; a still camera shows frame 0.
func (r *videoRig) onFrame(member string, img yuv.I420, key bool) {
	r.mu.Lock()
	k := len(r.psnr) + 1
	r.mu.Unlock()
	if member != "door" {
		r.t.Errorf("frame for %q", member)
	}
	exp := expectedFrame(r.t, k, r.cam.w, r.cam.h, testW, testH)
	if r.cam.still {
		exp = expectedFrame(r.t, 0, r.cam.w, r.cam.h, testW, testH)
	}
	p := yuv.PSNR(exp, img)
	r.mu.Lock()
	r.psnr = append(r.psnr, p)
	r.keys = append(r.keys, key)
	r.mu.Unlock()
}

func (r *videoRig) stop() {
	r.cancel()
	_ = r.cam.Close()
	r.pipe.Close()
	r.wg.Wait()
}

func (r *videoRig) frames() ([]float64, []bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]float64(nil), r.psnr...), append([]bool(nil), r.keys...)
}

func TestVideoPipelineFormats(t *testing.T) {
	for _, tc := range []struct {
		format     hw.PixelFormat
		camW, camH int
	}{
		{hw.FormatYUYV, testW, testH},
		{hw.FormatNV12, testW, testH},
		{hw.FormatMJPEG, testW, testH},
		{hw.FormatI420, testW, testH},
		{hw.FormatYUYV, 640, 480}, // scaled to 320x240
		{hw.FormatMJPEG, 424, 240},
	} {
		t.Run(fmt.Sprintf("%s_%dx%d", tc.format, tc.camW, tc.camH), func(t *testing.T) {
			r := newVideoRig(t, newFakeCamera(t, tc.format, tc.camW, tc.camH, true), 1, 0)
			waitFor(t, "30 decoded frames", func() bool { return r.rcv.Stats().FramesDecoded >= 30 })
			r.stop()
			psnr, keys := r.frames()
			if !keys[0] {
				t.Fatal("the first decoded frame is not a keyframe")
			}
			worst := math.Inf(1)
			for _, p := range psnr {
				worst = min(worst, p)
			}
			if worst < minVideoPSNR {
				t.Fatalf("worst PSNR %.1f dB over %d frames, want ≥ %d", worst, len(psnr), minVideoPSNR)
			}
			st, out := r.rcv.Stats(), r.snd.Stats()
			if st.FrameWidth != testW || st.FrameHeight != testH || st.PacketsLost != 0 || st.FramesDropped != 0 {
				t.Fatalf("receiver stats %+v", st)
			}
			if out.FramesEncoded < st.FramesDecoded || out.KeyFramesEncoded != 1 || out.PacketsSent < st.PacketsReceived || out.EncodeTimeAvgMs <= 0 {
				t.Fatalf("sender stats %+v, receiver %+v", out, st)
			}
			t.Logf("%d frames, worst PSNR %.1f dB, encode+convert %.2f ms a frame", len(psnr), worst, out.EncodeTimeAvgMs)
		})
	}
}

func TestVideoLossAsksForKeyframeAndRecovers(t *testing.T) {
	cam := newFakeCamera(t, hw.FormatYUYV, testW, testH, true)
	cam.still = true
	// Packet 15 is lost outright, and 2 % of packets arrive late.
	r := newVideoRig(t, cam, 7, 0.02, 15)
	waitFor(t, "a lost packet and recovery", func() bool {
		st := r.rcv.Stats()
		return st.PacketsLost >= 1 && st.KeyFramesDecoded >= 2 && st.FramesDecoded >= 40
	})
	r.stop()
	st, out := r.rcv.Stats(), r.snd.Stats()
	if st.KeyframeRequests == 0 || out.KeyFramesEncoded < 2 || st.FramesDropped == 0 {
		t.Fatalf("receiver %+v, sender %+v: want keyframe requests, dropped frames, a second keyframe", st, out)
	}
	psnr, _ := r.frames()
	if last := psnr[len(psnr)-1]; last < minVideoPSNR {
		t.Fatalf("after recovery PSNR %.1f dB, want ≥ %d", last, minVideoPSNR)
	}
	t.Logf("receiver %+v", st)
	// The daemon's totals (metrics) count what the streams' stats do.
	sent, got := &r.snd.totals.Sent[media.Video], &r.rcv.totals.Received[media.Video]
	if sent.Packets.Load() != out.PacketsSent || sent.Bytes.Load() != out.BytesSent || sent.FramesDropped.Load() != out.FramesDropped {
		t.Errorf("sent totals %d packets, %d bytes, %d dropped; stats %+v", sent.Packets.Load(), sent.Bytes.Load(), sent.FramesDropped.Load(), out)
	}
	if got.Packets.Load() != st.PacketsReceived || got.Bytes.Load() != st.BytesReceived ||
		got.Lost.Load() < uint64(st.PacketsLost) || got.FramesDropped.Load() != st.FramesDropped {
		t.Errorf("received totals %d packets, %d bytes, %d lost, %d dropped; stats %+v",
			got.Packets.Load(), got.Bytes.Load(), got.Lost.Load(), got.FramesDropped.Load(), st)
	}
}

// TestVideoWithoutDecoderCountsAndRecovers: with nothing to hand pictures
// to, the receiver decodes nothing, yet counts complete frames, reads the
// size from keyframes, and still asks for a keyframe after a loss (the
// sender answers with one).
func TestVideoWithoutDecoderCountsAndRecovers(t *testing.T) {
	cam := newFakeCamera(t, hw.FormatYUYV, testW, testH, true)
	cam.still = true
	r := newVideoRigDecoding(t, false, cam, 7, 0.02, 15)
	waitFor(t, "a lost packet, a second keyframe, 40 frames", func() bool {
		st, out := r.rcv.Stats(), r.snd.Stats()
		return st.PacketsLost >= 1 && out.KeyFramesEncoded >= 2 && st.FramesReceived >= 40
	})
	r.stop()
	st := r.rcv.Stats()
	if r.rcv.dec != nil || st.FramesDecoded != 0 || st.KeyFramesDecoded != 0 {
		t.Fatalf("decoded without a consumer: %+v", st)
	}
	if st.KeyframeRequests == 0 || st.FramesDropped == 0 || st.FrameWidth != testW || st.FrameHeight != testH {
		t.Fatalf("receiver %+v: want keyframe requests, dropped frames, the size %dx%d", st, testW, testH)
	}
	if psnr, _ := r.frames(); len(psnr) != 0 {
		t.Fatalf("%d pictures handed over with no onFrame", len(psnr))
	}
}

func TestVideoRequestKeyframe(t *testing.T) {
	cam := newFakeCamera(t, hw.FormatNV12, testW, testH, false)
	w := &countingWriter{}
	s, err := NewVideoSender(cam, w, testVideo(testW, testH), nil)
	if err != nil {
		t.Fatal(err)
	}
	send := func(n int) {
		t.Helper()
		f, err := cam.frame(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.sendFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	for n := range 5 {
		send(n)
	}
	if k := s.Stats().KeyFramesEncoded; k != 1 {
		t.Fatalf("%d keyframes in 5 frames, want 1", k)
	}
	s.RequestKeyframe()
	send(5)
	if k := s.Stats().KeyFramesEncoded; k != 2 {
		t.Fatal("the frame after RequestKeyframe is not a keyframe")
	}
	send(6)
	if st := s.Stats(); st.KeyFramesEncoded != 2 || st.FramesEncoded != 7 || uint64(w.n) != st.PacketsSent {
		t.Fatalf("stats %+v, writer saw %d packets", st, w.n)
	}
}

func TestVideoCameraErrorEndsRun(t *testing.T) {
	cam := newFakeCamera(t, hw.FormatYUYV, testW, testH, true)
	s, err := NewVideoSender(cam, &countingWriter{}, testVideo(testW, testH), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	waitFor(t, "frames", func() bool { return cam.reads.Load() >= 3 })
	cam.failWith(&hw.DeviceError{Op: "read", Device: "fake", Kind: hw.ErrAbsent, Err: errors.New("ENODEV")})
	select {
	case err := <-done:
		if !errors.Is(err, hw.ErrAbsent) {
			t.Fatalf("Run = %v, want one wrapping hw.ErrAbsent", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the camera failed")
	}
	_ = cam.Close()
}

func TestVideoPaused(t *testing.T) {
	r := newVideoRig(t, newFakeCamera(t, hw.FormatYUYV, testW, testH, true), 3, 0)
	waitFor(t, "packets", func() bool { return r.snd.Stats().PacketsSent > 0 })
	r.snd.SetPaused(true)
	reads := r.cam.reads.Load()
	waitFor(t, "the camera to move on", func() bool { return r.cam.reads.Load() >= reads+2 })
	sent := r.snd.Stats().PacketsSent // a frame in flight when pausing is done by now
	reads = r.cam.reads.Load()
	waitFor(t, "the paused camera to be drained", func() bool { return r.cam.reads.Load() >= reads+5 })
	if now := r.snd.Stats().PacketsSent; now != sent {
		t.Fatalf("%d packets sent while paused", now-sent)
	}
	keys := r.snd.Stats().KeyFramesEncoded
	r.snd.SetPaused(false)
	waitFor(t, "sending to resume with a keyframe", func() bool {
		st := r.snd.Stats()
		return st.PacketsSent > sent && st.KeyFramesEncoded > keys
	})
}

// fakeRTCP replays RTCP batches, then fails like a stopped RTPSender.
type fakeRTCP struct{ batches [][]rtcp.Packet }

func (f *fakeRTCP) ReadRTCP() ([]rtcp.Packet, interceptor.Attributes, error) {
	if len(f.batches) == 0 {
		return nil, nil, errors.New("closed")
	}
	b := f.batches[0]
	f.batches = f.batches[1:]
	return b, nil, nil
}

// TestWatchRTCP: PLI and FIR ask for a keyframe; a REMB sets the bitrate
// between settings.VideoMinBitrate and the configured most (the estimate
// never raises it above video.bitrate).
func TestWatchRTCP(t *testing.T) {
	const most = 500_000
	cfg := testVideo(testW, testH)
	cfg.Bitrate = most
	s, err := NewVideoSender(newFakeCamera(t, hw.FormatYUYV, testW, testH, false), &countingWriter{}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pkts    []rtcp.Packet
		key     bool
		bitrate int64
	}{
		{[]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: 1}}, true, most},
		{[]rtcp.Packet{&rtcp.FullIntraRequest{MediaSSRC: 1}}, true, most},
		{[]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 300_000}}, false, 300_000},
		{[]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 10}}, false, settings.VideoMinBitrate},
		{[]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 1e9}}, false, most},
		{[]rtcp.Packet{&rtcp.ReceiverReport{}}, false, most},
	} {
		s.keyframe.Store(false)
		s.bitrate.Store(most)
		WatchRTCP(&fakeRTCP{batches: [][]rtcp.Packet{tc.pkts}}, s)
		if s.keyframe.Load() != tc.key || s.bitrate.Load() != tc.bitrate {
			t.Errorf("%T: keyframe %v bitrate %d, want %v %d", tc.pkts[0], s.keyframe.Load(), s.bitrate.Load(), tc.key, tc.bitrate)
		}
	}
}

// The settings come validated by daemon/config; what slips past (a
// programming error) is still refused by libvpx's own checks in codec/vp8.
func TestVideoSenderRefusesWhatTheCodecRefuses(t *testing.T) {
	bad := testVideo(64, 48)
	bad.Threads = -1
	if _, err := NewVideoSender(newFakeCamera(t, hw.FormatYUYV, 64, 48, false), &countingWriter{}, bad, nil); err == nil {
		t.Error("NewVideoSender accepted threads -1")
	}
}
