package vp8rtp

import (
	"github.com/pion/rtp"
)

// MaxFrameBytes bounds a frame under assembly: a sender that never sets
// the marker bit cannot make the receiver grow without limit. 4 MiB holds
// any realistic keyframe up to 4K.
const MaxFrameBytes = 4 << 20

// initialFrameBytes is preallocated so frames of up to 1280x720 keyframe
// size never grow the buffer in steady state.
const initialFrameBytes = 256 << 10

// Frame is one reassembled VP8 frame. Data is the Assembler's buffer,
// valid until the next Push.
type Frame struct {
	Data      []byte
	Timestamp uint32
	Keyframe  bool
}

// AssemblerStats counts what the Assembler saw.
type AssemblerStats struct {
	PacketsLost      uint64 // sequence numbers never seen (gaps)
	PacketsMalformed uint64 // too short for a payload descriptor
	PacketsIgnored   uint64 // duplicates and late (reordered) packets
	FramesDropped    uint64 // damaged, or not decodable until a keyframe
}

// Assembler reassembles VP8 frames from RTP packets of one stream. It
// treats a late packet as lost: video has no jitter buffer here, and a
// keyframe after a loss repairs more than waiting would. After any loss —
// and at the start, having joined mid-stream — it passes on no frame until
// a keyframe, and WantKeyframe is true meanwhile, so the caller sends a
// PLI. It is not safe for concurrent use.
type Assembler struct {
	buf     []byte
	ts      uint32
	key     bool
	lastSeq uint16
	started bool // a packet has been seen: lastSeq is valid
	inFrame bool // assembling a frame whose packets so far all arrived
	needKey bool
	stats   AssemblerStats
}

// NewAssembler returns an Assembler waiting for its first keyframe.
func NewAssembler() *Assembler {
	return &Assembler{buf: make([]byte, 0, initialFrameBytes), needKey: true}
}

// WantKeyframe reports whether the stream is waiting for a keyframe (after
// a loss or at the start): the caller should ask the sender for one.
func (a *Assembler) WantKeyframe() bool { return a.needKey }

// RequireKeyframe makes the Assembler pass on no frame until a keyframe:
// for when the decoder failed on a frame the Assembler thought whole.
func (a *Assembler) RequireKeyframe() { a.needKey = true }

// Stats returns the counters so far.
func (a *Assembler) Stats() AssemblerStats { return a.stats }

// Push adds one packet and returns the frame it completes, if any.
func (a *Assembler) Push(pkt *rtp.Packet) (Frame, bool) {
	if a.started {
		switch d := int16(pkt.SequenceNumber - a.lastSeq); {
		case d <= 0:
			a.stats.PacketsIgnored++
			return Frame{}, false
		case d > 1:
			a.stats.PacketsLost += uint64(d - 1)
			a.drop()
			a.needKey = true
		}
	}
	a.started = true
	a.lastSeq = pkt.SequenceNumber
	payload, start, ok := parseDescriptor(pkt.Payload)
	if !ok {
		a.stats.PacketsMalformed++
		a.drop()
		a.needKey = true
		return Frame{}, false
	}
	switch {
	case start:
		if a.inFrame {
			// The previous frame's last packet (marker) never came.
			a.drop()
			a.needKey = true
		}
		a.buf = a.buf[:0]
		a.inFrame = true
		a.ts = pkt.Timestamp
		// RFC 7741 §4.3: the P bit (inverse keyframe flag) is bit 0 of
		// the VP8 payload header's first byte.
		a.key = payload[0]&0x01 == 0
	case !a.inFrame:
		return Frame{}, false // the rest of a frame already dropped
	case pkt.Timestamp != a.ts:
		a.drop()
		a.needKey = true
		return Frame{}, false
	}
	if len(a.buf)+len(payload) > MaxFrameBytes {
		a.drop()
		a.needKey = true
		return Frame{}, false
	}
	a.buf = append(a.buf, payload...)
	if !pkt.Marker {
		return Frame{}, false
	}
	a.inFrame = false
	if !a.key && a.needKey {
		a.stats.FramesDropped++
		return Frame{}, false
	}
	if a.key {
		a.needKey = false
	}
	return Frame{Data: a.buf, Timestamp: a.ts, Keyframe: a.key}, true
}

// drop abandons the frame under assembly, if any.
func (a *Assembler) drop() {
	if a.inFrame {
		a.stats.FramesDropped++
		a.inFrame = false
	}
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
