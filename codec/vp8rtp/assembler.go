package vp8rtp

import (
	"time"

	"github.com/pion/rtp"
)

// MaxFrameBytes bounds a frame under assembly: a sender that never sets
// the marker bit cannot make the receiver grow without limit. 4 MiB holds
// any realistic keyframe up to 4K.
const MaxFrameBytes = 4 << 20

// initialFrameBytes is preallocated so frames of up to 1280x720 keyframe
// size never grow the buffer in steady state.
const initialFrameBytes = 256 << 10

// bufferPackets is how many packets the Assembler holds while it waits for
// a missing one: about two seconds of 720p video at 1.5 Mbit/s, more than
// MaxWait. A power of two (sequence numbers index it).
const bufferPackets = 512

// MaxWait is how long the Assembler waits for a missing packet (a
// retransmission the receiver's NACK asked for) before it gives the frames
// up and waits for a keyframe instead. A NACK and its answer take a round
// trip, and either may be lost too: a second leaves room for several tries
// on a bad Wi-Fi link, and a keyframe that arrives meanwhile ends the wait
// at once.
const MaxWait = time.Second

// Frame is one reassembled VP8 frame. Data is the Assembler's buffer,
// valid until the next Push or Next.
type Frame struct {
	Data      []byte
	Timestamp uint32
	Keyframe  bool
}

// AssemblerStats counts what the Assembler saw.
type AssemblerStats struct {
	PacketsLost      uint64 // expected − received: never arrived, even resent (RFC 3550 A.3)
	PacketsMalformed uint64 // too short for a payload descriptor
	PacketsIgnored   uint64 // duplicates, and packets of frames already passed on or given up
	FramesDropped    uint64 // given up (a packet never came) or not decodable until a keyframe
	Waits            uint64 // times the next frame waited for a missing packet
	GiveUps          uint64 // waits that ended without the packet (MaxWait, or the buffer full)
}

// slot holds one buffered packet.
type slot struct {
	used    bool
	seq     uint16
	ts      uint32
	start   bool // S bit, partition 0: the frame's first packet
	end     bool // marker: the frame's last packet
	key     bool // the frame's first packet says keyframe
	padding bool // no payload (padding only): skipped between frames
	data    []byte
}

// Assembler reassembles VP8 frames from the RTP packets of one stream and
// passes them on in order, each only when every frame before it was: a
// VP8 delta frame needs the frames before it. Packets may arrive out of
// order or late (resent after a NACK); a frame missing a packet holds up
// the ones after it until the packet comes, MaxWait passes (the frames are
// then given up) or a keyframe is complete (passed on at once: nothing
// before it is needed). After a give-up, and at the start (joined
// mid-stream), it passes on no frame until a keyframe, and WantKeyframe is
// true meanwhile, so the caller sends a PLI. It is not safe for concurrent
// use, and does not allocate after NewAssembler.
type Assembler struct {
	slots [bufferPackets]slot
	buf   []byte

	next    uint16 // the sequence number the next frame to pass on starts at
	passed  bool   // a frame was passed on (or skipped to): numbers before next are done with
	synced  bool   // the frame at next may be passed on (false: waiting for a keyframe)
	needKey bool
	waiting bool      // the next frame is missing a packet that later ones passed
	since   time.Time // when the wait began

	// Loss accounting (RFC 3550 A.3): the first and highest numbers seen,
	// and how many distinct numbers arrived.
	started       bool
	base, highest uint16
	cycles        uint64 // wraps of highest
	received      uint64

	stats AssemblerStats
}

// slotBytes is each buffered packet's room: an RTP payload over UDP on
// Ethernet. A larger one (a jumbo-frame network) grows its slot once.
const slotBytes = 1500

// NewAssembler returns an Assembler waiting for its first keyframe. Its
// packet buffer (bufferPackets × slotBytes, 750 KiB) is made here, in one
// piece, so that receiving never allocates.
func NewAssembler() *Assembler {
	a := &Assembler{buf: make([]byte, 0, initialFrameBytes), needKey: true}
	arena := make([]byte, bufferPackets*slotBytes)
	for i := range a.slots {
		a.slots[i].data = arena[i*slotBytes : i*slotBytes : (i+1)*slotBytes]
	}
	return a
}

// WantKeyframe reports whether the stream is waiting for a keyframe (after
// a give-up or at the start): the caller should ask the sender for one.
func (a *Assembler) WantKeyframe() bool { return a.needKey }

// RequireKeyframe makes the Assembler pass on no frame until a keyframe:
// for when the decoder failed on a frame the Assembler thought whole.
func (a *Assembler) RequireKeyframe() {
	a.needKey = true
	a.synced = false
}

// Stats returns the counters so far.
func (a *Assembler) Stats() AssemblerStats {
	st := a.stats
	if a.started {
		expected := a.cycles<<16 + uint64(a.highest) - uint64(a.base) + 1
		if expected > a.received {
			st.PacketsLost = expected - a.received
		}
	}
	return st
}

// Push files one packet. Frames it completes (or unblocks) come from Next.
func (a *Assembler) Push(pkt *rtp.Packet) {
	seq := pkt.SequenceNumber
	if a.passed && int16(seq-a.next) < 0 {
		a.stats.PacketsIgnored++ // its frame was passed on or given up
		return
	}
	s := &a.slots[seq%bufferPackets]
	if s.used && s.seq == seq {
		a.stats.PacketsIgnored++
		return
	}
	if a.passed && int(seq-a.next) >= bufferPackets {
		// The wait has outlasted the buffer: whatever the next frame lacks
		// is not coming in time, and numbers a buffer's length behind this
		// one cannot be kept (the floor moves up, so sequence numbers keep
		// comparing right however long a keyframe takes).
		if a.synced {
			a.giveUp()
		}
		floor := seq - bufferPackets + 1
		a.drop(a.next, floor)
		a.next = floor
	}
	a.count(seq)
	payload, start, ok := parseDescriptor(pkt.Payload)
	padding := len(pkt.Payload) == 0
	if !ok && !padding {
		a.stats.PacketsMalformed++ // a hole its frame will wait out, then give up
		return
	}
	// A slot still used holds a packet a buffer's length older, never
	// claimed: it is overwritten.
	*s = slot{used: true, seq: seq, ts: pkt.Timestamp, start: start, end: pkt.Marker,
		padding: padding, data: append(s.data[:0], payload...)}
	// RFC 7741 §4.3: the P bit (inverse keyframe flag) is bit 0 of the VP8
	// payload header's first byte.
	s.key = start && len(payload) > 0 && payload[0]&0x01 == 0
}

// count does the RFC 3550 A.3 bookkeeping for a new sequence number.
func (a *Assembler) count(seq uint16) {
	a.received++
	if !a.started {
		a.started, a.base, a.highest = true, seq, seq
		return
	}
	if d := int16(seq - a.highest); d > 0 {
		if seq < a.highest {
			a.cycles++
		}
		a.highest = seq
	}
}

// Next returns the next frame in order when it is complete, else false;
// call it after each Push until it returns false. It gives up the frames
// waiting on a missing packet that has not come within MaxWait (of the
// time, now, the wait was first seen), and passes on the oldest complete
// keyframe at once when the stream needs one or waits on a packet.
func (a *Assembler) Next(now time.Time) (Frame, bool) {
	for {
		if !a.synced {
			k, ok := a.findKeyframe()
			if !ok {
				return Frame{}, false
			}
			a.skipTo(k)
		}
		s := &a.slots[a.next%bufferPackets]
		here := s.used && s.seq == a.next
		if here && s.padding {
			s.used = false
			a.next++
			continue
		}
		if here && !s.start {
			// Not a frame's first packet where one must start: the stream
			// is damaged (or the sender dropped a partition).
			a.giveUp()
			continue
		}
		if f, ok := a.complete(a.next); ok {
			a.waiting = false
			return f, true
		}
		if !a.synced {
			continue // complete dropped a frame and now waits for a keyframe
		}
		if !a.waiting && a.hasHole() {
			a.waiting, a.since = true, now
			a.stats.Waits++
		}
		if a.waiting {
			if k, ok := a.findKeyframe(); ok {
				a.skipTo(k) // a keyframe needs nothing before it
				continue
			}
			if now.Sub(a.since) >= MaxWait {
				a.giveUp()
				continue
			}
		}
		return Frame{}, false
	}
}

// hasHole reports whether a number from a.next to the highest seen is
// missing: a packet the next frame (or one after it) waits for.
func (a *Assembler) hasHole() bool {
	for q := a.next; int16(q-a.highest) <= 0; q++ {
		if s := &a.slots[q%bufferPackets]; !s.used || s.seq != q {
			return true
		}
	}
	return false
}

// complete passes on the frame starting at first if every packet of it is
// here: its data joined into a.buf, its slots freed and a.next moved past
// it.
func (a *Assembler) complete(first uint16) (Frame, bool) {
	s := &a.slots[first%bufferPackets]
	if !s.used || s.seq != first || !s.start {
		return Frame{}, false
	}
	ts, key := s.ts, s.key
	last := first
	size := 0
	for n := 0; ; n++ {
		if n == bufferPackets {
			return Frame{}, false
		}
		p := &a.slots[last%bufferPackets]
		if !p.used || p.seq != last || p.padding || p.ts != ts || (n > 0 && p.start) {
			return Frame{}, false
		}
		size += len(p.data)
		if p.end {
			break
		}
		last++
	}
	if size > MaxFrameBytes {
		a.stats.FramesDropped++
		a.drop(first, last+1)
		a.needKey, a.synced = true, false
		return Frame{}, false
	}
	a.buf = a.buf[:0]
	for q := first; ; q++ {
		p := &a.slots[q%bufferPackets]
		a.buf = append(a.buf, p.data...)
		p.used = false
		if q == last {
			break
		}
	}
	a.next, a.synced, a.passed = last+1, true, true
	if !key && a.needKey {
		a.stats.FramesDropped++
		a.synced = false // wait for a keyframe
		return Frame{}, false
	}
	a.needKey = false
	return Frame{Data: a.buf, Timestamp: ts, Keyframe: key}, true
}

// findKeyframe returns the first sequence number of the oldest complete
// keyframe in the buffer, after a.next when it is known.
func (a *Assembler) findKeyframe() (uint16, bool) {
	best, found := uint16(0), false
	for i := range a.slots {
		s := &a.slots[i]
		if !s.used || !s.key || (a.passed && int16(s.seq-a.next) < 0) {
			continue
		}
		if found && int16(s.seq-best) >= 0 {
			continue
		}
		if a.isComplete(s.seq) {
			best, found = s.seq, true
		}
	}
	return best, found
}

// isComplete reports whether the frame starting at first is all here.
func (a *Assembler) isComplete(first uint16) bool {
	ts := a.slots[first%bufferPackets].ts
	for n, q := 0, first; n < bufferPackets; n, q = n+1, q+1 {
		p := &a.slots[q%bufferPackets]
		if !p.used || p.seq != q || p.padding || p.ts != ts || (n > 0 && p.start) {
			return false
		}
		if p.end {
			return true
		}
	}
	return false
}

// skipTo drops every buffered packet before seq and makes the frame
// starting there the next one.
func (a *Assembler) skipTo(seq uint16) {
	if a.passed {
		a.drop(a.next, seq) // nothing before next is buffered
	} else {
		for i := range a.slots { // before the first frame: not counted
			if s := &a.slots[i]; s.used && int16(s.seq-seq) < 0 {
				s.used = false
			}
		}
	}
	a.next, a.synced, a.passed, a.waiting = seq, true, true, false
	a.needKey = true // until the keyframe is passed on (complete)
}

// giveUp abandons the frames from a.next on: the stream waits for a
// keyframe.
func (a *Assembler) giveUp() {
	a.stats.GiveUps++
	a.drop(a.next, a.next+bufferPackets-1)
	a.needKey, a.synced, a.waiting = true, false, false
}

// drop frees the slots of [from, to) and counts the frames among them
// (one per first packet, or one for a run missing its first).
func (a *Assembler) drop(from, to uint16) {
	frames := uint64(0)
	seen := false
	var ts uint32
	for q := from; q != to; q++ {
		s := &a.slots[q%bufferPackets]
		if !s.used || s.seq != q {
			continue
		}
		if !s.padding && (!seen || s.ts != ts) {
			frames++
			seen, ts = true, s.ts
		}
		s.used = false
	}
	a.stats.FramesDropped += frames
}

// parseDescriptor skips RFC 7741 §4.2's payload descriptor and returns the
// VP8 payload after it and whether it starts a frame (S set, PID 0). ok is
// false when the packet is too short or carries no payload.
func parseDescriptor(b []byte) (payload []byte, start, ok bool) {
	if len(b) < 1 {
		return nil, false, false
	}
	n := 1
	if b[0]&bitX != 0 {
		if len(b) < 2 {
			return nil, false, false
		}
		x := b[1]
		n = 2
		if x&bitI != 0 {
			if len(b) <= n {
				return nil, false, false
			}
			if b[n]&bitM != 0 {
				n += 2
			} else {
				n++
			}
		}
		if x&bitL != 0 {
			n++
		}
		if x&(bitT|bitK) != 0 {
			n++
		}
	}
	if len(b) <= n {
		return nil, false, false
	}
	return b[n:], b[0]&bitS != 0 && b[0]&0x07 == 0, true
}
