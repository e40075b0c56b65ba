package room

import (
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

// audioBitrate is what the video target leaves of the estimate for the
// audio: Opus voice with in-band FEC (about 24 kbit/s) plus the RTP headers
// of 50 packets a second, which the estimate counts too.
const audioBitrate = 40_000

// apiOption adds to a session's pion API (newAPI) before the default
// interceptors are registered.
type apiOption func(*webrtc.MediaEngine, *interceptor.Registry, *webrtc.SettingEngine) error

// bwe is a video join's send-side bandwidth estimate (Google Congestion
// Control over transport-wide feedback from roomd) turned into a target for
// the video encoder.
type bwe struct {
	// deliver orders the calls of fn: the estimate reports each change from a
	// goroutine of its own, and a new fn's first call comes from another.
	deliver sync.Mutex

	mu       sync.Mutex
	est      *intercept.BWE // nil until the API is built
	min, max int            // the video target's bounds
	target   int            // the current video target, 0 before an estimate
	started  bool           // the estimate changed: its starting point is no estimate
	fn       func(bps int)
	sent     int // the last target fn was given, 0 for a new fn
}

// videoBitrates is Config's initial, minimum and maximum video bitrate with
// the defaults filled in, the bounds ordered around the initial one.
func videoBitrates(cfg Config) (initial, lo, hi int) {
	initial, lo, hi = cfg.VideoBitrate, cfg.MinVideoBitrate, cfg.MaxVideoBitrate
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

// videoTarget is the part of a transport estimate the video may use.
func videoTarget(estimate, lo, hi int) int {
	return min(max(estimate-audioBitrate, lo), hi)
}

// apiOptions is what this session adds to its pion API.
func (s *Session) apiOptions() []apiOption {
	var opts []apiOption
	if s.params.RoomType == proto.RoomVideo {
		opts = append(opts, s.bweOption())
	}
	if f := s.cfg.settings; f != nil {
		opts = append(opts, func(_ *webrtc.MediaEngine, _ *interceptor.Registry, se *webrtc.SettingEngine) error {
			f(se)
			return nil
		})
	}
	return opts
}

// bweOption registers send-side congestion control: the transport-cc header
// extension numbers every outgoing packet of the PeerConnection (audio and
// video), roomd's feedback says which arrived when, and a Google
// Congestion Control estimate follows the delays and losses (package
// intercept, whose per-packet paths do not allocate; pion's cc and gcc
// cloned headers and kept their history in lists). The API is the
// session's own, so its one estimator is this session's. No pacing: the
// encoder follows the estimate and the camera paces the frames.
func (s *Session) bweOption() apiOption {
	initial, lo, hi := videoBitrates(s.cfg)
	est := intercept.NewBWE(initial+audioBitrate, lo+audioBitrate, hi+audioBitrate)
	est.OnTargetBitrateChange(func(int) { s.bitrateChanged(true) })
	s.bwe.mu.Lock()
	s.bwe.min, s.bwe.max = lo, hi
	s.bwe.est = est
	s.bwe.mu.Unlock()
	return func(_ *webrtc.MediaEngine, ir *interceptor.Registry, _ *webrtc.SettingEngine) error {
		ir.Add(est)
		return nil
	}
}

// bitrateChanged runs on the estimate's goroutine after a change of the estimate
// (changed), or on ours for a new fn: it reads the latest estimate (not the
// one the change carried, which a later change may have overtaken) and
// gives fn the video target if fn has not had it yet.
func (s *Session) bitrateChanged(changed bool) {
	if s.leaving.Load() || s.VideoSender() == nil {
		return // left, or a video join into a voice room: audio only
	}
	b := &s.bwe
	b.deliver.Lock()
	defer b.deliver.Unlock()
	b.mu.Lock()
	b.started = b.started || changed
	if b.est == nil || !b.started {
		b.mu.Unlock()
		return
	}
	b.target = videoTarget(b.est.TargetBitrate(), b.min, b.max)
	fn, target := b.fn, b.target
	call := fn != nil && b.sent != target
	if call {
		b.sent = target
	}
	b.mu.Unlock()
	if call {
		s.log.Debug("video bitrate from the estimate", "bps", target)
		fn(target)
	}
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
	if s.params.RoomType != proto.RoomVideo {
		return
	}
	s.bwe.mu.Lock()
	s.bwe.fn, s.bwe.sent = fn, 0
	s.bwe.mu.Unlock()
	if fn != nil {
		go s.bitrateChanged(false)
	}
}

// BitrateEstimate is the current video target (see OnBitrateEstimate), 0
// before the first estimate and in a voice room.
func (s *Session) BitrateEstimate() int {
	s.bwe.mu.Lock()
	defer s.bwe.mu.Unlock()
	return s.bwe.target
}
