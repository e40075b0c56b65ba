// Package vp8rtp carries VP8 frames in RTP (RFC 7741): a Packetizer that
// splits each encoded frame into packets of at most 1200 payload bytes,
// and an Assembler that puts received packets back together into frames
// for the decoder, dropping damaged frames and asking for a keyframe.
//
// pion's sample packetiser allocates several times per packet; both halves
// here reuse one rtp.Packet and one buffer, so encode → packetise →
// WriteRTP and Read → assemble → decode make no allocation
// (docs/ARCHITECTURE.md, "The path of a frame").
package vp8rtp

import (
	"errors"
	"fmt"

	"github.com/pion/rtp"
)

// ClockRate is VP8's RTP clock (RFC 7741 §4.1).
const ClockRate = 90000

// DefaultPayloadType is the dynamic payload type browsers commonly offer
// for VP8. pion's TrackLocalStaticRTP rewrites it (and the SSRC) to the
// negotiated values.
const DefaultPayloadType = 96

// MaxPayload is the default largest RTP payload, descriptor included:
// 1200 bytes leaves room for RTP, SRTP, UDP, IPv6 and TURN headers within
// a 1280-byte IPv6 minimum MTU, as browsers do.
const MaxPayload = 1200

// The payload descriptor's bits (RFC 7741 §4.2).
const (
	bitX = 0x80 // extended control bits present
	bitS = 0x10 // start of a VP8 partition
	bitI = 0x80 // PictureID present (extension byte)
	bitL = 0x40 // TL0PICIDX present
	bitT = 0x20 // TID present
	bitK = 0x10 // KEYIDX present
	bitM = 0x80 // 15-bit PictureID (first PictureID byte)
)

// ErrBadArg is returned for an unusable frame or MaxPayload.
var ErrBadArg = errors.New("vp8rtp: bad argument")

// Params configures a Packetizer.
type Params struct {
	SSRC        uint32
	PayloadType uint8 // 0 → DefaultPayloadType
	// InitialSeq and InitialPictureID should be random (RFC 3550 §5.1).
	InitialSeq       uint16
	InitialPictureID uint16
	// NoPictureID leaves out the 15-bit PictureID. It is sent by default:
	// browsers use it to tell frames apart across losses (and to map
	// RPSI/SLI), and it costs 3 bytes a packet.
	NoPictureID bool
	// MaxPayload bounds each packet's payload, descriptor included;
	// 0 → MaxPayload.
	MaxPayload int
}

// Packetizer splits VP8 frames into RTP packets. It is not safe for
// concurrent use.
type Packetizer struct {
	pkt       rtp.Packet
	buf       []byte // one packet's payload, reused
	pictureID uint16
	withPID   bool
	started   bool
}

// NewPacketizer returns a Packetizer whose first packet carries
// p.InitialSeq.
func NewPacketizer(p Params) (*Packetizer, error) {
	if p.PayloadType == 0 {
		p.PayloadType = DefaultPayloadType
	}
	if p.MaxPayload == 0 {
		p.MaxPayload = MaxPayload
	}
	if p.MaxPayload < 16 || p.MaxPayload > 65000 {
		return nil, fmt.Errorf("vp8rtp: max payload %d: %w (want 16..65000)", p.MaxPayload, ErrBadArg)
	}
	z := &Packetizer{buf: make([]byte, p.MaxPayload), pictureID: p.InitialPictureID & 0x7fff, withPID: !p.NoPictureID}
	z.pkt.Version = 2
	z.pkt.PayloadType = p.PayloadType
	z.pkt.SSRC = p.SSRC
	z.pkt.SequenceNumber = p.InitialSeq
	return z, nil
}

// Packetize splits one encoded frame, whose capture time on the 90 kHz
// clock is ts, into packets and hands each to fn, in order. The packet and
// its payload are reused: fn must not keep them past its return. Frames
// are split into equal parts (not MaxPayload-sized ones and a runt) so no
// packet is needlessly small. It returns fn's first error, leaving the
// rest of the frame unsent; sequence numbers stay contiguous.
func (z *Packetizer) Packetize(frame []byte, ts uint32, fn func(*rtp.Packet) error) error {
	if len(frame) == 0 {
		return fmt.Errorf("vp8rtp: packetize: %w: empty frame", ErrBadArg)
	}
	desc := 1
	if z.withPID {
		desc = 4
	}
	room := len(z.buf) - desc
	n := (len(frame) + room - 1) / room
	base, extra := len(frame)/n, len(frame)%n
	z.pkt.Timestamp = ts
	for i := range n {
		size := base
		if i < extra {
			size++
		}
		b := z.buf[:desc+size]
		b[0] = 0 // PID 0: voipd sends one partition per frame
		if i == 0 {
			b[0] |= bitS
		}
		if z.withPID {
			b[0] |= bitX
			b[1] = bitI
			b[2] = bitM | byte(z.pictureID>>8)
			b[3] = byte(z.pictureID)
		}
		copy(b[desc:], frame[:size])
		frame = frame[size:]
		if z.started {
			z.pkt.SequenceNumber++
		}
		z.started = true
		// RFC 7741 §4.1: the marker bit is set on the last packet of a frame.
		z.pkt.Marker = i == n-1
		z.pkt.Payload = b
		if err := fn(&z.pkt); err != nil {
			z.pictureID = (z.pictureID + 1) & 0x7fff
			return err
		}
	}
	z.pictureID = (z.pictureID + 1) & 0x7fff
	return nil
}

// NextSequenceNumber is the sequence number the next packet will carry.
func (z *Packetizer) NextSequenceNumber() uint16 {
	if !z.started {
		return z.pkt.SequenceNumber
	}
	return z.pkt.SequenceNumber + 1
}
