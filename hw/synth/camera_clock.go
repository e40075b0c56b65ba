package synth

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/voipd/voipd/hw"
)

// frameClock is the stand-in for a camera's clock, the video sibling of the
// audio pacer (which is fixed at 20 ms): frame n (0-based) is due at
// start + (n+1)*period, an absolute schedule that does not drift with the
// reader's own delays. A reader that falls behind gets the newest frame due,
// and the frames it missed are counted as dropped, as a real camera's driver
// overwrites (or drops) frames nobody dequeued in time.
//
// One goroutine calls wait; any goroutine may call close.
type frameClock struct {
	start   time.Time
	period  time.Duration
	next    uint64 // index of the next frame to hand out
	timer   *time.Timer
	done    chan struct{}
	once    sync.Once
	dropped atomic.Uint64
}

func newFrameClock(period time.Duration) *frameClock {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &frameClock{start: time.Now(), period: period, timer: t, done: make(chan struct{})}
}

// wait blocks until the next frame is due and returns its index and the
// time it was due (its capture time). It returns an error wrapping
// hw.ErrClosed once close has been called.
func (c *frameClock) wait(op, dev string) (index uint64, due time.Time, err error) {
	select {
	case <-c.done:
		return 0, time.Time{}, &hw.DeviceError{Op: op, Device: dev, Kind: hw.ErrClosed}
	default:
	}
	due = c.start.Add(time.Duration(c.next+1) * c.period)
	if d := time.Until(due); d > 0 {
		// Go ≥ 1.23 timers have no stale value after Stop/Reset, so one
		// Reset per frame is enough and allocates nothing.
		c.timer.Reset(d)
		select {
		case <-c.timer.C:
		case <-c.done:
			c.timer.Stop()
			return 0, time.Time{}, &hw.DeviceError{Op: op, Device: dev, Kind: hw.ErrClosed}
		}
	}
	// Frames fully elapsed by now; everything before the newest is lost.
	if avail := uint64(time.Since(c.start) / c.period); avail > c.next+1 {
		skipped := avail - (c.next + 1)
		c.dropped.Add(skipped)
		c.next += skipped
		due = c.start.Add(time.Duration(c.next+1) * c.period)
	}
	index = c.next
	c.next++
	return index, due, nil
}

func (c *frameClock) close() {
	c.once.Do(func() { close(c.done) })
}
