package nack

import (
	"encoding/binary"

	"github.com/pion/rtp"
)

// maxPacket is the most a slot holds, header and payload together: an
// Ethernet MTU. Senders here packetise for 1200 bytes and browsers for
// about as much; a larger packet is sent but not kept (pion's responder
// refuses to send it at all).
const maxPacket = 1500

// Room in a header for what Header.Unmarshal appends: RFC 3550's 15 CSRCs
// and 16 extensions (a one-byte header carries at most 14), so that
// unmarshalling a stored header into a reused rtp.Header never grows it.
const (
	maxCSRC       = 15
	maxExtensions = 16
)

// slot is one stored packet: its header marshalled as on the wire, then its
// payload, in the slot's own array. Keeping bytes rather than an rtp.Header
// means nothing in a slot points at the caller's buffers (which it reuses at
// once) and storing is a MarshalTo and a copy, never a make.
type slot struct {
	buf      [maxPacket]byte
	hlen     int   // header bytes at buf[0:hlen]
	plen     int   // payload bytes at buf[hlen:hlen+plen]
	padding  uint8 // Header.PaddingSize, which MarshalTo does not write
	seq      uint16
	valid    bool
	resentAt int64 // ns since the interceptor started; 0: never resent
}

// ring keeps the last len(slots) packets of a stream by sequence number. A
// packet lands in slot seq&mask whatever order it comes in, so reordered
// packets (roomd forwards in arrival order) are kept too; a slot answers
// only for the sequence number it holds, so a NACK for a packet already
// overwritten finds nothing.
type ring struct {
	slots []slot
	mask  uint16
}

func newRing(size uint16) ring {
	return ring{slots: make([]slot, size), mask: size - 1}
}

// put stores a copy of the packet and reports whether it fit.
func (r *ring) put(h *rtp.Header, payload []byte) bool {
	s := &r.slots[h.SequenceNumber&r.mask]
	s.valid = false
	n, err := h.MarshalTo(s.buf[:])
	if err != nil || n+len(payload) > len(s.buf) {
		return false // the old packet in this slot is gone anyway
	}
	s.hlen = n
	s.plen = copy(s.buf[n:], payload)
	s.padding = h.PaddingSize
	s.seq = h.SequenceNumber
	s.resentAt = 0
	s.valid = true
	return true
}

// get returns the slot holding seq, or nil.
func (r *ring) get(seq uint16) *slot {
	s := &r.slots[seq&r.mask]
	if !s.valid || s.seq != seq {
		return nil
	}
	return s
}

// resend is one packet on its way back out: a copy of a slot taken under
// the stream's lock, so that the media writer can overwrite the slot while
// the copy is written, and a header with room for what unmarshalling it
// appends. One per stream, guarded by stream.resendMu.
type resend struct {
	hdr     rtp.Header
	buf     [maxPacket + 2]byte // +2: the original sequence number of RTX
	hlen    int
	plen    int
	padding uint8
}

func newResend() *resend {
	r := &resend{}
	r.hdr.CSRC = make([]uint32, 0, maxCSRC)
	r.hdr.Extensions = make([]rtp.Extension, 0, maxExtensions)
	return r
}

// load copies s. Called under the stream's lock.
func (r *resend) load(s *slot) {
	r.hlen, r.plen, r.padding = s.hlen, s.plen, s.padding
	copy(r.buf[:], s.buf[:s.hlen+s.plen])
}

// size is the packet's size on the wire, for the retransmission budget.
func (r *resend) size() int { return r.hlen + r.plen + int(r.padding) }

// packet unmarshals the loaded header into r.hdr and returns the payload.
// With an RTX stream (RFC 4588 §4) the packet becomes a retransmission
// packet: the RTX SSRC, payload type and sequence number, the original
// sequence number before the payload, and no padding.
func (r *resend) packet(rtxSSRC uint32, rtxPT uint8, rtxSeq *uint16) ([]byte, error) {
	if _, err := r.hdr.Unmarshal(r.buf[:r.hlen]); err != nil {
		return nil, err
	}
	r.hdr.PaddingSize = r.padding
	payload := r.buf[r.hlen : r.hlen+r.plen]
	if rtxSSRC == 0 || rtxPT == 0 {
		return payload, nil
	}
	// Move the payload two bytes up, past the header bytes it no longer
	// needs (the header was unmarshalled already, but its extensions
	// point into buf[:hlen], so shift the payload rather than the start).
	copy(r.buf[r.hlen+2:], payload)
	payload = r.buf[r.hlen : r.hlen+2+r.plen]
	binary.BigEndian.PutUint16(payload, r.hdr.SequenceNumber)
	r.hdr.SSRC, r.hdr.PayloadType = rtxSSRC, rtxPT
	r.hdr.SequenceNumber = *rtxSeq
	*rtxSeq++
	r.hdr.Padding, r.hdr.PaddingSize = false, 0
	return payload, nil
}
