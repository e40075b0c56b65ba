package audio

/*
#include <stdlib.h>
#include "callbacks.h"
*/
import "C"

import (
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/internal/ccall"
)

// mic is the C side of an open microphone (see capture): the ring the
// device thread puts into (callbacks.c), its counters, and the waker it
// wakes the reader through. Its C memory goes when the mic is unreachable.
type mic struct {
	c *C.voipd_mic
	*waker
}

// newMic allocates a ring of frames frames and the waker.
func newMic(frames int, period time.Duration) (*mic, error) {
	k, err := newWaker("microphone")
	if err != nil {
		return nil, err
	}
	c := (*C.voipd_mic)(C.calloc(1, C.sizeof_voipd_mic))
	if c == nil {
		panic("voipd: out of C memory for a microphone")
	}
	size := frames * hw.FrameSamples
	c.buf = (*C.int16_t)(C.calloc(C.size_t(size), 2))
	if c.buf == nil || C.pthread_mutex_init(&c.mu, nil) != 0 {
		panic("voipd: out of C memory for a microphone ring")
	}
	c.size = C.uint64_t(size)
	c.frame = hw.FrameSamples
	c.channels = hw.Channels
	c.wake = k.fd()
	c.late.period_ns = C.int64_t(period)
	m := &mic{c: c, waker: k}
	// A reader still inside Read as Close runs keeps the mic; no callback
	// runs once the device is uninitialized.
	runtime.AddCleanup(m, freeMic, c)
	return m, nil
}

func freeMic(c *C.voipd_mic) {
	C.pthread_mutex_destroy(&c.mu)
	C.free(unsafe.Pointer(c.buf))
	C.free(unsafe.Pointer(c))
}

// attach routes dev's data callback to the mic, in C.
func (m *mic) attach(dev *malgo.Device) error { return m.attachAt(devicePointer(dev)) }

// attachAt attaches the ma_device at dev.
func (m *mic) attachAt(dev unsafe.Pointer) error {
	if C.voipd_mic_attach(dev, m.c, hw.SampleRate) != 0 {
		return errLayout
	}
	return nil
}

// capacity is the ring's size in samples.
func (m *mic) capacity() int { return int(m.c.size) }

// tryGet fills all of dst if that many samples are captured and reports
// whether it did.
// It is a short call (internal/ccall): the ring's lock is held by the
// device thread only for a copy, and a cgo call here each period woke the
// runtime's monitor thread (issue 19).
func (m *mic) tryGet(dst []int16) bool {
	a := C.voipd_mic_short{m: m.c, dst: (*C.int16_t)(unsafe.Pointer(&dst[0])), n: C.uint64_t(len(dst))}
	ccall.Call(micGetC, unsafe.Pointer(&a))
	return a.ret == 1
}

// buffered is how many samples wait to be read (a short call, as tryGet).
func (m *mic) buffered() int {
	a := C.voipd_mic_short{m: m.c}
	ccall.Call(micGetC, unsafe.Pointer(&a))
	return int(a.ret)
}

var micGetC = unsafe.Pointer(C.voipd_mic_get_short)

func (m *mic) dropped() uint64 { return atomic.LoadUint64(u64(&m.c.dropped)) }

// samples is the device's sample counter, for watchStall.
func (m *mic) samples() *atomic.Uint64 { return (*atomic.Uint64)(unsafe.Pointer(&m.c.samples)) }

func (m *mic) lateness() (worst time.Duration, late, callbacks uint64) { return cLateness(&m.c.late) }

// put is the ring's put alone (the tests' way in), returning the frames
// it dropped.
func (m *mic) put(in []int16) int {
	return int(C.voipd_mic_put(m.c, (*C.int16_t)(unsafe.Pointer(&in[0])), C.uint64_t(len(in))))
}

// deliver runs the device callback's code on in (the tests' way in: the
// real callback is the same C function, on miniaudio's thread).
func (m *mic) deliver(in []int16) {
	C.voipd_mic_deliver(m.c, (*C.int16_t)(unsafe.Pointer(&in[0])), C.uint64_t(len(in)))
}
