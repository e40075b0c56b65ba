package mjpeg_test

import (
	"errors"
	"testing"

	"github.com/voipd/voipd/codec/codectest"
	"github.com/voipd/voipd/codec/mjpeg"
	"github.com/voipd/voipd/codec/yuv"
)

// minPSNR: quality 90 JPEG of the test pattern decodes above 30 dB; the
// point is "the same picture", not JPEG's fidelity.
const minPSNR = 30

func TestRoundTrip(t *testing.T) {
	enc, err := mjpeg.NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := mjpeg.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for _, sub := range []mjpeg.Subsampling{mjpeg.Sub420, mjpeg.Sub422} {
		for _, sz := range [][2]int{{640, 480}, {66, 50}} {
			w, h := sz[0], sz[1]
			src := yuv.NewI420(w, h)
			codectest.Pattern(src, 1)
			buf := make([]byte, mjpeg.BufSize(w, h, sub))
			n, err := enc.Encode(buf, src, sub, 90)
			if err != nil {
				t.Fatalf("%v %dx%d: %v", sub, w, h, err)
			}
			gw, gh, gsub, err := dec.Header(buf[:n])
			if err != nil || gw != w || gh != h || gsub != sub {
				t.Fatalf("header = %dx%d %v %v, want %dx%d %v", gw, gh, gsub, err, w, h, sub)
			}
			dst := yuv.NewI420(w, h)
			if err := dec.Decode(dst, buf[:n]); err != nil {
				t.Fatal(err)
			}
			if p := yuv.PSNR(src, dst); p < minPSNR {
				t.Fatalf("%v %dx%d: PSNR %.1f dB, want ≥ %d", sub, w, h, p, minPSNR)
			}
			if allocs := testing.AllocsPerRun(5, func() { _ = dec.Decode(dst, buf[:n]) }); allocs != 0 {
				t.Fatalf("%v: %.0f allocations per decode", sub, allocs)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	enc, _ := mjpeg.NewEncoder()
	defer enc.Close()
	dec, _ := mjpeg.NewDecoder()
	src := yuv.NewI420(64, 48)
	buf := make([]byte, mjpeg.BufSize(64, 48, mjpeg.Sub422))
	n, err := enc.Encode(buf, src, mjpeg.Sub422, 80)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"garbage", dec.Decode(src, []byte("not a jpeg at all")), mjpeg.ErrCorrupt},
		{"empty", dec.Decode(src, nil), mjpeg.ErrBadArg},
		{"wrong size", dec.Decode(yuv.NewI420(32, 24), buf[:n]), mjpeg.ErrBadArg},
		{"truncated header", dec.Decode(src, buf[:20]), mjpeg.ErrCorrupt},
		{"bad quality", func() error { _, err := enc.Encode(buf, src, mjpeg.Sub420, 0); return err }(), mjpeg.ErrBadArg},
		{"small dst", func() error { _, err := enc.Encode(buf[:100], src, mjpeg.Sub420, 80); return err }(), mjpeg.ErrShortBuffer},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	// A camera's JPEG missing its last bytes still decodes (a warning).
	if err := dec.Decode(src, buf[:n-2]); err != nil {
		t.Errorf("JPEG without its EOI marker: %v, want decoded", err)
	}
	dec.Close()
	if err := dec.Decode(src, buf[:n]); !errors.Is(err, mjpeg.ErrBadArg) {
		t.Errorf("decode after Close: %v", err)
	}
}
