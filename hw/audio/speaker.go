package audio

/*
#include <stdlib.h>
#include "callbacks.h"
*/
import "C"

import (
	"errors"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"

	"github.com/voipd/voipd/hw"
)

// speaker is the C side of an open speaker (see playback): the ring the
// device thread plays from (callbacks.c), its counters, and the waker it
// wakes the writer through. Its C memory goes when the speaker is
// unreachable.
type speaker struct {
	c   *C.voipd_speaker
	buf []int16 // the ring's samples (C memory)
	*waker
}

// newSpeaker allocates a ring of frames frames and the waker.
func newSpeaker(frames int, period time.Duration) (*speaker, error) {
	k, err := newWaker("speaker")
	if err != nil {
		return nil, err
	}
	size := frames * hw.FrameSamples
	c := (*C.voipd_speaker)(C.calloc(1, C.sizeof_voipd_speaker))
	if c == nil {
		panic("voipd: out of C memory for a speaker")
	}
	c.buf = (*C.int16_t)(C.calloc(C.size_t(size), 2))
	if c.buf == nil {
		panic("voipd: out of C memory for a speaker ring")
	}
	c.size = C.uint64_t(size)
	c.channels = hw.Channels
	c.wake = k.fd()
	c.late.period_ns = C.int64_t(period)
	s := &speaker{c: c, buf: unsafe.Slice((*int16)(unsafe.Pointer(c.buf)), size), waker: k}
	// A writer still inside Write or WaitReady as Close runs keeps the
	// speaker, so nothing reads freed memory; no callback runs once the
	// device is uninitialized.
	runtime.AddCleanup(s, freeSpeaker, c)
	return s, nil
}

func freeSpeaker(c *C.voipd_speaker) {
	C.free(unsafe.Pointer(c.buf))
	C.free(unsafe.Pointer(c))
}

// errLayout: the device is not what callbacks.c's attach knows.
var errLayout = errors.New("miniaudio's device does not have the layout voipd knows (malgo upgraded?): not attached")

// attach routes dev's data callback to the speaker, in C.
func (s *speaker) attach(dev *malgo.Device) error { return s.attachAt(devicePointer(dev)) }

// attachAt attaches the ma_device at dev.
func (s *speaker) attachAt(dev unsafe.Pointer) error {
	if C.voipd_speaker_attach(dev, s.c, hw.SampleRate) != 0 {
		return errLayout
	}
	return nil
}

func u64(p *C.uint64_t) *uint64 { return (*uint64)(unsafe.Pointer(p)) }

// tryPut queues all of src if it fits (the writer side; one writer).
func (s *speaker) tryPut(src []int16) bool {
	w := atomic.LoadUint64(u64(&s.c.w))
	r := atomic.LoadUint64(u64(&s.c.r))
	if len(s.buf)-int(w-r) < len(src) {
		return false
	}
	for len(src) > 0 {
		i := int(w % uint64(len(s.buf)))
		n := copy(s.buf[i:], src)
		src = src[n:]
		w += uint64(n)
	}
	atomic.StoreUint64(u64(&s.c.w), w)
	return true
}

// room is how many samples fit.
func (s *speaker) room() int { return len(s.buf) - s.buffered() }

// tell sets the room the writer waits for: a callback that leaves less
// does not wake it.
func (s *speaker) tell(want int) { atomic.StoreUint64(u64(&s.c.want), uint64(want)) }

// buffered is how many samples are queued.
func (s *speaker) buffered() int {
	r := atomic.LoadUint64(u64(&s.c.r))
	return int(atomic.LoadUint64(u64(&s.c.w)) - r)
}

// start marks that a frame was written: short callbacks count from now.
func (s *speaker) start() { atomic.StoreUint32((*uint32)(unsafe.Pointer(&s.c.started)), 1) }

func (s *speaker) underruns() uint64 { return atomic.LoadUint64(u64(&s.c.underruns)) }

// samples is the device's sample counter, for watchStall.
func (s *speaker) samples() *atomic.Uint64 { return (*atomic.Uint64)(unsafe.Pointer(&s.c.samples)) }

func (s *speaker) lateness() (worst time.Duration, late, callbacks uint64) {
	return cLateness(&s.c.late)
}

// cLateness reads a callback's lateness figures (see lateness).
func cLateness(l *C.voipd_late) (worst time.Duration, late, callbacks uint64) {
	return time.Duration(atomic.LoadInt64((*int64)(unsafe.Pointer(&l.worst_ns)))),
		atomic.LoadUint64(u64(&l.late)), atomic.LoadUint64(u64(&l.count))
}

// fill runs the device callback's code on out (the tests' way in: the real
// callback is the same C function, on miniaudio's thread).
func (s *speaker) fill(out []int16) {
	C.voipd_speaker_fill(s.c, (*C.int16_t)(unsafe.Pointer(&out[0])), C.uint64_t(len(out)))
}

// devicePointer is the ma_device behind a malgo device (malgo keeps it in
// an unexported field: the layout is malgo v0.11's, checked by attach
// before use and by the tests).
func devicePointer(dev *malgo.Device) unsafe.Pointer {
	return *(*(**unsafe.Pointer)(unsafe.Pointer(dev)))
}
