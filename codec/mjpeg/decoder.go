package mjpeg

// #include "tj.h"
import "C"

import (
	"fmt"
	"runtime"

	"github.com/voipd/voipd/codec/yuv"
)

// Decoder decodes JPEGs into I420. It is not safe for concurrent use.
type Decoder struct {
	h       *handle
	scratch yuv.I422 // 4:2:2 planes, (re)allocated when the size changes
}

// handle owns a TurboJPEG instance; a cleanup frees it if Close was
// never called.
type handle struct {
	h       C.tjhandle
	cleanup runtime.Cleanup
}

func newHandle(compress bool) (*handle, error) {
	var h C.tjhandle
	if compress {
		h = C.tjInitCompress()
	} else {
		h = C.tjInitDecompress()
	}
	if h == nil {
		return nil, fmt.Errorf("%w: %s", ErrInit, C.GoString(C.tjGetErrorStr2(nil)))
	}
	hd := &handle{h: h}
	hd.cleanup = runtime.AddCleanup(hd, func(h C.tjhandle) { C.tjDestroy(h) }, h)
	return hd, nil
}

// NewDecoder creates a decoder.
func NewDecoder() (*Decoder, error) {
	h, err := newHandle(false)
	if err != nil {
		return nil, err
	}
	return &Decoder{h: h}, nil
}

// Header reads a JPEG's size and chroma subsampling without decoding it.
func (d *Decoder) Header(jpeg []byte) (w, h int, sub Subsampling, err error) {
	if len(jpeg) == 0 {
		return 0, 0, 0, fmt.Errorf("mjpeg: header: %w: empty frame", ErrBadArg)
	}
	if d.h.h == nil {
		return 0, 0, 0, fmt.Errorf("mjpeg: header: %w: decoder closed", ErrBadArg)
	}
	r := C.mj_read_header(d.h.h, cp(jpeg), C.ulong(len(jpeg)))
	if r.rc != 0 || r.w <= 0 || r.h <= 0 {
		// A header is never merely damaged: any failure here is fatal.
		return 0, 0, 0, fmt.Errorf("mjpeg: header: %w: %s", ErrCorrupt, C.GoString(C.tjGetErrorStr2(d.h.h)))
	}
	return int(r.w), int(r.h), Subsampling(r.subsamp), nil
}

// Decode decodes jpeg into dst, which must have the JPEG's size (the
// caller scales afterwards if it wants another). 4:2:0 and grayscale JPEGs
// go straight into dst's planes; 4:2:2 ones through the scratch frame.
func (d *Decoder) Decode(dst yuv.I420, jpeg []byte) error {
	w, h, sub, err := d.Header(jpeg)
	if err != nil {
		return err
	}
	if err := dst.Check(); err != nil {
		return fmt.Errorf("mjpeg: decode: %w", err)
	}
	if w != dst.Width || h != dst.Height {
		return fmt.Errorf("mjpeg: decode: %w: JPEG is %dx%d, frame %dx%d", ErrBadArg, w, h, dst.Width, dst.Height)
	}
	switch sub {
	case Sub420:
		return d.planes(jpeg, dst.Y, dst.YStride, dst.U, dst.UStride, dst.V, dst.VStride, w, h)
	case SubGray:
		if err := d.planes(jpeg, dst.Y, dst.YStride, dst.U, dst.UStride, dst.V, dst.VStride, w, h); err != nil {
			return err
		}
		// Neutral chroma: a grey picture.
		for _, c := range [][]byte{dst.U, dst.V} {
			for i := range c {
				c[i] = 128
			}
		}
		return nil
	case Sub422:
		if d.scratch.Width != w || d.scratch.Height != h {
			d.scratch = yuv.NewI422(w, h)
		}
		s := d.scratch
		if err := d.planes(jpeg, s.Y, s.YStride, s.U, s.UStride, s.V, s.VStride, w, h); err != nil {
			return err
		}
		if err := yuv.I422ToI420(dst, s); err != nil {
			return fmt.Errorf("mjpeg: decode: %w", err)
		}
		return nil
	}
	return fmt.Errorf("mjpeg: decode: %w: chroma subsampling %v", ErrUnsupported, sub)
}

// planes decodes into three planes whose sizes the caller has checked
// against the JPEG's size and subsampling.
func (d *Decoder) planes(jpeg []byte, y []byte, ys int, u []byte, us int, v []byte, vs int, w, h int) error {
	rc := C.mj_decode_planes(d.h.h, cp(jpeg), C.ulong(len(jpeg)),
		cp(y), C.int(ys), cp(u), C.int(us), cp(v), C.int(vs), C.int(w), C.int(h))
	return mapError("decode", d.h.h, rc)
}

// Close frees the TurboJPEG instance. The decoder must not be used after.
func (d *Decoder) Close() error { return d.h.close() }

func (hd *handle) close() error {
	if hd.h == nil {
		return nil
	}
	hd.cleanup.Stop() // or it would destroy the instance a second time
	C.tjDestroy(hd.h)
	hd.h = nil
	return nil
}
