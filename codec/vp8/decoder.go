package vp8

// #include <stdlib.h>
// #include "vpx.h"
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/voipd/voipd/codec/yuv"
)

// Decoder decodes VP8 frames. It is not safe for concurrent use.
type Decoder struct {
	ctx *C.vpx_codec_ctx_t // C memory: libvpx keeps pointers into it
}

// NewDecoder creates a single-threaded VP8 decoder.
func NewDecoder() (*Decoder, error) {
	ctx := (*C.vpx_codec_ctx_t)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vpx_codec_ctx_t{}))))
	if ctx == nil {
		return nil, fmt.Errorf("vp8: new decoder: %w", ErrMem)
	}
	if rc := C.vp8_dec_init(ctx); rc != 0 {
		C.free(unsafe.Pointer(ctx))
		return nil, mapError("new decoder", rc, nil)
	}
	d := &Decoder{ctx: ctx}
	runtime.SetFinalizer(d, (*Decoder).Close)
	return d, nil
}

// Decode decodes one complete frame and returns the picture as a view of
// libvpx's own frame buffer: it is valid only until the next Decode or
// Close, and must not be written to; use yuv.Copy to keep it. A frame
// that shows nothing returns a zero I420 (Width 0) and no error. A frame
// libvpx reports as decoded from a damaged reference (a lost frame before
// it) returns the picture with an error wrapping ErrCorrupt, so the
// caller can ask for a keyframe.
func (d *Decoder) Decode(frame []byte) (yuv.I420, error) {
	if d.ctx == nil {
		return yuv.I420{}, fmt.Errorf("vp8: decode: %w", ErrClosed)
	}
	if len(frame) == 0 {
		return yuv.I420{}, fmt.Errorf("vp8: decode: %w: empty frame", ErrBadArg)
	}
	f := C.vp8_dec_decode(d.ctx, (*C.uint8_t)(unsafe.Pointer(&frame[0])), C.uint(len(frame)))
	if f.err != 0 {
		return yuv.I420{}, mapError("decode", f.err, d.ctx)
	}
	if f.y == nil {
		return yuv.I420{}, nil
	}
	w, h := int(f.w), int(f.h)
	cw, ch := yuv.ChromaSize(w, h)
	img := yuv.I420{
		// Exactly the bytes the picture spans: the last row stops at its
		// width, so the view never reaches past libvpx's buffer.
		Y:       unsafe.Slice((*byte)(unsafe.Pointer(f.y)), (h-1)*int(f.ys)+w),
		U:       unsafe.Slice((*byte)(unsafe.Pointer(f.u)), (ch-1)*int(f.us)+cw),
		V:       unsafe.Slice((*byte)(unsafe.Pointer(f.v)), (ch-1)*int(f.vs)+cw),
		YStride: int(f.ys), UStride: int(f.us), VStride: int(f.vs),
		Width: w, Height: h,
	}
	if f.corrupt != 0 {
		return img, fmt.Errorf("vp8: decode: %w: decoded from a damaged reference", ErrCorrupt)
	}
	return img, nil
}

// Close frees libvpx's decoder and its frame buffers; views returned by
// Decode become invalid.
func (d *Decoder) Close() error {
	if d.ctx == nil {
		return nil
	}
	C.vpx_codec_destroy(d.ctx)
	C.free(unsafe.Pointer(d.ctx))
	d.ctx = nil
	runtime.SetFinalizer(d, nil)
	return nil
}
