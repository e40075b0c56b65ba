package pipeline

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// FuzzJitterBuffer drives the buffer with arbitrary push/pull scripts: each
// 4 bytes are an op (even: push, odd: pull), a sequence step, an SSRC bit
// and an arrival jitter. It checks the invariants the mixer relies on:
// played packets come out in strictly increasing sequence order, and
// counters never go negative.
func FuzzJitterBuffer(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0})
	f.Add([]byte{0, 255, 0, 9, 0, 2, 0, 0, 0, 254, 1, 3, 1, 0, 0, 0, 1, 0, 0, 0})
	f.Add([]byte{0, 128, 0, 0, 0, 127, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, script []byte) {
		jb := newJitterBuffer(40, 200)
		var dst, fec [slotBytes]byte
		var seq uint16
		var ts uint32
		var tick time.Duration
		var lastExt int64 = -1 << 62
		var lastSSRC uint32
		for i := 0; i+4 <= len(script); i += 4 {
			o := script[i : i+4]
			tick += 20 * time.Millisecond
			if o[0]%2 == 0 {
				seq += uint16(int8(o[1]))
				ts += uint32(int8(o[1])) * 960
				p := &rtp.Packet{
					Header:  rtp.Header{SequenceNumber: seq, SSRC: uint32(o[2] & 1), Timestamp: ts},
					Payload: []byte{byte(seq >> 8), byte(seq)},
				}
				jb.push(p, tick+time.Duration(o[3])*time.Millisecond, noLevel)
				continue
			}
			kind, n, _, _ := jb.pull(dst[:], fec[:])
			if kind != pullPacket {
				continue
			}
			if n != 2 || uint16(dst[0])<<8|uint16(dst[1]) != uint16(jb.next-1) {
				t.Fatalf("played payload %x for sequence %d", dst[:n], uint16(jb.next-1))
			}
			if jb.ssrc == lastSSRC && jb.next-1 <= lastExt && jb.resets == 0 {
				t.Fatalf("played %d after %d", jb.next-1, lastExt)
			}
			lastExt, lastSSRC = jb.next-1, jb.ssrc
		}
		if jb.lost() < 0 || jb.target < jb.minFrames || jb.target > jb.maxFrames {
			t.Fatalf("lost %d target %d", jb.lost(), jb.target)
		}
	})
}

// FuzzReceive feeds arbitrary datagrams through the whole receive path:
// RTP parsing, the level extension, the jitter buffer and libopus decoding
// of whatever payload arrives, then a mix. Nothing may panic.
func FuzzReceive(f *testing.F) {
	rp := newReceivePath(f, 1)
	f.Add(rp.dgram)
	f.Add([]byte{0x80, 0x6f, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0x03, 0x00})
	f.Add([]byte{0x90, 0x6f, 0, 2, 0, 0, 3, 0xc0, 0, 0, 0, 3, 0xbe, 0xde, 0, 1, 0x10, 0x8f, 0, 0, 0xf8, 0xff, 0xfe})
	f.Add([]byte{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9})
	m := rp.members[0]
	var tick time.Duration
	f.Fuzz(func(t *testing.T, dgram []byte) {
		for range 3 {
			tick += 20 * time.Millisecond
			m.receive(dgram, tick)
			rp.recv.mixOnce()
		}
	})
}
