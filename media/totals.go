package media

import "sync/atomic"

// Kind indexes Totals by media kind.
type Kind int

const (
	Audio Kind = iota
	Video
	kinds
)

// String is the kind as getStats and metrics name it.
func (k Kind) String() string {
	if k == Video {
		return "video"
	}
	return "audio"
}

// Kinds are every Kind, in order.
var Kinds = [kinds]Kind{Audio, Video}

// Totals are a daemon's media counters over every call and stream since
// it started: what getStats shows per stream and per call, summed and
// never reset, so that a metrics scrape reads counters that only grow
// however calls and members come and go. The pipelines of one Factory
// add to its one Totals as they count their own figures: atomic adds on
// counters, no allocation, no lock.
type Totals struct {
	Sent     [kinds]StreamTotals
	Received [kinds]StreamTotals
	// ConcealedSamples are audio samples made up by PLC (webrtc-stats'
	// concealedSamples, summed over members).
	ConcealedSamples atomic.Uint64
}

// StreamTotals are one direction's and kind's counters.
type StreamTotals struct {
	Packets atomic.Uint64
	Bytes   atomic.Uint64 // payload bytes
	// Lost: received streams' packets lost (expected − received, RFC 3550
	// A.3), each rise of a stream's figure added as it happens; a
	// reordered packet that lowers a stream's figure again is not taken
	// back (a counter never falls).
	Lost atomic.Uint64
	// FramesDropped: sent video, frames the camera or encoder dropped;
	// received, frames given up or not decodable.
	FramesDropped atomic.Uint64
}

// Tally turns one stream's running figure (its loss, say) into rises of a
// Totals counter. It is not safe for concurrent use: one per stream, used
// where the figure is computed.
type Tally struct{ seen int64 }

// Add adds to c how much now exceeds the highest figure seen so far.
func (l *Tally) Add(c *atomic.Uint64, now int64) {
	if now > l.seen {
		c.Add(uint64(now - l.seen))
		l.seen = now
	}
}
