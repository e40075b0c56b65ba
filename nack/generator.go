package nack

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// The generator's timing. It looks for missing packets every tick, asks
// for a newly missing one at the first tick after the gap shows (libwebrtc
// asks at once too), and asks again once a retransmission had time to
// come: 1.5 round trips, measured from the packets it asked for that
// arrived (the first answer to a first ask), or pion's 100 ms until one
// did; never more often than every minRetry, at most maxAsks times (then
// the receiver gives the frame up and asks for a keyframe).
const (
	tick        = 20 * time.Millisecond
	minRetry    = 20 * time.Millisecond
	retryNoRTT  = 100 * time.Millisecond
	maxRetry    = 500 * time.Millisecond
	recvLogSize = 512 // sequence numbers remembered per stream, a power of two
	maxAsks     = 10
	maxPairs    = 32 // per RTCP packet: 32 × 17 packets
)

// Generator is an interceptor.Factory: its interceptors ask for the
// packets missing from each received stream that negotiated "nack" (RFC
// 4585 §6.2.1). It is the asking half of NACK, the Responder the answering
// one. pion's generator asks every 100 ms, whatever the round trip, and
// reads every received packet through interceptor.Attributes.GetRTPHeader
// (a header unmarshalled per packet); this one asks as soon as a gap shows
// and again after a measured round trip, reads the sequence number in
// place and builds its NACKs in a packet it owns, so neither receiving nor
// asking allocates (TestGeneratorDoesNotAllocate). intercept.Register puts
// it where pion's would be.
type Generator struct{}

// NewGenerator returns a Generator.
func NewGenerator() *Generator { return &Generator{} }

// NewInterceptor implements interceptor.Factory.
func (g *Generator) NewInterceptor(string) (interceptor.Interceptor, error) {
	epoch := time.Now()
	n := &generator{senderSSRC: rand.Uint32(), streams: map[uint32]*recvLog{},
		now: func() time.Duration { return time.Since(epoch) }, done: make(chan struct{})}
	n.out[0] = &n.pkt
	n.pkt.SenderSSRC = n.senderSSRC
	n.pkt.Nacks = make([]rtcp.NackPair, 0, maxPairs)
	return n, nil
}

// generator is one PeerConnection's generator.
type generator struct {
	interceptor.NoOp
	senderSSRC uint32
	now        func() time.Duration // monotonic; tests set their own

	mu      sync.Mutex
	streams map[uint32]*recvLog
	// The one NACK being written: the loop's alone.
	pkt rtcp.TransportLayerNack
	out [1]rtcp.Packet

	startOnce, closeOnce sync.Once
	done                 chan struct{}
	wg                   sync.WaitGroup
}

// recvLog is the receive log of one stream: which of the last
// recvLogSize sequence numbers arrived, how often and when each missing
// one was last asked for, and the round trip of the asks answered.
type recvLog struct {
	ssrc    uint32
	started bool
	top     uint16 // the highest sequence number received
	span    int    // sequence numbers the log covers, up to recvLogSize
	got     [recvLogSize / 64]uint64
	tries   [recvLogSize]uint8
	asked   [recvLogSize]time.Duration // when last asked for (generator.now)
	rtt     time.Duration              // smoothed; 0 until an ask was answered
}

func (s *recvLog) has(seq uint16) bool {
	i := seq % recvLogSize
	return s.got[i/64]&(1<<(i%64)) != 0
}

func (s *recvLog) set(seq uint16, v bool) {
	i := seq % recvLogSize
	if v {
		s.got[i/64] |= 1 << (i % 64)
	} else {
		s.got[i/64] &^= 1 << (i % 64)
		s.tries[i] = 0
	}
}

// add logs the arrival of seq at now. A jump forward marks the numbers
// skipped as missing; a number behind the top (reordered, or resent) fills
// its slot if the log still covers it, and, answering a first ask, gives a
// round-trip sample.
func (s *recvLog) add(seq uint16, now time.Duration) {
	if !s.started {
		s.started, s.top, s.span = true, seq, 1
		s.set(seq, true)
		return
	}
	d := int16(seq - s.top)
	switch {
	case d > 0:
		if int(d) >= recvLogSize {
			clear(s.got[:])
			s.span = 0
		} else {
			for q := s.top + 1; q != seq; q++ {
				s.set(q, false)
			}
		}
		s.top = seq
		s.span = min(s.span+int(d), recvLogSize)
		s.set(seq, true)
	case int(-d) < s.span:
		i := seq % recvLogSize
		if !s.has(seq) && s.tries[i] == 1 {
			sample := now - s.asked[i]
			if s.rtt == 0 {
				s.rtt = sample
			} else {
				s.rtt += (sample - s.rtt) / 8 // RFC 6298's smoothing
			}
		}
		s.set(seq, true)
	}
}

// retry is how long after an ask the same packet is asked for again.
func (s *recvLog) retry() time.Duration {
	if s.rtt == 0 {
		return retryNoRTT
	}
	return min(max(s.rtt*3/2, minRetry), maxRetry)
}

// missing appends to pairs, oldest first, the numbers missing at now that
// are due (never asked for, or asked for a retry ago, fewer than maxAsks
// times), and records the ask.
func (s *recvLog) missing(pairs []rtcp.NackPair, now time.Duration) []rtcp.NackPair {
	retry := s.retry()
	for off := s.span - 1; off > 0; off-- {
		seq := s.top - uint16(off)
		i := seq % recvLogSize
		if s.has(seq) || s.tries[i] >= maxAsks || (s.tries[i] > 0 && now-s.asked[i] < retry) {
			continue
		}
		if n := len(pairs); n > 0 && seq-pairs[n-1].PacketID <= 16 {
			pairs[n-1].LostPackets |= 1 << (seq - pairs[n-1].PacketID - 1)
		} else if n < cap(pairs) {
			pairs = append(pairs, rtcp.NackPair{PacketID: seq})
		} else {
			break
		}
		s.tries[i]++
		s.asked[i] = now
	}
	return pairs
}

// BindRTCPWriter starts the loop that writes the NACKs.
func (n *generator) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	n.startOnce.Do(func() {
		n.wg.Add(1)
		go n.loop(w)
	})
	return w
}

// BindRemoteStream logs the sequence numbers of a stream that negotiated
// NACK, read from the packet in place.
func (n *generator) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if !wantsNack(info) {
		return r
	}
	s := &recvLog{ssrc: info.SSRC}
	n.mu.Lock()
	n.streams[info.SSRC] = s
	n.mu.Unlock()
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		i, a, err := r.Read(b, a)
		if err == nil && i >= 12 {
			now := n.now()
			n.mu.Lock()
			s.add(binary.BigEndian.Uint16(b[2:]), now) // the sequence number
			n.mu.Unlock()
		}
		return i, a, err
	})
}

// UnbindRemoteStream drops the stream's log.
func (n *generator) UnbindRemoteStream(info *interceptor.StreamInfo) {
	n.mu.Lock()
	delete(n.streams, info.SSRC)
	n.mu.Unlock()
}

// Close ends the loop.
func (n *generator) Close() error {
	n.closeOnce.Do(func() { close(n.done) })
	n.wg.Wait()
	return nil
}

func (n *generator) loop(w interceptor.RTCPWriter) {
	defer n.wg.Done()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-n.done:
			return
		case <-t.C:
		}
		n.tick(w, n.now())
	}
}

// tick writes, at now, one NACK per stream with missing packets due.
func (n *generator) tick(w interceptor.RTCPWriter, now time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ssrc, s := range n.streams {
		n.pkt.MediaSSRC = ssrc
		n.pkt.Nacks = s.missing(n.pkt.Nacks[:0], now)
		if len(n.pkt.Nacks) == 0 {
			continue
		}
		// The writer marshals before it returns (pion's srtp session), so
		// the packet is ours again at once.
		if _, err := w.Write(n.out[:], nil); err != nil {
			return
		}
	}
}
