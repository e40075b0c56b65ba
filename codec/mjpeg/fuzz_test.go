package mjpeg_test

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"testing"

	"github.com/voipd/voipd/codec/codectest"
	"github.com/voipd/voipd/codec/mjpeg"
	"github.com/voipd/voipd/codec/yuv"
)

// maxFuzzPixels bounds the frames FuzzDecode allocates: a header may claim
// 65535×65535, which says nothing about the decoder and would only exhaust
// the fuzzing machine's memory. A camera's largest mode is well below.
const maxFuzzPixels = 2048 * 2048

// FuzzDecode feeds arbitrary bytes to the decoder as a camera's MJPEG
// frames reach it (media/pipeline's frame converter): Header first, then
// Decode into a frame of the size the header gave. Nothing may crash; a
// failure is an error of the package's kinds; a decoded frame's planes
// hold its size; a frame of another size is refused, never written past.
func FuzzDecode(f *testing.F) {
	enc, err := mjpeg.NewEncoder()
	if err != nil {
		f.Fatal(err)
	}
	for _, sz := range [][2]int{{64, 48}, {33, 17}, {1, 1}} {
		src := yuv.NewI420(sz[0], sz[1])
		codectest.Pattern(src, 2)
		for _, sub := range []mjpeg.Subsampling{mjpeg.Sub420, mjpeg.Sub422} {
			buf := make([]byte, mjpeg.BufSize(sz[0], sz[1], sub))
			n, err := enc.Encode(buf, src, sub, 75)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(buf[:n])
			f.Add(buf[:n*2/3]) // a webcam's frame cut short
		}
	}
	enc.Close()
	// A grayscale JPEG and a 4:4:4 one, from Go's own encoder (which
	// writes 4:2:0 for colour; the 4:4:4 seed is the same with its
	// sampling factors rewritten).
	var gray bytes.Buffer
	g := image.NewGray(image.Rect(0, 0, 24, 16))
	for i := range g.Pix {
		g.Pix[i] = byte(i * 7)
	}
	if err := jpeg.Encode(&gray, g, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(gray.Bytes())
	var colour bytes.Buffer
	if err := jpeg.Encode(&colour, image.NewRGBA(image.Rect(0, 0, 16, 16)), nil); err != nil {
		f.Fatal(err)
	}
	c444 := colour.Bytes()
	if i := bytes.Index(c444, []byte{0xff, 0xc0}); i >= 0 && i+11 < len(c444) {
		c444[i+11] = 0x11 // the luma's sampling factors: 2×2 → 1×1
	}
	f.Add(c444)
	f.Add([]byte{0xff, 0xd8, 0xff, 0xd9})
	f.Add([]byte("not a jpeg at all"))

	dec, err := mjpeg.NewDecoder()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { dec.Close() })
	f.Fuzz(func(t *testing.T, frame []byte) {
		w, h, sub, err := dec.Header(frame)
		if err != nil {
			if !errors.Is(err, mjpeg.ErrCorrupt) && !errors.Is(err, mjpeg.ErrBadArg) {
				t.Fatalf("header error of no kind: %v", err)
			}
			if e := dec.Decode(yuv.NewI420(8, 8), frame); e == nil {
				t.Fatalf("Header refused % x (%v) but Decode took it", frame, err)
			}
			return
		}
		if w <= 0 || h <= 0 {
			t.Fatalf("header without an error gave %dx%d", w, h)
		}
		if w*h > maxFuzzPixels {
			return
		}
		dst := yuv.NewI420(w, h)
		err = dec.Decode(dst, frame)
		switch {
		case err == nil:
			if sub != mjpeg.Sub420 && sub != mjpeg.Sub422 && sub != mjpeg.SubGray {
				t.Fatalf("decoded a %v JPEG it does not support", sub)
			}
			if err := dst.Check(); err != nil {
				t.Fatal(err)
			}
		case !errors.Is(err, mjpeg.ErrCorrupt) && !errors.Is(err, mjpeg.ErrUnsupported):
			t.Fatalf("decode error of no kind: %v", err)
		}
		// One pixel off in either direction is refused before TurboJPEG
		// writes anything (it would write past the planes otherwise).
		if small := yuv.NewI420(max(w-1, 1), h); small.Width != w {
			if err := dec.Decode(small, frame); !errors.Is(err, mjpeg.ErrBadArg) {
				t.Fatalf("a %dx%d frame for a %dx%d JPEG: %v", small.Width, h, w, h, err)
			}
		}
	})
}
