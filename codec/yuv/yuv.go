// Package yuv holds voipd's one raw video type, the planar 4:2:0 I420
// frame every video codec eats and emits, and the pixel conversions into
// it that cameras need (YUYV, NV12, 4:2:2 and 4:4:4 planes, scaling), done
// by libyuv — the library WebRTC itself uses, with SIMD paths for each.
//
// The conversions write into a frame the caller owns and allocate nothing,
// so the capture path converts once per frame into a reused buffer
// (docs/ARCHITECTURE.md, "The path of a frame"). Every function checks
// that the planes it is given are large enough before handing them to C:
// libyuv trusts its arguments and would write past a short slice. libyuv's
// return codes become errors in one function, check.
package yuv

import (
	"errors"
	"fmt"
	"math"
)

// Error kinds; callers test with errors.Is.
var (
	// ErrBadArg: a size is not positive or the sizes of source and
	// destination disagree.
	ErrBadArg = errors.New("yuv: bad argument")
	// ErrShortBuffer: a plane is too small for the stated size and stride.
	ErrShortBuffer = errors.New("yuv: buffer too small")
	// ErrFailed: libyuv refused the call (it returns -1 for bad arguments).
	ErrFailed = errors.New("yuv: libyuv failed")
)

// I420 is a planar YUV 4:2:0 frame: a full-size luma plane and two chroma
// planes of half the width and height (rounded up). Planes may be views of
// someone else's memory (a decoder's image); the type says nothing about
// ownership, the function that returns one does.
type I420 struct {
	Y, U, V                   []byte
	YStride, UStride, VStride int
	Width, Height             int
}

// ChromaSize returns the width and height of a chroma plane of a w×h
// 4:2:0 frame: half, rounded up, so odd sizes keep their last column.
func ChromaSize(w, h int) (cw, ch int) { return (w + 1) / 2, (h + 1) / 2 }

// NewI420 allocates a tightly packed w×h frame in one backing array.
func NewI420(w, h int) I420 {
	if w <= 0 || h <= 0 {
		return I420{}
	}
	cw, ch := ChromaSize(w, h)
	buf := make([]byte, w*h+2*cw*ch)
	return I420{
		Y: buf[: w*h : w*h], U: buf[w*h : w*h+cw*ch : w*h+cw*ch], V: buf[w*h+cw*ch:],
		YStride: w, UStride: cw, VStride: cw,
		Width: w, Height: h,
	}
}

// Check reports whether img's planes hold its stated size with its strides.
func (img I420) Check() error {
	if img.Width <= 0 || img.Height <= 0 {
		return fmt.Errorf("%w: size %dx%d", ErrBadArg, img.Width, img.Height)
	}
	cw, ch := ChromaSize(img.Width, img.Height)
	return errors.Join(
		plane("Y", img.Y, img.YStride, img.Width, img.Height),
		plane("U", img.U, img.UStride, cw, ch),
		plane("V", img.V, img.VStride, cw, ch),
	)
}

// plane checks one plane of w×h bytes at the given stride: the last row
// needs only w bytes, not a whole stride.
func plane(name string, b []byte, stride, w, h int) error {
	if stride < w {
		return fmt.Errorf("%w: %s stride %d < width %d", ErrBadArg, name, stride, w)
	}
	if need := (h-1)*stride + w; len(b) < need {
		return fmt.Errorf("%w: %s plane %d bytes, need %d", ErrShortBuffer, name, len(b), need)
	}
	return nil
}

// PSNR returns the peak signal-to-noise ratio of b against a in dB over
// all three planes (each sample weighs the same, so luma dominates as it
// does for the eye); +Inf when they are equal, 0 when sizes differ. It is
// meant for tests and diagnostics.
func PSNR(a, b I420) float64 {
	if a.Width != b.Width || a.Height != b.Height || a.Check() != nil || b.Check() != nil {
		return 0
	}
	cw, ch := ChromaSize(a.Width, a.Height)
	var sse float64
	sse += planeSSE(a.Y, a.YStride, b.Y, b.YStride, a.Width, a.Height)
	sse += planeSSE(a.U, a.UStride, b.U, b.UStride, cw, ch)
	sse += planeSSE(a.V, a.VStride, b.V, b.VStride, cw, ch)
	n := float64(a.Width*a.Height + 2*cw*ch)
	if sse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*n/sse)
}

func planeSSE(a []byte, as int, b []byte, bs int, w, h int) float64 {
	var sse uint64
	for y := range h {
		ra, rb := a[y*as:y*as+w], b[y*bs:y*bs+w]
		for x := range w {
			d := int(ra[x]) - int(rb[x])
			sse += uint64(d * d)
		}
	}
	return float64(sse)
}
