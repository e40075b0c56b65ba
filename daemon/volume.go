package daemon

import (
	"context"
	"math"

	"github.com/voipd/voipd/daemon/control"
)

type volumeParams struct {
	Playback *float64 `json:"playback"`
	Capture  *float64 `json:"capture"`
}

func (p *volumeParams) check() error {
	if p.Playback == nil && p.Capture == nil {
		return control.InvalidParams("playback", "give playback and/or capture, each 0..1")
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"playback", p.Playback}, {"capture", p.Capture}} {
		if f.v != nil && (*f.v < 0 || *f.v > 1 || math.IsNaN(*f.v)) {
			return control.InvalidParams(f.name, "must be between 0 and 1")
		}
	}
	return nil
}

type volumeResult struct {
	result
	Playback float64 `json:"playback"`
	Capture  float64 `json:"capture"`
}

// setVolume sets the speaker's and the microphone's gain: every call's
// audio and the ring tones follow at their next frame.
func (d *Daemon) setVolume(ctx context.Context, r *control.Request, p *volumeParams) (*volumeResult, error) {
	v := d.engine.Volume()
	if p.Playback != nil {
		v.SetPlayback(*p.Playback)
	}
	if p.Capture != nil {
		v.SetCapture(*p.Capture)
	}
	return d.getVolume(ctx, r, nil)
}

func (d *Daemon) getVolume(ctx context.Context, r *control.Request, _ *noParams) (*volumeResult, error) {
	play, capt := d.engine.Volume().Get()
	return &volumeResult{Playback: play, Capture: capt}, nil
}
