package pipeline

import (
	"time"

	"github.com/pion/rtp"
)

const (
	// frameMs is the default frame and packet duration; a pipeline may use
	// 10 ms frames, and a peer may send any Opus packet duration.
	frameMs = 20
	// minFrameMs is the shortest frame a pipeline may choose.
	minFrameMs = 10
	ringSize   = 128 // power of two: 1.28 s of 10 ms packets, past any JitterMaxMs
	ringMask   = ringSize - 1
	// slotBytes holds any single Opus packet (at most 1275 bytes per frame,
	// RFC 6716 §3.2.1) with room to spare; larger payloads are dropped.
	slotBytes = 1500
	// restartGap: a sequence jump this large (about a minute of packets) is
	// a sender that restarted its sequence, not loss.
	restartGap = 3000
	noLevel    = -1
)

// pullKind says what the jitter buffer had when the mixer needed the next
// packet.
type pullKind uint8

const (
	pullEmpty  pullKind = iota // nothing to play: buffering, or the stream paused
	pullPacket                 // the next packet, in order
	pullLost                   // the next packet is missing but later ones arrived
)

type slot struct {
	ext    int64 // extended sequence number of the packet held
	filled bool
	level  int16 // RFC 6464 level in -dBov, or noLevel
	n      int
	buf    [slotBytes]byte
}

// jitterBuffer reorders one member's packets by sequence number in a fixed
// ring and releases one per tick after a target delay. Sequence numbers are
// extended to 64 bits (RFC 3550 A.1), so wrap-around is just counting on.
// Payloads are copied into the ring's slots: no allocation per packet.
// It is not safe for concurrent use; the member's lock guards it.
type jitterBuffer struct {
	minMs, maxMs         int
	pktMs                int // the packets' duration, as the decoder last found it
	minFrames, maxFrames int // minMs and maxMs in packets
	target               int // current target delay in packets

	slots [ringSize]slot

	started bool
	ssrc    uint32
	maxExt  int64 // highest extended sequence number received
	next    int64 // next extended sequence number to play
	playing bool  // false while (re)filling to the target delay

	// Loss accounting, RFC 3550 A.3: expected − received over each run of
	// one sender's sequence (an epoch), summed over epochs.
	baseExt       int64
	epochReceived int64
	lostBefore    int64

	// RFC 3550 A.8 interarrival jitter, in RTP timestamp units.
	jitter      float64
	lastTransit uint32
	haveTransit bool

	packets, bytes        uint64
	late, dups, discarded uint64
	resets                uint64
}

// newJitterBuffer returns a buffer whose target delay stays within minMs
// and maxMs, counting packets of frameMs until setPacketMs says otherwise.
func newJitterBuffer(minMs, maxMs int) *jitterBuffer {
	jb := &jitterBuffer{minMs: minMs, maxMs: maxMs}
	jb.setPacketMs(frameMs)
	jb.target = jb.minFrames
	return jb
}

// setPacketMs sets the packets' duration (the decoder finds it: 10 ms from
// a daemon with 10 ms frames, 20 from a browser, 60 from some phones), so
// the delay bounds in milliseconds become the right number of packets.
func (jb *jitterBuffer) setPacketMs(ms int) {
	if ms <= 0 || ms == jb.pktMs {
		return
	}
	jb.pktMs = ms
	jb.minFrames = min(max(1, (jb.minMs+ms-1)/ms), ringSize-8)
	jb.maxFrames = min(max(jb.minFrames, (jb.maxMs+ms-1)/ms), ringSize-8)
	jb.target = min(max(jb.target, jb.minFrames), jb.maxFrames)
}

// restart begins a new epoch at the packet with sequence seq (a new sender,
// a new SSRC, or a sequence jump).
func (jb *jitterBuffer) restart(ssrc uint32, seq uint16) {
	if jb.started {
		jb.resets++
		jb.lostBefore += max(0, jb.maxExt-jb.baseExt+1-jb.epochReceived)
	}
	for i := range jb.slots {
		jb.slots[i].filled = false
	}
	jb.started = true
	jb.ssrc = ssrc
	jb.maxExt = int64(seq)
	jb.baseExt = int64(seq)
	jb.next = int64(seq)
	jb.epochReceived = 0
	jb.playing = false
	jb.haveTransit = false
}

// push files one packet that arrived at the given monotonic time, with the
// RFC 6464 level from its header extension (or noLevel).
func (jb *jitterBuffer) push(p *rtp.Packet, arrival time.Duration, level int16) {
	jb.packets++
	jb.bytes += uint64(len(p.Payload))
	if len(p.Payload) == 0 || len(p.Payload) > slotBytes {
		jb.discarded++
		return
	}
	if !jb.started || p.SSRC != jb.ssrc {
		jb.restart(p.SSRC, p.SequenceNumber)
	}
	// The extended number closest to the highest seen (RFC 3550 A.1).
	ext := jb.maxExt + int64(int16(p.SequenceNumber-uint16(jb.maxExt)))
	switch {
	case ext > jb.maxExt+restartGap || ext < jb.next-restartGap:
		jb.restart(p.SSRC, p.SequenceNumber)
		ext = jb.maxExt
	case ext >= jb.next+ringSize:
		// A long gap that still fits the sequence: skip ahead and refill
		// rather than conceal a second of missing audio.
		jb.next = ext
		jb.playing = false
	}
	jb.updateJitter(p.Timestamp, arrival)
	if ext < jb.next {
		jb.late++ // its tick has passed: played as lost already
		jb.epochReceived++
		return
	}
	s := &jb.slots[ext&ringMask]
	if s.filled && s.ext == ext {
		jb.dups++
		return
	}
	jb.epochReceived++
	s.ext, s.filled, s.level = ext, true, level
	s.n = copy(s.buf[:], p.Payload)
	jb.maxExt = max(jb.maxExt, ext)
}

// updateJitter is RFC 3550 A.8: J += (|D| − J)/16, where D is the change
// in transit time between consecutive packets, in 48 kHz units. It also
// moves the target delay to 4 J, within [min, max].
func (jb *jitterBuffer) updateJitter(ts uint32, arrival time.Duration) {
	arrivalTS := uint32(arrival.Nanoseconds() * 48 / 1e6)
	transit := arrivalTS - ts
	if jb.haveTransit {
		d := float64(int32(transit - jb.lastTransit))
		if d < 0 {
			d = -d
		}
		jb.jitter += (d - jb.jitter) / 16
	}
	jb.lastTransit, jb.haveTransit = transit, true
	want := int(4*jb.jitterMs()+float64(jb.pktMs)-1) / jb.pktMs
	jb.target = min(max(want, jb.minFrames), jb.maxFrames)
}

func (jb *jitterBuffer) jitterMs() float64 { return jb.jitter / 48 }

// pull takes what is due this tick. For pullPacket the payload is copied
// to dst (n bytes); for pullLost the following packet, when it is already
// here, is copied to fec (fecN bytes) so its in-band FEC can stand in.
func (jb *jitterBuffer) pull(dst, fec []byte) (kind pullKind, n, fecN int, level int16) {
	if !jb.started {
		return pullEmpty, 0, 0, noLevel
	}
	span := int(jb.maxExt - jb.next + 1)
	if !jb.playing {
		if span < jb.target {
			return pullEmpty, 0, 0, noLevel
		}
		jb.playing = true
	}
	// Bound the latency: a burst beyond the maximum delay is dropped
	// from the old end, down to the target.
	if span > jb.maxFrames {
		for jb.maxExt-jb.next+1 > int64(jb.target) {
			if s := &jb.slots[jb.next&ringMask]; s.filled && s.ext == jb.next {
				s.filled = false
				jb.discarded++
			}
			jb.next++
		}
	}
	if jb.next > jb.maxExt {
		jb.playing = false // drained: the sender paused (DTX, mute) or stalled
		return pullEmpty, 0, 0, noLevel
	}
	s := &jb.slots[jb.next&ringMask]
	jb.next++
	if s.filled && s.ext == jb.next-1 {
		s.filled = false
		return pullPacket, copy(dst, s.buf[:s.n]), 0, s.level
	}
	if f := &jb.slots[jb.next&ringMask]; f.filled && f.ext == jb.next {
		fecN = copy(fec, f.buf[:f.n])
	}
	return pullLost, 0, fecN, noLevel
}

// lost is the cumulative number of packets lost (RFC 3550 A.3), never
// negative even when duplicates arrived.
func (jb *jitterBuffer) lost() int64 {
	if !jb.started {
		return 0
	}
	return jb.lostBefore + max(0, jb.maxExt-jb.baseExt+1-jb.epochReceived)
}
