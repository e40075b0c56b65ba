package opusrtp

import (
	"testing"

	"github.com/pion/rtp"
)

func TestSequenceTimestampMarker(t *testing.T) {
	z := NewPacketizer(Params{SSRC: 7, InitialSeq: 65534, InitialTimestamp: 4294966000, LevelExtID: 1})
	payload := []byte{0xf8, 1, 2}
	// send, send, skip, skip, send, send: DTX gap of two frames, across the
	// sequence and timestamp wrap.
	type want struct {
		seq    uint16
		ts     uint32
		marker bool
	}
	var got []want
	for _, sent := range []bool{true, true, false, false, true, true} {
		if !sent {
			z.Skip(960)
			continue
		}
		p := z.Packetize(payload, 960, 30, true)
		got = append(got, want{p.SequenceNumber, p.Timestamp, p.Marker})
		if p.SSRC != 7 || p.PayloadType != DefaultPayloadType || p.Version != 2 {
			t.Fatalf("header %+v", p.Header)
		}
	}
	exp := []want{
		{65534, 4294966000, true},
		{65535, 4294966000 + 960, false},
		{0, 4294966000 + 4*960 - 1<<32, true}, // two frames skipped: +3 frames, wrapped
		{1, 4294966000 + 5*960 - 1<<32, false},
	}
	for i := range exp {
		if got[i] != exp[i] {
			t.Errorf("packet %d = %+v, want %+v", i, got[i], exp[i])
		}
	}
}

func TestLevelExtensionRoundTrip(t *testing.T) {
	for _, extID := range []uint8{1, 5, 14} {
		z := NewPacketizer(Params{LevelExtID: extID})
		var buf [1500]byte
		for _, tc := range []struct {
			level uint8
			voice bool
		}{{0, true}, {127, false}, {45, true}, {200, false}} {
			p := z.Packetize([]byte{1, 2, 3}, 960, tc.level, tc.voice)
			n, err := p.MarshalTo(buf[:])
			if err != nil {
				t.Fatal(err)
			}
			var back rtp.Packet
			if err := back.Unmarshal(buf[:n]); err != nil {
				t.Fatal(err)
			}
			level, voice, ok := AudioLevel(&back.Header, extID)
			if !ok || level != min(tc.level, 127) || voice != tc.voice {
				t.Errorf("id %d: level %d/%v/%v, want %d/%v", extID, level, voice, ok, tc.level, tc.voice)
			}
			if string(back.Payload) != "\x01\x02\x03" {
				t.Errorf("payload %x", back.Payload)
			}
		}
	}
}

func TestNoExtension(t *testing.T) {
	for _, extID := range []uint8{0, 15} { // none, and an id one-byte headers cannot carry
		p := NewPacketizer(Params{LevelExtID: extID}).Packetize([]byte{1}, 960, 10, true)
		if p.Extension || len(p.Extensions) != 0 {
			t.Errorf("id %d: extension present: %+v", extID, p.Header)
		}
		if _, _, ok := AudioLevel(&p.Header, 1); ok {
			t.Errorf("id %d: AudioLevel found a level", extID)
		}
	}
}

func TestPacketizeDoesNotAllocate(t *testing.T) {
	z := NewPacketizer(Params{LevelExtID: 3})
	payload := make([]byte, 80)
	var buf [1500]byte
	if a := testing.AllocsPerRun(100, func() {
		p := z.Packetize(payload, 960, 20, true)
		if _, err := p.MarshalTo(buf[:]); err != nil {
			t.Fatal(err)
		}
		z.Skip(960)
		if _, _, ok := AudioLevel(&p.Header, 3); !ok {
			t.Fatal("no level")
		}
	}); a != 0 {
		t.Errorf("%v allocs per packet, want 0", a)
	}
}

func BenchmarkPacketize(b *testing.B) {
	z := NewPacketizer(Params{LevelExtID: 1})
	payload := make([]byte, 80)
	var buf [1500]byte
	b.ReportAllocs()
	for b.Loop() {
		p := z.Packetize(payload, 960, 20, true)
		if _, err := p.MarshalTo(buf[:]); err != nil {
			b.Fatal(err)
		}
	}
}
