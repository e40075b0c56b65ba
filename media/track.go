package media

import (
	"sync/atomic"

	"github.com/pion/rtp"
)

// TrackWriter is the writer of a member's one outgoing video track for
// the room's whole life, whichever sender is running: the camera was
// switched, or lost and back, and each new sender starts its sequence
// numbers afresh. On the same track SRTP's replay check would drop those
// as old, so TrackWriter numbers the packets consecutively. It also hands
// each packet to the local display (the kiosk's own camera tile), which
// never holds up the room.
//
// One sender writes at a time (the session stops one before it starts the
// next); the display may be changed from any goroutine. WriteRTP
// allocates nothing.
type TrackWriter struct {
	room    RTPWriter
	display atomic.Pointer[RTPWriter]
	next    uint16
}

// NewTrackWriter writes to room, the room's track.
func NewTrackWriter(room RTPWriter) *TrackWriter { return &TrackWriter{room: room} }

// SetDisplay sets where a copy of every packet goes; nil stops the copy.
func (t *TrackWriter) SetDisplay(w RTPWriter) {
	if w == nil {
		t.display.Store(nil)
		return
	}
	t.display.Store(&w)
}

// WriteRTP renumbers p, gives it to the display, then to the room.
func (t *TrackWriter) WriteRTP(p *rtp.Packet) error {
	p.SequenceNumber = t.next
	t.next++
	if d := t.display.Load(); d != nil {
		(*d).WriteRTP(p) // the local screen's failures are its own
	}
	return t.room.WriteRTP(p)
}
