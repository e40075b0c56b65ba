package vp8rtp

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/pion/rtp"
)

// frameOf makes a fake VP8 frame of n bytes; its first byte's P bit says
// keyframe (0) or not (1), the rest is a counter.
func frameOf(n int, key bool, seed byte) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = byte(i) + seed
	}
	f[0] = 0x10
	if !key {
		f[0] |= 0x01
	}
	return f
}

// capture collects copies of the packets a Packetizer emits.
func capture(t *testing.T, z *Packetizer, frame []byte, ts uint32) []rtp.Packet {
	t.Helper()
	var pkts []rtp.Packet
	err := z.Packetize(frame, ts, func(p *rtp.Packet) error {
		c := *p
		c.Payload = bytes.Clone(p.Payload)
		pkts = append(pkts, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkts
}

func TestPacketize(t *testing.T) {
	for _, tc := range []struct {
		size, want int
		pid        bool
	}{{1, 1, true}, {1196, 1, true}, {1197, 2, true}, {1199, 1, false}, {1200, 2, false}, {10000, 9, true}} {
		z, err := NewPacketizer(Params{SSRC: 7, InitialSeq: 65534, InitialPictureID: 0x7fff, NoPictureID: !tc.pid})
		if err != nil {
			t.Fatal(err)
		}
		for f := range 2 {
			frame := frameOf(tc.size, f == 0, byte(f))
			pkts := capture(t, z, frame, uint32(3000*f))
			if len(pkts) != tc.want {
				t.Fatalf("%d bytes: %d packets, want %d", tc.size, len(pkts), tc.want)
			}
			var got []byte
			for i, p := range pkts {
				if len(p.Payload) > MaxPayload {
					t.Fatalf("payload %d > %d", len(p.Payload), MaxPayload)
				}
				if want := uint16(65534 + f*tc.want + i); p.SequenceNumber != want {
					t.Fatalf("seq %d, want %d", p.SequenceNumber, want)
				}
				if p.Marker != (i == len(pkts)-1) || p.Timestamp != uint32(3000*f) || p.SSRC != 7 || p.PayloadType != DefaultPayloadType {
					t.Fatalf("packet %d: header %+v", i, p.Header)
				}
				if s := p.Payload[0]&bitS != 0; s != (i == 0) {
					t.Fatalf("packet %d: S bit %v", i, s)
				}
				if tc.pid {
					// RFC 7741 §4.2: X, then I, then M + 15 bits; 0x7fff wraps to 0.
					pid := uint16(p.Payload[2]&0x7f)<<8 | uint16(p.Payload[3])
					if p.Payload[0]&bitX == 0 || p.Payload[1] != bitI || pid != uint16((0x7fff+f)&0x7fff) {
						t.Fatalf("descriptor % x, want PictureID %d", p.Payload[:4], (0x7fff+f)&0x7fff)
					}
				}
				payload, _, ok := parseDescriptor(p.Payload)
				if !ok {
					t.Fatal("own descriptor does not parse")
				}
				got = append(got, payload...)
			}
			if !bytes.Equal(got, frame) {
				t.Fatal("payloads do not rebuild the frame")
			}
		}
	}
}

func TestPacketizeErrors(t *testing.T) {
	if _, err := NewPacketizer(Params{MaxPayload: 3}); !errors.Is(err, ErrBadArg) {
		t.Fatalf("MaxPayload 3: %v", err)
	}
	z, _ := NewPacketizer(Params{})
	if err := z.Packetize(nil, 0, func(*rtp.Packet) error { return nil }); !errors.Is(err, ErrBadArg) {
		t.Fatalf("empty frame: %v", err)
	}
	boom := errors.New("boom")
	calls := 0
	err := z.Packetize(make([]byte, 5000), 0, func(*rtp.Packet) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("writer error: %v after %d calls", err, calls)
	}
}

// stream packetises frames (a keyframe every keyEvery) into packets.
func stream(t *testing.T, frames, keyEvery, size int) ([]rtp.Packet, [][]byte) {
	z, _ := NewPacketizer(Params{InitialSeq: 100})
	var pkts []rtp.Packet
	var want [][]byte
	for i := range frames {
		f := frameOf(size+i, i%keyEvery == 0, byte(i))
		want = append(want, f)
		pkts = append(pkts, capture(t, z, f, uint32(i*3000))...)
	}
	return pkts, want
}

func TestAssemble(t *testing.T) {
	pkts, want := stream(t, 10, 5, 3000)
	a := NewAssembler()
	if !a.WantKeyframe() {
		t.Fatal("a new assembler should wait for a keyframe")
	}
	// Lose the second packet of frame 1: frames 1..4 are dropped, frame 5
	// (a keyframe) restores the stream.
	var got []int
	for i, p := range pkts {
		if i == 4 {
			continue
		}
		f, ok := a.Push(&p)
		if !ok {
			continue
		}
		idx := int(f.Timestamp / 3000)
		if !bytes.Equal(f.Data, want[idx]) || f.Keyframe != (idx%5 == 0) {
			t.Fatalf("frame %d differs", idx)
		}
		got = append(got, idx)
	}
	if len(got) != 6 || got[0] != 0 || got[1] != 5 {
		t.Fatalf("frames %v, want 0 and 5..9", got)
	}
	st := a.Stats()
	if st.PacketsLost != 1 || st.FramesDropped != 4 || a.WantKeyframe() {
		t.Fatalf("stats %+v, want 1 lost, 4 dropped, no keyframe wanted", st)
	}
}

func TestAssembleReorderAndDuplicates(t *testing.T) {
	pkts, _ := stream(t, 3, 3, 3000)
	a := NewAssembler()
	pkts[1], pkts[2] = pkts[2], pkts[1]    // frame 0's 2nd and 3rd swapped
	pkts = slices.Insert(pkts, 5, pkts[4]) // and one packet twice
	frames := 0
	for _, p := range pkts {
		if _, ok := a.Push(&p); ok {
			frames++
		}
	}
	st := a.Stats()
	if frames != 0 || st.PacketsIgnored != 2 || !a.WantKeyframe() {
		t.Fatalf("%d frames, stats %+v: a reordered keyframe should be dropped and a keyframe wanted", frames, st)
	}
}

func TestAssembleNoAllocation(t *testing.T) {
	pkts, _ := stream(t, 30, 30, 20000)
	a := NewAssembler()
	i := 0
	allocs := testing.AllocsPerRun(len(pkts)-1, func() {
		a.Push(&pkts[i])
		i++
	})
	if allocs != 0 {
		t.Fatalf("%.2f allocations per packet", allocs)
	}
}

func TestParseDescriptor(t *testing.T) {
	for _, tc := range []struct {
		b         []byte
		payload   int
		start, ok bool
	}{
		{[]byte{0x10, 0xaa}, 1, true, true},
		{[]byte{0x00, 0xaa}, 1, false, true},
		{[]byte{0x11, 0xaa}, 1, false, true},                              // S but PID 1
		{[]byte{0x90, 0x80, 0x05, 0xaa}, 1, true, true},                   // 7-bit PictureID
		{[]byte{0x90, 0xf0, 0x80, 0x01, 0x02, 0x03, 0xaa}, 1, true, true}, // 15-bit, L, T/K
		{[]byte{0x90, 0x80, 0x85}, 0, false, false},
		{[]byte{0x90}, 0, false, false},
		{[]byte{0x10}, 0, false, false},
		{nil, 0, false, false},
	} {
		p, s, ok := parseDescriptor(tc.b)
		if len(p) != tc.payload || s != tc.start || ok != tc.ok {
			t.Errorf("% x: %d bytes, start %v, ok %v", tc.b, len(p), s, ok)
		}
	}
}

func FuzzAssembler(f *testing.F) {
	f.Add([]byte{0x90, 0x80, 0x80, 0x01, 0x10, 0x02}, uint16(1), true)
	f.Add([]byte{0x10, 0x00}, uint16(2), false)
	f.Fuzz(func(t *testing.T, payload []byte, seq uint16, marker bool) {
		a := NewAssembler()
		for i := range 3 {
			p := rtp.Packet{Header: rtp.Header{SequenceNumber: seq + uint16(i), Marker: marker}, Payload: payload}
			if fr, ok := a.Push(&p); ok && len(fr.Data) == 0 {
				t.Fatal("empty frame")
			}
		}
	})
}
