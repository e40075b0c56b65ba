package intercept

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// link is a simulated path in virtual time: a sender at 100 packets of
// 1000 bytes a second through a ccInterceptor, a receiver recording the
// arrivals with pion's twcc.Recorder, its feedback every 100 ms read back
// through the interceptor's RTCP reader.
type link struct {
	t      *testing.T
	cc     *ccInterceptor
	w      interceptor.RTPWriter
	in     interceptor.RTCPReader
	sink   rtpSink
	rec    *twcc.Recorder
	clock  int64 // ns
	rng    *rand.Rand
	hdr    rtp.Header
	fb     []byte
	buf    []byte
	sent   int
	loss   float64
	queue  time.Duration // added to the 20 ms path delay
	growth time.Duration // the queue grows by this per packet
}

func newLink(t *testing.T, b *BWE) *link {
	i, _ := b.NewInterceptor("")
	l := &link{t: t, cc: i.(*ccInterceptor), rec: twcc.NewRecorder(1), rng: rand.New(rand.NewPCG(1, 2)),
		hdr: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1234}, buf: make([]byte, 1500)}
	t.Cleanup(func() { i.Close() })
	l.cc.now = func() int64 { return l.clock }
	l.sink.keep = true
	l.w = l.cc.BindLocalStream(videoInfo, &l.sink)
	l.in = l.cc.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, l.fb), a, nil
	}))
	return l
}

// run sends for d of virtual time.
func (l *link) run(d time.Duration) {
	payload := make([]byte, 1000)
	for end := l.clock + int64(d); l.clock < end; l.clock += int64(10 * time.Millisecond) {
		l.hdr.SequenceNumber++
		l.sink.tcc = l.sink.tcc[:0]
		if _, err := l.w.Write(&l.hdr, payload, nil); err != nil {
			l.t.Fatal(err)
		}
		l.queue += l.growth
		if l.rng.Float64() >= l.loss {
			arrival := l.clock + int64(20*time.Millisecond+l.queue)
			l.rec.Record(1234, l.sink.tcc[0], arrival/1000)
		}
		l.sent++
		if l.sent%10 == 0 {
			for _, p := range l.rec.BuildFeedbackPacket() {
				fb, err := p.Marshal()
				if err != nil {
					l.t.Fatal(err)
				}
				l.fb = fb
				if _, _, err := l.in.Read(l.buf, nil); err != nil {
					l.t.Fatal(err)
				}
			}
		}
	}
}

// The estimate rises on a clean path, falls under 30 % loss, recovers,
// and falls when the queueing delay grows; each change reaches the
// callback.
func TestEstimateFollowsLossAndDelay(t *testing.T) {
	const initial = 800_000
	b := NewBWE(initial, 100_000, 4_000_000)
	var changes atomic.Int64
	b.OnTargetBitrateChange(func(int) { changes.Add(1) })
	l := newLink(t, b)
	l.run(5 * time.Second)
	clean := b.TargetBitrate()
	if clean <= initial {
		t.Errorf("loss-free for 5 s: %d bit/s, want above the initial %d", clean, initial)
	}
	l.loss = 0.3
	l.run(5 * time.Second)
	lossy := b.TargetBitrate()
	if lossy >= initial || 2*lossy > clean {
		t.Errorf("30 %% loss for 5 s: %d bit/s, want below %d and half the loss-free %d", lossy, initial, clean)
	}
	l.loss = 0
	l.run(5 * time.Second)
	if r := b.TargetBitrate(); r <= lossy {
		t.Errorf("loss-free again for 5 s: %d bit/s, want above the lossy %d", r, lossy)
	}
	t.Logf("loss-free %d, 30 %% loss %d, loss-free again %d bit/s", clean, lossy, b.TargetBitrate())

	d := NewBWE(initial, 100_000, 4_000_000)
	dl := newLink(t, d)
	dl.run(3 * time.Second)
	before := d.TargetBitrate()
	dl.growth = time.Millisecond // a bottleneck: each packet waits 1 ms longer
	dl.run(time.Second)
	if after := d.TargetBitrate(); after >= before {
		t.Errorf("a growing queue: %d bit/s, want below the %d before it", after, before)
	} else {
		t.Logf("delay: %d bit/s before the queue grew, %d after", before, after)
	}
	deadline := time.Now().Add(5 * time.Second)
	for changes.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if changes.Load() == 0 {
		t.Error("the change callback was never called")
	}
}

// Each sent packet carries the next transport-wide sequence number in the
// negotiated extension; the caller's header is left as it was.
func TestTransportSequenceNumbers(t *testing.T) {
	l := newLink(t, NewBWE(800_000, 100_000, 4_000_000))
	var all []uint16
	h := &rtp.Header{Version: 2, SSRC: 1234}
	for range 3 {
		l.sink.tcc = l.sink.tcc[:0]
		l.w.Write(h, []byte{1}, nil)
		all = append(all, l.sink.tcc...)
	}
	if len(all) != 3 || all[1] != all[0]+1 || all[2] != all[1]+1 {
		t.Errorf("transport-wide numbers %v, want 3 consecutive", all)
	}
	if h.Extension || len(h.Extensions) != 0 {
		t.Errorf("the caller's header got extensions: %+v", h)
	}
}

// Reading feedback and sending allocate nothing.
func TestFeedbackDoesNotAllocate(t *testing.T) {
	l := newLink(t, NewBWE(800_000, 100_000, 4_000_000))
	l.run(time.Second)
	// One feedback packet with losses, read again and again.
	for k := range 50 {
		l.hdr.SequenceNumber++
		l.sink.tcc = l.sink.tcc[:0]
		l.w.Write(&l.hdr, make([]byte, 1000), nil)
		if k%3 != 0 {
			l.rec.Record(1234, l.sink.tcc[0], (l.clock+int64(k)*int64(time.Millisecond))/1000)
		}
	}
	pkts := l.rec.BuildFeedbackPacket()
	if len(pkts) == 0 {
		t.Fatal("no feedback built")
	}
	fb, err := rtcp.Marshal(pkts)
	if err != nil {
		t.Fatal(err)
	}
	l.fb = fb
	if n := testing.AllocsPerRun(200, func() {
		l.clock += int64(100 * time.Millisecond)
		if _, _, err := l.in.Read(l.buf, nil); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("reading feedback: %v allocations per packet, want 0", n)
	}
}
