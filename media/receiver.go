package media

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voipd/voipd/codec/dsp"
	"github.com/voipd/voipd/hw"
)

// InboundStats is one member's receive statistics (webrtc-stats'
// inbound-rtp, for the control socket's stats and speaker events).
type InboundStats struct {
	Member          string
	PacketsReceived uint64 // every RTP packet read, duplicates included
	BytesReceived   uint64 // payload bytes
	// PacketsLost is expected − received (RFC 3550 A.3), cumulative.
	PacketsLost int64
	// JitterMs is the RFC 3550 A.8 interarrival jitter.
	JitterMs float64
	// AudioLevel is 0..1 linear (dsp.LevelLinear's scale) of the frame
	// just played: from the RFC 6464 extension when the member sends it,
	// else measured on the decoded audio; 0 while the member is silent.
	AudioLevel      float64
	FramesDecoded   uint64 // frames decoded from a packet
	FramesConcealed uint64 // frames made up by FEC or PLC
	// Beyond webrtc-stats, for diagnosis.
	TargetDelayMs    int    // the jitter buffer's current target delay
	PacketsLate      uint64 // arrived after their turn to play
	PacketsDropped   uint64 // duplicates, oversized, or cut to bound latency
	PacketsMalformed uint64 // not RTP
}

// AudioReceiver mixes every member's audio into one playback stream.
type AudioReceiver struct {
	p     hw.Playback
	ready hw.ReadyWaiter // p's, or the device's under p's wrappers; nil if none
	cfg   AudioConfig
	log   *slog.Logger
	epoch time.Time

	mu      sync.Mutex                 // serialises AddMember/RemoveMember
	members atomic.Pointer[[]*inbound] // copy-on-write: the mix loop reads it lock-free

	muted atomic.Bool
	// One frame of the mix (AudioConfig.FrameMs), cut from buffers sized
	// for the longest.
	acc    []int32
	out    []int16
	accBuf [hw.FrameSamples]int32
	outBuf [hw.FrameSamples]int16
}

// NewAudioReceiver prepares the mixer for playback p. cfg's zero values
// mean the defaults; log may be nil (slog.Default).
func NewAudioReceiver(p hw.Playback, cfg AudioConfig, log *slog.Logger) (*AudioReceiver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	r := &AudioReceiver{p: p, ready: readyWaiter(p), cfg: cfg.WithDefaults(), log: log, epoch: time.Now()}
	r.acc, r.out = r.accBuf[:r.cfg.frameSamples()], r.outBuf[:r.cfg.frameSamples()]
	r.members.Store(&[]*inbound{})
	return r, nil
}

// AddMember starts receiving member's audio from src, whose RFC 6464
// level extension has id levelExtID (0: none). One goroutine reads src
// until its Read fails. Adding a member again replaces the old stream
// (a reconnect or renegotiation).
func (r *AudioReceiver) AddMember(member string, src RTPReader, levelExtID uint8) {
	m, err := newMember(member, src, levelExtID, r.cfg, r.epoch, r.log)
	if err != nil {
		r.log.Error("cannot receive member audio", "member", member, "err", err)
		return
	}
	r.mu.Lock()
	old := *r.members.Load()
	next := make([]*inbound, 0, len(old)+1)
	for _, o := range old {
		if o.name == member {
			o.removed.Store(true)
			continue
		}
		next = append(next, o)
	}
	next = append(next, m)
	r.members.Store(&next)
	r.mu.Unlock()
	go m.readLoop()
}

// RemoveMember stops mixing member. Its read goroutine ends at its next
// packet or when its stream ends.
func (r *AudioReceiver) RemoveMember(member string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.members.Load()
	i := slices.IndexFunc(old, func(m *inbound) bool { return m.name == member })
	if i < 0 {
		return
	}
	old[i].removed.Store(true)
	next := slices.Delete(slices.Clone(old), i, i+1)
	r.members.Store(&next)
}

// SetMuted mutes the earphone: silence is played, but every member is
// still pulled and decoded, so statistics and levels stay live.
func (r *AudioReceiver) SetMuted(muted bool) { r.muted.Store(muted) }

// Run is the mix loop: every frame (paced by p.Write blocking) it takes
// each member's next frame, sums them with saturation and plays the mix.
// It returns nil when ctx ends, and the playback's error (wrapping its hw
// kind) when the device fails.
//
// When the device can say it is ready without taking a frame
// (hw.ReadyWaiter), the loop waits for that first and mixes after, so each
// frame is pulled from the jitter buffers just before the device takes it
// rather than one frame ahead: a packet that arrived during the wait is
// played in this frame, not the next.
func (r *AudioReceiver) Run(ctx context.Context) error {
	for !ctxDone(ctx) {
		if r.ready != nil {
			if err := r.ready.WaitReady(len(r.out)); err != nil {
				return r.playbackError(ctx, err)
			}
		}
		r.mixOnce()
		if err := r.p.Write(r.out); err != nil {
			return r.playbackError(ctx, err)
		}
	}
	return nil
}

func (r *AudioReceiver) playbackError(ctx context.Context, err error) error {
	if ctxDone(ctx) {
		return nil
	}
	return fmt.Errorf("media: playback %q: %w", r.p.Info().ID, err)
}

// readyWaiter finds the hw.ReadyWaiter of p or of a device p wraps (the
// daemon's volume wrapper has Unwrap() any).
func readyWaiter(p any) hw.ReadyWaiter {
	for range 8 { // wrappers are shallow; a bound keeps a cycle from looping
		if w, ok := p.(hw.ReadyWaiter); ok {
			return w
		}
		u, ok := p.(interface{ Unwrap() any })
		if !ok {
			return nil
		}
		p = u.Unwrap()
	}
	return nil
}

// mixOnce fills r.out with the next frame of the mix.
func (r *AudioReceiver) mixOnce() {
	for _, m := range *r.members.Load() {
		m.mixInto(r.acc)
	}
	dsp.Saturate(r.out, r.acc)
	if r.muted.Load() {
		clear(r.out)
	}
}

// AppendStats appends every member's statistics to dst; with a dst of
// enough capacity it does not allocate.
func (r *AudioReceiver) AppendStats(dst []InboundStats) []InboundStats {
	for _, m := range *r.members.Load() {
		dst = append(dst, m.stats())
	}
	return dst
}
