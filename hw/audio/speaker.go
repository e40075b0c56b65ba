package audio

/*
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

// The first fields of miniaudio's ma_device (miniaudio.h, struct
// ma_device), as malgo v0.11 builds it: enough to find the data callback
// and the user pointer. voipd_attach checks them against what malgo set
// before writing anything.
typedef struct {
	void *pContext;
	int type;           // ma_device_type
	uint32_t sampleRate;
	int state;          // ma_atomic_device_state: one 4-byte enum
	void (*onData)(void *pDevice, void *pOutput, const void *pInput, uint32_t frameCount);
	void (*onNotification)(const void *pNotification);
	void (*onStop)(void *pDevice);
	void *pUserData;
} voipd_ma_device_head;

// malgo's stop callback: what onStop holds after malgo.InitDevice (its data
// callback is a static wrapper, so onStop is the field checked).
extern void goStopCallback(void *pDevice);

// voipd_speaker is a speaker's state shared between Go and miniaudio's
// device thread, in C memory. The ring is single-producer (Go, Write),
// single-consumer (the callback): w is stored only by Go, r only by the
// callback. The counters are written by the callback only.
typedef struct {
	int16_t *buf;
	uint64_t size;        // samples
	uint64_t w, r;        // samples written and played since open
	uint32_t started;     // Go wrote a frame: a short callback is an underrun
	uint32_t channels;
	int wake;             // written after each callback (an eventfd, or a pipe's end)
	uint64_t underruns;   // callbacks that found less than they needed
	uint64_t samples;     // samples handed to the device
	// How late each callback ran (hw/audio's lateness, in C): the gap
	// since the previous one beyond the samples that one carried.
	uint64_t count, late;
	int64_t worst_ns, prev_ns, prev_dur_ns, period_ns;
} voipd_speaker;

static int64_t voipd_now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void voipd_speaker_observe(voipd_speaker *s, int64_t now, uint64_t n) {
	uint64_t count = __atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
	if (count > 1) {
		int64_t d = now - s->prev_ns - s->prev_dur_ns;
		if (d > 0) {
			if (d > __atomic_load_n(&s->worst_ns, __ATOMIC_RELAXED)) {
				__atomic_store_n(&s->worst_ns, d, __ATOMIC_RELAXED);
			}
			if (d > s->period_ns) {
				__atomic_add_fetch(&s->late, 1, __ATOMIC_RELAXED);
			}
		}
	}
	s->prev_ns = now;
	s->prev_dur_ns = (int64_t)(n / s->channels) * 1000000000 / 48000;
}

// voipd_speaker_fill plays what is queued into out (n samples) and silence
// for the rest, then wakes the writer. It never blocks.
static void voipd_speaker_fill(voipd_speaker *s, int16_t *out, uint64_t n) {
	voipd_speaker_observe(s, voipd_now_ns(), n);
	uint64_t r = s->r;
	uint64_t w = __atomic_load_n(&s->w, __ATOMIC_ACQUIRE);
	uint64_t take = w - r < n ? w - r : n;
	for (uint64_t done = 0; done < take;) {
		uint64_t i = (r + done) % s->size;
		uint64_t k = s->size - i;
		if (k > take - done) {
			k = take - done;
		}
		memcpy(out + done, s->buf + i, k * sizeof(int16_t));
		done += k;
	}
	__atomic_store_n(&s->r, r + take, __ATOMIC_RELEASE);
	if (take < n) {
		memset(out + take, 0, (n - take) * sizeof(int16_t));
		if (__atomic_load_n(&s->started, __ATOMIC_ACQUIRE)) {
			__atomic_add_fetch(&s->underruns, 1, __ATOMIC_RELAXED);
		}
	}
	__atomic_add_fetch(&s->samples, n, __ATOMIC_RELEASE);
	uint64_t one = 1;
	ssize_t unused = write(s->wake, &one, sizeof one);
	(void)unused;
}

static void voipd_speaker_data(void *pDevice, void *pOutput, const void *pInput, uint32_t frameCount) {
	(void)pInput;
	voipd_speaker *s = ((voipd_ma_device_head *)pDevice)->pUserData;
	if (s == NULL || pOutput == NULL) {
		return;
	}
	voipd_speaker_fill(s, pOutput, (uint64_t)frameCount * s->channels);
}

// voipd_speaker_attach makes the opened (not yet started) device call
// voipd_speaker_data with s instead of malgo's Go callback. It returns 0,
// or -1 when the device does not look like what malgo made (another
// miniaudio layout): then nothing was written.
static int voipd_speaker_attach(void *pDevice, voipd_speaker *s, uint32_t sampleRate) {
	voipd_ma_device_head *d = pDevice;
	if (d->sampleRate != sampleRate || d->type != 1 || d->onData == NULL || d->onStop != (void *)goStopCallback) {
		return -1;
	}
	d->pUserData = s;
	__atomic_store_n(&d->onData, voipd_speaker_data, __ATOMIC_RELEASE);
	return 0;
}

// voipd_wake_open makes the fd pair the callback wakes the writer with:
// an eventfd (one fd, a counter never drained: no syscall on Go's side)
// where there is one, else a pipe that the writer drains.
static int voipd_wake_open(int fds[2]) {
#ifdef __linux__
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0) {
		return errno;
	}
	fds[0] = fds[1] = fd;
	return 0;
#else
	if (pipe(fds) != 0) {
		return errno;
	}
	return 0;
#endif
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"

	"github.com/voipd/voipd/hw"
)

// speaker is the C side of an open speaker (see playback): the ring the
// device thread plays from, its counters, and the fd it wakes the writer
// through. Allocated in C memory at open, freed after the device is
// uninitialized.
type speaker struct {
	c      *C.voipd_speaker
	buf    []int16  // the ring's samples (C memory)
	wake   *os.File // the reading end, in Go's poller
	rc     syscall.RawConn
	wakeW  int      // the writing end (the same fd for an eventfd)
	drains bool     // a pipe: the waiter reads what the callback wrote
}

// newSpeaker allocates a ring of frames frames and the wake fds.
func newSpeaker(frames int, period time.Duration) (*speaker, error) {
	var fds [2]C.int
	if e := C.voipd_wake_open(&fds[0]); e != 0 {
		return nil, fmt.Errorf("speaker wakeup fd: %w", syscall.Errno(e))
	}
	size := frames * hw.FrameSamples
	c := (*C.voipd_speaker)(C.calloc(1, C.sizeof_voipd_speaker))
	c.buf = (*C.int16_t)(C.calloc(C.size_t(size), 2))
	if c == nil || c.buf == nil {
		panic("voipd: out of C memory for a speaker ring")
	}
	c.size = C.uint64_t(size)
	c.channels = hw.Channels
	c.wake = fds[1]
	c.period_ns = C.int64_t(period)
	s := &speaker{
		c:      c,
		buf:    unsafe.Slice((*int16)(unsafe.Pointer(c.buf)), size),
		wake:   os.NewFile(uintptr(fds[0]), "speaker-wake"),
		wakeW:  int(fds[1]),
		drains: fds[0] != fds[1],
	}
	// The C memory goes when the speaker is unreachable: a writer still
	// inside Write or WaitReady as Close runs keeps it, so nothing reads
	// freed memory, and no callback runs once the device is uninitialized.
	runtime.AddCleanup(s, freeSpeaker, c)
	rc, err := s.wake.SyscallConn()
	if err != nil {
		s.close()
		return nil, fmt.Errorf("speaker wakeup fd: %w", err)
	}
	s.rc = rc
	return s, nil
}

func freeSpeaker(c *C.voipd_speaker) {
	C.free(unsafe.Pointer(c.buf))
	C.free(unsafe.Pointer(c))
}

// attach routes dev's data callback to the speaker, in C.
func (s *speaker) attach(dev *malgo.Device) error { return s.attachAt(devicePointer(dev)) }

// errLayout: the device is not what voipd_speaker_attach knows.
var errLayout = errors.New("miniaudio's device does not have the layout voipd knows (malgo upgraded?): not attached")

// attachAt attaches the ma_device at dev.
func (s *speaker) attachAt(dev unsafe.Pointer) error {
	if C.voipd_speaker_attach(dev, s.c, hw.SampleRate) != 0 {
		return errLayout
	}
	return nil
}

// close closes the wakeup fds (a waiter returns an error): only once no
// callback can run, as the callback writes to one.
func (s *speaker) close() {
	s.wake.Close()
	if s.drains {
		syscall.Close(s.wakeW)
	}
}

func (s *speaker) u64(p *C.uint64_t) *uint64 { return (*uint64)(unsafe.Pointer(p)) }

// tryPut queues all of src if it fits (the writer side; one writer).
func (s *speaker) tryPut(src []int16) bool {
	w := atomic.LoadUint64(s.u64(&s.c.w))
	r := atomic.LoadUint64(s.u64(&s.c.r))
	if len(s.buf)-int(w-r) < len(src) {
		return false
	}
	for len(src) > 0 {
		i := int(w % uint64(len(s.buf)))
		n := copy(s.buf[i:], src)
		src = src[n:]
		w += uint64(n)
	}
	atomic.StoreUint64(s.u64(&s.c.w), w)
	return true
}

// room is how many samples fit.
func (s *speaker) room() int { return len(s.buf) - s.buffered() }

// buffered is how many samples are queued.
func (s *speaker) buffered() int {
	r := atomic.LoadUint64(s.u64(&s.c.r))
	return int(atomic.LoadUint64(s.u64(&s.c.w)) - r)
}

// start marks that a frame was written: short callbacks count from now.
func (s *speaker) start() { atomic.StoreUint32((*uint32)(unsafe.Pointer(&s.c.started)), 1) }

func (s *speaker) underruns() uint64 { return atomic.LoadUint64(s.u64(&s.c.underruns)) }

// samples is the device's sample counter, for watchStall.
func (s *speaker) samples() *atomic.Uint64 { return (*atomic.Uint64)(unsafe.Pointer(&s.c.samples)) }

func (s *speaker) lateness() (worst time.Duration, late, callbacks uint64) {
	return time.Duration(atomic.LoadInt64((*int64)(unsafe.Pointer(&s.c.worst_ns)))),
		atomic.LoadUint64(s.u64(&s.c.late)), atomic.LoadUint64(s.u64(&s.c.count))
}

// signal wakes a waiter from Go (Close, the device stopping).
func (s *speaker) signal() {
	one := [8]byte{1}
	if !s.drains {
		syscall.Write(s.wakeW, one[:])
		return
	}
	syscall.Write(s.wakeW, one[:1])
}

// waitFunc makes the function wait parks on: it drains a pipe (an
// eventfd needs nothing) and reports ok(). Made once per device, so a wait
// allocates nothing.
func (s *speaker) waitFunc(ok func() bool) func(uintptr) bool {
	var drain [64]byte
	return func(fd uintptr) bool {
		if s.drains {
			for {
				if n, err := syscall.Read(int(fd), drain[:]); n <= 0 || err != nil {
					break
				}
			}
		}
		return ok()
	}
}

// wait blocks until f (from waitFunc) is true, checking it after each
// wakeup of the callback: parked in Go's poller, so a wakeup costs Go no
// system call (with an eventfd).
func (s *speaker) wait(f func(uintptr) bool) error {
	return s.rc.Read(f)
}

// fill runs the device callback's code on out (the tests' way in: the real
// callback is the same C function, on miniaudio's thread).
func (s *speaker) fill(out []int16) {
	C.voipd_speaker_fill(s.c, (*C.int16_t)(unsafe.Pointer(&out[0])), C.uint64_t(len(out)))
}

// devicePointer is the ma_device behind a malgo device (malgo keeps it in
// an unexported field: the layout is malgo v0.11's, checked by
// voipd_speaker_attach before use and by the tests).
func devicePointer(dev *malgo.Device) unsafe.Pointer {
	return *(*(**unsafe.Pointer)(unsafe.Pointer(dev)))
}
