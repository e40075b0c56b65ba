package nack

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Keeping a packet and answering a NACK with it allocate nothing.
func TestZeroAllocs(t *testing.T) {
	h := newHarness(t, DefaultSize, nackInfo)
	seq := uint16(100)
	if a := testing.AllocsPerRun(1000, func() { seq++; h.write(seq) }); a != 0 {
		t.Errorf("write: %v allocations per packet, want 0", a)
	}
	nack := marshal(t, nackFor(0))
	pid := len(nack) - 4 // the one FCI's packet id
	before := h.f.Resent()
	a := testing.AllocsPerRun(1000, func() {
		seq++
		h.write(seq)
		binary.BigEndian.PutUint16(nack[pid:], seq)
		h.nack(nack)
	})
	if a != 0 {
		t.Errorf("write and resend: %v allocations per packet, want 0", a)
	}
	if got := h.f.Resent() - before; got != 1001 { // AllocsPerRun runs once more to warm up
		t.Errorf("resent %d packets, want 1001", got)
	}
}

// ntp32 is the middle 32 bits of t's NTP time, as a sender report's LSR.
func ntp32(t time.Time) uint32 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	return uint32(secs<<16 | (uint64(t.Nanosecond())<<32/1e9)>>16)
}

// A receiver report showing a 10 s round trip keeps a repeated NACK from
// being answered twice within it.
func TestRepeatWithinRTTNotResent(t *testing.T) {
	h := newHarness(t, 16, nackInfo)
	h.write(1)
	rr := &rtcp.ReceiverReport{SSRC: 9, Reports: []rtcp.ReceptionReport{{
		SSRC: testSSRC, LastSenderReport: ntp32(time.Now().Add(-10 * time.Second)),
	}}}
	h.nack(marshal(t, rr))
	if rtt := time.Duration(h.streamRTT()); rtt < 9*time.Second || rtt > 11*time.Second {
		t.Fatalf("round trip from the report = %v, want about 10s", rtt)
	}
	h.nack(marshal(t, nackFor(1)))
	h.nack(marshal(t, nackFor(1)))
	if got := h.f.Resent(); got != 1 {
		t.Fatalf("Resent() = %d, want 1: the repeat came within the round trip", got)
	}
}

// streamRTT is the smoothed round trip of the harness's stream.
func (h *harness) streamRTT() int64 {
	return h.r.lookup(testSSRC).rtt.Load()
}

// With RTX negotiated a resend goes out as RFC 4588 retransmission
// packets: RTX SSRC and payload type, its own sequence, the original
// sequence number before the original payload.
func TestRTX(t *testing.T) {
	info := nackInfo
	info.SSRCRetransmission, info.PayloadTypeRetransmission = 0x99, 97
	h := newHarness(t, 16, info)
	h.pkt.Header.Padding, h.pkt.Header.PaddingSize = true, 8
	for seq := range uint16(5) {
		h.write(seq)
	}
	var rtxSeqs []uint16
	for _, seq := range []uint16{2, 4} {
		h.nack(marshal(t, nackFor(seq)))
		var p rtp.Packet
		if err := p.Unmarshal(h.w.last); err != nil {
			t.Fatal(err)
		}
		if p.SSRC != 0x99 || p.PayloadType != 97 || p.Padding {
			t.Fatalf("resend of %d: SSRC %#x PT %d padding %v, want 0x99, 97, none", seq, p.SSRC, p.PayloadType, p.Padding)
		}
		if osn := binary.BigEndian.Uint16(p.Payload); osn != seq || len(p.Payload) != 2+len(h.pkt.Payload) ||
			p.Payload[2] != byte(seq>>8) || p.Payload[3] != byte(seq) {
			t.Fatalf("resend of %d: OSN %d, payload %d bytes", seq, osn, len(p.Payload))
		}
		rtxSeqs = append(rtxSeqs, p.SequenceNumber)
	}
	if rtxSeqs[1] != rtxSeqs[0]+1 {
		t.Fatalf("RTX sequence numbers %v, want consecutive", rtxSeqs)
	}
}

func TestBudget(t *testing.T) {
	var b budget // 80 kbit/s: 10,000 B/s, a 5,000-byte window
	for i := range 4 {
		if !b.allow(0, 1200, 80_000) {
			t.Fatalf("packet %d of 4800 bytes refused", i)
		}
	}
	if b.allow(0, 1200, 80_000) {
		t.Fatal("a fifth 1200-byte packet fit in 5000 bytes")
	}
	if !b.allow(100*time.Millisecond, 1200, 80_000) {
		t.Fatal("100 ms later 1000 more bytes did not let one through")
	}
	var low budget // 8 kbit/s: a 500-byte window, less than a packet
	if !low.allow(0, 1200, 8_000) || low.allow(0, 1200, 8_000) {
		t.Fatal("a full window must pass exactly one packet")
	}
}

// The target bitrate is found in the attributes pion's own cc interceptor
// sets: this pins the type match in targetBitrate to the pion in go.mod.
func TestTargetBitrateFromPionCC(t *testing.T) {
	f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(300_000), gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
	})
	if err != nil {
		t.Fatal(err)
	}
	i, err := f.NewInterceptor("pc")
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	r := i.BindRTCPReader(&rtcpIn{next: marshal(t, &rtcp.ReceiverReport{SSRC: 9})})
	_, attr, err := r.Read(make([]byte, 1500), nil)
	if err != nil {
		t.Fatal(err)
	}
	if get := targetBitrate(attr); get == nil || get() != 300_000 {
		t.Fatalf("target bitrate not found in cc's attributes %v", attr)
	}
}

type visit struct {
	media     uint32
	pid, blp  uint16
	lsr, dlsr uint32
}

func walk(b []byte) []visit {
	var v []visit
	walkRTCP(b, func(m uint32, pid, blp uint16) { v = append(v, visit{media: m, pid: pid, blp: blp}) },
		func(ssrc, lsr, dlsr uint32) { v = append(v, visit{media: ssrc, lsr: lsr, dlsr: dlsr}) })
	return v
}

// pionVisits is what walkRTCP should see, by pion's parser.
func pionVisits(pkts []rtcp.Packet) []visit {
	var v []visit
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.TransportLayerNack:
			for _, n := range p.Nacks {
				v = append(v, visit{media: p.MediaSSRC, pid: n.PacketID, blp: uint16(n.LostPackets)})
			}
		case *rtcp.ReceiverReport:
			for _, r := range p.Reports {
				v = append(v, visit{media: r.SSRC, lsr: r.LastSenderReport, dlsr: r.Delay})
			}
		case *rtcp.SenderReport:
			for _, r := range p.Reports {
				v = append(v, visit{media: r.SSRC, lsr: r.LastSenderReport, dlsr: r.Delay})
			}
		}
	}
	return v
}

// FuzzWalkRTCP checks the in-place parser against pion's on whatever pion
// accepts, and that nothing makes it panic.
func FuzzWalkRTCP(f *testing.F) {
	f.Add(marshal(f, &rtcp.SenderReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 2, LastSenderReport: 3, Delay: 4}}},
		&rtcp.PictureLossIndication{MediaSSRC: 2}, nackFor(1, 2, 3, 40)))
	f.Add(marshal(f, &rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 5}, {SSRC: 6, Delay: 7}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := walk(b)
		pkts, err := rtcp.Unmarshal(b)
		if err != nil {
			return
		}
		if want := pionVisits(pkts); !slices.Equal(got, want) {
			t.Fatalf("walkRTCP saw %v, pion parses %v", got, want)
		}
	})
}

func TestForEachLost(t *testing.T) {
	var got []uint16
	forEachLost(65535, 0b101, func(s uint16) bool { got = append(got, s); return true })
	if want := []uint16{65535, 0, 2}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
