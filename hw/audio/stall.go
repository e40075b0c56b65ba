package audio

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/gen2brain/malgo"
)

// A backend does not always say that a device went away: miniaudio's
// PulseAudio backend, for one, gets no word when the sink under its stream
// is removed; the callbacks simply stop. A device whose callbacks stop is
// therefore treated as stopped by the backend after a while, so the reader
// or writer blocked on it gets an unavailable error instead of waiting for
// ever.
const (
	// stallFirst bounds the wait for the first callback: PulseAudio's first
	// capture delivery can take 1–2 s.
	stallFirst = 10 * time.Second
	// stallAfter is how long a device that has been delivering may go
	// without a callback. Periods are 10–40 ms; a loaded machine delays a
	// callback by tens of milliseconds, not seconds.
	stallAfter = 2 * time.Second
)

// errStalled reports that the device stopped calling back while open.
var errStalled = errors.New("device stopped delivering audio")

// stallWatch judges a device by its sample counter, checked at ticks.
type stallWatch struct {
	samples      *atomic.Uint64
	first, after time.Duration
	last         uint64
	since        time.Time // when last changed (or the watch began)
	delivered    bool      // the counter has moved at least once
}

func newStallWatch(samples *atomic.Uint64, now time.Time, first, after time.Duration) *stallWatch {
	return &stallWatch{samples: samples, first: first, after: after, last: samples.Load(), since: now}
}

// stalled reports, at a tick at now, whether the counter has stood still
// for too long.
func (w *stallWatch) stalled(now time.Time) bool {
	if n := w.samples.Load(); n != w.last {
		w.last, w.since, w.delivered = n, now, true
		return false
	}
	limit := w.first
	if w.delivered {
		limit = w.after
	}
	return now.Sub(w.since) >= limit
}

// watchStall calls stall once the device's counter has stood still for
// stallFirst (before the first callback) or stallAfter (after it). It
// returns when done is closed or after calling stall.
func watchStall(samples *atomic.Uint64, done <-chan struct{}, stall func()) {
	tick := time.NewTicker(stallAfter / 4)
	defer tick.Stop()
	w := newStallWatch(samples, time.Now(), stallFirst, stallAfter)
	for {
		select {
		case <-done:
			return
		case now := <-tick.C:
			if w.stalled(now) {
				stall()
				return
			}
		}
	}
}

// stopAndFree stops the device, then frees it. ma_device_uninit alone does
// not wake the worker thread of a backend with its own loop: with PulseAudio
// that loop blocks in pa_mainloop_iterate until the stream next calls back,
// which a stream whose sink was removed never does, and uninit waits for
// the thread for ever. ma_device_stop does wake it (and is a no-op on a
// device the backend already stopped); its error, e.g. failing to cork a
// dead stream, changes nothing here.
func stopAndFree(dev *malgo.Device) {
	_ = dev.Stop()
	dev.Uninit()
}
