// Package opusrtp puts Opus packets into RTP (RFC 7587) for voipd's send
// path, with the client-to-mixer audio level header extension of RFC 6464,
// and reads that extension back on the receive side.
//
// pion's sample packetiser allocates several times per packet; this one
// fills a single reused rtp.Packet, so encode → packetise → WriteRTP makes
// no allocation (docs/ARCHITECTURE.md, "The path of a frame").
package opusrtp

import (
	"github.com/pion/rtp"
)

// ClockRate is Opus' RTP clock (RFC 7587 §4.1: always 48 kHz).
const ClockRate = 48000

// DefaultPayloadType is the dynamic payload type browsers commonly offer
// for Opus. pion's TrackLocalStaticRTP rewrites it (and the SSRC) to the
// negotiated values, so it matters only outside a PeerConnection.
const DefaultPayloadType = 111

// Params configures a Packetizer.
type Params struct {
	SSRC        uint32
	PayloadType uint8 // 0 means DefaultPayloadType
	// InitialSeq and InitialTimestamp should be random (RFC 3550 §5.1).
	InitialSeq       uint16
	InitialTimestamp uint32
	// LevelExtID is the negotiated one-byte extension id (1..14) of
	// urn:ietf:params:rtp-hdrext:ssrc-audio-level; 0 (or any other value)
	// sends no level.
	LevelExtID uint8
}

// Packetizer turns one Opus packet per frame into RTP. Sequence numbers
// count packets sent; timestamps count samples, including the frames that
// were not sent (DTX or mute), so the receiver sees the real gap. It is
// not safe for concurrent use.
type Packetizer struct {
	pkt     rtp.Packet
	level   [1]byte // the extension payload, reused: SetExtension keeps this slice
	ts      uint32  // timestamp of the next frame
	gap     bool    // the previous frame was not sent: mark the next one
	started bool
}

// NewPacketizer returns a Packetizer whose first packet carries
// p.InitialSeq and p.InitialTimestamp.
func NewPacketizer(p Params) *Packetizer {
	if p.PayloadType == 0 {
		p.PayloadType = DefaultPayloadType
	}
	z := &Packetizer{ts: p.InitialTimestamp}
	z.pkt.Version = 2
	z.pkt.PayloadType = p.PayloadType
	z.pkt.SSRC = p.SSRC
	z.pkt.SequenceNumber = p.InitialSeq
	// Registered once; per packet only level[0] changes. One-byte headers
	// (RFC 8285 §4.2) carry ids 1..14 only, and pion does not check that on
	// a header without extensions, so other ids send no level.
	if p.LevelExtID >= 1 && p.LevelExtID <= 14 {
		if err := z.pkt.SetExtensionWithProfile(p.LevelExtID, z.level[:], rtp.ExtensionProfileOneByte); err != nil {
			z.pkt.ClearExtensions()
		}
	}
	return z
}

// Packetize wraps payload (one encoded frame of the given number of
// samples) in the reused RTP packet and returns it. The packet and its
// payload stay valid until the next call; payload is not copied. level is
// the frame's RFC 6464 level (0..127 -dBov) and voice its voice-activity
// flag. The marker bit is set on the first packet of a talkspurt: the very
// first packet and the first after any skipped frame (RFC 3551 §4.1).
func (z *Packetizer) Packetize(payload []byte, samples int, level uint8, voice bool) *rtp.Packet {
	if z.started {
		z.pkt.SequenceNumber++
	}
	z.pkt.Marker = z.gap || !z.started
	z.started = true
	z.gap = false
	z.pkt.Timestamp = z.ts
	z.ts += uint32(samples)
	z.level[0] = EncodeLevel(level, voice)
	z.pkt.Payload = payload
	return &z.pkt
}

// Skip records a frame of the given number of samples that is not sent
// (DTX silence or a muted microphone): the timestamp moves on, the
// sequence number does not, and the next packet starts a talkspurt.
func (z *Packetizer) Skip(samples int) {
	z.ts += uint32(samples)
	z.gap = true
}

// NextTimestamp is the RTP timestamp the next frame will carry.
func (z *Packetizer) NextTimestamp() uint32 { return z.ts }

// EncodeLevel builds the RFC 6464 §3 byte: the V (voice activity) bit and
// the level in -dBov, clamped to 0..127.
func EncodeLevel(level uint8, voice bool) byte {
	b := min(level, 127)
	if voice {
		b |= 0x80
	}
	return b
}

// AudioLevel reads the RFC 6464 extension with id extID from h: the level
// (0..127 -dBov) and the voice-activity flag; ok is false when extID is 0
// or the packet carries no such extension. It does not allocate.
func AudioLevel(h *rtp.Header, extID uint8) (level uint8, voice, ok bool) {
	if extID == 0 || !h.Extension {
		return 0, false, false
	}
	b := h.GetExtension(extID)
	if len(b) < 1 {
		return 0, false, false
	}
	return b[0] & 0x7f, b[0]&0x80 != 0, true
}
