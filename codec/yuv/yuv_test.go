package yuv_test

import (
	"errors"
	"math"
	"testing"

	"github.com/voipd/voipd/codec/codectest"
	"github.com/voipd/voipd/codec/yuv"
)

func pattern(w, h int) yuv.I420 {
	img := yuv.NewI420(w, h)
	codectest.Pattern(img, 3)
	return img
}

func TestRoundTrips(t *testing.T) {
	for _, sz := range [][2]int{{64, 48}, {65, 49}, {640, 480}} {
		w, h := sz[0], sz[1]
		src := pattern(w, h)
		cw, ch := yuv.ChromaSize(w, h)
		ns := 2 * cw // an NV12 row holds both chroma of an odd last column
		for _, tc := range []struct {
			name    string
			to      func(buf []byte) error
			from    func(dst yuv.I420, buf []byte) error
			bufSize int
		}{
			{"YUYV", func(b []byte) error { return yuv.I420ToYUY2(b, 2*w, src) },
				func(d yuv.I420, b []byte) error { return yuv.YUY2ToI420(d, b, 2*w) }, 2 * w * h},
			{"NV12", func(b []byte) error { return yuv.I420ToNV12(b, ns, src) },
				func(d yuv.I420, b []byte) error { return yuv.NV12ToI420(d, b, ns) }, ns*h + ns*ch},
		} {
			t.Run(tc.name, func(t *testing.T) {
				buf := make([]byte, tc.bufSize)
				if err := tc.to(buf); err != nil {
					t.Fatal(err)
				}
				dst := yuv.NewI420(w, h)
				if err := tc.from(dst, buf); err != nil {
					t.Fatal(err)
				}
				// YUYV keeps chroma for every row; going back averages row
				// pairs that were equal, so even sizes round-trip exactly.
				// An odd last row is averaged with nothing: close, not exact.
				p := yuv.PSNR(src, dst)
				if w%2 == 0 && h%2 == 0 && !math.IsInf(p, 1) || p < 40 {
					t.Fatalf("%dx%d: PSNR %.1f dB, want identical (even sizes) or ≥ 40", w, h, p)
				}
				if allocs := testing.AllocsPerRun(10, func() { _ = tc.from(dst, buf) }); allocs != 0 {
					t.Fatalf("%.0f allocations per conversion", allocs)
				}
			})
		}
		i422 := yuv.NewI422(w, h)
		if err := yuv.I420ToI422(i422, src); err != nil {
			t.Fatal(err)
		}
		back := yuv.NewI420(w, h)
		if err := yuv.I422ToI420(back, i422); err != nil {
			t.Fatal(err)
		}
		// libyuv interpolates the doubled chroma rows, so going back is
		// close but not exact.
		if p := yuv.PSNR(src, back); p < 50 {
			t.Fatalf("I422 %dx%d: PSNR %.1f dB, want ≥ 50", w, h, p)
		}
	}
}

func TestScaleAndCopy(t *testing.T) {
	src := pattern(1280, 720)
	small := yuv.NewI420(640, 360)
	if err := yuv.Scale(small, src); err != nil {
		t.Fatal(err)
	}
	// Scaling back up must give roughly the picture again.
	big := yuv.NewI420(1280, 720)
	if err := yuv.Scale(big, small); err != nil {
		t.Fatal(err)
	}
	if p := yuv.PSNR(src, big); p < 20 {
		t.Fatalf("down and up again: PSNR %.1f dB, want ≥ 20", p)
	}
	// Copy into a frame with wider strides.
	wide := yuv.I420{Y: make([]byte, 1300*720), U: make([]byte, 700*360), V: make([]byte, 700*360),
		YStride: 1300, UStride: 700, VStride: 700, Width: 1280, Height: 720}
	if err := yuv.Copy(wide, src); err != nil {
		t.Fatal(err)
	}
	if p := yuv.PSNR(src, wide); !math.IsInf(p, 1) {
		t.Fatalf("copy: PSNR %.1f", p)
	}
}

func TestChecks(t *testing.T) {
	good := yuv.NewI420(64, 48)
	short := good
	short.V = short.V[:10]
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"zero frame", yuv.I420{}.Check(), yuv.ErrBadArg},
		{"short plane", short.Check(), yuv.ErrShortBuffer},
		{"short YUYV", yuv.YUY2ToI420(good, make([]byte, 100), 128), yuv.ErrShortBuffer},
		{"stride below width", yuv.YUY2ToI420(good, make([]byte, 64*48*2), 64), yuv.ErrBadArg},
		{"short NV12", yuv.NV12ToI420(good, make([]byte, 64*48), 64), yuv.ErrShortBuffer},
		{"size mismatch", yuv.Copy(good, yuv.NewI420(32, 24)), yuv.ErrBadArg},
		{"short destination", yuv.Scale(short, good), yuv.ErrShortBuffer},
		{"short I422", yuv.I422ToI420(good, yuv.I422{Width: 64, Height: 48}), yuv.ErrBadArg},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if p := yuv.PSNR(good, yuv.NewI420(32, 24)); p != 0 {
		t.Errorf("PSNR of different sizes = %v, want 0", p)
	}
}
