// Package mjpeg decodes the Motion-JPEG frames USB cameras send straight
// into I420 planes with libjpeg-turbo's TurboJPEG API (Debian's
// libturbojpeg0-dev), and encodes I420 to JPEG for synthetic cameras and
// tests.
//
// Cameras usually send 4:2:2 JPEGs: those decode into a 4:2:2 scratch
// frame the Decoder keeps, then libyuv (codec/yuv) halves the chroma into
// the caller's I420. 4:2:0 JPEGs decode directly into the caller's planes.
// Nothing is allocated per frame once the scratch frame exists. TurboJPEG's
// results become errors in one function, mapError.
//
// On macOS Homebrew's jpeg-turbo is found through its pkg-config file
// (libturbojpeg.pc): Homebrew's prefix is not on Apple's compiler's default
// paths. Debian's library is, so Linux links it by name.
package mjpeg

/*
#cgo linux LDFLAGS: -lturbojpeg
#cgo darwin pkg-config: libturbojpeg
#include <stdlib.h>
#include <turbojpeg.h>

#include "tj.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Error kinds; callers test with errors.Is.
var (
	ErrBadArg      = errors.New("mjpeg: bad argument")
	ErrCorrupt     = errors.New("mjpeg: corrupt JPEG")
	ErrUnsupported = errors.New("mjpeg: unsupported JPEG")
	ErrShortBuffer = errors.New("mjpeg: buffer too small")
	ErrInit        = errors.New("mjpeg: cannot create TurboJPEG instance")
)

// Subsampling is a JPEG's chroma subsampling.
type Subsampling int

// The subsamplings voipd decodes (TurboJPEG's TJSAMP_* values).
const (
	Sub420  Subsampling = C.TJSAMP_420
	Sub422  Subsampling = C.TJSAMP_422
	SubGray Subsampling = C.TJSAMP_GRAY
)

func (s Subsampling) String() string {
	switch s {
	case Sub420:
		return "4:2:0"
	case Sub422:
		return "4:2:2"
	case SubGray:
		return "gray"
	}
	return fmt.Sprintf("TJSAMP(%d)", int(s))
}

// mapError is the one place TurboJPEG's failures become errors. TurboJPEG
// returns -1 and keeps a message and a severity per handle: a warning
// (TJERR_WARNING) means the image was decoded but the data was damaged —
// webcams often send a JPEG with a few bytes missing at the end — and is
// not an error, as in libjpeg-based players; a fatal one is corruption.
func mapError(op string, h C.tjhandle, rc C.int) error {
	if rc == 0 {
		return nil
	}
	if C.tjGetErrorCode(h) == C.TJERR_WARNING {
		return nil
	}
	return fmt.Errorf("mjpeg: %s: %w: %s", op, ErrCorrupt, C.GoString(C.tjGetErrorStr2(h)))
}

// cp returns a C pointer to b's first byte (b is not empty).
func cp(b []byte) *C.uchar { return (*C.uchar)(unsafe.Pointer(&b[0])) }
