// Package synth provides synthetic audio devices: a sine tone that stands in
// for a microphone, a sink that discards audio, a recorder that keeps what
// it was given, and a click source and click detector that time-stamp what
// they send and hear (for measuring mouth to ear between processes). They
// implement the hw interfaces and are paced by a timer at the real sample
// rate (a timerfd in Go's poller on Linux, a Go timer elsewhere), in
// frames of whatever length the caller reads or writes (20 ms, or 10 ms
// with audio.frameMs = 10), so the rest of voipd cannot tell them from a
// device by timing alone. They are chosen explicitly by configuration
// ("tone:440", "null", "click:PATH", "detect:PATH"), never as a silent
// fallback, and report Synthetic.
package synth

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voipd/voipd/hw"
)

// framePeriod is the default frame's duration (hw.FrameMillis).
const framePeriod = hw.FrameMillis * time.Millisecond

// pacer is the stand-in for a device clock running at hw.SampleRate. A
// frame of n samples starting at sample s is due at start + (s+n)/rate,
// like a real device that hands over a period once it has been captured. A
// caller that falls behind by more than a frame skips the missed frames
// (they are counted as dropped) instead of receiving a burst, as a real
// device's overrun would lose them.
//
// It sleeps on a kernel timer in Go's poller where there is one (Linux's
// timerfd, pacer_linux.go), as a device's wakeup would come, and on a Go
// timer elsewhere: a Go timer due every period also wakes the runtime's
// monitor thread (sysmon sleeps until the next timer), two more context
// switches a period in a call (issue 19).
//
// One goroutine calls wait; any goroutine may call close.
type pacer struct {
	start   time.Time
	pos     uint64 // samples handed out (or skipped) so far
	sleeper sleeper
	done    chan struct{}
	once    sync.Once
	dropped atomic.Uint64
	frames  atomic.Uint64
}

// sleeper waits until an instant on Go's clock. One goroutine calls until;
// close (any goroutine, once) makes it return false at once.
type sleeper interface {
	until(due time.Time) (ok bool)
	close()
}

func newPacer() *pacer {
	p := &pacer{start: time.Now(), done: make(chan struct{})}
	p.sleeper = newSleeper(p.done)
	return p
}

// timerSleeper is a sleeper on a Go timer.
type timerSleeper struct {
	timer *time.Timer
	done  <-chan struct{}
}

func newTimerSleeper(done <-chan struct{}) *timerSleeper {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &timerSleeper{timer: t, done: done}
}

func (s *timerSleeper) until(due time.Time) bool {
	d := time.Until(due)
	if d <= 0 {
		return true
	}
	// Go ≥ 1.23 timers have no stale value after Stop/Reset, so a single
	// Reset per frame is enough and allocates nothing.
	s.timer.Reset(d)
	select {
	case <-s.timer.C:
		return true
	case <-s.done:
		s.timer.Stop()
		return false
	}
}

func (s *timerSleeper) close() {} // done is the pacer's, closed by it

// at is the instant sample s of the device clock is due.
func (p *pacer) at(s uint64) time.Time { return p.start.Add(samplesToDuration(s)) }

// samplesToDuration and durationToSamples convert without overflowing for
// as long as a device stays open (a plain d*rate overflows after 53 hours).
func samplesToDuration(s uint64) time.Duration {
	return time.Duration(s/hw.SampleRate)*time.Second + time.Duration(s%hw.SampleRate)*time.Second/hw.SampleRate
}

func durationToSamples(d time.Duration) uint64 {
	return uint64(d/time.Second)*hw.SampleRate + uint64(d%time.Second)*hw.SampleRate/uint64(time.Second)
}

// wait blocks until the next frame of n samples is due and returns when it
// was due (the end of the frame on the device clock) and how many frames
// were skipped before it because the caller was late. It returns an error
// wrapping hw.ErrClosed once close has been called.
func (p *pacer) wait(op, dev string, n int) (due time.Time, skipped uint64, err error) {
	select {
	case <-p.done:
		return time.Time{}, 0, &hw.DeviceError{Op: op, Device: dev, Kind: hw.ErrClosed}
	default:
	}
	due = p.at(p.pos + uint64(n))
	if time.Until(due) > 0 && !p.sleeper.until(due) {
		return time.Time{}, 0, &hw.DeviceError{Op: op, Device: dev, Kind: hw.ErrClosed}
	}
	// Samples fully elapsed by now; whole frames before the newest are lost.
	avail := durationToSamples(time.Since(p.start))
	if end := p.pos + uint64(n); avail >= end+uint64(n) {
		skipped = (avail - end) / uint64(n)
		p.dropped.Add(skipped)
		p.pos += skipped * uint64(n)
		due = p.at(p.pos + uint64(n))
	}
	p.pos += uint64(n)
	p.frames.Add(1)
	return due, skipped, nil
}

func (p *pacer) close() {
	p.once.Do(func() {
		close(p.done)
		p.sleeper.close()
	})
}

// checkLen accepts the frames voipd's pipelines use: a whole number of
// milliseconds, at most hw.MaxFrameSamples.
func checkLen(op, dev string, n int) error {
	if !hw.ValidFrameLen(n) {
		return &hw.DeviceError{Op: op, Device: dev, Kind: hw.ErrInvalid,
			Err: fmt.Errorf("frame has %d samples, want whole milliseconds up to %d", n, hw.MaxFrameSamples)}
	}
	return nil
}
