package codectest

import (
	"errors"
	"testing"

	"github.com/voipd/voipd/codec/vp8"
	"github.com/voipd/voipd/codec/yuv"
)

// VideoEncoder is what voipd's media layer needs of a video encoder:
// synchronous, writing into the caller's buffer.
type VideoEncoder interface {
	// Encode compresses img into dst; pts is the capture time on the
	// 90 kHz clock. It returns the frame's length and whether it is a
	// keyframe.
	Encode(dst []byte, img yuv.I420, pts int64, forceKeyframe bool) (n int, keyframe bool, err error)
	// SetBitrate changes the target bitrate in bit/s.
	SetBitrate(bps int) error
}

// The suite's fixed conditions.
const (
	suiteW, suiteH, suiteFPS = 320, 240, 30
	// MinPSNR is the floor (dB) for a decoded frame against its input at
	// the encoder's default bitrate after two seconds. VP8 at 800 kbit/s
	// reaches about 50 dB on the pattern at 320x240; 35 dB is still
	// "clearly the same picture", and leaves room for other encoders.
	MinPSNR = 35
	// highBitrate and lowBitrate bracket the bitrate-change check;
	// maxLowRatio is how much of the high rate's average frame the low
	// rate may still use.
	highBitrate, lowBitrate, maxLowRatio = 1_000_000, 150_000, 0.6
	tick                                 = 90000 / suiteFPS
)

// RunVideoEncoderSuite checks an encoder against what the media layer
// relies on. newEnc makes a fresh encoder for a w×h picture at fps with
// its default bitrate; an encoder with a Close method is closed at the
// end. The output must be VP8 (it is decoded with codec/vp8): add a
// decoder parameter when another codec arrives.
func RunVideoEncoderSuite(t *testing.T, newEnc func(w, h, fps int) (VideoEncoder, error)) {
	mk := func(t *testing.T) VideoEncoder {
		t.Helper()
		enc, err := newEnc(suiteW, suiteH, suiteFPS)
		if err != nil {
			t.Fatalf("new encoder: %v", err)
		}
		if c, ok := enc.(interface{ Close() error }); ok {
			t.Cleanup(func() { _ = c.Close() })
		}
		return enc
	}
	img := yuv.NewI420(suiteW, suiteH)
	dst := make([]byte, suiteW*suiteH*3)
	encode := func(t *testing.T, enc VideoEncoder, i int, force bool) (int, bool) {
		t.Helper()
		Pattern(img, i)
		n, key, err := enc.Encode(dst, img, int64(i*tick), force)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if n == 0 {
			t.Fatalf("frame %d: empty output", i)
		}
		return n, key
	}

	t.Run("FirstFrameIsKeyframe", func(t *testing.T) {
		enc := mk(t)
		if _, key := encode(t, enc, 0, false); !key {
			t.Fatal("first frame is not a keyframe")
		}
	})
	t.Run("ForcedKeyframes", func(t *testing.T) {
		enc := mk(t)
		for i := range 20 {
			force := i == 7 || i == 13
			_, key := encode(t, enc, i, force)
			if force && !key {
				t.Fatalf("frame %d: forced keyframe is not a keyframe", i)
			}
			if i == 8 && key {
				t.Fatalf("frame %d after a forced keyframe is a keyframe too", i)
			}
		}
	})
	t.Run("DecodesCloseToInput", func(t *testing.T) {
		enc := mk(t)
		dec, err := vp8.NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		var psnr float64
		for i := range 2 * suiteFPS {
			n, _ := encode(t, enc, i, false)
			out, err := dec.Decode(dst[:n])
			if err != nil {
				t.Fatalf("decode frame %d: %v", i, err)
			}
			psnr = yuv.PSNR(img, out)
		}
		if psnr < MinPSNR {
			t.Fatalf("PSNR of the last frame %.1f dB, want ≥ %d", psnr, MinPSNR)
		}
		t.Logf("PSNR %.1f dB", psnr)
	})
	t.Run("BitrateChangeTakesEffect", func(t *testing.T) {
		enc := mk(t)
		avg := func(from, to int) float64 {
			sum := 0
			for i := from; i < to; i++ {
				n, _ := encode(t, enc, i, false)
				if i >= to-suiteFPS { // the last second, after rate control settled
					sum += n
				}
			}
			return float64(sum) / suiteFPS
		}
		if err := enc.SetBitrate(highBitrate); err != nil {
			t.Fatal(err)
		}
		high := avg(0, 3*suiteFPS)
		if err := enc.SetBitrate(lowBitrate); err != nil {
			t.Fatal(err)
		}
		low := avg(3*suiteFPS, 6*suiteFPS)
		t.Logf("average frame %.0f bytes at %d bit/s, %.0f at %d", high, highBitrate, low, lowBitrate)
		if low > maxLowRatio*high {
			t.Fatalf("average frame %.0f bytes after lowering the bitrate, want ≤ %.0f%% of %.0f", low, 100*maxLowRatio, high)
		}
	})
	t.Run("NoAllocationPerFrame", func(t *testing.T) {
		enc := mk(t)
		i := 0
		encode(t, enc, i, false)
		allocs := testing.AllocsPerRun(30, func() {
			i++
			if _, _, err := enc.Encode(dst, img, int64(i*tick), i%10 == 0); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("%.1f allocations per frame, want 0", allocs)
		}
	})
	t.Run("DstTooSmall", func(t *testing.T) {
		enc := mk(t)
		Pattern(img, 0)
		n, _, err := enc.Encode(dst[:16], img, 0, true)
		if err == nil || n != 0 {
			t.Fatalf("Encode into 16 bytes = %d, %v; want an error", n, err)
		}
		t.Logf("error: %v", err)
		// The encoder stays usable: a forced keyframe into a big enough buffer.
		if _, key := encode(t, enc, 1, true); !key {
			t.Fatal("forced keyframe after the failure is not a keyframe")
		}
	})
	t.Run("WrongImageSize", func(t *testing.T) {
		enc := mk(t)
		small := yuv.NewI420(suiteW/2, suiteH/2)
		if _, _, err := enc.Encode(dst, small, 0, false); err == nil {
			t.Fatal("encoding a frame of the wrong size succeeded")
		}
		var zero yuv.I420
		if _, _, err := enc.Encode(dst, zero, 0, false); err == nil {
			t.Fatal("encoding an empty image succeeded")
		}
	})
}

// ErrIs is a helper for encoder packages' own tests: it fails t unless err
// wraps want.
func ErrIs(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want one wrapping %v", err, want)
	}
}
