package vp8_test

import (
	"testing"

	"github.com/voipd/voipd/codec/codectest"
	"github.com/voipd/voipd/codec/vp8"
	"github.com/voipd/voipd/codec/yuv"
)

// encodedFrames returns a keyframe and the interframe after it, of a small
// moving pattern: the seeds of the fuzz targets below.
func encodedFrames(f *testing.F, w, h int) (key, inter []byte) {
	f.Helper()
	enc, err := vp8.NewEncoder(vp8.EncoderParams{Width: w, Height: h})
	if err != nil {
		f.Fatal(err)
	}
	defer enc.Close()
	img := yuv.NewI420(w, h)
	buf := make([]byte, vp8.MaxFrameBytes(w, h))
	var frames [2][]byte
	for i := range frames {
		codectest.Pattern(img, i)
		n, _, err := enc.Encode(buf, img, int64(i)*3000, false)
		if err != nil {
			f.Fatal(err)
		}
		frames[i] = append([]byte(nil), buf[:n]...)
	}
	return frames[0], frames[1]
}

// FuzzKeyframeSize: the header reader never panics, says yes exactly when
// the frame tag says keyframe, the start code is there and both sizes are
// non-zero, and then returns the 14-bit sizes the header holds.
func FuzzKeyframeSize(f *testing.F) {
	key, inter := encodedFrames(f, 64, 48)
	f.Add(key)
	f.Add(inter)
	f.Add(key[:10])                                                                // the header alone
	f.Add(key[:9])                                                                 // one byte short
	f.Add([]byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0xff, 0xff, 0xff, 0xff})      // 16383×16383, scaled ×4
	f.Add([]byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0xc0, 0x01, 0x00})      // width 0 (scaling bits set)
	f.Add([]byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2b, 0x40, 0x00, 0x30, 0x00})      // a wrong start code
	f.Add([]byte{0x11, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x00, 0x30, 0x00, 0x0}) // an interframe's tag
	f.Fuzz(func(t *testing.T, frame []byte) {
		w, h, ok := vp8.KeyframeSize(frame)
		header := len(frame) >= 10 && frame[0]&1 == 0 && frame[3] == 0x9d && frame[4] == 0x01 && frame[5] == 0x2a
		if !header {
			if ok || w != 0 || h != 0 {
				t.Fatalf("% x is no keyframe header, read as %dx%d ok=%v", frame, w, h, ok)
			}
			return
		}
		wantW := int(frame[6]) | int(frame[7]&0x3f)<<8
		wantH := int(frame[8]) | int(frame[9]&0x3f)<<8
		if w != wantW || h != wantH || ok != (w > 0 && h > 0) {
			t.Fatalf("% x: %dx%d ok=%v, want %dx%d", frame[:10], w, h, ok, wantW, wantH)
		}
		if w > 16383 || h > 16383 {
			t.Fatalf("%dx%d is past VP8's 14 bits", w, h)
		}
	})
}

// maxDecodePixels bounds what FuzzDecode lets libvpx decode: a header may
// claim 16383×16383 (400 MB of frame buffers), which tells nothing about
// the parser and would only exhaust the fuzzing machine's memory.
const maxDecodePixels = 1920 * 1088

// FuzzDecode feeds libvpx a frame and the one after it, as a member's
// video reaches the decoder (media/pipeline's VideoReceiver): nothing may
// crash, an error is a value, and a picture decoded from a keyframe has
// the size KeyframeSize read from its header, with planes that hold it.
func FuzzDecode(f *testing.F) {
	key, inter := encodedFrames(f, 64, 48)
	odd, _ := encodedFrames(f, 33, 17)
	f.Add(key, inter)
	f.Add(odd, inter) // an interframe of another size after a keyframe
	f.Add(inter, key) // an interframe first: no reference yet
	f.Add(key[:len(key)/2], inter)
	f.Add([]byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x00, 0x30, 0x00}, []byte{0x00})
	f.Fuzz(func(t *testing.T, first, second []byte) {
		dec, err := vp8.NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		for _, frame := range [][]byte{first, second} {
			w, h, key := vp8.KeyframeSize(frame)
			if key && w*h > maxDecodePixels {
				continue
			}
			img, err := dec.Decode(frame)
			if err != nil || img.Width == 0 {
				continue
			}
			if err := img.Check(); err != nil {
				t.Fatalf("decoded picture %dx%d: %v", img.Width, img.Height, err)
			}
			if key && (img.Width != w || img.Height != h) {
				t.Fatalf("keyframe header says %dx%d, libvpx decoded %dx%d", w, h, img.Width, img.Height)
			}
		}
	})
}
