package intercept

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// reportInterval is pion's: a sender and a receiver report a second.
const reportInterval = time.Second

// maxReportBlocks is what one receiver report can carry (a 5-bit count).
const maxReportBlocks = 31

// Reports is an interceptor.Factory: its interceptors send an RTCP sender
// report for every local stream and receiver reports for every remote
// stream each second (RFC 3550 §6.4), as pion's report interceptors do,
// with the counts kept per stream as packets pass and read in place.
type Reports struct {
	interval time.Duration
}

// NewReports returns a Reports with pion's one-second interval.
func NewReports() *Reports { return &Reports{interval: reportInterval} }

// NewInterceptor implements interceptor.Factory.
func (f *Reports) NewInterceptor(string) (interceptor.Interceptor, error) {
	r := &reports{interval: f.interval, start: time.Now(), local: map[uint32]*sendStream{},
		remote: map[uint32]*recvStream{}, done: make(chan struct{})}
	r.rr.SSRC = rand.Uint32()
	r.rr.Reports = make([]rtcp.ReceptionReport, 0, maxReportBlocks)
	r.rrOut[0] = &r.rr
	return r, nil
}

type reports struct {
	interceptor.NoOp
	interval time.Duration
	start    time.Time // arrival times are durations since, from the monotonic clock

	mu     sync.Mutex
	local  map[uint32]*sendStream
	remote map[uint32]*recvStream
	// The receiver report being written: the loop's alone.
	rr    rtcp.ReceiverReport
	rrOut [1]rtcp.Packet

	startOnce, closeOnce sync.Once
	done                 chan struct{}
	wg                   sync.WaitGroup
}

// sendStream counts one local stream for its sender reports.
type sendStream struct {
	clockRate uint32
	mu        sync.Mutex
	sent      bool
	lastRTP   uint32    // the RTP timestamp of the last packet
	lastAt    time.Time // and when it passed
	packets   uint32
	octets    uint32 // payload octets (RFC 3550 §6.4.1)
	sr        rtcp.SenderReport
	out       [1]rtcp.Packet
}

// recvStream is one remote stream's reception statistics (RFC 3550 A.3,
// A.8).
type recvStream struct {
	ssrc      uint32
	clockRate uint32
	mu        sync.Mutex
	started   bool
	base      uint32 // the first sequence number
	max       uint16 // the highest
	cycles    uint32 // wraps of max, times 65536
	received  uint32
	// The previous report's expected and received, for its fraction lost.
	expectedPrior, receivedPrior uint32
	transit                      int64
	jitter                       float64 // in timestamp units
	lastSR                       uint32  // middle 32 bits of the last SR's NTP time
	lastSRAt                     time.Time
}

// BindRTCPWriter starts the loop that writes the reports.
func (r *reports) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	r.startOnce.Do(func() {
		r.wg.Add(1)
		go r.loop(w)
	})
	return w
}

// BindRTCPReader notes each sender report of a remote stream, for the LSR
// and DLSR of the next receiver report.
func (r *reports) BindRTCPReader(rd interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		i, a, err := rd.Read(b, a)
		if err == nil {
			walkRTCP(b[:i], r.senderReport)
		}
		return i, a, err
	})
}

func (r *reports) senderReport(pt, _ uint8, body []byte) {
	if pt != typeSR || len(body) < 24 {
		return
	}
	ssrc := binary.BigEndian.Uint32(body)
	ntp := binary.BigEndian.Uint64(body[4:])
	r.mu.Lock()
	s := r.remote[ssrc]
	r.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	s.lastSR, s.lastSRAt = uint32(ntp>>16), time.Now()
	s.mu.Unlock()
}

// BindLocalStream counts the stream's packets and octets.
func (r *reports) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	s := &sendStream{clockRate: info.ClockRate}
	s.sr.SSRC = info.SSRC
	s.out[0] = &s.sr
	r.mu.Lock()
	r.local[info.SSRC] = s
	r.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		now := time.Now()
		s.mu.Lock()
		s.sent, s.lastRTP, s.lastAt = true, h.Timestamp, now
		s.packets++
		s.octets += uint32(len(payload))
		s.mu.Unlock()
		return w.Write(h, payload, a)
	})
}

// UnbindLocalStream stops the stream's reports.
func (r *reports) UnbindLocalStream(info *interceptor.StreamInfo) {
	r.mu.Lock()
	delete(r.local, info.SSRC)
	r.mu.Unlock()
}

// BindRemoteStream keeps the stream's reception statistics.
func (r *reports) BindRemoteStream(info *interceptor.StreamInfo, rd interceptor.RTPReader) interceptor.RTPReader {
	s := &recvStream{ssrc: info.SSRC, clockRate: info.ClockRate}
	r.mu.Lock()
	r.remote[info.SSRC] = s
	r.mu.Unlock()
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		i, a, err := rd.Read(b, a)
		if err == nil && i >= 12 {
			s.received1(rtpSeq(b), rtpTimestamp(b), time.Since(r.start))
		}
		return i, a, err
	})
}

// UnbindRemoteStream stops the stream's reports.
func (r *reports) UnbindRemoteStream(info *interceptor.StreamInfo) {
	r.mu.Lock()
	delete(r.remote, info.SSRC)
	r.mu.Unlock()
}

// received1 counts one packet: sequence number seq, RTP timestamp ts,
// arrived at (since the interceptor's start).
func (s *recvStream) received1(seq uint16, ts uint32, at time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	arrival := int64(float64(at) * float64(s.clockRate) / float64(time.Second))
	transit := arrival - int64(ts)
	if !s.started {
		s.started, s.base, s.max, s.transit = true, uint32(seq), seq, transit
		s.received = 1
		return
	}
	s.received++
	if d := seq - s.max; d != 0 && d < 1<<15 { // forward, perhaps across a wrap
		if seq < s.max {
			s.cycles += 1 << 16
		}
		s.max = seq
	}
	// Interarrival jitter (RFC 3550 A.8), wrapping in 32 bits as the
	// timestamps do.
	d := int64(int32(transit - s.transit))
	s.transit = transit
	if d < 0 {
		d = -d
	}
	s.jitter += (float64(d) - s.jitter) / 16
}

// block fills rb with the stream's reception report as of now.
func (s *recvStream) block(rb *rtcp.ReceptionReport, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return false
	}
	ext := s.cycles + uint32(s.max)
	expected := ext - s.base + 1
	lost := int64(expected) - int64(s.received)
	lost = min(max(lost, 0), 0x7fffff)
	expInt, recvInt := expected-s.expectedPrior, s.received-s.receivedPrior
	s.expectedPrior, s.receivedPrior = expected, s.received
	var fraction uint8
	if lostInt := int64(expInt) - int64(recvInt); expInt > 0 && lostInt > 0 {
		fraction = uint8(min(lostInt<<8/int64(expInt), 255))
	}
	var dlsr uint32
	if s.lastSR != 0 {
		dlsr = uint32(now.Sub(s.lastSRAt) * 65536 / time.Second)
	}
	*rb = rtcp.ReceptionReport{SSRC: s.ssrc, FractionLost: fraction, TotalLost: uint32(lost),
		LastSequenceNumber: ext, Jitter: uint32(s.jitter), LastSenderReport: s.lastSR, Delay: dlsr}
	return true
}

// Close ends the loop.
func (r *reports) Close() error {
	r.closeOnce.Do(func() { close(r.done) })
	r.wg.Wait()
	return nil
}

func (r *reports) loop(w interceptor.RTCPWriter) {
	defer r.wg.Done()
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case now := <-t.C:
			r.tick(w, now)
		}
	}
}

// tick writes a sender report per local stream that has sent and the
// receiver reports of the remote streams, 31 blocks to a report. The
// writer marshals before it returns (pion's srtp session), so the report
// structs are ours again at once.
func (r *reports) tick(w interceptor.RTCPWriter, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.local {
		s.mu.Lock()
		ok := s.sent
		if ok {
			s.sr.NTPTime = ntpTime(now)
			s.sr.RTPTime = s.lastRTP + uint32(now.Sub(s.lastAt).Seconds()*float64(s.clockRate))
			s.sr.PacketCount, s.sr.OctetCount = s.packets, s.octets
		}
		s.mu.Unlock()
		if ok {
			if _, err := w.Write(s.out[:], nil); err != nil {
				return
			}
		}
	}
	r.rr.Reports = r.rr.Reports[:0]
	for _, s := range r.remote {
		n := len(r.rr.Reports)
		if s.block(&r.rr.Reports[:n+1][n], now) {
			r.rr.Reports = r.rr.Reports[:n+1]
		}
		if len(r.rr.Reports) == maxReportBlocks {
			if _, err := w.Write(r.rrOut[:], nil); err != nil {
				return
			}
			r.rr.Reports = r.rr.Reports[:0]
		}
	}
	if len(r.rr.Reports) > 0 {
		_, _ = w.Write(r.rrOut[:], nil)
	}
}

// ntpTime is t as a 64-bit NTP timestamp (RFC 3550 §4): seconds since
// 1900 in the high 32 bits, the fraction in the low.
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	ns := t.UnixNano()
	secs := uint64(ns/1e9) + ntpEpochOffset
	frac := uint64(ns%1e9) << 32 / 1e9
	return secs<<32 | frac
}
