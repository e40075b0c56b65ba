package intercept

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// rtcpSink keeps what an interceptor wrote, marshalled (as pion's srtp
// session does before Write returns).
type rtcpSink struct {
	mu   sync.Mutex
	pkts []rtcp.Packet
}

func (s *rtcpSink) Write(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		return 0, err
	}
	got, err := rtcp.Unmarshal(b)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.pkts = append(s.pkts, got...)
	s.mu.Unlock()
	return len(b), nil
}

func (s *rtcpSink) take() []rtcp.Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pkts
	s.pkts = nil
	return p
}

// rtpSource hands a remote stream's reader one packet at a time.
type rtpSource struct{ pkt []byte }

func (r *rtpSource) Read(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
	return copy(b, r.pkt), a, nil
}

func rtpPacket(seq uint16, ts uint32) []byte {
	b := make([]byte, 12+100)
	b[0] = 0x80
	b[1] = 96
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], 1234)
	return b
}

var videoInfo = &interceptor.StreamInfo{SSRC: 1234, ClockRate: 90000,
	RTCPFeedback:        []interceptor.RTCPFeedback{{Type: "nack"}},
	RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 3}}}

// The receive path of the reports, and the send path of the reports and of
// congestion control, allocate nothing per packet. (The NACK generator's,
// which sits beside them, is held to the same in package nack.)
func TestPerPacketPathsDoNotAllocate(t *testing.T) {
	rep, _ := NewReports().NewInterceptor("")
	bwe := NewBWE(800_000, 50_000, 4_000_000)
	cc, _ := bwe.NewInterceptor("")
	for _, i := range []interceptor.Interceptor{rep, cc} {
		defer i.Close()
	}
	src := &rtpSource{}
	r := rep.BindRemoteStream(videoInfo, src)
	buf := make([]byte, 1500)
	seq := uint16(0)
	pkt := rtpPacket(0, 0)
	src.pkt = pkt
	if n := testing.AllocsPerRun(1000, func() {
		seq++
		if seq%7 == 0 {
			seq++ // a loss
		}
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*3000)
		if _, _, err := r.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("receiving: %v allocations per packet, want 0", n)
	}

	var sink rtpSink
	w := cc.BindLocalStream(videoInfo, rep.BindLocalStream(videoInfo, &sink))
	h := &rtp.Header{Version: 2, PayloadType: 96, SSRC: 1234}
	if err := h.SetExtension(5, []byte{1}); err != nil { // an audio level, say
		t.Fatal(err)
	}
	payload := make([]byte, 1000)
	if n := testing.AllocsPerRun(1000, func() {
		h.SequenceNumber++
		h.Timestamp += 3000
		if _, err := w.Write(h, payload, nil); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("sending: %v allocations per packet, want 0", n)
	}
	if len(h.Extensions) != 1 {
		t.Errorf("the caller's header has %d extensions after the writes, want its 1", len(h.Extensions))
	}
}

// rtpSink records the last packet written.
type rtpSink struct {
	hdr  rtp.Header
	n    int
	tcc  []uint16
	keep bool
}

func (s *rtpSink) Write(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
	s.n++
	if s.keep {
		s.tcc = append(s.tcc, binary.BigEndian.Uint16(h.GetExtension(3)))
		s.hdr = *h
	}
	return len(payload), nil
}

// Sender reports count what was sent; receiver reports what arrived, what
// was lost, and the last sender report's time.
func TestReports(t *testing.T) {
	i, _ := NewReports().NewInterceptor("")
	r := i.(*reports)
	defer r.Close()
	var out rtpSink
	w := r.BindLocalStream(&interceptor.StreamInfo{SSRC: 99, ClockRate: 90000}, &out)
	for k := range 10 {
		w.Write(&rtp.Header{SSRC: 99, SequenceNumber: uint16(k), Timestamp: uint32(k) * 3000}, make([]byte, 100), nil)
	}
	src := &rtpSource{}
	rd := r.BindRemoteStream(videoInfo, src)
	buf := make([]byte, 1500)
	for seq := uint16(100); seq < 120; seq++ {
		if seq%5 == 0 {
			continue // 4 of 20 lost
		}
		src.pkt = rtpPacket(seq, uint32(seq)*3000)
		rd.Read(buf, nil)
	}
	// A sender report from the remote stream's sender.
	sr, _ := (&rtcp.SenderReport{SSRC: 1234, NTPTime: 0x1122334455667788}).Marshal()
	rtcpIn := r.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, sr), a, nil
	}))
	rtcpIn.Read(buf, nil)

	var sink rtcpSink
	r.tick(&sink, time.Now())
	var gotSR *rtcp.SenderReport
	var gotRR *rtcp.ReceiverReport
	for _, p := range sink.take() {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			gotSR = p
		case *rtcp.ReceiverReport:
			gotRR = p
		}
	}
	if gotSR == nil || gotSR.SSRC != 99 || gotSR.PacketCount != 10 || gotSR.OctetCount != 1000 || gotSR.RTPTime < 27000 {
		t.Errorf("sender report %+v, want SSRC 99, 10 packets, 1000 octets, RTP time from 27000", gotSR)
	}
	if gotRR == nil || len(gotRR.Reports) != 1 {
		t.Fatalf("receiver report %+v, want one block", gotRR)
	}
	b := gotRR.Reports[0]
	if b.SSRC != 1234 || b.TotalLost != 3 || b.LastSequenceNumber != 119 || b.LastSenderReport != 0x33445566 || b.FractionLost != 3*256/19 {
		// 101..119 expected (100 was lost before the first), 105, 110, 115 lost.
		t.Errorf("report block %+v, want SSRC 1234, 3 lost (fraction %d), last 119, LSR 0x33445566", b, 3*256/19)
	}
	if n := testing.AllocsPerRun(100, func() { rtcpIn.Read(buf, nil) }); n != 0 {
		t.Errorf("reading a sender report: %v allocations, want 0", n)
	}
}
