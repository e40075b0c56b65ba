package pipeline

import (
	"sync/atomic"
	"time"
)

// freezeMeter counts a video stream's freezes and pauses as webrtc-stats
// defines them (and libwebrtc measures them), from the times its frames
// are passed on: a pause is a gap of 5 s or more between two frames; a
// freeze a shorter gap of at least max(3·avg, avg + 150 ms), avg being the
// mean of the last 30 gaps, once there are 5. Frames are given to it on
// the receiver's goroutine; its totals can be read from any.
type freezeMeter struct {
	last time.Time
	gaps [freezeWindow]time.Duration
	n, i int // gaps in the window, and where the next goes
	sum  time.Duration

	freezes, pauses       atomic.Uint64
	freezeTime, pauseTime atomic.Int64 // nanoseconds
}

const (
	freezeWindow     = 30
	freezeMinSamples = 5
	pauseGap         = 5 * time.Second
)

// frame records a frame passed on at now, and returns the gap since the
// one before when it was a freeze (0 otherwise).
func (m *freezeMeter) frame(now time.Time) (froze time.Duration) {
	last := m.last
	m.last = now
	if last.IsZero() {
		return 0
	}
	gap := now.Sub(last)
	if gap >= pauseGap {
		m.pauses.Add(1)
		m.pauseTime.Add(int64(gap))
		return 0
	}
	if m.n >= freezeMinSamples {
		avg := m.sum / time.Duration(m.n)
		if gap >= max(3*avg, avg+150*time.Millisecond) {
			m.freezes.Add(1)
			m.freezeTime.Add(int64(gap))
			froze = gap
		}
	}
	if m.n == freezeWindow {
		m.sum -= m.gaps[m.i]
	} else {
		m.n++
	}
	m.gaps[m.i] = gap
	m.sum += gap
	m.i = (m.i + 1) % freezeWindow
	return froze
}

// totals returns the freeze and pause counts and durations, in seconds.
func (m *freezeMeter) totals() (freezes uint64, freezeSec float64, pauses uint64, pauseSec float64) {
	return m.freezes.Load(), time.Duration(m.freezeTime.Load()).Seconds(),
		m.pauses.Load(), time.Duration(m.pauseTime.Load()).Seconds()
}
