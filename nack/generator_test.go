package nack

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
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

// rtcpCount counts what an interceptor wrote and keeps none of it.
type rtcpCount struct{ n int }

func (c *rtcpCount) Write(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
	c.n += len(pkts)
	return 0, nil
}

// rtpSource hands a remote stream's reader one packet at a time.
type rtpSource struct{ pkt []byte }

func (r *rtpSource) Read(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
	return copy(b, r.pkt), a, nil
}

func rtpPacket(seq uint16) []byte {
	b := make([]byte, 12+100)
	b[0] = 0x80
	b[1] = 96
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[8:], testSSRC)
	return b
}

// Receiving packets, some lost, and asking for the lost ones allocate
// nothing.
func TestGeneratorDoesNotAllocate(t *testing.T) {
	i, _ := NewGenerator().NewInterceptor("")
	g := i.(*generator)
	defer g.Close()
	src := &rtpSource{pkt: rtpPacket(0)}
	r := g.BindRemoteStream(&nackInfo, src)
	buf := make([]byte, 1500)
	seq := uint16(0)
	if n := testing.AllocsPerRun(1000, func() {
		seq++
		if seq%7 == 0 {
			seq++ // a loss
		}
		binary.BigEndian.PutUint16(src.pkt[2:], seq)
		if _, _, err := r.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("receiving: %v allocations per packet, want 0", n)
	}
	var out rtcpCount
	now := time.Duration(0)
	if n := testing.AllocsPerRun(maxAsks-1, func() { now += retryNoRTT; g.tick(&out, now) }); n != 0 {
		t.Errorf("asking: %v allocations per NACK, want 0", n)
	}
	if out.n != maxAsks {
		t.Errorf("wrote %d NACKs, want %d (one a retry while the losses are still asked for)", out.n, maxAsks)
	}
}

// A lost packet is asked for until it arrives, then no more.
func TestGeneratorAsksForLostPackets(t *testing.T) {
	i, _ := NewGenerator().NewInterceptor("")
	g := i.(*generator)
	defer g.Close()
	src := &rtpSource{}
	r := g.BindRemoteStream(&nackInfo, src)
	buf := make([]byte, 1500)
	for seq := uint16(65530); seq != 10; seq++ { // across the wrap
		if seq == 65534 || seq == 3 || seq == 4 {
			continue
		}
		src.pkt = rtpPacket(seq)
		r.Read(buf, nil)
	}
	var sink rtcpSink
	now := time.Duration(0)
	if !g.tick(&sink, now) {
		t.Error("after the first asks, nothing pending: the loop would stop before the retries")
	}
	got := sink.take()
	if len(got) != 1 {
		t.Fatalf("wrote %d RTCP packets, want 1 NACK", len(got))
	}
	nk, ok := got[0].(*rtcp.TransportLayerNack)
	if !ok || nk.MediaSSRC != testSSRC {
		t.Fatalf("wrote %#v, want a NACK for SSRC %#x", got[0], testSSRC)
	}
	var lost []uint16
	for _, p := range nk.Nacks {
		lost = append(lost, p.PacketList()...)
	}
	if want := []uint16{65534, 3, 4}; len(lost) != 3 || lost[0] != want[0] || lost[1] != want[1] || lost[2] != want[2] {
		t.Errorf("NACKed %v, want %v", lost, want)
	}
	// The resends arrive: nothing more to ask for.
	for _, seq := range []uint16{65534, 3, 4} {
		src.pkt = rtpPacket(seq)
		r.Read(buf, nil)
	}
	now += retryNoRTT
	if g.tick(&sink, now) {
		t.Error("after the resends, still pending")
	}
	if got := sink.take(); len(got) != 0 {
		t.Errorf("after the resends, wrote %v", got)
	}
	// One that never arrives is asked for maxAsks times.
	src.pkt = rtpPacket(12)
	r.Read(buf, nil)
	asked := 0
	for range maxAsks + 5 {
		now += retryNoRTT
		g.tick(&sink, now)
		asked += len(sink.take())
	}
	if asked != maxAsks {
		t.Errorf("asked %d times for packet 11, want %d", asked, maxAsks)
	}
	if g.tick(&sink, now+retryNoRTT) {
		t.Error("pending after the last ask for packet 11")
	}
}

// The loop has no timer while nothing is missing: a stream without loss
// costs it no wakeup. A gap is asked for at once (no tick to wait for),
// asked again while it stays missing, and the loop goes quiet again when
// the resend arrives, or after the last ask for one that never does.
func TestGeneratorLoopWakesOnlyForLoss(t *testing.T) {
	i, _ := NewGenerator().NewInterceptor("")
	g := i.(*generator)
	defer g.Close()
	var sink rtcpSink
	g.BindRTCPWriter(&sink)
	src := &rtpSource{}
	r := g.BindRemoteStream(&nackInfo, src)
	buf := make([]byte, 1500)
	send := func(seq uint16) {
		src.pkt = rtpPacket(seq)
		r.Read(buf, nil)
	}
	for seq := range uint16(100) {
		send(seq)
	}
	time.Sleep(5 * tick) // a ticker would have fired here
	if n := g.ticks.Load(); n != 0 {
		t.Fatalf("the loop looked %d times with nothing missing", n)
	}
	asks := func(seq uint16) (n int) {
		for _, p := range sink.take() {
			for _, pair := range p.(*rtcp.TransportLayerNack).Nacks {
				for _, q := range pair.PacketList() {
					if q == seq {
						n++
					}
				}
			}
		}
		return n
	}
	// quiet waits until the loop stops looking, and returns how many
	// times it asked for seq meanwhile.
	quiet := func(seq uint16) (asked int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		last := g.ticks.Load()
		for {
			time.Sleep(10 * tick)
			asked += asks(seq)
			n := g.ticks.Load()
			if n == last {
				return asked
			}
			if time.Now().After(deadline) {
				t.Fatalf("the loop still looks every tick (%d looks) with nothing to ask for", n)
			}
			last = n
		}
	}
	send(101) // 100 lost
	eventually := time.Now().Add(10 * time.Second)
	for asks(100) == 0 {
		if time.Now().After(eventually) {
			t.Fatal("no NACK for packet 100")
		}
		time.Sleep(time.Millisecond)
	}
	send(100) // the resend
	quiet(100)
	send(103) // 102 never comes: maxAsks asks, then quiet
	if got := quiet(102); got != maxAsks {
		t.Errorf("asked %d times for a packet that never came, want %d", got, maxAsks)
	}
}

// A gap is asked for at the first tick; the ask is repeated only after a
// retry: pion's 100 ms until a resend answered a first ask, then 1.5 of
// the round trips measured that way (never under minRetry).
func TestGeneratorRetriesAfterTheRoundTrip(t *testing.T) {
	i, _ := NewGenerator().NewInterceptor("")
	g := i.(*generator)
	defer g.Close()
	var clock time.Duration
	g.now = func() time.Duration { return clock }
	src := &rtpSource{}
	r := g.BindRemoteStream(&nackInfo, src)
	buf := make([]byte, 1500)
	recv := func(seq uint16) {
		src.pkt = rtpPacket(seq)
		r.Read(buf, nil)
	}
	var sink rtcpSink
	asks := func() (lost []uint16) {
		g.tick(&sink, clock)
		for _, p := range sink.take() {
			for _, pair := range p.(*rtcp.TransportLayerNack).Nacks {
				lost = append(lost, pair.PacketList()...)
			}
		}
		return lost
	}
	recv(1)
	recv(3) // 2 lost
	if got := asks(); len(got) != 1 || got[0] != 2 {
		t.Fatalf("first tick asked for %v, want [2]", got)
	}
	clock += retryNoRTT - time.Millisecond
	if got := asks(); len(got) != 0 {
		t.Fatalf("asked again for %v before the retry", got)
	}
	clock += time.Millisecond
	if got := asks(); len(got) != 1 {
		t.Fatalf("asked for %v at the retry, want [2]", got)
	}
	// 5 and 7 lost: asked once, each answered 40 ms later: the round trip.
	recv(2)
	recv(4)
	recv(6)
	recv(8)
	if got := asks(); len(got) != 2 {
		t.Fatalf("asked for %v, want [5 7]", got)
	}
	clock += 40 * time.Millisecond
	recv(5)
	recv(7)
	if s := g.streams[testSSRC]; s.rtt != 40*time.Millisecond || s.retry() != 60*time.Millisecond {
		t.Fatalf("round trip %v, retry %v; want 40 ms and 60 ms", s.rtt, s.retry())
	}
	recv(10) // 9 lost
	if got := asks(); len(got) != 1 || got[0] != 9 {
		t.Fatalf("asked for %v, want [9]", got)
	}
	clock += 59 * time.Millisecond
	if got := asks(); len(got) != 0 {
		t.Fatalf("asked again for %v 59 ms after, retry 60 ms", got)
	}
	clock += time.Millisecond
	if got := asks(); len(got) != 1 {
		t.Fatalf("asked for %v at the retry, want [9]", got)
	}
}
