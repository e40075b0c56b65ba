package audio

import (
	"sync"

	"github.com/voipd/voipd/hw"
)

// ring is a fixed buffer of samples between miniaudio's callback thread and
// one Go reader or writer. It is allocated once, at open.
//
// A mutex rather than a lock-free index pair: capture must drop the OLDEST
// frames on overrun, which means the producer moves the consumer's index,
// and a lock-free version of that either races on the samples (which the race
// detector rightly flags) or needs a retry loop. The lock is held only for a
// copy of at most a few periods and never while anyone blocks, so the audio
// thread waits at worst for one short memmove.
type ring struct {
	mu  sync.Mutex
	buf []int16
	r   uint64 // samples consumed since open (monotonic)
	w   uint64 // samples produced since open (monotonic)
}

func newRing(frames int) *ring {
	return &ring{buf: make([]int16, frames*hw.FrameSamples)}
}

// put copies src in (capture side, called from the audio callback). When src
// does not fit, the oldest whole frames are dropped to make room, so the
// reader stays frame-aligned; put returns how many frames it dropped. It
// never blocks beyond the ring's own short lock and never allocates.
func (g *ring) put(src []int16) (droppedFrames int) {
	g.mu.Lock()
	if len(src) > len(g.buf) { // only the newest ring-full can survive
		skip := len(src) - len(g.buf)
		lost := int(g.w-g.r) + skip
		droppedFrames += (lost + hw.FrameSamples - 1) / hw.FrameSamples
		src = src[skip:]
		g.w += uint64(skip)
		g.r = g.w
	}
	if over := int(g.w-g.r) + len(src) - len(g.buf); over > 0 {
		n := (over + hw.FrameSamples - 1) / hw.FrameSamples
		g.r += uint64(n * hw.FrameSamples)
		if g.r > g.w {
			g.r = g.w
		}
		droppedFrames += n
	}
	g.copyIn(src)
	g.mu.Unlock()
	return droppedFrames
}

// tryPut copies src in only if all of it fits (playback side, Write).
func (g *ring) tryPut(src []int16) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.buf)-int(g.w-g.r) < len(src) {
		return false
	}
	g.copyIn(src)
	return true
}

// copyIn writes src at w, wrapping; the caller holds mu and has made room.
func (g *ring) copyIn(src []int16) {
	for len(src) > 0 {
		i := int(g.w % uint64(len(g.buf)))
		n := copy(g.buf[i:], src)
		src = src[n:]
		g.w += uint64(n)
	}
}

// tryGet fills all of dst if that many samples are buffered (capture side,
// Read) and reports whether it did.
func (g *ring) tryGet(dst []int16) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if int(g.w-g.r) < len(dst) {
		return false
	}
	g.copyOut(dst)
	return true
}

// get copies out as many samples as are buffered, up to len(dst), and
// returns the count (playback side, called from the audio callback).
func (g *ring) get(dst []int16) int {
	g.mu.Lock()
	n := min(len(dst), int(g.w-g.r))
	g.copyOut(dst[:n])
	g.mu.Unlock()
	return n
}

// copyOut reads len(dst) samples at r, wrapping; the caller holds mu.
func (g *ring) copyOut(dst []int16) {
	for len(dst) > 0 {
		i := int(g.r % uint64(len(g.buf)))
		n := copy(dst, g.buf[i:])
		dst = dst[n:]
		g.r += uint64(n)
	}
}

// room returns the number of samples that fit.
func (g *ring) room() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.buf) - int(g.w-g.r)
}

// buffered returns the number of samples waiting.
func (g *ring) buffered() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return int(g.w - g.r)
}
