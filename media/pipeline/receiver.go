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
	// One mix at a time: Run's, or topUp's from the sender's wakeup.
	// mixMu guards p, ready, queue, under, the members' mix-loop state and
	// the mix buffers; Run alone writes p, ready and queue (under it).
	mixMu sync.Mutex
	p     hw.Playback
	ready hw.ReadyWaiter // p's, when it can wait without taking a frame; nil if not
	// queue is p's while Run plays on it, when p has a queue that topUp
	// may fill (hw.RoomReporter beside hw.ReadyWaiter); nil otherwise.
	queue hw.RoomReporter
	// tops counts topUp's calls (one per captured frame); Run's view of
	// it at its last wakeup is seenTops.
	tops     atomic.Uint64
	seenTops uint64
	vol      *media.Volume
	cfg      settings.Audio
	log      *slog.Logger
	epoch    time.Time
	extID    uint8
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
//
// When the device also has a queue (hw.RoomReporter) and the sender calls
// topUp after each captured frame, the sender's wakeup keeps the queue
// full and the loop waits for two frames of room instead of one: the
// speaker then wakes it only when the microphone's wakeup did not come (a
// capture lost or late), and it fills the queue itself. A call costs one
// wakeup a period for both devices instead of two (issue 19).
func (r *AudioReceiver) Run(ctx context.Context) error {
	r.mixMu.Lock()
	r.queue = queueOf(r.p, r.ready)
	r.mixMu.Unlock()
	defer func() {
		r.mixMu.Lock()
		r.queue = nil // topUp leaves the speaker alone once Run is gone
		r.mixMu.Unlock()
	}()
	if r.proc != nil {
		r.proc.playingOn(r.p)
	}
	for !ctxDone(ctx) {
		if r.ready != nil {
			want := r.waitFor()
			if err := r.ready.WaitReady(want); err != nil {
				if err := r.playbackError(ctx, err); err != nil {
					return err
				}
				continue
			}
			if want > len(r.out) {
				// The sender missed a period (late, or its capture is
				// gone): only a top-up after this wakeup keeps the next
				// wait at two frames.
				r.seenTops = r.tops.Load()
			}
		}
		r.mixMu.Lock()
		err := r.play()
		r.mixMu.Unlock()
		if err != nil {
			if err := r.playbackError(ctx, err); err != nil {
				return err
			}
		}
	}
	return nil
}

// queueOf is p as a queue topUp may fill, or nil.
func queueOf(p hw.Playback, ready hw.ReadyWaiter) hw.RoomReporter {
	if q, ok := p.(hw.RoomReporter); ok && ready != nil {
		return q
	}
	return nil
}

// waitFor is the room Run waits for: a frame, or two while the sender's
// topUp keeps the queue full (it came since Run's last look). Run's
// goroutine.
func (r *AudioReceiver) waitFor() int {
	if r.queue == nil {
		return len(r.out)
	}
	if t := r.tops.Load(); t != r.seenTops {
		r.seenTops = t
		return 2 * len(r.out)
	}
	return len(r.out)
}

// play mixes and plays a frame, or with a queue as many frames as it has
// room for. Under mixMu.
func (r *AudioReceiver) play() error {
	if r.queue == nil {
		return r.playOne() // Write paces the loop
	}
	for r.queue.Room() >= len(r.out) {
		if err := r.playOne(); err != nil {
			return err
		}
	}
	return nil
}

// playOne mixes a frame and writes it. Under mixMu.
func (r *AudioReceiver) playOne() error {
	r.mixOnce()
	if r.proc != nil {
		r.proc.render(r.out) // the canceller's reference: exactly what is played
	}
	if err := r.p.Write(r.out); err != nil {
		return err
	}
	if r.proc != nil {
		r.proc.played(len(r.out))
		if r.under.burst(r.p, time.Now()) {
			r.proc.resetBurst("a burst of speaker underruns")
		}
	}
	return nil
}

// topUp fills the speaker's queue, when it has one, from the caller's
// wakeup: the sender calls it after each captured frame, so one wakeup a
// period serves both devices. It never blocks: when Run is mixing, Run
// fills the queue. A device error is left for Run, which meets it at its
// next wait.
func (r *AudioReceiver) topUp() {
	r.tops.Add(1)
	if !r.mixMu.TryLock() {
		return
	}
	if r.queue != nil {
		_ = r.play()
	}
	r.mixMu.Unlock()
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
	r.mixMu.Lock()
	r.queue = nil // the mix goes nowhere until a new speaker comes
	r.mixMu.Unlock()
	r.lost(err)
	// Members are still pulled and decoded, a frame at a time on a ticker,
	// so their buffers do not fill with stale audio and their statistics
	// stay live; the mix goes nowhere.
	tick := time.NewTicker(time.Duration(r.cfg.FrameMs) * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case p := <-r.swap:
			r.mixMu.Lock()
			r.p = p
			r.ready, _ = p.(hw.ReadyWaiter)
			r.queue = queueOf(p, r.ready)
			r.under = underruns{}
			if r.proc != nil {
				r.proc.playingOn(p)
				r.proc.spkClock.restart()
				r.proc.reset("the speaker was reopened")
			}
			r.mixMu.Unlock()
			return nil
		case <-ctx.Done():
			return nil
		case <-tick.C:
			r.mixMu.Lock()
			r.mixOnce()
			r.mixMu.Unlock()
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
