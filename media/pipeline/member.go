package pipeline

import (
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voipd/voipd/media/settings"

	"github.com/pion/rtp"

	"github.com/voipd/voipd/codec/dsp"
	"github.com/voipd/voipd/codec/opus"
	"github.com/voipd/voipd/codec/opusrtp"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
)

// readBufBytes is one UDP datagram's worth: any RTP packet fits.
const readBufBytes = 1500

// inbound is one room member's receive state, allocated once in AddMember.
// Its read goroutine pushes into jb under mu; the mix loop pulls under mu
// and decodes outside it, so the lock is held only for a payload copy and
// the two sides rarely meet.
type inbound struct {
	name  string
	src   media.RTPReader
	extID uint8
	epoch time.Time // arrival times are measured from here (monotonic)
	log   *slog.Logger

	removed atomic.Bool // set by RemoveMember or a replacing AddMember
	done    chan struct{}

	mu        sync.Mutex
	jb        *jitterBuffer
	lostTally media.Tally   // under mu
	totals    *media.Totals // the daemon's (the receiver's)

	// Mix-loop only: the decoder and its buffers. pcm holds the last
	// decoded (or concealed) packet, of which pcm[used:have] is still to
	// be mixed: a packet longer than the mixer's frame (a browser's 20 ms
	// into 10 ms frames, a phone's 60 ms) plays over several frames, and a
	// shorter one is followed by the next within the same frame.
	dec        *opus.Decoder
	pay        [slotBytes]byte
	fec        [slotBytes]byte
	pcm        [opus.MaxFrameSamples]int16
	have, used int
	pktSamples int // the last packet's duration: what a lost one conceals

	// Written by the mix loop, read by AppendStats.
	level     atomic.Uint64 // float64 bits, 0..1
	loud      bool          // mix loop: level is above watch's threshold
	watch     *levelWatch   // the receiver's; nil: none
	decoded   atomic.Uint64
	concealed atomic.Uint64
	malformed atomic.Uint64
	// webrtc-stats' audio counters (media.InboundStats).
	samples, plcSamples, silentSamples, plcEvents, fecFrames atomic.Uint64
	inPLC                                                    bool // mix loop: the last frame was PLC

	// Read goroutine only.
	readBuf [readBufBytes]byte
	pkt     rtp.Packet
}

func newMember(name string, src media.RTPReader, extID uint8, cfg settings.Audio, epoch time.Time, log *slog.Logger, totals *media.Totals) (*inbound, error) {
	dec, err := opus.NewDecoder()
	if err != nil {
		return nil, err
	}
	return &inbound{
		name: name, src: src, extID: extID, epoch: epoch, totals: totals,
		log:  log.With("member", name),
		done: make(chan struct{}),
		jb:   newJitterBuffer(cfg.JitterMinMs, cfg.JitterMaxMs),
		dec:  dec,
		// Until a packet says otherwise, peers are assumed to send our
		// frame length.
		pktSamples: cfg.FrameSamples(),
	}, nil
}

// readLoop moves packets from src into the jitter buffer until src fails
// or the member is removed (noticed at its next packet: a blocking Read
// cannot be interrupted from here; the track's end unblocks it).
func (m *inbound) readLoop() {
	defer close(m.done)
	for {
		n, _, err := m.src.Read(m.readBuf[:])
		if err != nil {
			if !m.removed.Load() {
				m.log.Debug("member stream ended", "err", err)
			}
			return
		}
		if m.removed.Load() {
			return
		}
		m.receive(m.readBuf[:n], time.Since(m.epoch))
	}
}

// receive parses one datagram into the reused packet and files it.
func (m *inbound) receive(b []byte, arrival time.Duration) {
	if err := m.pkt.Unmarshal(b); err != nil {
		m.malformed.Add(1)
		return
	}
	level := int16(noLevel)
	if l, _, ok := opusrtp.AudioLevel(&m.pkt.Header, m.extID); ok {
		level = int16(l)
	}
	m.mu.Lock()
	packets, bytes := m.jb.packets, m.jb.bytes
	m.jb.push(&m.pkt, arrival, level)
	tot := &m.totals.Received[media.Audio]
	tot.Packets.Add(m.jb.packets - packets)
	tot.Bytes.Add(m.jb.bytes - bytes)
	m.lostTally.Add(&tot.Lost, m.jb.lost())
	m.mu.Unlock()
}

// mixInto adds this member's next len(acc) samples to acc, taking packets
// from the jitter buffer as the decoded audio runs out: the packet due
// next, or a concealed one (FEC from the following packet when it is
// already here, else PLC) when it is missing. While the buffer fills or
// the sender is silent the rest of the frame gets nothing.
func (m *inbound) mixInto(acc []int32) {
	for len(acc) > 0 {
		if m.used == m.have && !m.next() {
			return
		}
		n := min(len(acc), m.have-m.used)
		dsp.Accumulate(acc[:n], m.pcm[m.used:m.used+n])
		m.used += n
		acc = acc[n:]
	}
}

// next decodes or conceals the next packet into m.pcm and reports whether
// there is audio to play.
func (m *inbound) next() bool {
	m.mu.Lock()
	kind, n, fecN, level := m.jb.pull(m.pay[:], m.fec[:])
	m.mu.Unlock()
	m.used, m.have = 0, 0
	switch kind {
	case pullEmpty:
		m.watch.store(&m.level, &m.loud, 0)
		return false
	case pullPacket:
		got, err := m.dec.Decode(m.pcm[:], m.pay[:n])
		if err != nil {
			// A corrupt payload is concealed like a lost one.
			m.have = m.conceal(0)
			break
		}
		m.have = got
		m.decoded.Add(1)
		m.samples.Add(uint64(got))
		m.inPLC = false
		if got != m.pktSamples {
			m.pktSamples = got
			m.mu.Lock()
			m.jb.setPacketMs(got / hw.SamplesPerMs)
			m.mu.Unlock()
		}
	case pullLost:
		m.have = m.conceal(fecN)
	}
	if level != noLevel {
		m.watch.store(&m.level, &m.loud, dsp.DBovToLinear(uint8(level)))
	} else {
		m.watch.store(&m.level, &m.loud, dsp.LevelLinear(m.pcm[:m.have]))
	}
	return m.have > 0
}

// conceal fills m.pcm with a lost packet's duration (the last packet's),
// from the next packet's FEC when it is here (fecN > 0) and carries some,
// else by PLC; libopus errors leave silence. It returns the samples
// filled.
func (m *inbound) conceal(fecN int) int {
	pcm := m.pcm[:m.pktSamples]
	m.concealed.Add(1)
	m.samples.Add(uint64(len(pcm)))
	// Only a next packet that carries LBRR rebuilds anything: libopus'
	// FEC decode of one without it is PLC under another name.
	if fecN > 0 && opus.HasFEC(m.fec[:fecN]) {
		if err := m.dec.DecodeFEC(pcm, m.fec[:fecN]); err == nil {
			m.fecFrames.Add(1)
			m.inPLC = false
			return len(pcm)
		}
	}
	if !m.inPLC {
		m.plcEvents.Add(1)
		m.inPLC = true
	}
	m.plcSamples.Add(uint64(len(pcm)))
	m.totals.ConcealedSamples.Add(uint64(len(pcm)))
	if err := m.dec.DecodePLC(pcm); err != nil {
		clear(pcm)
		m.silentSamples.Add(uint64(len(pcm)))
	}
	return len(pcm)
}

func (m *inbound) stats() media.InboundStats {
	m.mu.Lock()
	s := media.InboundStats{
		Member:          m.name,
		Kind:            "audio",
		PacketsReceived: m.jb.packets,
		BytesReceived:   m.jb.bytes,
		PacketsLost:     m.jb.lost(),
		JitterMs:        m.jb.jitterMs(),
		TargetDelayMs:   m.jb.target * m.jb.pktMs,
		PacketsLate:     m.jb.late,
		PacketsDropped:  m.jb.discarded + m.jb.dups,
	}
	m.mu.Unlock()
	s.AudioLevel = math.Float64frombits(m.level.Load())
	s.FramesDecoded = m.decoded.Load()
	s.FramesConcealed = m.concealed.Load()
	s.TotalSamplesReceived = m.samples.Load()
	s.ConcealedSamples = m.plcSamples.Load()
	s.SilentConcealedSamples = m.silentSamples.Load()
	s.ConcealmentEvents = m.plcEvents.Load()
	s.FECFramesRecovered = m.fecFrames.Load()
	s.PacketsMalformed = m.malformed.Load()
	return s
}
