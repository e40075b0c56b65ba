package nack

import (
	"reflect"
	"sync"
	"time"

	"github.com/pion/interceptor"
)

// resendGap is added to the round trip to get the least time between two
// resends of one packet, as pion's responder does: a receiver repeats its
// NACK when the first answer has not arrived after about a round trip, and
// a NACK repeated sooner than that is answered already.
const resendGap = 5 * time.Millisecond

// BindRTCPReader answers the NACKs in every RTCP packet read and learns the
// round trip from reception reports; the packet passes on unchanged.
//
// Answers are written in the reading goroutine (the RTPSender's RTCP
// reader), not in a goroutine per NACK as pion does: that costs an
// allocation per NACK and lets answers to one stream race each other,
// while a resend is only a non-blocking UDP write.
func (n *responder) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		i, attr, err := reader.Read(b, a)
		if err != nil {
			return 0, nil, err
		}
		n.handle(b[:i], attr)
		return i, attr, nil
	})
}

// handle answers one compound RTCP packet.
func (n *responder) handle(b []byte, attr interceptor.Attributes) {
	wall := time.Now()
	now := wall.Sub(n.start)
	bps := -1 // no congestion control: no budget
	if f := targetBitrate(attr); f != nil {
		bps = f()
	}
	limited := false
	walkRTCP(b,
		func(media uint32, pid, blp uint16) {
			if limited {
				return
			}
			s := n.lookup(media)
			if s == nil {
				return
			}
			s.resendMu.Lock()
			defer s.resendMu.Unlock()
			forEachLost(pid, blp, func(seq uint16) bool {
				limited = !n.resendOne(s, seq, now, bps)
				return !limited
			})
		},
		func(ssrc, lsr, dlsr uint32) {
			if rtt, ok := rttFromReport(wall, lsr, dlsr); ok {
				if s := n.lookup(ssrc); s != nil {
					s.observeRTT(rtt)
				}
			}
		})
}

// resendOne resends packet seq of s if it is still kept and was not resent
// within the last round trip. It reports false when the budget is spent:
// like pion, the rest of that NACK then goes unanswered. Called under
// s.resendMu.
func (n *responder) resendOne(s *stream, seq uint16, now time.Duration, bps int) bool {
	s.mu.Lock()
	sl := s.ring.get(seq)
	if sl == nil || (sl.resentAt != 0 && now-time.Duration(sl.resentAt) < time.Duration(s.rtt.Load())+resendGap) {
		s.mu.Unlock()
		return true
	}
	s.out.load(sl)
	if bps >= 0 && !n.rate.allow(now, s.out.size(), bps) {
		s.mu.Unlock()
		return false
	}
	sl.resentAt = int64(now)
	s.mu.Unlock()
	payload, err := s.out.packet(s.rtxSSRC, s.rtxPT, &s.rtxSeq)
	if err != nil {
		return true // a header MarshalTo wrote cannot fail to parse; be safe
	}
	// A failed write is a transport closing under us: nothing to answer.
	if _, err := s.writer.Write(&s.out.hdr, payload, nil); err == nil {
		n.f.resent.Add(1)
	}
	return true
}

// retransmitWindow matches libwebrtc's kRetransmitWindowSizeMs, as pion's
// responder does: resends may use at most the target bitrate over it.
const retransmitWindow = 500 * time.Millisecond

// budget limits resent bytes to the congestion controller's target
// bitrate: a token bucket holding one window's worth. A burst of NACKs
// after a loss burst must not push the link further into congestion.
type budget struct {
	mu     sync.Mutex
	tokens float64 // bytes
	at     time.Duration
	filled bool
}

func (b *budget) allow(now time.Duration, size, bps int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	rate := float64(max(bps, 0)) / 8 // bytes per second
	capacity := rate * retransmitWindow.Seconds()
	if !b.filled {
		b.tokens, b.filled = capacity, true
	} else {
		b.tokens = min(capacity, b.tokens+rate*(now-b.at).Seconds())
	}
	b.at = now
	// A full bucket lets one packet through even when the window holds
	// less than a packet: at very low rates something must still go.
	if b.tokens < float64(size) && b.tokens < capacity {
		return false
	}
	b.tokens -= float64(size)
	return true
}

// targetBitrate finds the target bitrate pion's cc interceptor puts into
// the RTCP attributes (an internal key type, cc.TargetBitrateKey, holding
// a func() int), or nil without congestion control. The key cannot be
// named from outside pion, so it is matched by its type; ranging over the
// few attributes allocates nothing.
func targetBitrate(a interceptor.Attributes) func() int {
	for k, v := range a {
		f, ok := v.(func() int)
		if !ok {
			continue
		}
		if t := reflect.TypeOf(k); t.Name() == "TargetBitrateKey" &&
			t.PkgPath() == "github.com/pion/interceptor/internal/cc" {
			return f
		}
	}
	return nil
}
