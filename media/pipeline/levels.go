package pipeline

import (
	"math"
	"sync/atomic"
)

// levelWatch tells a call's LevelsChanged (media.CallParams) when a level
// crosses its threshold, so that what watches who is speaking wakes on a
// change instead of polling Stats.
type levelWatch struct {
	threshold float64
	changed   func() // nil: nobody listens
}

// poke tells the listener something it judges by may have changed.
func (w *levelWatch) poke() {
	if w != nil && w.changed != nil {
		w.changed()
	}
}

// store sets level to v, and tells the listener when v is on the other
// side of the threshold from the level before it. loud is the stream's
// side, kept by the one goroutine that stores its levels.
func (w *levelWatch) store(level *atomic.Uint64, loud *bool, v float64) {
	level.Store(math.Float64bits(v))
	if w == nil || w.changed == nil {
		return
	}
	if l := v > w.threshold; l != *loud {
		*loud = l
		w.changed()
	}
}
