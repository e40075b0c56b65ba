package yuv

// libyuv is C++ with a C API. Debian ships it as a shared library that
// itself links libstdc++ and libjpeg, so -lyuv is all the linker needs
// here (a static libyuv.a would also need -lstdc++ -ljpeg). Upstream's
// build installs no pkg-config file, and Homebrew has no libyuv formula
// that this project could find: on macOS, where libyuv is built from source
// (or MacPorts'), CGO_CFLAGS and CGO_LDFLAGS name its prefix (README.md,
// "macOS").

/*
#cgo LDFLAGS: -lyuv
#include <libyuv.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// I422 is a planar YUV 4:2:2 frame (chroma at half width, full height), as
// most USB cameras' MJPEG decodes to.
type I422 struct {
	Y, U, V                   []byte
	YStride, UStride, VStride int
	Width, Height             int
}

// NewI422 allocates a tightly packed w×h 4:2:2 frame.
func NewI422(w, h int) I422 {
	if w <= 0 || h <= 0 {
		return I422{}
	}
	cw := (w + 1) / 2
	buf := make([]byte, w*h+2*cw*h)
	return I422{
		Y: buf[: w*h : w*h], U: buf[w*h : w*h+cw*h : w*h+cw*h], V: buf[w*h+cw*h:],
		YStride: w, UStride: cw, VStride: cw, Width: w, Height: h,
	}
}

// Check reports whether img's planes hold its stated size.
func (img I422) Check() error {
	if img.Width <= 0 || img.Height <= 0 {
		return fmt.Errorf("%w: size %dx%d", ErrBadArg, img.Width, img.Height)
	}
	cw := (img.Width + 1) / 2
	if err := plane("Y", img.Y, img.YStride, img.Width, img.Height); err != nil {
		return err
	}
	if err := plane("U", img.U, img.UStride, cw, img.Height); err != nil {
		return err
	}
	return plane("V", img.V, img.VStride, cw, img.Height)
}

// check is the one place libyuv's return codes become errors: 0 is
// success, anything else (libyuv uses -1) means it refused its arguments.
func check(op string, rc C.int) error {
	if rc == 0 {
		return nil
	}
	return fmt.Errorf("yuv: %s: %w (libyuv %d)", op, ErrFailed, int(rc))
}

// p returns a C pointer to b's first byte. Callers have checked len(b) > 0.
func p(b []byte) *C.uint8_t { return (*C.uint8_t)(unsafe.Pointer(&b[0])) }

func sameSize(w1, h1, w2, h2 int) error {
	if w1 != w2 || h1 != h2 {
		return fmt.Errorf("%w: sizes differ (%dx%d, %dx%d)", ErrBadArg, w1, h1, w2, h2)
	}
	return nil
}

// YUY2ToI420 converts a packed YUYV (V4L2's YUYV, libyuv's YUY2) frame of
// dst's size, whose rows are srcStride bytes apart (2×width when packed),
// into dst.
func YUY2ToI420(dst I420, src []byte, srcStride int) error {
	if err := dst.Check(); err != nil {
		return err
	}
	if err := plane("YUYV", src, srcStride, 2*dst.Width, dst.Height); err != nil {
		return err
	}
	return check("YUY2ToI420", C.YUY2ToI420(p(src), C.int(srcStride),
		p(dst.Y), C.int(dst.YStride), p(dst.U), C.int(dst.UStride), p(dst.V), C.int(dst.VStride),
		C.int(dst.Width), C.int(dst.Height)))
}

// NV12ToI420 converts a single-buffer NV12 frame of dst's size (V4L2's
// NV12: the luma plane, then interleaved UV rows, both srcStride bytes
// apart, the UV plane starting at srcStride×height) into dst.
func NV12ToI420(dst I420, src []byte, srcStride int) error {
	if err := dst.Check(); err != nil {
		return err
	}
	cw, ch := ChromaSize(dst.Width, dst.Height)
	if err := plane("NV12", src, srcStride, dst.Width, dst.Height); err != nil {
		return err
	}
	uvOff := srcStride * dst.Height
	if len(src) <= uvOff {
		return fmt.Errorf("%w: NV12 has no UV plane", ErrShortBuffer)
	}
	if err := plane("NV12 UV", src[uvOff:], srcStride, 2*cw, ch); err != nil {
		return err
	}
	return check("NV12ToI420", C.NV12ToI420(p(src), C.int(srcStride), p(src[uvOff:]), C.int(srcStride),
		p(dst.Y), C.int(dst.YStride), p(dst.U), C.int(dst.UStride), p(dst.V), C.int(dst.VStride),
		C.int(dst.Width), C.int(dst.Height)))
}

// I422ToI420 halves src's chroma vertically into dst (same size).
func I422ToI420(dst I420, src I422) error {
	if err := firstErr(dst.Check(), src.Check(), sameSize(dst.Width, dst.Height, src.Width, src.Height)); err != nil {
		return err
	}
	return check("I422ToI420", C.I422ToI420(p(src.Y), C.int(src.YStride), p(src.U), C.int(src.UStride), p(src.V), C.int(src.VStride),
		p(dst.Y), C.int(dst.YStride), p(dst.U), C.int(dst.UStride), p(dst.V), C.int(dst.VStride),
		C.int(dst.Width), C.int(dst.Height)))
}

// I420ToI422 doubles src's chroma vertically into dst (same size); voipd
// uses it to make 4:2:2 JPEGs like a camera's for tests.
func I420ToI422(dst I422, src I420) error {
	if err := firstErr(dst.Check(), src.Check(), sameSize(dst.Width, dst.Height, src.Width, src.Height)); err != nil {
		return err
	}
	return check("I420ToI422", C.I420ToI422(p(src.Y), C.int(src.YStride), p(src.U), C.int(src.UStride), p(src.V), C.int(src.VStride),
		p(dst.Y), C.int(dst.YStride), p(dst.U), C.int(dst.UStride), p(dst.V), C.int(dst.VStride),
		C.int(dst.Width), C.int(dst.Height)))
}

// Copy copies src into dst (same size, any strides).
func Copy(dst, src I420) error {
	if err := firstErr(dst.Check(), src.Check(), sameSize(dst.Width, dst.Height, src.Width, src.Height)); err != nil {
		return err
	}
	return check("I420Copy", C.I420Copy(p(src.Y), C.int(src.YStride), p(src.U), C.int(src.UStride), p(src.V), C.int(src.VStride),
		p(dst.Y), C.int(dst.YStride), p(dst.U), C.int(dst.UStride), p(dst.V), C.int(dst.VStride),
		C.int(dst.Width), C.int(dst.Height)))
}

// Scale resizes src to dst's size. Bilinear filtering: box filtering looks
// better when shrinking a lot but costs several times more, and a camera
// mode close to the configured size is the usual case.
func Scale(dst, src I420) error {
	if err := firstErr(dst.Check(), src.Check()); err != nil {
		return err
	}
	return check("I420Scale", C.I420Scale(p(src.Y), C.int(src.YStride), p(src.U), C.int(src.UStride), p(src.V), C.int(src.VStride),
		C.int(src.Width), C.int(src.Height),
		p(dst.Y), C.int(dst.YStride), p(dst.U), C.int(dst.UStride), p(dst.V), C.int(dst.VStride),
		C.int(dst.Width), C.int(dst.Height), C.kFilterBilinear))
}

// I420ToYUY2 packs src into dst as YUYV with rows dstStride bytes apart;
// synthetic cameras and tests use it to produce what a webcam sends.
func I420ToYUY2(dst []byte, dstStride int, src I420) error {
	if err := firstErr(src.Check(), plane("YUYV", dst, dstStride, 2*src.Width, src.Height)); err != nil {
		return err
	}
	return check("I420ToYUY2", C.I420ToYUY2(p(src.Y), C.int(src.YStride), p(src.U), C.int(src.UStride), p(src.V), C.int(src.VStride),
		p(dst), C.int(dstStride), C.int(src.Width), C.int(src.Height)))
}

// I420ToNV12 writes src into dst as single-buffer NV12 (the layout
// NV12ToI420 reads) with rows dstStride bytes apart.
func I420ToNV12(dst []byte, dstStride int, src I420) error {
	if err := src.Check(); err != nil {
		return err
	}
	cw, ch := ChromaSize(src.Width, src.Height)
	uvOff := dstStride * src.Height
	if err := plane("NV12", dst, dstStride, src.Width, src.Height); err != nil {
		return err
	}
	if len(dst) <= uvOff {
		return fmt.Errorf("%w: NV12 has no room for UV", ErrShortBuffer)
	}
	if err := plane("NV12 UV", dst[uvOff:], dstStride, 2*cw, ch); err != nil {
		return err
	}
	return check("I420ToNV12", C.I420ToNV12(p(src.Y), C.int(src.YStride), p(src.U), C.int(src.UStride), p(src.V), C.int(src.VStride),
		p(dst), C.int(dstStride), p(dst[uvOff:]), C.int(dstStride), C.int(src.Width), C.int(src.Height)))
}

// firstErr returns the first non-nil error, without allocating.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
