package vp8_test

import (
	"errors"
	"testing"

	"github.com/voipd/voipd/codec/codectest"
	"github.com/voipd/voipd/codec/vp8"
	"github.com/voipd/voipd/codec/yuv"
)

func TestEncoderConformance(t *testing.T) {
	codectest.RunVideoEncoderSuite(t, func(w, h, fps int) (codectest.VideoEncoder, error) {
		return vp8.NewEncoder(vp8.EncoderParams{Width: w, Height: h, FPS: fps})
	})
}

func TestEncoderParams(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    vp8.EncoderParams
		ok   bool
	}{
		{"defaults", vp8.EncoderParams{Width: 64, Height: 48}, true},
		{"odd size", vp8.EncoderParams{Width: 65, Height: 47}, true},
		{"two threads", vp8.EncoderParams{Width: 64, Height: 48, Threads: 2}, true},
		{"negative cpu-used", vp8.EncoderParams{Width: 64, Height: 48, CPUUsed: -12}, true},
		{"no size", vp8.EncoderParams{}, false},
		{"huge", vp8.EncoderParams{Width: 20000, Height: 48}, false},
		{"fps", vp8.EncoderParams{Width: 64, Height: 48, FPS: 500}, false},
		{"bitrate", vp8.EncoderParams{Width: 64, Height: 48, Bitrate: 5}, false},
		{"cpu-used", vp8.EncoderParams{Width: 64, Height: 48, CPUUsed: 17}, false},
		{"threads", vp8.EncoderParams{Width: 64, Height: 48, Threads: 99}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := vp8.NewEncoder(tc.p)
			if (err == nil) != tc.ok {
				t.Fatalf("NewEncoder(%+v) = %v, want ok=%v", tc.p, err, tc.ok)
			}
			if err != nil {
				codectest.ErrIs(t, err, vp8.ErrBadArg)
				return
			}
			defer enc.Close()
			p := enc.Params()
			if p.FPS != vp8.DefaultFPS || p.KeyframeInterval != vp8.DefaultKeyframeSeconds*vp8.DefaultFPS {
				t.Fatalf("defaults not applied: %+v", p)
			}
			img := yuv.NewI420(tc.p.Width, tc.p.Height)
			codectest.Pattern(img, 0)
			buf := make([]byte, vp8.MaxFrameBytes(tc.p.Width, tc.p.Height))
			if n, key, err := enc.Encode(buf, img, 0, false); err != nil || n == 0 || !key {
				t.Fatalf("Encode = %d, %v, %v", n, key, err)
			}
		})
	}
}

func TestErrorKinds(t *testing.T) {
	enc, err := vp8.NewEncoder(vp8.EncoderParams{Width: 64, Height: 48})
	if err != nil {
		t.Fatal(err)
	}
	img := yuv.NewI420(64, 48)
	_, _, err = enc.Encode(make([]byte, 8), img, 0, false)
	codectest.ErrIs(t, err, vp8.ErrBufferTooSmall)
	codectest.ErrIs(t, enc.SetBitrate(1), vp8.ErrBadArg)
	enc.Close()
	_, _, err = enc.Encode(make([]byte, 1<<16), img, 0, false)
	codectest.ErrIs(t, err, vp8.ErrClosed)

	dec, err := vp8.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	_, err = dec.Decode([]byte{0xff, 0xff, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06})
	if err == nil {
		t.Fatal("decoding garbage succeeded")
	}
	if !errors.Is(err, vp8.ErrCorrupt) && !errors.Is(err, vp8.ErrUnsupported) {
		t.Fatalf("garbage: %v, want ErrCorrupt or ErrUnsupported", err)
	}
	_, err = dec.Decode(nil)
	codectest.ErrIs(t, err, vp8.ErrBadArg)
}

func TestDecodeIsAViewWithoutAllocation(t *testing.T) {
	const w, h = 160, 120
	enc, err := vp8.NewEncoder(vp8.EncoderParams{Width: w, Height: h})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := vp8.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	img := yuv.NewI420(w, h)
	codectest.Pattern(img, 0)
	buf := make([]byte, vp8.MaxFrameBytes(w, h))
	n, _, err := enc.Encode(buf, img, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	out, err := dec.Decode(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	if out.Width != w || out.Height != h || out.Check() != nil {
		t.Fatalf("decoded %dx%d (%v)", out.Width, out.Height, out.Check())
	}
	if allocs := testing.AllocsPerRun(20, func() {
		if _, err := dec.Decode(buf[:n]); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Fatalf("%.1f allocations per decode, want 0", allocs)
	}
}

// TestKeyframeSize: the size read from a keyframe's header is the encoded
// size (odd sizes too); interframes and short or foreign data say no.
func TestKeyframeSize(t *testing.T) {
	for _, sz := range [][2]int{{640, 480}, {321, 179}} {
		w, h := sz[0], sz[1]
		enc, err := vp8.NewEncoder(vp8.EncoderParams{Width: w, Height: h})
		if err != nil {
			t.Fatal(err)
		}
		img := yuv.NewI420(w, h)
		buf := make([]byte, vp8.MaxFrameBytes(w, h))
		for i := range 3 {
			codectest.Pattern(img, i)
			n, key, err := enc.Encode(buf, img, int64(i)*3000, false)
			if err != nil {
				t.Fatal(err)
			}
			gw, gh, ok := vp8.KeyframeSize(buf[:n])
			if key && (!ok || gw != w || gh != h) {
				t.Errorf("keyframe %d of %dx%d reads as %dx%d ok=%v", i, w, h, gw, gh, ok)
			}
			if !key && ok {
				t.Errorf("interframe %d read as a keyframe of %dx%d", i, gw, gh)
			}
		}
		enc.Close()
	}
	for _, b := range [][]byte{nil, {0x10, 0, 0, 0x9d, 0x01, 0x2a, 0x80}, {0x10, 0, 0, 0x9d, 0x01, 0x2b, 0x80, 2, 0xe0, 1}} {
		if _, _, ok := vp8.KeyframeSize(b); ok {
			t.Errorf("% x read as a keyframe", b)
		}
	}
}
