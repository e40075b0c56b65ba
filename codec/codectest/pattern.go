// Package codectest is the conformance suite every voipd video encoder
// passes (RunVideoEncoderSuite), and the moving test pattern the suite,
// the media tests and benchmarks feed encoders. It is imported by tests
// only.
package codectest

import (
	"github.com/voipd/voipd/codec/yuv"
)

// Pattern draws frame number n of a moving test pattern into img: a
// diagonal luma gradient, colour bars in the chroma planes, a textured
// square that moves 4 pixels a frame and a scrolling fine texture along
// the bottom. The texture gives the encoder real work at every bitrate, so
// a bitrate change shows in the frame sizes; the smooth parts make the
// decoded picture's PSNR meaningful.
func Pattern(img yuv.I420, n int) {
	w, h := img.Width, img.Height
	box := max(8, h/4)
	bx := (n * 4) % max(1, w-box)
	by := (h - box) / 3
	for y := range h {
		row := img.Y[y*img.YStride : y*img.YStride+w]
		for x := range w {
			v := 16 + (x+y+n)*200/(w+h)
			switch {
			case x >= bx && x < bx+box && y >= by && y < by+box:
				v = 60 + int(hash(uint32((x-bx)/4), uint32((y-by)/4))%160)
			case y >= h-h/5:
				v = 40 + int(hash(uint32(x+3*n), uint32(y))%170)
			}
			row[x] = byte(min(v, 235))
		}
	}
	cw, ch := yuv.ChromaSize(w, h)
	for y := range ch {
		u := img.U[y*img.UStride : y*img.UStride+cw]
		v := img.V[y*img.VStride : y*img.VStride+cw]
		for x := range cw {
			bar := x * 8 / cw
			u[x] = byte(64 + bar*16)
			v[x] = byte(192 - bar*16 + y*32/ch)
		}
	}
}

// hash is a small integer hash (a deterministic texture, no math/rand).
func hash(x, y uint32) uint32 {
	h := x*0x9e3779b1 ^ y*0x85ebca77
	h ^= h >> 15
	h *= 0x2c1b3c6d
	h ^= h >> 12
	return h
}
