package mjpeg

// #include "tj.h"
import "C"

import (
	"fmt"

	"github.com/voipd/voipd/codec/yuv"
)

// Encoder compresses I420 frames to JPEG, the way a camera's MJPEG mode
// would; synthetic cameras and tests use it. It is not safe for
// concurrent use.
type Encoder struct {
	h    *handle
	i422 yuv.I422 // chroma doubled for 4:2:2 output, reused
}

// NewEncoder creates an encoder.
func NewEncoder() (*Encoder, error) {
	h, err := newHandle(true)
	if err != nil {
		return nil, err
	}
	return &Encoder{h: h}, nil
}

// BufSize is the most a w×h JPEG of the given subsampling can take
// (TurboJPEG's worst case); a dst of this size never is too small.
func BufSize(w, h int, sub Subsampling) int {
	return int(C.tjBufSize(C.int(w), C.int(h), C.int(sub)))
}

// Encode compresses src with the given subsampling (Sub420 or Sub422) and
// quality (1..100) into dst, which must hold BufSize bytes, and returns
// the JPEG's length.
func (e *Encoder) Encode(dst []byte, src yuv.I420, sub Subsampling, quality int) (int, error) {
	if err := src.Check(); err != nil {
		return 0, fmt.Errorf("mjpeg: encode: %w", err)
	}
	if quality < 1 || quality > 100 || len(dst) == 0 || e.h.h == nil {
		return 0, fmt.Errorf("mjpeg: encode: %w: quality %d, dst %d bytes", ErrBadArg, quality, len(dst))
	}
	// With TJFLAG_NOREALLOC TurboJPEG assumes the buffer holds tjBufSize
	// bytes, whatever size it is told (libjpeg-turbo 2.1's
	// tjCompressFromYUVPlanes overwrites it), so a shorter dst would be
	// written past its end: refuse it here.
	if need := BufSize(src.Width, src.Height, sub); len(dst) < need {
		return 0, fmt.Errorf("mjpeg: encode: %w: dst %d bytes, need BufSize %d", ErrShortBuffer, len(dst), need)
	}
	y, ys, u, us, v, vs := src.Y, src.YStride, src.U, src.UStride, src.V, src.VStride
	switch sub {
	case Sub422:
		if e.i422.Width != src.Width || e.i422.Height != src.Height {
			e.i422 = yuv.NewI422(src.Width, src.Height)
		}
		if err := yuv.I420ToI422(e.i422, src); err != nil {
			return 0, fmt.Errorf("mjpeg: encode: %w", err)
		}
		y, ys, u, us, v, vs = e.i422.Y, e.i422.YStride, e.i422.U, e.i422.UStride, e.i422.V, e.i422.VStride
	}
	if sub != Sub420 && sub != Sub422 {
		return 0, fmt.Errorf("mjpeg: encode: %w: subsampling %v", ErrUnsupported, sub)
	}
	n := C.mj_encode_planes(e.h.h, cp(y), C.int(ys), cp(u), C.int(us), cp(v), C.int(vs),
		C.int(src.Width), C.int(src.Height), C.int(sub), cp(dst), C.ulong(len(dst)), C.int(quality))
	if n < 0 {
		if err := mapError("encode", e.h.h, -1); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("mjpeg: encode: %w: TurboJPEG failed with a warning", ErrCorrupt)
	}
	return int(n), nil
}

// Close frees the TurboJPEG instance. The encoder must not be used after.
func (e *Encoder) Close() error { return e.h.close() }
