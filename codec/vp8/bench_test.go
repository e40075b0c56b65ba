package vp8_test

import (
	"fmt"
	"testing"

	"github.com/voipd/voipd/codec/codectest"
	"github.com/voipd/voipd/codec/vp8"
	"github.com/voipd/voipd/codec/yuv"
)

// The Anchor benchmarks call libvpx through this package with nothing of
// media's in between: the same moving pattern (benchFrames frames, cycled)
// and the same settings as media's BenchmarkVideoSendFrame*, so
// `make bench` can print the send path as a ratio to the bare encoder.
// The Threads2 variants measure libvpx's threading on this machine; the
// default of 1 thread rests on them.

const benchFrames = 30

// warmFrames are encoded before the timing starts: one pass of the frames.
const warmFrames = benchFrames

func benchImages(w, h int) []yuv.I420 {
	imgs := make([]yuv.I420, benchFrames)
	for i := range imgs {
		imgs[i] = yuv.NewI420(w, h)
		codectest.Pattern(imgs[i], i)
	}
	return imgs
}

func benchEncode(b *testing.B, w, h, threads int) {
	enc, err := vp8.NewEncoder(vp8.EncoderParams{Width: w, Height: h, Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	imgs, dst := benchImages(w, h), make([]byte, vp8.MaxFrameBytes(w, h))
	i := 0
	// Warm up as the C loop does (it times nothing of its first run): the
	// first keyframe, libvpx's first touch of its buffers, the caches.
	for ; i < warmFrames; i++ {
		if _, _, err := enc.Encode(dst, imgs[i%benchFrames], int64(i*3000), false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := enc.Encode(dst, imgs[i%benchFrames], int64(i*3000), false); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkAnchorVP8Encode640x480(b *testing.B)  { benchEncode(b, 640, 480, 1) }
func BenchmarkAnchorVP8Encode1280x720(b *testing.B) { benchEncode(b, 1280, 720, 1) }

func BenchmarkVP8EncodeThreads(b *testing.B) {
	for _, sz := range [][2]int{{640, 480}, {1280, 720}} {
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%d/threads=%d", sz[0], sz[1], th), func(b *testing.B) { benchEncode(b, sz[0], sz[1], th) })
		}
	}
}

func BenchmarkVP8Decode640x480(b *testing.B) {
	const w, h = 640, 480
	enc, err := vp8.NewEncoder(vp8.EncoderParams{Width: w, Height: h})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	imgs := benchImages(w, h)
	frames := make([][]byte, benchFrames)
	for i := range frames {
		dst := make([]byte, vp8.MaxFrameBytes(w, h))
		n, _, err := enc.Encode(dst, imgs[i], int64(i*3000), false)
		if err != nil {
			b.Fatal(err)
		}
		frames[i] = dst[:n]
	}
	dec, err := vp8.NewDecoder()
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i%benchFrames == 0 {
			i = 0 // restart at the keyframe: the frames reference each other
		}
		if _, err := dec.Decode(frames[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
