package intercept

import "encoding/binary"

// RTCP packet types (RFC 3550 §12.1, RFC 4585 §6.1) and the transport-wide
// feedback's message type (draft-holmer-rmcat-transport-wide-cc-extensions-01
// §3.1).
const (
	typeSR     = 200
	typeRTPFB  = 205
	fmtTWCC    = 15
	headerSize = 4
)

// walkRTCP calls f with the packet type, the count/format field and the
// body (after the 4-byte common header) of every packet of the compound
// RTCP packet b, reading in place. Anything malformed ends the walk.
func walkRTCP(b []byte, f func(pt, count uint8, body []byte)) {
	for len(b) >= headerSize {
		if b[0]>>6 != 2 {
			return
		}
		length := (int(binary.BigEndian.Uint16(b[2:])) + 1) * 4
		if length > len(b) {
			return
		}
		f(b[1], b[0]&0x1f, b[headerSize:length])
		b = b[length:]
	}
}

// rtpSeq, rtpTimestamp and rtpSSRC read an RTP header's fields in place;
// the caller has checked len(b) >= 12.
func rtpSeq(b []byte) uint16       { return binary.BigEndian.Uint16(b[2:]) }
func rtpTimestamp(b []byte) uint32 { return binary.BigEndian.Uint32(b[4:]) }
