package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voipd/voipd/media/settings"

	"github.com/voipd/voipd/codec/dsp"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
)

// AudioReceiver mixes every member's audio into one playback stream.
type AudioReceiver struct {
	p     hw.Playback
	ready hw.ReadyWaiter // p's, when it can wait without taking a frame; nil if not
	vol   *media.Volume
	cfg   settings.Audio
	log   *slog.Logger
	epoch time.Time
	extID uint8
	// totals are the daemon's (Factory's), or the receiver's own; set
	// before the first AddMember.
	totals *media.Totals

	mu      sync.Mutex                 // serialises AddMember/RemoveMember
	members atomic.Pointer[[]*inbound] // copy-on-write: the mix loop reads it lock-free

	muted atomic.Bool
	watch *levelWatch // members' level crossings; nil: none (set before AddMember)
	// lost, when set, hears that the playback failed; Run then mixes on
	// its own clock (to nowhere) until the next one comes on swap.
	lost func(error)
	swap chan hw.Playback

	proc  *processing // hands-free processing, nil when none; set before Run
	under underruns   // the speaker's underruns, for proc

	// One frame of the mix (settings.Audio.FrameMs), cut from buffers sized
	// for the longest.
	acc    []int32
	out    []int16
	accBuf [hw.FrameSamples]int32
	outBuf [hw.FrameSamples]int16
}

// NewAudioReceiver prepares the mixer for playback p, scaled by vol's
// playback gain (nil: unity). levelExtID is the negotiated id of the RFC
// 6464 audio level extension members send (0: none). log may be nil
// (slog.Default).
func NewAudioReceiver(p hw.Playback, cfg settings.Audio, levelExtID uint8, vol *media.Volume, log *slog.Logger) *AudioReceiver {
	if log == nil {
		log = slog.Default()
	}
	ready, _ := p.(hw.ReadyWaiter)
	r := &AudioReceiver{p: p, ready: ready, vol: vol, extID: levelExtID, cfg: cfg, log: log, epoch: time.Now(), swap: make(chan hw.Playback, 1), totals: new(media.Totals)}
	r.acc, r.out = r.accBuf[:cfg.FrameSamples()], r.outBuf[:cfg.FrameSamples()]
	r.members.Store(&[]*inbound{})
	return r
}

// AddMember starts receiving member's audio from src. One goroutine reads
// src until its Read fails. Adding a member again replaces the old stream
// (a reconnect or renegotiation).
func (r *AudioReceiver) AddMember(member string, src media.RTPReader) {
	m, err := newMember(member, src, r.extID, r.cfg, r.epoch, r.log, r.totals)
	if err != nil {
		r.log.Error("cannot receive member audio", "member", member, "err", err)
		return
	}
	m.watch = r.watch
	r.mu.Lock()
	old := *r.members.Load()
	next := make([]*inbound, 0, len(old)+1)
	for _, o := range old {
		if o.name == member {
			// The member's stream was sent anew (it reconnected): its
			// counters start again from the new stream's.
			o.removed.Store(true)
			r.log.Info("member's audio stream replaced", "member", member, "packetsBefore", o.stats().PacketsReceived)
			continue
		}
		next = append(next, o)
	}
	next = append(next, m)
	r.members.Store(&next)
	r.mu.Unlock()
	r.watch.poke()
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
	r.watch.poke()
}

// SetMuted mutes the earphone: silence is played, but every member is
// still pulled and decoded, so statistics and levels stay live.
func (r *AudioReceiver) SetMuted(muted bool) {
	if r.muted.Swap(muted) != muted {
		r.watch.poke()
	}
}

// OnLost makes Run go on when the playback fails: fn hears the error (on
// Run's goroutine) and Run mixes on its own clock until SetPlayback. Call
// before Run.
func (r *AudioReceiver) OnLost(fn func(error)) { r.lost = fn }

// SetPlayback hands Run a new speaker after a loss (a later one replaces an
// earlier one not yet taken).
func (r *AudioReceiver) SetPlayback(p hw.Playback) {
	select {
	case <-r.swap:
	default:
	}
	r.swap <- p
}

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
	if r.proc != nil {
		r.proc.playingOn(r.p)
	}
	for !ctxDone(ctx) {
		if r.ready != nil {
			if err := r.ready.WaitReady(len(r.out)); err != nil {
				if err := r.playbackError(ctx, err); err != nil {
					return err
				}
				continue
			}
		}
		r.mixOnce()
		if r.proc != nil {
			r.proc.render(r.out) // the canceller's reference: exactly what is played
		}
		if err := r.p.Write(r.out); err != nil {
			if err := r.playbackError(ctx, err); err != nil {
				return err
			}
			continue
		}
		if r.proc != nil {
			r.proc.played(len(r.out))
			if r.under.burst(r.p, time.Now()) {
				r.proc.resetBurst("a burst of speaker underruns")
			}
		}
	}
	return nil
}

// playbackError is what a failed playback means: nil when ctx ended or a
// new speaker came after the loss (OnLost), else the error Run returns.
func (r *AudioReceiver) playbackError(ctx context.Context, err error) error {
	if ctxDone(ctx) {
		return nil
	}
	err = fmt.Errorf("media: playback %q: %w", r.p.Info().ID, err)
	if r.lost == nil {
		return err
	}
	r.lost(err)
	// Members are still pulled and decoded, a frame at a time on a ticker,
	// so their buffers do not fill with stale audio and their statistics
	// stay live; the mix goes nowhere.
	tick := time.NewTicker(time.Duration(r.cfg.FrameMs) * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case p := <-r.swap:
			r.p = p
			r.ready, _ = p.(hw.ReadyWaiter)
			r.under = underruns{}
			if r.proc != nil {
				r.proc.playingOn(p)
				r.proc.spkClock.restart()
				r.proc.reset("the speaker was reopened")
			}
			return nil
		case <-ctx.Done():
			return nil
		case <-tick.C:
			r.mixOnce()
		}
	}
}

// mixOnce fills r.out with the next frame of the mix.
func (r *AudioReceiver) mixOnce() {
	for _, m := range *r.members.Load() {
		m.mixInto(r.acc)
	}
	dsp.Saturate(r.out, r.acc)
	if r.muted.Load() {
		clear(r.out)
		return
	}
	r.vol.ApplyPlayback(r.out)
}

// AppendStats appends every member's statistics to dst; with a dst of
// enough capacity it does not allocate.
func (r *AudioReceiver) AppendStats(dst []media.InboundStats) []media.InboundStats {
	for _, m := range *r.members.Load() {
		dst = append(dst, m.stats())
	}
	return dst
}
