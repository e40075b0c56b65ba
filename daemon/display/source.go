package display

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
)

// frameTicks is the timestamp step put between two producers' streams when
// a source's producer changes SSRC: one frame at 30 fps on the 90 kHz
// clock, so the viewer's jitter buffer sees an ordinary next frame.
const frameTicks = 90000 / 30

// Source is one picture the display offers: a member's video or the
// device's own camera. The daemon writes VP8 RTP into it; each viewer gets
// a copy. It is safe for concurrent use.
type Source struct {
	id string

	mu      sync.Mutex
	viewers []*viewer
	// The outgoing stream is one sequence and timestamp space for the
	// source's whole life: when the producer restarts (the room reconnects,
	// the encoder is rebuilt) its SSRC, sequence numbers and timestamps
	// jump, and the browser's receiver would take that for loss or
	// reordering. The offsets below splice the new stream on instead.
	started bool
	inSSRC  uint32
	seqOff  uint16
	tsOff   uint32
	lastSeq uint16
	lastTS  uint32

	onKeyframe atomic.Pointer[func()]
	packets    atomic.Uint64
	dropped    atomic.Uint64
	keyframes  atomic.Uint64
}

// SourceStats counts a source's traffic since it was created.
type SourceStats struct {
	Viewers          int    // sessions attached now
	Packets          uint64 // packets written by the producer
	Dropped          uint64 // packet copies a viewer had no room for
	KeyframeRequests uint64 // calls of the OnKeyframeRequest function
}

func newSource(id string) *Source { return &Source{id: id} }

// ID is the source's name.
func (s *Source) ID() string { return s.id }

// OnKeyframeRequest sets the function called when a viewer needs a
// keyframe: a new session has connected, a viewer sent a PLI or FIR, or a
// viewer dropped packets. The daemon sends a PLI to the room (a member's
// source) or forces a keyframe of its own encoder (self). fn is called on
// a viewer's goroutine and must not block; nil removes it.
func (s *Source) OnKeyframeRequest(fn func()) {
	if fn == nil {
		s.onKeyframe.Store(nil)
		return
	}
	s.onKeyframe.Store(&fn)
}

// requestKeyframe calls the producer's keyframe function, if any.
func (s *Source) requestKeyframe() {
	if fn := s.onKeyframe.Load(); fn != nil {
		s.keyframes.Add(1)
		(*fn)()
	}
}

// WriteRTP hands one VP8 RTP packet to every viewer. The packet is copied:
// the caller may reuse it and its payload at once. It never blocks on a
// viewer and allocates nothing; header extensions, CSRCs and padding are
// not forwarded (their ids mean nothing in the viewer's session). It
// returns nil even with no viewers: having nobody watching is normal.
func (s *Source) WriteRTP(p *rtp.Packet) error {
	s.packets.Add(1)
	s.mu.Lock()
	if !s.started || p.SSRC != s.inSSRC {
		if s.started {
			s.seqOff = s.lastSeq + 1 - p.SequenceNumber
			s.tsOff = s.lastTS + frameTicks - p.Timestamp
		}
		s.started = true
		s.inSSRC = p.SSRC
	}
	seq := p.SequenceNumber + s.seqOff
	ts := p.Timestamp + s.tsOff
	s.lastSeq, s.lastTS = seq, ts
	for _, v := range s.viewers {
		if !v.push(p.Payload, p.Marker, seq, ts) {
			s.dropped.Add(1)
		}
	}
	s.mu.Unlock()
	return nil
}

// Stats returns the source's counters.
func (s *Source) Stats() SourceStats {
	s.mu.Lock()
	n := len(s.viewers)
	s.mu.Unlock()
	return SourceStats{
		Viewers:          n,
		Packets:          s.packets.Load(),
		Dropped:          s.dropped.Load(),
		KeyframeRequests: s.keyframes.Load(),
	}
}

// attach adds a viewer; its ring receives packets from the next WriteRTP.
// Membership changes take the same lock as WriteRTP, which therefore never
// sees a viewer half added or removed.
func (s *Source) attach(v *viewer) {
	s.mu.Lock()
	s.viewers = append(s.viewers, v)
	s.mu.Unlock()
}

// detach removes a viewer; it is a no-op when v is not attached.
func (s *Source) detach(v *viewer) {
	s.mu.Lock()
	s.viewers = slices.DeleteFunc(s.viewers, func(x *viewer) bool { return x == v })
	s.mu.Unlock()
}

// detachAll removes and returns every viewer.
func (s *Source) detachAll() []*viewer {
	s.mu.Lock()
	vs := s.viewers
	s.viewers = nil
	s.mu.Unlock()
	return vs
}
