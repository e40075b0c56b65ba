package pipeline

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/voipd/voipd/media/settings"

	"github.com/pion/rtp"
)

// op is one step of a jitter buffer script: push a packet or pull a tick.
type op struct {
	push bool
	seq  uint16
	ssrc uint32
	at   int // arrival, in 20 ms ticks
}

func push(seq uint16, at int) op { return op{push: true, seq: seq, ssrc: 1, at: at} }
func pushSSRC(ssrc uint32, seq uint16, at int) op {
	return op{push: true, seq: seq, ssrc: ssrc, at: at}
}

var pullOp = op{}

// pulled is what a pull returned: 'E'mpty, 'P'acket (with the payload's
// sequence tag), 'L'ost (with the FEC packet's tag, or -1).
type pulled struct {
	kind byte
	tag  int
}

func runScript(t *testing.T, jb *jitterBuffer, ops []op) []pulled {
	t.Helper()
	var out []pulled
	var dst, fec [slotBytes]byte
	for _, o := range ops {
		if o.push {
			// The payload tags the packet with its sequence number; the
			// timestamp follows the arrival tick, so the scripts see no
			// jitter and the target stays at the 40 ms minimum.
			p := &rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: o.seq, SSRC: o.ssrc, Timestamp: uint32(o.at) * 960},
				Payload: []byte{byte(o.seq >> 8), byte(o.seq)},
			}
			jb.push(p, time.Duration(o.at)*20*time.Millisecond, noLevel)
			continue
		}
		kind, n, fecN, _ := jb.pull(dst[:], fec[:])
		switch kind {
		case pullEmpty:
			out = append(out, pulled{'E', 0})
		case pullPacket:
			if n != 2 {
				t.Fatalf("payload of %d bytes", n)
			}
			out = append(out, pulled{'P', int(dst[0])<<8 | int(dst[1])})
		case pullLost:
			tag := -1
			if fecN == 2 {
				tag = int(fec[0])<<8 | int(fec[1])
			}
			out = append(out, pulled{'L', tag})
		}
	}
	return out
}

func TestJitterBufferScripts(t *testing.T) {
	P := func(tag int) pulled { return pulled{'P', tag} }
	L := func(tag int) pulled { return pulled{'L', tag} }
	E := pulled{'E', 0}
	tests := []struct {
		name      string
		ops       []op
		want      []pulled
		lost      int64
		late      uint64
		dups      uint64
		discarded uint64
	}{
		{
			name: "waits for the 40 ms target, then plays in order",
			ops:  []op{push(1, 0), pullOp, push(2, 1), pullOp, push(3, 2), pullOp, pullOp, pullOp},
			want: []pulled{E, P(1), P(2), P(3), E},
		},
		{
			name: "reordering is put back in order",
			ops:  []op{push(1, 0), push(3, 0), push(2, 0), pullOp, pullOp, pullOp},
			want: []pulled{P(1), P(2), P(3)},
		},
		{
			name: "a loss offers the next packet for FEC",
			ops:  []op{push(1, 0), push(3, 0), push(4, 0), pullOp, pullOp, pullOp, pullOp},
			want: []pulled{P(1), L(3), P(3), P(4)},
			lost: 1,
		},
		{
			name: "two losses in a row: PLC, then FEC",
			ops:  []op{push(1, 0), push(4, 0), pullOp, pullOp, pullOp, pullOp},
			want: []pulled{P(1), L(-1), L(4), P(4)},
			lost: 2,
		},
		{
			name: "duplicates are dropped",
			ops:  []op{push(1, 0), push(1, 0), push(2, 0), push(2, 0), pullOp, pullOp},
			want: []pulled{P(1), P(2)},
			dups: 2,
		},
		{
			name: "a late packet is counted, not played, and not lost",
			ops:  []op{push(1, 0), push(3, 0), pullOp, pullOp, push(2, 2), pullOp},
			want: []pulled{P(1), L(3), P(3)},
			late: 1,
		},
		{
			name: "sequence wrap-around",
			ops:  []op{push(65534, 0), push(65535, 1), push(0, 2), push(1, 3), pullOp, pullOp, pullOp, pullOp},
			want: []pulled{P(65534), P(65535), P(0), P(1)},
		},
		{
			name: "loss across the wrap",
			ops:  []op{push(65535, 0), push(1, 1), pullOp, pullOp, pullOp},
			want: []pulled{P(65535), L(1), P(1)},
			lost: 1,
		},
		{
			name: "a new SSRC restarts at its own sequence",
			ops: []op{push(10, 0), push(11, 0), pullOp, pushSSRC(2, 40000, 1), pushSSRC(2, 40001, 1),
				pullOp, pullOp, pullOp},
			want: []pulled{P(10), P(40000), P(40001), E},
			lost: 0,
		},
		{
			name: "a huge jump on the same SSRC is a restart, not 20000 losses",
			ops:  []op{push(10, 0), push(11, 0), pullOp, pullOp, push(30000, 2), push(30001, 2), pullOp, pullOp},
			want: []pulled{P(10), P(11), P(30000), P(30001)},
		},
		{
			name: "a burst beyond the maximum delay is cut back to the target",
			ops: []op{push(1, 0), push(2, 0), push(3, 0), push(4, 0), push(5, 0), push(6, 0),
				push(7, 0), push(8, 0), push(9, 0), push(10, 0), push(11, 0), push(12, 0), pullOp, pullOp},
			want:      []pulled{P(11), P(12)},
			discarded: 10,
		},
		{
			name: "after draining (DTX pause) it refills to the target",
			ops:  []op{push(1, 0), push(2, 0), pullOp, pullOp, pullOp, push(3, 30), pullOp, push(4, 31), pullOp},
			want: []pulled{P(1), P(2), E, E, P(3)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jb := newJitterBuffer(40, 200)
			got := runScript(t, jb, tc.ops)
			if len(got) != len(tc.want) {
				t.Fatalf("pulls = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("pulls = %v, want %v", got, tc.want)
				}
			}
			if jb.lost() != tc.lost || jb.late != tc.late || jb.dups != tc.dups || jb.discarded != tc.discarded {
				t.Errorf("lost %d late %d dups %d discarded %d, want %d %d %d %d",
					jb.lost(), jb.late, jb.dups, jb.discarded, tc.lost, tc.late, tc.dups, tc.discarded)
			}
		})
	}
}

func TestJitterBufferLongRunWraps(t *testing.T) {
	jb := newJitterBuffer(40, 200)
	var dst, fec [slotBytes]byte
	seq := uint16(65000)
	var played int
	for tick := range 2000 { // 40 s: the sequence wraps once
		p := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, SSRC: 9, Timestamp: uint32(tick) * 960}, Payload: []byte{1}}
		jb.push(p, time.Duration(tick)*20*time.Millisecond, noLevel)
		seq++
		if kind, _, _, _ := jb.pull(dst[:], fec[:]); kind == pullPacket {
			played++
		}
	}
	if played < 1990 || jb.lost() != 0 || jb.resets != 0 {
		t.Errorf("played %d of 2000, lost %d, resets %d", played, jb.lost(), jb.resets)
	}
}

func TestJitterTargetAdapts(t *testing.T) {
	jb := newJitterBuffer(40, 200)
	var dst, fec [slotBytes]byte
	// Arrivals alternate 0 and 30 ms late: D alternates ±30 ms, so J
	// settles near 30 ms and the target at 4 J, capped at 200 ms.
	for i := range 200 {
		late := time.Duration(i%2) * 30 * time.Millisecond
		p := &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), SSRC: 1, Timestamp: uint32(i) * 960}, Payload: []byte{1}}
		jb.push(p, time.Duration(i)*20*time.Millisecond+late, noLevel)
		jb.pull(dst[:], fec[:])
	}
	if j := jb.jitterMs(); j < 25 || j > 31 {
		t.Errorf("jitter %.1f ms, want ≈ 30", j)
	}
	if got := jb.target * frameMs; got < 100 || got > 200 {
		t.Errorf("target delay %d ms, want 4×jitter within 40..200", got)
	}
	fixed := newJitterBuffer(60, 60)
	for i := range 50 {
		p := &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), SSRC: 1, Timestamp: uint32(i) * 960}, Payload: []byte{1}}
		fixed.push(p, time.Duration(i%2)*50*time.Millisecond+time.Duration(i)*20*time.Millisecond, noLevel)
	}
	if fixed.target != 3 {
		t.Errorf("min = max = 60 ms: target %d frames, want 3", fixed.target)
	}
}

// TestDefaultFloorUnderJitter: the default floor (one 20 ms frame) suits
// loopback, and arrivals jittered by up to 40 ms raise the target (4×
// the measured jitter) until nearly every packet plays in time again: the
// low floor costs a network with jitter a few late packets at the start,
// not a stream of them.
func TestDefaultFloorUnderJitter(t *testing.T) {
	cfg := settings.DefaultAudio()
	jb := newJitterBuffer(cfg.JitterMinMs, cfg.JitterMaxMs)
	if jb.minFrames != 1 {
		t.Fatalf("default floor %d frames, want 1", jb.minFrames)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	type event struct {
		at   time.Duration
		seq  int // -1: a pull
		late bool
	}
	var evs []event
	const n = 1000
	for i := range n {
		evs = append(evs, event{at: time.Duration(i)*20*time.Millisecond + time.Duration(rng.IntN(40))*time.Millisecond, seq: i})
		evs = append(evs, event{at: time.Duration(i)*20*time.Millisecond + 7*time.Millisecond, seq: -1})
	}
	slices.SortStableFunc(evs, func(a, b event) int { return cmp.Compare(a.at, b.at) })
	var dst, fec [slotBytes]byte
	var lateFirst, lateLast uint64
	for _, e := range evs {
		if e.seq < 0 {
			jb.pull(dst[:], fec[:])
			continue
		}
		p := &rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(e.seq), SSRC: 1, Timestamp: uint32(e.seq) * 960}, Payload: []byte{1}}
		before := jb.late
		jb.push(p, e.at, noLevel)
		if jb.late > before {
			if e.seq < n/2 {
				lateFirst++
			} else {
				lateLast++
			}
		}
	}
	if got := jb.target * frameMs; got < 40 {
		t.Errorf("target %d ms under ±20 ms of jitter (J %.1f ms), want it raised above the floor", got, jb.jitterMs())
	}
	if lateLast > n/2/100 {
		t.Errorf("%d of the last %d packets late (%d of the first): the target did not follow the jitter", lateLast, n/2, lateFirst)
	}
	t.Logf("late: %d in the first half, %d in the second; target %d ms, jitter %.1f ms", lateFirst, lateLast, jb.target*frameMs, jb.jitterMs())
}
