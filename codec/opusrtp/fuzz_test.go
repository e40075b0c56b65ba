package opusrtp

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
)

// FuzzAudioLevel: the receive side's reading of a member's Opus RTP — pion
// parses the datagram, AudioLevel reads the RFC 6464 extension — never
// panics, and a level it finds is the extension's first byte, split. The
// send side round-trips: what Packetize makes (of a payload, level and
// voice flag the fuzzer chooses), marshalled and parsed back, carries the
// same payload, timestamp, level (clamped to 127) and flag.
func FuzzAudioLevel(f *testing.F) {
	f.Add([]byte{0x90, 0x6f, 0, 2, 0, 0, 3, 0xc0, 0, 0, 0, 3, 0xbe, 0xde, 0, 1, 0x10, 0x8f, 0, 0, 0xf8, 0xff, 0xfe}, uint8(1), []byte{0xf8, 0xff, 0xfe}, uint8(15), true)
	f.Add([]byte{0x80, 0x6f, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0x03, 0x00}, uint8(1), []byte{0x08}, uint8(127), false)
	f.Add([]byte{0x90, 0x6f, 0, 2, 0, 0, 3, 0xc0, 0, 0, 0, 3, 0x10, 0x00, 0, 1, 0x01, 0x8f, 0, 0, 0xf8}, uint8(1), []byte{}, uint8(200), true) // two-byte extension header
	f.Add([]byte{0x90, 0x6f, 0, 2, 0, 0, 3, 0xc0, 0, 0, 0, 3, 0xbe, 0xde, 0, 9}, uint8(14), []byte{1}, uint8(0), false)                        // extension length past the end
	f.Add([]byte{0xb0, 0x6f, 0, 2, 0, 0, 3, 0xc0, 0, 0, 0, 3, 0xbe, 0xde, 0, 1, 0x10, 0x8f, 0, 0, 0xf8, 0, 0, 4}, uint8(1), []byte{1, 2}, uint8(90), true)
	f.Fuzz(func(t *testing.T, dgram []byte, extID uint8, payload []byte, level uint8, voice bool) {
		var p rtp.Packet
		if err := p.Unmarshal(dgram); err == nil {
			l, v, ok := AudioLevel(&p.Header, extID)
			if ok {
				ext := p.GetExtension(extID)
				if extID == 0 || len(ext) == 0 || l != ext[0]&0x7f || v != (ext[0]&0x80 != 0) {
					t.Fatalf("level %d voice %v from extension %d = % x", l, v, extID, ext)
				}
			} else if l != 0 || v {
				t.Fatalf("no level, but %d/%v", l, v)
			}
		}

		id := extID%14 + 1 // 1..14: what one-byte headers carry
		z := NewPacketizer(Params{SSRC: 5, InitialTimestamp: 1000, LevelExtID: id})
		sent := z.Packetize(payload, 960, level, voice)
		var buf [1500 + 64]byte
		if len(payload) > 1500 {
			return
		}
		n, err := sent.MarshalTo(buf[:])
		if err != nil {
			t.Fatalf("marshalling a packet of %d bytes: %v", len(payload), err)
		}
		var back rtp.Packet
		if err := back.Unmarshal(buf[:n]); err != nil {
			t.Fatalf("our own packet % x does not parse: %v", buf[:n], err)
		}
		l, v, ok := AudioLevel(&back.Header, id)
		if !ok || l != min(level, 127) || v != voice {
			t.Fatalf("level %d/%v sent as id %d, read %d/%v/%v", level, voice, id, l, v, ok)
		}
		if !bytes.Equal(back.Payload, payload) || back.Timestamp != 1000 || back.SSRC != 5 || !back.Marker {
			t.Fatalf("packet changed on the wire: %+v", back.Header)
		}
	})
}
