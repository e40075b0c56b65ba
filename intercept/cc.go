package intercept

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// histSize is how many sent packets the feedback can still find: at a
// few hundred packets a second, seconds of them, far beyond roomd's
// 100 ms feedback interval. A power of two: a transport-wide sequence
// number masks to its slot.
const histSize = 1 << 12

// maxStatuses bounds the packets one feedback packet may describe; more
// would be feedback on more than the history holds.
const maxStatuses = histSize

// BWE is an interceptor.Factory for send-side congestion control over
// transport-wide feedback: its interceptor numbers every outgoing packet
// of a stream that negotiated the transport-cc header extension, remembers
// when each left and how big it was, and feeds the feedback's arrival
// times and losses to a Google Congestion Control estimate (gcc.go). Its
// interceptors share the one estimate: register a BWE in the API of one
// PeerConnection.
type BWE struct {
	est *estimator

	mu       sync.Mutex
	onChange func(bps int)
	target   atomic.Int64
	changed  chan struct{} // one pending change for the delivery goroutine
}

// NewBWE returns a BWE starting at initial bit/s and kept within lo..hi.
func NewBWE(initial, lo, hi int) *BWE {
	return &BWE{est: newEstimator(initial, lo, hi), changed: make(chan struct{}, 1)}
}

// OnTargetBitrateChange sets f, called from a goroutine of the interceptor
// after the estimate changed (not once per change: a change that comes
// while f runs is delivered once after). Set it before packets flow.
func (b *BWE) OnTargetBitrateChange(f func(bps int)) {
	b.mu.Lock()
	b.onChange = f
	b.mu.Unlock()
}

// TargetBitrate is the current estimate in bit/s.
func (b *BWE) TargetBitrate() int {
	if t := b.target.Load(); t > 0 {
		return int(t)
	}
	return b.est.initial()
}

// NewInterceptor implements interceptor.Factory.
func (b *BWE) NewInterceptor(string) (interceptor.Interceptor, error) {
	start := time.Now()
	c := &ccInterceptor{b: b, now: func() int64 { return int64(time.Since(start)) }, done: make(chan struct{})}
	c.wg.Add(1)
	go c.deliver()
	return c, nil
}

// ccInterceptor is one PeerConnection's congestion control.
type ccInterceptor struct {
	interceptor.NoOp
	b   *BWE
	now func() int64 // ns since the interceptor's start, monotonic; a test's clock in tests
	seq atomic.Uint32

	mu   sync.Mutex // the history and the feedback scratch
	hist [histSize]sentPacket
	syms [maxStatuses]uint8
	refs refUnwrap

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
}

// sentPacket is a history slot.
type sentPacket struct {
	seq  uint16
	ok   bool
	size int   // bytes on the wire before SRTP: header and payload
	at   int64 // ns since start
}

// ccStream numbers one local stream's packets. The caller's header is not
// touched: each packet's header is copied into hdr, whose extensions live
// in ext, and the extension is set there.
type ccStream struct {
	id     uint8
	writer interceptor.RTPWriter
	mu     sync.Mutex // hdr, ext and buf are in use until the writer returns
	hdr    rtp.Header
	ext    [8]rtp.Extension
	buf    [2]byte
}

// BindLocalStream numbers the stream's packets if it negotiated the
// transport-cc extension.
func (c *ccInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			id = uint8(e.ID)
		}
	}
	if id == 0 {
		return w
	}
	s := &ccStream{id: id, writer: w}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		return c.write(s, h, payload, a)
	})
}

func (c *ccInterceptor) write(s *ccStream, h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hdr = *h
	s.hdr.Extensions = append(s.ext[:0], h.Extensions...)
	seq := uint16(c.seq.Add(1) - 1)
	binary.BigEndian.PutUint16(s.buf[:], seq)
	if err := s.hdr.SetExtension(s.id, s.buf[:]); err != nil {
		return 0, err
	}
	size := s.hdr.MarshalSize() + len(payload)
	at := c.now()
	c.mu.Lock()
	c.hist[seq%histSize] = sentPacket{seq: seq, ok: true, size: size, at: at}
	c.mu.Unlock()
	return s.writer.Write(&s.hdr, payload, a)
}

// BindRTCPReader reads transport-cc feedback into the estimate; the RTCP
// passes on unchanged.
func (c *ccInterceptor) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		i, a, err := r.Read(b, a)
		if err == nil {
			walkRTCP(b[:i], c.rtcp)
		}
		return i, a, err
	})
}

func (c *ccInterceptor) rtcp(pt, format uint8, body []byte) {
	if pt != typeRTPFB || format != fmtTWCC {
		return
	}
	c.mu.Lock()
	changed := c.feedback(body, c.now())
	c.mu.Unlock()
	if changed {
		select {
		case c.b.changed <- struct{}{}:
		default:
		}
	}
}

// Transport-cc packet status symbols (draft-holmer §3.1.1).
const (
	symNotReceived = 0
	symSmallDelta  = 1
	symLargeDelta  = 2
)

// feedback reads one transport-cc feedback packet's body (sender SSRC,
// media SSRC, base sequence number, status count, reference time,
// feedback count, chunks, receive deltas; draft-holmer §3.1) and feeds
// each packet the history still holds to the estimate. It reports whether
// the estimate changed. Malformed feedback is ignored whole.
func (c *ccInterceptor) feedback(body []byte, now int64) bool {
	if len(body) < 16 {
		return false
	}
	base := binary.BigEndian.Uint16(body[8:])
	count := int(binary.BigEndian.Uint16(body[10:]))
	ref := c.refs.unwrap(binary.BigEndian.Uint32(body[12:]) >> 8)
	if count == 0 || count > maxStatuses {
		return false
	}
	p := body[16:]
	syms := c.syms[:0]
	for len(syms) < count {
		if len(p) < 2 {
			return false
		}
		chunk := binary.BigEndian.Uint16(p)
		p = p[2:]
		switch {
		case chunk&0x8000 == 0: // run length
			sym, n := uint8(chunk>>13&3), int(chunk&0x1fff)
			for k := 0; k < n && len(syms) < count; k++ {
				syms = append(syms, sym)
			}
		case chunk&0x4000 == 0: // 14 one-bit symbols
			for k := 13; k >= 0 && len(syms) < count; k-- {
				syms = append(syms, uint8(chunk>>k&1))
			}
		default: // 7 two-bit symbols
			for k := 6; k >= 0 && len(syms) < count; k-- {
				syms = append(syms, uint8(chunk>>(2*k)&3))
			}
		}
	}
	// First check the deltas are all there, then use them.
	need := 0
	for _, s := range syms {
		switch s {
		case symSmallDelta:
			need++
		case symLargeDelta:
			need += 2
		}
	}
	if len(p) < need {
		return false
	}
	arrival := ref * 64_000 // µs
	e := c.b.est
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, s := range syms {
		seq := base + uint16(i)
		switch s {
		case symSmallDelta:
			arrival += int64(p[0]) * 250
			p = p[1:]
		case symLargeDelta:
			arrival += int64(int16(binary.BigEndian.Uint16(p))) * 250
			p = p[2:]
		}
		sp := &c.hist[seq%histSize]
		if !sp.ok || sp.seq != seq {
			continue
		}
		if s == symNotReceived {
			e.lost()
			continue
		}
		e.acked(sp.at, arrival*1000, sp.size)
	}
	return c.b.update(now)
}

// update runs the estimate's periodic part and publishes a change.
func (b *BWE) update(now int64) bool {
	t, changed := b.est.update(now)
	if changed {
		b.target.Store(int64(t))
	}
	return changed
}

// deliver calls the change callback for each change signalled.
func (c *ccInterceptor) deliver() {
	defer c.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case <-c.b.changed:
		}
		c.b.mu.Lock()
		f := c.b.onChange
		c.b.mu.Unlock()
		if f != nil {
			f(c.b.TargetBitrate())
		}
	}
}

// Close ends the delivery goroutine.
func (c *ccInterceptor) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	c.wg.Wait()
	return nil
}

// refUnwrap makes the feedback's 24-bit reference times (64 ms units)
// continuous across their wrap.
type refUnwrap struct {
	last int64
	init bool
}

func (r *refUnwrap) unwrap(v uint32) int64 {
	if !r.init {
		r.init, r.last = true, int64(v)
		return r.last
	}
	d := (int64(v)-r.last+(1<<23))&0xffffff - (1 << 23)
	r.last += d
	return r.last
}
