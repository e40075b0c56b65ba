package nack

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// DefaultSize is how many packets a stream keeps: at 1 Mbit/s of
// 1200-byte packets about 5 s, far beyond any round trip a NACK is worth
// answering in. Each slot is maxPacket bytes.
const DefaultSize = 512

// Responder is an interceptor.Factory: register it in pion's
// interceptor.Registry. It makes one interceptor per PeerConnection and
// counts what all of them resent.
type Responder struct {
	size   uint16
	resent atomic.Uint64
}

// Option configures a Responder.
type Option func(*Responder) error

// WithSize sets how many packets each stream keeps: a power of two, so
// that a sequence number masks to its slot and the ring wraps with it.
func WithSize(n uint16) Option {
	return func(r *Responder) error {
		if n == 0 || n&(n-1) != 0 {
			return errors.New("nack: size must be a power of two")
		}
		r.size = n
		return nil
	}
}

// NewResponder returns a Responder keeping DefaultSize packets per stream
// unless an option says otherwise.
func NewResponder(opts ...Option) (*Responder, error) {
	r := &Responder{size: DefaultSize}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// NewInterceptor implements interceptor.Factory.
func (r *Responder) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &responder{f: r, start: time.Now(), streams: map[uint32]*stream{}}, nil
}

// Resent is the number of packets resent in answer to NACKs so far.
func (r *Responder) Resent() uint64 { return r.resent.Load() }

// Register does what webrtc.RegisterDefaultInterceptors does (NACK
// feedback for video, a NACK generator (this package's), sender and receiver reports,
// simulcast header extensions, stats, transport-wide congestion control
// feedback) with r where pion's responder would be. The order is pion's,
// so interceptors registered before Register still sit nearer the wire and
// see what r resends.
func Register(me *webrtc.MediaEngine, ir *interceptor.Registry, r *Responder) error {
	return register(me, ir, r, true)
}

// RegisterForwarding is Register without pion's stats interceptor, for a
// server that forwards packets and never asks a PeerConnection for its
// statistics (GetStats then reports no RTP streams). That interceptor
// copies every outgoing header, extensions and all (an allocation per
// packet and per receiver when one packet in becomes N out), takes a lock
// per packet and parses every RTCP packet read.
func RegisterForwarding(me *webrtc.MediaEngine, ir *interceptor.Registry, r *Responder) error {
	return register(me, ir, r, false)
}

func register(me *webrtc.MediaEngine, ir *interceptor.Registry, r *Responder, stats bool) error {
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir.Add(r)
	ir.Add(NewGenerator())
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return err
	}
	if stats {
		if err := webrtc.ConfigureStatsInterceptor(ir); err != nil {
			return err
		}
	}
	return webrtc.ConfigureTWCCSender(me, ir)
}

// responder is one PeerConnection's interceptor.
type responder struct {
	interceptor.NoOp
	f     *Responder
	start time.Time // resend times are durations since, from the monotonic clock
	rate  budget

	mu      sync.Mutex
	streams map[uint32]*stream // by media SSRC
}

// stream is one local stream with NACK negotiated.
type stream struct {
	ssrc    uint32
	rtxSSRC uint32 // RFC 4588 retransmission stream, 0 without one
	rtxPT   uint8
	writer  interceptor.RTPWriter // the rest of the chain, toward the wire
	rtt     atomic.Int64          // smoothed round trip, ns; 0 before a report

	mu   sync.Mutex // the ring: the media writer against NACK answers
	ring ring

	// resendMu serialises NACK answers (each RTPSender reads its RTCP in
	// its own goroutine) over the one resend buffer and the RTX sequence.
	resendMu sync.Mutex
	out      *resend
	rtxSeq   uint16
}

// wantsNack is pion's filter: a stream whose codec negotiated plain "nack".
func wantsNack(info *interceptor.StreamInfo) bool {
	for _, fb := range info.RTCPFeedback {
		if fb.Type == "nack" && fb.Parameter == "" {
			return true
		}
	}
	return false
}

// BindLocalStream keeps every packet of the stream's own SSRC before
// passing it on; other streams pass untouched.
func (n *responder) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	if !wantsNack(info) {
		return writer
	}
	s := &stream{
		ssrc: info.SSRC, rtxSSRC: info.SSRCRetransmission, rtxPT: info.PayloadTypeRetransmission,
		writer: writer, ring: newRing(n.f.size), out: newResend(),
		rtxSeq: uint16(rand.Uint32()), // RFC 3550 §5.1: a random start
	}
	n.mu.Lock()
	n.streams[info.SSRC] = s
	n.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if h.SSRC == s.ssrc {
			s.mu.Lock()
			s.ring.put(h, payload)
			s.mu.Unlock()
		}
		return writer.Write(h, payload, a)
	})
}

// UnbindLocalStream drops the stream's ring.
func (n *responder) UnbindLocalStream(info *interceptor.StreamInfo) {
	n.mu.Lock()
	delete(n.streams, info.SSRC)
	n.mu.Unlock()
}

// Close drops every ring.
func (n *responder) Close() error {
	n.mu.Lock()
	n.streams = map[uint32]*stream{}
	n.mu.Unlock()
	return nil
}

func (n *responder) lookup(ssrc uint32) *stream {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.streams[ssrc]
}
