package vp8rtp

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// FuzzDepacketize checks both halves of the depacketiser. Arbitrary bytes
// as a payload: parseDescriptor never panics, and what it returns is a
// non-empty tail of the payload, starting a frame only when S is set and
// the partition id is 0. A frame the fuzzer chooses, packetised with a
// payload limit and PictureID setting it chooses: every packet's
// descriptor parses, only the first starts the frame, the payloads put
// together are the frame, and the Assembler passes on exactly that frame
// (as a keyframe when its P bit says so).
func FuzzDepacketize(f *testing.F) {
	f.Add([]byte{0x90, 0xe0, 0x80, 0x01, 0x02, 0x03, 0xaa}, []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x00, 0x30, 0x00, 1, 2, 3}, uint16(1200), false)
	f.Add([]byte{0x10, 0xaa}, bytes.Repeat([]byte{0x31, 0x07}, 1000), uint16(16), true)       // a delta frame in many small packets
	f.Add([]byte{0x80, 0x80, 0x85}, bytes.Repeat([]byte{0x00, 0xff}, 3000), uint16(0), false) // the default limit, three packets
	f.Add([]byte{0x91, 0x10, 0xaa}, []byte{0x00}, uint16(65000), true)                        // S with PID 1; a 1-byte frame
	f.Add([]byte{}, []byte{}, uint16(17), false)
	f.Add([]byte{0xf8, 0x80, 0x80}, bytes.Repeat([]byte{0x00, 0xff}, 4583), uint16(21), false) // a keyframe in 540 packets: more than the Assembler holds
	f.Fuzz(func(t *testing.T, payload, frame []byte, limit uint16, noPID bool) {
		if p, start, ok := parseDescriptor(payload); ok {
			if len(p) == 0 || len(p) >= len(payload) || !bytes.HasSuffix(payload, p) {
				t.Fatalf("descriptor of % x leaves % x", payload, p)
			}
			if start && (payload[0]&bitS == 0 || payload[0]&0x07 != 0) {
				t.Fatalf("% x said to start a frame", payload)
			}
		} else if p != nil || start {
			t.Fatalf("refused % x, yet returned % x start=%v", payload, p, start)
		}

		z, err := NewPacketizer(Params{InitialSeq: 65530, MaxPayload: int(limit), NoPictureID: noPID})
		if err != nil {
			if limit != 0 && limit >= 16 && limit <= 65000 {
				t.Fatalf("limit %d refused: %v", limit, err)
			}
			return
		}
		if len(frame) == 0 {
			if z.Packetize(frame, 0, func(*rtp.Packet) error { return nil }) == nil {
				t.Fatal("an empty frame was packetised")
			}
			return
		}
		a := NewAssembler()
		var joined []byte
		n := 0
		err = z.Packetize(frame, 3000, func(p *rtp.Packet) error {
			if max := int(limit); max == 0 && len(p.Payload) > MaxPayload || max != 0 && len(p.Payload) > max {
				t.Fatalf("packet of %d bytes past the limit %d", len(p.Payload), limit)
			}
			body, start, ok := parseDescriptor(p.Payload)
			if !ok || start != (n == 0) {
				t.Fatalf("packet %d: descriptor ok=%v start=%v", n, ok, start)
			}
			joined = append(joined, body...)
			n++
			a.Push(p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(joined, frame) {
			t.Fatalf("%d packets carry % x, not the frame", n, joined)
		}
		got, ok := a.Next(time.Unix(0, 0))
		if n > bufferPackets {
			// The Assembler holds bufferPackets packets: a frame in more
			// (over 600 KB at the default payload size) is never whole.
			if ok {
				t.Fatalf("a frame of %d packets passed on", n)
			}
			return
		}
		if key := frame[0]&1 == 0; !key {
			if ok {
				t.Fatal("a delta frame passed on before any keyframe")
			}
			return
		}
		if !ok || !got.Keyframe || got.Timestamp != 3000 || !bytes.Equal(got.Data, frame) {
			t.Fatalf("keyframe of %d bytes in %d packets: passed on %v, %d bytes", len(frame), n, ok, len(got.Data))
		}
		if _, again := a.Next(time.Unix(0, 0)); again {
			t.Fatal("a second frame from one")
		}
	})
}
