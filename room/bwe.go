package room

import (
	"log/slog"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/intercept"
	"github.com/voipd/voipd/proto"
)

// Config's video bitrates when zero, in bit/s.
const (
	defaultVideoBitrate    = 800_000
	defaultMinVideoBitrate = 50_000
	defaultMaxVideoBitrate = 4_000_000
)

// AudioBitrate is what the video target leaves of an estimate that counts
// the audio too (roomd numbers every packet for transport-wide feedback):
// Opus voice with in-band FEC (about 24 kbit/s) plus the RTP headers of 50
// packets a second.
const AudioBitrate = 40_000

// APIOption adds to a room client's pion API (NewAPI) before the default
// interceptors are registered.
type APIOption func(*webrtc.MediaEngine, *interceptor.Registry, *webrtc.SettingEngine) error

// VideoBitrates is Config's initial, minimum and maximum video bitrate
// with the defaults filled in, the bounds ordered around the initial one.
func VideoBitrates(initial, lo, hi int) (int, int, int) {
	if initial <= 0 {
		initial = defaultVideoBitrate
	}
	if lo <= 0 {
		lo = defaultMinVideoBitrate
	}
	if hi <= 0 {
		hi = defaultMaxVideoBitrate
	}
	hi = max(hi, lo)
	return min(max(initial, lo), hi), lo, hi
}

func videoBitrates(cfg Config) (initial, lo, hi int) {
	return VideoBitrates(cfg.VideoBitrate, cfg.MinVideoBitrate, cfg.MaxVideoBitrate)
}

// videoTarget is the part of a transport estimate the video may use.
func videoTarget(estimate, audio, lo, hi int) int {
	return min(max(estimate-audio, lo), hi)
}

// VideoEstimate is a video sender's send-side bandwidth estimate (Google
// Congestion Control over the server's transport-wide feedback) turned
// into a target for the video encoder, across the PeerConnections a room
// client makes for it (a reconnect's): each gets a fresh estimator
// (Option) that starts where the last one was.
//
// The estimate follows the delays and losses of every packet carrying
// transport-cc sequence numbers (package intercept, whose per-packet
// paths do not allocate). No pacing: the encoder follows the estimate and
// the camera paces the frames. The feedback arrives as RTCP on the video
// sender, which must be read (as it must for keyframe requests anyway).
type VideoEstimate struct {
	// deliver orders the calls of fn: the estimate reports each change from a
	// goroutine of its own, and a new fn's first call comes from another.
	deliver sync.Mutex

	initial, lo, hi, audio int
	active                 func() bool
	log                    *slog.Logger

	mu      sync.Mutex
	est     *intercept.BWE // the newest estimator, nil before Option
	target  int            // the current video target, 0 before an estimate
	started bool           // the estimate changed: its starting point is no estimate
	fn      func(bps int)
	sent    int // the last target fn was given, 0 for a new fn
}

// NewVideoEstimate is the estimate of a video sender whose encoder starts
// at initial and stays within lo..hi (bit/s, as VideoBitrates orders
// them); audio is what the audio takes of the estimate (AudioBitrate when
// the feedback covers the audio, 0 when it covers the video only). active
// says whether targets are still wanted (false: left, or no video sent).
func NewVideoEstimate(initial, lo, hi, audio int, active func() bool, log *slog.Logger) *VideoEstimate {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &VideoEstimate{initial: initial, lo: lo, hi: hi, audio: audio, active: active, log: log}
}

// Option registers send-side congestion control on a new pion API: the
// transport-cc header extension numbers the outgoing packets, the
// server's feedback says which arrived when, and a fresh estimator,
// starting at the current target (the initial bitrate before any), follows
// it. The API must be the sender's own, so that its estimator is this
// sender's.
func (v *VideoEstimate) Option() APIOption {
	v.mu.Lock()
	start := v.initial
	if v.started && v.target > 0 {
		start = v.target
	}
	est := intercept.NewBWE(start+v.audio, v.lo+v.audio, v.hi+v.audio)
	v.est = est
	v.mu.Unlock()
	est.OnTargetBitrateChange(func(int) { v.changed(true) })
	return func(_ *webrtc.MediaEngine, ir *interceptor.Registry, _ *webrtc.SettingEngine) error {
		ir.Add(est)
		return nil
	}
}

// changed runs on the estimate's goroutine after a change of the estimate
// (changed), or on ours for a new fn: it reads the latest estimate (not
// the one the change carried, which a later change may have overtaken)
// and gives fn the video target if fn has not had it yet.
func (v *VideoEstimate) changed(changed bool) {
	if v.active != nil && !v.active() {
		return
	}
	v.deliver.Lock()
	defer v.deliver.Unlock()
	v.mu.Lock()
	v.started = v.started || changed
	if v.est == nil || !v.started {
		v.mu.Unlock()
		return
	}
	v.target = videoTarget(v.est.TargetBitrate(), v.audio, v.lo, v.hi)
	fn, target := v.fn, v.target
	call := fn != nil && v.sent != target
	if call {
		v.sent = target
	}
	v.mu.Unlock()
	if call {
		v.log.Debug("video bitrate from the estimate", "bps", target)
		fn(target)
	}
}

// OnChange calls fn (from a goroutine of the estimate) whenever the
// target changes. A new fn gets the current target at once if there is
// one. It replaces any earlier fn (a call already under way may still
// reach that one); nil stops the calls.
func (v *VideoEstimate) OnChange(fn func(bps int)) {
	v.mu.Lock()
	v.fn, v.sent = fn, 0
	v.mu.Unlock()
	if fn != nil {
		go v.changed(false)
	}
}

// Target is the current video target, 0 before the first estimate.
func (v *VideoEstimate) Target() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.target
}

// apiOptions is what this session adds to its pion API: for a video join,
// a fresh estimator of the session's estimate.
func (s *Session) apiOptions() []APIOption {
	var opts []APIOption
	if s.bwe != nil {
		opts = append(opts, s.bwe.Option())
	}
	if f := s.cfg.settings; f != nil {
		opts = append(opts, func(_ *webrtc.MediaEngine, _ *interceptor.Registry, se *webrtc.SettingEngine) error {
			f(se)
			return nil
		})
	}
	return opts
}

// newEstimate is a video join's estimate, nil for a voice join. roomd's
// feedback covers every packet, the audio's too.
func (s *Session) newEstimate() *VideoEstimate {
	if s.params.RoomType != proto.RoomVideo {
		return nil
	}
	initial, lo, hi := videoBitrates(s.cfg)
	return NewVideoEstimate(initial, lo, hi, AudioBitrate,
		func() bool { return !s.leaving.Load() && s.VideoSender() != nil }, s.log)
}

// OnBitrateEstimate calls fn (from a goroutine of the session) whenever the
// send-side estimate for this session changes, with the target bitrate in
// bit/s for the video: the estimate minus what the audio needs (40
// kbit/s), clamped to Config's MinVideoBitrate..MaxVideoBitrate. A new fn
// gets the current target at once if there is one. It replaces any earlier
// fn (a call already under way may still reach that one); nil stops the
// calls. No-op in a voice room.
//
// The estimate comes from roomd's transport-wide feedback, which arrives
// as RTCP on the senders: the VideoSender's RTCP must be read (as it must
// for keyframe requests anyway).
func (s *Session) OnBitrateEstimate(fn func(bps int)) {
	if s.bwe != nil {
		s.bwe.OnChange(fn)
	}
}

// BitrateEstimate is the current video target (see OnBitrateEstimate), 0
// before the first estimate and in a voice room.
func (s *Session) BitrateEstimate() int {
	if s.bwe == nil {
		return 0
	}
	return s.bwe.Target()
}
