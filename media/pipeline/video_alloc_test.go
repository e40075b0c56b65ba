package pipeline

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/voipd/voipd/codec/vp8"
	"github.com/voipd/voipd/codec/yuv"
	"github.com/voipd/voipd/hw"
)

// videoFrames pre-renders n camera frames (the moving pattern) so the
// measured loop does only the sender's work.
func videoFrames(tb testing.TB, format hw.PixelFormat, w, h, n int) []hw.VideoFrame {
	cam := newFakeCamera(tb, format, w, h, false)
	frames := make([]hw.VideoFrame, n)
	for i := range frames {
		f, err := cam.frame(i)
		if err != nil {
			tb.Fatal(err)
		}
		f.Data = bytes.Clone(f.Data)
		frames[i] = f
	}
	return frames
}

// videoSendPath is a sender whose frames the test hands to sendFrame
// directly, writing to a writer that marshals like pion's WriteRTP.
func videoSendPath(tb testing.TB, format hw.PixelFormat, w, h int) (*VideoSender, []hw.VideoFrame, func(i int)) {
	frames := videoFrames(tb, format, w, h, 30)
	s, err := NewVideoSender(newFakeCamera(tb, format, w, h, false), &countingWriter{}, testVideo(w, h), nil)
	if err != nil {
		tb.Fatal(err)
	}
	epoch := frames[0].Captured
	send := func(i int) {
		f := frames[i%len(frames)]
		f.Captured = epoch.Add(time.Duration(i) * time.Second / 30)
		if err := s.sendFrame(f); err != nil {
			tb.Fatal(err)
		}
	}
	return s, frames, send
}

func TestVideoSendPathDoesNotAllocate(t *testing.T) {
	for _, format := range []hw.PixelFormat{hw.FormatYUYV, hw.FormatNV12, hw.FormatMJPEG, hw.FormatI420} {
		s, _, send := videoSendPath(t, format, testW, testH)
		i := 0
		send(i) // the first MJPEG frame creates the decoder
		allocs := testing.AllocsPerRun(30, func() {
			i++
			if i == 10 {
				s.RequestKeyframe()
				s.SetBitrate(300_000)
			}
			send(i)
		})
		if allocs != 0 {
			t.Errorf("%s: %.2f allocations per frame, want 0", format, allocs)
		}
		if st := s.Stats(); st.FramesDropped != 0 || st.KeyFramesEncoded < 2 || st.TargetBitrate != 300_000 {
			t.Errorf("%s: stats %+v", format, st)
		}
	}
}

func TestVideoReceivePathDoesNotAllocate(t *testing.T) {
	// Record 60 frames' datagrams from a real sender.
	var dgrams [][]byte
	rec := writerFunc(func(p *rtp.Packet) error {
		b, err := p.Marshal()
		dgrams = append(dgrams, b)
		return err
	})
	frames := videoFrames(t, hw.FormatI420, testW, testH, 60)
	s, err := NewVideoSender(newFakeCamera(t, hw.FormatI420, testW, testH, false), rec, testVideo(testW, testH), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := s.sendFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	decoded := 0
	r := NewVideoReceiver("door", nil, nil, func(string, yuv.I420, bool) { decoded++ })
	if r.dec, err = vp8.NewDecoder(); err != nil {
		t.Fatal(err)
	}
	defer r.dec.Close()
	const warm = 10
	for _, d := range dgrams[:warm] {
		r.receive(d)
	}
	i := warm
	allocs := testing.AllocsPerRun(len(dgrams)-warm-1, func() {
		r.receive(dgrams[i])
		i++
	})
	if allocs != 0 {
		t.Fatalf("%.2f allocations per packet, want 0", allocs)
	}
	if decoded < 50 {
		t.Fatalf("%d frames decoded of 60", decoded)
	}
	// Without onFrame there is no decoder: reassembly and the keyframe
	// header read allocate nothing either, nor does the copy of every
	// packet to the local display (the packet parsed once for both).
	nd := NewVideoReceiver("door", nil, nil, nil)
	display := &countingWriter{}
	nd.SetDisplay(display)
	for _, d := range dgrams[:warm] {
		nd.receive(d)
	}
	i = warm
	allocs = testing.AllocsPerRun(len(dgrams)-warm-1, func() {
		nd.receive(dgrams[i])
		i++
	})
	if st := nd.Stats(); allocs != 0 || st.FramesReceived < 50 || st.FramesDecoded != 0 || st.FrameWidth != testW {
		t.Fatalf("without a decoder: %.2f allocations per packet, stats %+v", allocs, st)
	}
	if display.n != i {
		t.Fatalf("the display got %d packets of %d", display.n, i)
	}
}

// The send path at the sizes voipd is configured for, from a YUYV camera
// frame (conversion included) to WriteRTP; compare with codec/vp8's
// BenchmarkAnchorVP8Encode* (the same pattern and settings, libvpx only).
func benchVideoSend(b *testing.B, format hw.PixelFormat, w, h int) {
	_, frames, send := videoSendPath(b, format, w, h)
	i := 0
	// Warm up as vpx_loop.c does (it times nothing of its first run): the
	// first keyframe, libvpx's first touch of its buffers, the caches.
	for ; i < len(frames); i++ {
		send(i)
	}
	b.ReportAllocs()
	for b.Loop() {
		send(i)
		i++
	}
}

func BenchmarkVideoSendFrame640x480(b *testing.B)  { benchVideoSend(b, hw.FormatYUYV, 640, 480) }
func BenchmarkVideoSendFrame1280x720(b *testing.B) { benchVideoSend(b, hw.FormatYUYV, 1280, 720) }

// MJPEG decoding is the costliest conversion a camera can ask for.
func BenchmarkVideoSendFrameMJPEG640x480(b *testing.B) { benchVideoSend(b, hw.FormatMJPEG, 640, 480) }
