// Package synth provides synthetic audio devices: a sine tone that stands in
// for a microphone, a sink that discards audio and a recorder that keeps what
// it was given. They implement the hw interfaces and are paced by a timer at
// the real 20 ms frame rate, so the rest of voipd cannot tell them from a
// device by timing alone. They are chosen explicitly by configuration
// ("tone:440", "null"), never as a silent fallback, and report Synthetic.
package synth

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voipd/voipd/hw"
)

// framePeriod is the device clock this package imitates.
const framePeriod = hw.FrameMillis * time.Millisecond

// pacer is the stand-in for a device clock. Frame n (0-based) is due at
// start + (n+1)*period, like a real device that hands over a period once it
// has been captured. A caller that falls behind by more than a frame skips
// the missed frames (they are counted as dropped) instead of receiving a
// burst, as a real device's overrun would lose them.
//
// One goroutine calls wait; any goroutine may call close.
type pacer struct {
	start   time.Time
	next    uint64 // index of the next frame to hand out
	timer   *time.Timer
	done    chan struct{}
	once    sync.Once
	dropped atomic.Uint64
	frames  atomic.Uint64
}

func newPacer() *pacer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pacer{start: time.Now(), timer: t, done: make(chan struct{})}
}

// wait blocks until the next frame is due and returns how many frames were
// skipped before it because the caller was late. It returns an error
// wrapping hw.ErrClosed once close has been called.
func (p *pacer) wait(op, dev string) (skipped uint64, err error) {
	select {
	case <-p.done:
		return 0, &hw.DeviceError{Op: op, Device: dev, Kind: hw.ErrClosed}
	default:
	}
	due := p.start.Add(time.Duration(p.next+1) * framePeriod)
	if d := time.Until(due); d > 0 {
		// Go ≥ 1.23 timers have no stale value after Stop/Reset, so a
		// single Reset per frame is enough and allocates nothing.
		p.timer.Reset(d)
		select {
		case <-p.timer.C:
		case <-p.done:
			p.timer.Stop()
			return 0, &hw.DeviceError{Op: op, Device: dev, Kind: hw.ErrClosed}
		}
	}
	// Frames fully elapsed by now; everything before the newest is lost.
	avail := uint64(time.Since(p.start) / framePeriod)
	if avail > p.next+1 {
		skipped = avail - (p.next + 1)
		p.dropped.Add(skipped)
		p.next += skipped
	}
	p.next++
	p.frames.Add(1)
	return skipped, nil
}

func (p *pacer) close() {
	p.once.Do(func() { close(p.done) })
}

func checkLen(op, dev string, n int) error {
	if n != hw.FrameSamples {
		return &hw.DeviceError{Op: op, Device: dev, Kind: hw.ErrInvalid,
			Err: fmt.Errorf("frame has %d samples, want %d", n, hw.FrameSamples)}
	}
	return nil
}
