package vp8rtp

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

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
	return streamFrom(t, 100, frames, keyEvery, size)
}

func streamFrom(t *testing.T, seq uint16, frames, keyEvery, size int) ([]rtp.Packet, [][]byte) {
	z, _ := NewPacketizer(Params{InitialSeq: seq})
	var pkts []rtp.Packet
	var want [][]byte
	for i := range frames {
		f := frameOf(size+i, i%keyEvery == 0, byte(i))
		want = append(want, f)
		pkts = append(pkts, capture(t, z, f, uint32(i*3000))...)
	}
	return pkts, want
}

// feed pushes pkts at now and collects the frames passed on, checking
// each against want (frame i has timestamp 3000·i; keyframes every
// keyEvery).
type feeder struct {
	t        *testing.T
	a        *Assembler
	want     [][]byte
	keyEvery int
	got      []int
}

func (f *feeder) push(now time.Time, pkts ...rtp.Packet) {
	f.t.Helper()
	for i := range pkts {
		f.a.Push(&pkts[i])
		f.drain(now)
	}
}

func (f *feeder) drain(now time.Time) {
	f.t.Helper()
	for {
		fr, ok := f.a.Next(now)
		if !ok {
			return
		}
		idx := int(fr.Timestamp / 3000)
		if !bytes.Equal(fr.Data, f.want[idx]) || fr.Keyframe != (idx%f.keyEvery == 0) {
			f.t.Fatalf("frame %d differs", idx)
		}
		f.got = append(f.got, idx)
	}
}

func seqOfFrames(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// A packet that never comes holds up the frames after it until a keyframe
// is complete: that one is passed on at once, the rest dropped.
func TestAssembleLossUntilKeyframe(t *testing.T) {
	pkts, want := stream(t, 10, 5, 3000) // 3 packets a frame
	f := &feeder{t: t, a: NewAssembler(), want: want, keyEvery: 5}
	if !f.a.WantKeyframe() {
		t.Fatal("a new assembler should wait for a keyframe")
	}
	now := time.Unix(0, 0)
	f.push(now, pkts[:4]...) // frame 0, and frame 1's first packet
	f.push(now, pkts[5:]...) // frame 1's second never comes
	if !slices.Equal(f.got, append([]int{0}, seqOfFrames(5, 9)...)) {
		t.Fatalf("frames %v, want 0 and 5..9", f.got)
	}
	st := f.a.Stats()
	if st.PacketsLost != 1 || st.FramesDropped != 4 || st.Waits != 1 || st.GiveUps != 0 || f.a.WantKeyframe() {
		t.Fatalf("stats %+v, want 1 lost, 4 dropped, one wait, no give-up, no keyframe wanted", st)
	}
}

// A packet resent after the frames behind it arrived (a NACK's answer)
// completes its frame, and every frame is passed on, in order.
func TestAssembleResent(t *testing.T) {
	pkts, want := streamFrom(t, 65530, 10, 10, 3000) // across the sequence wrap
	f := &feeder{t: t, a: NewAssembler(), want: want, keyEvery: 10}
	now := time.Unix(0, 0)
	lost := pkts[4] // frame 1's second
	f.push(now, pkts[:4]...)
	f.push(now, pkts[5:12]...) // frames 2 and 3 wait
	if !slices.Equal(f.got, []int{0}) || f.a.WantKeyframe() {
		t.Fatalf("frames %v before the resend (want 0), want keyframe %v", f.got, f.a.WantKeyframe())
	}
	f.push(now.Add(MaxWait/2), lost)
	f.push(now.Add(MaxWait/2), pkts[12:]...)
	f.push(now.Add(MaxWait/2), lost) // resent twice
	if !slices.Equal(f.got, seqOfFrames(0, 9)) {
		t.Fatalf("frames %v, want 0..9", f.got)
	}
	st := f.a.Stats()
	if st.PacketsLost != 0 || st.FramesDropped != 0 || st.Waits != 1 || st.PacketsIgnored != 1 {
		t.Fatalf("stats %+v, want nothing lost or dropped, one wait, one packet ignored", st)
	}
}

// A packet that does not come within MaxWait gives the waiting frames up:
// a keyframe is wanted, and the next one restores the stream.
func TestAssembleGiveUp(t *testing.T) {
	pkts, want := stream(t, 20, 10, 3000)
	f := &feeder{t: t, a: NewAssembler(), want: want, keyEvery: 10}
	now := time.Unix(0, 0)
	f.push(now, pkts[:4]...)
	f.push(now, pkts[5:9]...) // frame 1 waits for pkts[4]
	f.push(now.Add(MaxWait-time.Millisecond), pkts[9:12]...)
	if f.a.WantKeyframe() || len(f.got) != 1 {
		t.Fatalf("gave up before MaxWait: frames %v", f.got)
	}
	f.push(now.Add(MaxWait), pkts[12:15]...)
	if !f.a.WantKeyframe() {
		t.Fatal("no keyframe wanted after MaxWait")
	}
	f.push(now.Add(MaxWait), pkts[4]) // too late now
	f.push(now.Add(MaxWait), pkts[15:]...)
	if !slices.Equal(f.got, append([]int{0}, seqOfFrames(10, 19)...)) || f.a.WantKeyframe() {
		t.Fatalf("frames %v (want 0, 10..19), keyframe wanted %v", f.got, f.a.WantKeyframe())
	}
	if st := f.a.Stats(); st.GiveUps != 1 || st.FramesDropped < 4 {
		t.Fatalf("stats %+v, want one give-up and frames 1..4 dropped", st)
	}
}

// Packets reordered within and across frames, duplicates and padding
// between frames: every frame is passed on once, in order.
func TestAssembleReorderDuplicatesPadding(t *testing.T) {
	pkts, want := stream(t, 6, 6, 3000)
	f := &feeder{t: t, a: NewAssembler(), want: want, keyEvery: 6}
	pkts[1], pkts[2] = pkts[2], pkts[1] // frame 0's 2nd and 3rd swapped
	pkts[5], pkts[6] = pkts[6], pkts[5] // frame 1's last after frame 2's first
	pkts = slices.Insert(pkts, 8, pkts[7])
	// Padding only (as a browser's bandwidth probe) between frames 3 and 4:
	// the frames after it are renumbered.
	pad := rtp.Packet{Header: rtp.Header{SequenceNumber: pkts[12].SequenceNumber + 1, Timestamp: 9000, Padding: true}}
	for i := 13; i < len(pkts); i++ {
		pkts[i].SequenceNumber++
	}
	pkts = slices.Insert(pkts, 13, pad)
	f.push(time.Unix(0, 0), pkts...)
	if !slices.Equal(f.got, seqOfFrames(0, 5)) {
		t.Fatalf("frames %v, want 0..5", f.got)
	}
	if st := f.a.Stats(); st.PacketsIgnored != 1 || st.FramesDropped != 0 || st.PacketsLost != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAssembleNoAllocation(t *testing.T) {
	pkts, _ := stream(t, 60, 30, 20000) // over 1000 packets: every slot used once first
	a := NewAssembler()
	now := time.Unix(0, 0)
	half := len(pkts) / 2
	for i := range pkts[:half] {
		a.Push(&pkts[i])
		for _, ok := a.Next(now); ok; _, ok = a.Next(now) {
		}
	}
	i := half
	allocs := testing.AllocsPerRun(len(pkts)-half-1, func() {
		if i%7 != 3 { // some lost, to exercise the waits
			a.Push(&pkts[i])
		}
		for _, ok := a.Next(now); ok; _, ok = a.Next(now) {
		}
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
			a.Push(&p)
			for fr, ok := a.Next(time.Unix(int64(i), 0)); ok; fr, ok = a.Next(time.Unix(int64(i), 0)) {
				if len(fr.Data) == 0 {
					t.Fatal("empty frame")
				}
			}
		}
	})
}

// FuzzAssemblerOrder delivers a real stream with losses, duplicates,
// reordering and time jumps chosen by the fuzzer: whatever happens, every
// frame passed on is exactly one that was sent, in sending order, never
// twice, and a delta frame only right after the frame before it.
func FuzzAssemblerOrder(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 2, 0, 3, 0, 0, 4, 0, 5})
	f.Add([]byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 6, 6, 6, 6})
	pkts, want := stream(&testing.T{}, 40, 8, 2500)
	f.Fuzz(func(t *testing.T, plan []byte) {
		a := NewAssembler()
		now := time.Unix(0, 0)
		last := -1
		var held []rtp.Packet
		check := func() {
			for {
				fr, ok := a.Next(now)
				if !ok {
					return
				}
				idx := int(fr.Timestamp / 3000)
				if idx <= last || !bytes.Equal(fr.Data, want[idx]) {
					t.Fatalf("frame %d after %d, or not as sent", idx, last)
				}
				if !fr.Keyframe && idx != last+1 {
					t.Fatalf("delta frame %d passed on after %d", idx, last)
				}
				last = idx
			}
		}
		for i := range pkts {
			op := byte(0)
			if i < len(plan) {
				op = plan[i] % 7
			}
			switch op {
			case 1: // lost
				continue
			case 2: // held back, delivered later
				held = append(held, pkts[i])
				continue
			case 3: // twice
				a.Push(&pkts[i])
			case 4: // time passes
				now = now.Add(MaxWait / 3)
			case 5: // the held-back packets arrive now
				for j := range held {
					a.Push(&held[j])
					check()
				}
				held = held[:0]
			}
			a.Push(&pkts[i])
			check()
		}
	})
}

// A long wait for a keyframe (a sender that ignores PLIs for a minute)
// does not make new packets look old when sequence numbers wrap past the
// last frame passed on: the keyframe that finally comes is passed on.
func TestAssembleLongKeyframeWait(t *testing.T) {
	pkts, want := stream(t, 2, 2, 3000)
	f := &feeder{t: t, a: NewAssembler(), want: want, keyEvery: 2}
	now := time.Unix(0, 0)
	f.push(now, pkts[:3]...) // frame 0
	f.a.RequireKeyframe()    // the decoder failed on it
	// 40000 packets of delta frames later (past half the sequence space),
	// a keyframe.
	z, _ := NewPacketizer(Params{InitialSeq: pkts[2].SequenceNumber + 1})
	delta := frameOf(500, false, 0)
	for i := range 40000 {
		z.Packetize(delta, uint32(100000+i), func(p *rtp.Packet) error { f.a.Push(p); f.drain(now); return nil })
	}
	key := frameOf(3000, true, 1)
	f.want = append(f.want, key)
	z.Packetize(key, 2*3000, func(p *rtp.Packet) error {
		c := *p
		c.Payload = bytes.Clone(p.Payload)
		f.push(now, c)
		return nil
	})
	if !slices.Equal(f.got, []int{0, 2}) {
		t.Fatalf("frames %v, want 0 then the keyframe", f.got)
	}
}
