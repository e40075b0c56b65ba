package opus

/*
#cgo pkg-config: opus
#include "short.h"
*/
import "C"

import (
	"reflect"
	"strings"
	"unsafe"

	hopus "github.com/hraban/opus"
	"github.com/voipd/voipd/internal/ccall"
)

// The per-frame calls (encode, decode, FEC, loss concealment) go to
// libopus through internal/ccall: well under a millisecond each, they are
// what a voice call's period is made of, and as cgo calls each woke the
// runtime's monitor thread (issue 19). The state is hraban/opus' own, so
// its setters (bitrate, FEC, loss) act on what these calls use.

// statePointer returns the libopus state behind a hraban/opus Encoder or
// Decoder: the struct's first field, an unexported *C.struct_OpusEncoder
// (or ...Decoder) in hraban/opus as pinned in go.mod. The field's name and
// type are checked first; if a later hraban/opus changed them, it returns
// nil and the calls go through hraban/opus as cgo calls (slower, never
// wrong), which TestShortCallsInUse reports.
func statePointer[T hopus.Encoder | hopus.Decoder](v *T, cType string) unsafe.Pointer {
	f := reflect.TypeFor[T]().Field(0)
	if f.Name != "p" || f.Offset != 0 || f.Type.Kind() != reflect.Pointer || !strings.HasSuffix(f.Type.Elem().Name(), cType) {
		return nil
	}
	return *(*unsafe.Pointer)(unsafe.Pointer(v))
}

// The C functions, for ccall.
var (
	encodeC = unsafe.Pointer(C.voipd_opus_encode)
	decodeC = unsafe.Pointer(C.voipd_opus_decode)
)

// encode is opus_encode (and OPUS_GET_IN_DTX after it) on st.
func encode(st unsafe.Pointer, dst []byte, pcm []int16) (n int, inDTX int) {
	a := C.voipd_opus_enc{
		st:      (*C.OpusEncoder)(st),
		pcm:     (*C.opus_int16)(unsafe.Pointer(&pcm[0])),
		out:     (*C.uchar)(unsafe.Pointer(&dst[0])),
		samples: C.opus_int32(len(pcm) / Channels),
		max:     C.opus_int32(len(dst)),
	}
	ccall.Call(encodeC, unsafe.Pointer(&a))
	return int(a.ret), int(a.in_dtx)
}

// decode is opus_decode on st; data nil conceals a loss.
func decode(st unsafe.Pointer, dst []int16, data []byte, fec bool) int {
	a := C.voipd_opus_dec{
		st:      (*C.OpusDecoder)(st),
		pcm:     (*C.opus_int16)(unsafe.Pointer(&dst[0])),
		samples: C.opus_int32(len(dst) / Channels),
	}
	if len(data) > 0 {
		a.data = (*C.uchar)(unsafe.Pointer(&data[0]))
		a.len = C.opus_int32(len(data))
	}
	if fec {
		a.fec = 1
	}
	ccall.Call(decodeC, unsafe.Pointer(&a))
	return int(a.ret)
}

// shortError is a short call's result as an error: nil for a count,
// mapError's kinds for libopus' negative codes.
func shortError(op string, ret int) error {
	if ret >= 0 {
		return nil
	}
	return mapError(op, hopus.Error(ret))
}
