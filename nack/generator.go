package nack

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// The generator's timing. It asks for a newly missing packet as soon as the
// gap shows (libwebrtc asks at once too), and asks again once a
// retransmission had time to come: 1.5 round trips, measured from the
// packets it asked for that arrived (the first answer to a first ask), or
// pion's 100 ms until one did; never more often than every minRetry, at
// most maxAsks times (then the receiver gives the frame up and asks for a
// keyframe). While some packet is missing and may still be asked for, it
// looks every tick; while none is, it has no timer at all, so a call
// without loss costs it no wakeup (issue 19: it was 50 a second).
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
		now: func() time.Duration { return time.Since(epoch) }, done: make(chan struct{}), wake: make(chan struct{}, 1)}
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
	wake                 chan struct{} // a stream logged a gap (never blocks: one slot)
	wg                   sync.WaitGroup
	ticks                atomic.Uint64 // looks the loop took: for the tests
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

// add logs the arrival of seq at now and reports whether it showed a gap.
// A jump forward marks the numbers skipped as missing; a number behind the
// top (reordered, or resent) fills its slot if the log still covers it,
// and, answering a first ask, gives a round-trip sample.
func (s *recvLog) add(seq uint16, now time.Duration) (gap bool) {
	if !s.started {
		s.started, s.top, s.span = true, seq, 1
		s.set(seq, true)
		return false
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
		return d > 1 && int(d) < recvLogSize
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
	return false
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
// times), and records the ask. pending reports whether any missing number
// may still be asked for later (fewer than maxAsks asks so far).
func (s *recvLog) missing(pairs []rtcp.NackPair, now time.Duration) (_ []rtcp.NackPair, pending bool) {
	retry := s.retry()
	for off := s.span - 1; off > 0; off-- {
		seq := s.top - uint16(off)
		i := seq % recvLogSize
		if s.has(seq) || s.tries[i] >= maxAsks {
			continue
		}
		if s.tries[i] > 0 && now-s.asked[i] < retry {
			pending = true
			continue
		}
		if n := len(pairs); n > 0 && seq-pairs[n-1].PacketID <= 16 {
			pairs[n-1].LostPackets |= 1 << (seq - pairs[n-1].PacketID - 1)
		} else if n < cap(pairs) {
			pairs = append(pairs, rtcp.NackPair{PacketID: seq})
		} else {
			return pairs, true // the rest next tick
		}
		s.tries[i]++
		s.asked[i] = now
		pending = pending || s.tries[i] < maxAsks
	}
	return pairs, pending
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
			gap := s.add(binary.BigEndian.Uint16(b[2:]), now) // the sequence number
			n.mu.Unlock()
			if gap {
				select {
				case n.wake <- struct{}{}:
				default: // the loop has one to take already
				}
			}
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

// loop asks at once when a gap shows, then every tick while anything may
// still be asked for; with nothing missing it waits on the wake channel
// alone.
func (n *generator) loop(w interceptor.RTCPWriter) {
	defer n.wg.Done()
	t := time.NewTimer(tick)
	t.Stop()
	defer t.Stop()
	var tc <-chan time.Time // nil (never ready) while nothing is pending
	for {
		select {
		case <-n.done:
			return
		case <-n.wake:
		case <-tc:
		}
		n.ticks.Add(1)
		if n.tick(w, n.now()) {
			t.Reset(tick) // Go 1.23 timers: no stale value survives Reset
			tc = t.C
		} else {
			t.Stop()
			tc = nil
		}
	}
}

// tick writes, at now, one NACK per stream with missing packets due, and
// reports whether any stream has a missing packet to ask for later.
func (n *generator) tick(w interceptor.RTCPWriter, now time.Duration) (pending bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ssrc, s := range n.streams {
		n.pkt.MediaSSRC = ssrc
		var more bool
		n.pkt.Nacks, more = s.missing(n.pkt.Nacks[:0], now)
		pending = pending || more
		if len(n.pkt.Nacks) == 0 {
			continue
		}
		// The writer marshals before it returns (pion's srtp session), so
		// the packet is ours again at once.
		if _, err := w.Write(n.out[:], nil); err != nil {
			return pending
		}
	}
	return pending
}
