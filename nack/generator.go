package nack

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// The generator's defaults: pion's interval and log size; a packet is asked
// for at most maxAsks times (a second at this interval), then given
// up: the receiver asks for a keyframe instead.
const (
	askInterval = 100 * time.Millisecond
	recvLogSize = 512 // sequence numbers remembered per stream, a power of two
	maxAsks     = 10
	maxPairs    = 32 // per RTCP packet: 32 × 17 packets
)

// Generator is an interceptor.Factory: its interceptors ask, every
// 100 ms, for the packets missing from each received stream that
// negotiated "nack" (RFC 4585 §6.2.1). It is the asking half of NACK, the
// Responder the answering one. pion's generator reads every received
// packet through interceptor.Attributes.GetRTPHeader (a header
// unmarshalled per packet); this one reads the sequence number in place
// and builds its NACKs in a packet it owns, so neither receiving nor
// asking allocates (TestGeneratorDoesNotAllocate). intercept.Register puts
// it where pion's would be.
type Generator struct {
	interval time.Duration
}

// NewGenerator returns a Generator with pion's 100 ms interval.
func NewGenerator() *Generator { return &Generator{interval: askInterval} }

// NewInterceptor implements interceptor.Factory.
func (g *Generator) NewInterceptor(string) (interceptor.Interceptor, error) {
	n := &generator{interval: g.interval, senderSSRC: rand.Uint32(), streams: map[uint32]*recvLog{},
		done: make(chan struct{})}
	n.out[0] = &n.pkt
	n.pkt.SenderSSRC = n.senderSSRC
	n.pkt.Nacks = make([]rtcp.NackPair, 0, maxPairs)
	return n, nil
}

// generator is one PeerConnection's generator.
type generator struct {
	interceptor.NoOp
	interval   time.Duration
	senderSSRC uint32

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
// recvLogSize sequence numbers arrived, and how often each was asked for.
type recvLog struct {
	ssrc    uint32
	started bool
	top     uint16 // the highest sequence number received
	span    int    // sequence numbers the log covers, up to recvLogSize
	got     [recvLogSize / 64]uint64
	tries   [recvLogSize]uint8
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

// add logs the arrival of seq. A jump forward marks the numbers skipped as
// missing; a number behind the top (reordered, or resent) fills its slot
// if the log still covers it.
func (s *recvLog) add(seq uint16) {
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
		s.set(seq, true)
	}
}

// missing appends to pairs, oldest first, the numbers still missing and
// not yet asked for maxAsks times, counting this time.
func (s *recvLog) missing(pairs []rtcp.NackPair) []rtcp.NackPair {
	for off := s.span - 1; off > 0; off-- {
		seq := s.top - uint16(off)
		i := seq % recvLogSize
		if s.has(seq) || s.tries[i] >= maxAsks {
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
			n.mu.Lock()
			s.add(binary.BigEndian.Uint16(b[2:])) // the sequence number
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
	t := time.NewTicker(n.interval)
	defer t.Stop()
	for {
		select {
		case <-n.done:
			return
		case <-t.C:
		}
		n.tick(w)
	}
}

// tick writes one NACK per stream with packets missing.
func (n *generator) tick(w interceptor.RTCPWriter) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ssrc, s := range n.streams {
		n.pkt.MediaSSRC = ssrc
		n.pkt.Nacks = s.missing(n.pkt.Nacks[:0])
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
