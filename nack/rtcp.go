package nack

import (
	"encoding/binary"
	"time"
)

// RTCP packet types (RFC 3550 §12.1, RFC 4585 §6.1) and the generic NACK's
// feedback message type.
const (
	typeSR      = 200
	typeRR      = 201
	typeRTPFB   = 205
	fmtNACK     = 1
	reportBlock = 24 // bytes of one reception report block
)

// walkRTCP calls nack for every generic NACK in the compound packet b and
// report for every reception report block. It reads the wire format in
// place: rtcp.Unmarshal would allocate every packet, and a NACK answer must
// not cost more than the packets it resends. Anything malformed ends the
// walk; the interceptors after this one still see and judge the packet.
func walkRTCP(b []byte, nack func(media uint32, pid, blp uint16), report func(ssrc, lsr, dlsr uint32)) {
	for len(b) >= 4 {
		if b[0]>>6 != 2 {
			return
		}
		count := int(b[0] & 0x1f)
		length := (int(binary.BigEndian.Uint16(b[2:])) + 1) * 4
		if length > len(b) {
			return
		}
		body := b[4:length]
		switch b[1] {
		case typeRTPFB:
			// Sender SSRC, media SSRC, then one PID and BLP per FCI
			// (RFC 4585 §6.2.1).
			if count == fmtNACK && len(body) >= 8 {
				media := binary.BigEndian.Uint32(body[4:])
				for fci := body[8:]; len(fci) >= 4; fci = fci[4:] {
					nack(media, binary.BigEndian.Uint16(fci), binary.BigEndian.Uint16(fci[2:]))
				}
			}
		case typeSR:
			if len(body) >= 24 {
				reports(body[24:], count, report) // after the sender info
			}
		case typeRR:
			if len(body) >= 4 {
				reports(body[4:], count, report)
			}
		}
		b = b[length:]
	}
}

func reports(b []byte, count int, report func(ssrc, lsr, dlsr uint32)) {
	for ; count > 0 && len(b) >= reportBlock; count-- {
		report(binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[16:]), binary.BigEndian.Uint32(b[20:]))
		b = b[reportBlock:]
	}
}

// forEachLost calls f for the packet id and every packet its bitmask of
// following lost packets names (RFC 4585 §6.2.1), in order, until f
// returns false.
func forEachLost(pid, blp uint16, f func(seq uint16) bool) bool {
	if !f(pid) {
		return false
	}
	for i := uint16(0); i < 16; i++ {
		if blp&(1<<i) != 0 && !f(pid+i+1) {
			return false
		}
	}
	return true
}

// ntpEpochOffset is the seconds from 1900 (NTP) to 1970 (Unix).
const ntpEpochOffset = 2208988800

// rttFromReport is the round trip a reception report shows (RFC 3550
// §6.4.1: arrival minus LSR minus DLSR, in 1/65536 s), and false when the
// receiver has had no sender report yet or the clocks make no sense.
func rttFromReport(now time.Time, lsr, dlsr uint32) (time.Duration, bool) {
	if lsr == 0 {
		return 0, false
	}
	secs := uint64(now.Unix() + ntpEpochOffset)
	frac := uint64(now.Nanosecond()) << 32 / 1e9
	mid := uint32(secs<<16 | frac>>16)
	rtt := mid - lsr - dlsr
	if rtt >= 1<<31 {
		return 0, false
	}
	return time.Duration(rtt) * time.Second >> 16, true
}

// observeRTT folds a round-trip sample into s's smoothed one (RFC 6298's
// 1/8 gain): one late report should not open or close the resend gap.
func (s *stream) observeRTT(rtt time.Duration) {
	old := s.rtt.Load()
	if old == 0 {
		s.rtt.Store(int64(rtt))
		return
	}
	s.rtt.Store(old + (int64(rtt)-old)/8)
}
