package room

import (
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// gate drops a token-room member's outgoing media while it does not
// publish. It sits between the caller's track and pion's interceptor
// chain, where pion hands a bound track its write stream: a dropped packet
// is never numbered, buffered for retransmission, reported or sent, so
// reopening the gate cannot bring old packets back through a NACK.
type gate struct {
	audio, video atomic.Bool
}

// gated returns track as the PeerConnection should carry it: through the
// gate in token rooms (on names the kind's switch), as it is elsewhere.
func (s *Session) gated(track *webrtc.TrackLocalStaticRTP, kind webrtc.RTPCodecType) webrtc.TrackLocal {
	r := s.rtcState()
	if r == nil {
		return track
	}
	on := &r.gate.audio
	if kind == webrtc.RTPCodecTypeVideo {
		on = &r.gate.video
	}
	return &gatedTrack{TrackLocalStaticRTP: track, on: on}
}

// gatedTrack is the caller's track with a gated write stream in each
// binding. Unbind needs no override: the binding is found by the context's
// ID, which the gated context passes through.
type gatedTrack struct {
	*webrtc.TrackLocalStaticRTP
	on *atomic.Bool
}

// Bind implements webrtc.TrackLocal.
func (g *gatedTrack) Bind(c webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	return g.TrackLocalStaticRTP.Bind(gatedContext{TrackLocalContext: c, w: gatedWriter{w: c.WriteStream(), on: g.on}})
}

type gatedContext struct {
	webrtc.TrackLocalContext
	w gatedWriter
}

func (c gatedContext) WriteStream() webrtc.TrackLocalWriter { return c.w }

// gatedWriter passes packets on while on is set. A dropped packet counts as
// written: to the caller the track works, it just is not published.
type gatedWriter struct {
	w  webrtc.TrackLocalWriter
	on *atomic.Bool
}

func (g gatedWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	if !g.on.Load() {
		return h.MarshalSize() + len(payload), nil
	}
	return g.w.WriteRTP(h, payload)
}

func (g gatedWriter) Write(b []byte) (int, error) {
	if !g.on.Load() {
		return len(b), nil
	}
	return g.w.Write(b)
}
