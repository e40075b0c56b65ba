// Package vp8 wraps libvpx's VP8 encoder and decoder (Debian's libvpx-dev)
// for voipd's realtime video: one-pass CBR, no look-ahead, error
// resilient, the VPX_DL_REALTIME deadline, settings as libwebrtc uses.
//
// The Encoder reads the caller's I420 planes in place (libvpx's image
// header points at them for the duration of one call) and copies the
// compressed frame into a buffer the caller owns; the Decoder returns a
// view of libvpx's own picture. Neither allocates per frame. libvpx's
// vpx_codec_err_t codes become the error kinds below in one function,
// mapError.
package vp8

/*
#cgo pkg-config: vpx
#include "vpx.h"
*/
import "C"

import (
	"errors"
	"fmt"
)

// ClockRate is the RTP clock of every video payload format (RFC 7741 §4.1):
// Encoder timestamps are on this clock too.
const ClockRate = 90000

// Error kinds; callers test with errors.Is.
var (
	ErrBadArg         = errors.New("vp8: bad argument")
	ErrBufferTooSmall = errors.New("vp8: buffer too small")
	ErrCorrupt        = errors.New("vp8: corrupt frame")
	ErrUnsupported    = errors.New("vp8: unsupported")
	ErrMem            = errors.New("vp8: out of memory")
	ErrInternal       = errors.New("vp8: internal error")
	ErrClosed         = errors.New("vp8: closed")
)

// mapError is the one place libvpx's codes (and the helpers' own
// VP8_ERR_TOO_SMALL) become voipd's error kinds. ctx, when not nil, adds
// libvpx's detail message. It allocates, but only on failure.
func mapError(op string, code C.int, ctx *C.vpx_codec_ctx_t) error {
	var kind error
	switch code {
	case C.VPX_CODEC_OK:
		return nil
	case C.VP8_ERR_TOO_SMALL:
		kind = ErrBufferTooSmall
	case C.VPX_CODEC_INVALID_PARAM:
		kind = ErrBadArg
	case C.VPX_CODEC_MEM_ERROR:
		kind = ErrMem
	case C.VPX_CODEC_CORRUPT_FRAME:
		kind = ErrCorrupt
	case C.VPX_CODEC_ABI_MISMATCH, C.VPX_CODEC_INCAPABLE, C.VPX_CODEC_UNSUP_BITSTREAM, C.VPX_CODEC_UNSUP_FEATURE:
		kind = ErrUnsupported
	default:
		kind = ErrInternal
	}
	msg := C.GoString(C.vpx_codec_err_to_string(C.vpx_codec_err_t(code)))
	if code == C.VP8_ERR_TOO_SMALL {
		msg = "frame does not fit"
	}
	if ctx != nil {
		if d := C.vpx_codec_error_detail(ctx); d != nil {
			msg += ": " + C.GoString(d)
		}
	}
	return fmt.Errorf("vp8: %s: %w (libvpx %d: %s)", op, kind, int(code), msg)
}

// Version returns libvpx's version string, for logs and benchmarks.
func Version() string { return C.GoString(C.vpx_codec_version_str()) }
