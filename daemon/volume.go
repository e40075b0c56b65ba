package daemon

import (
	"context"
	"math"

	"github.com/voipd/voipd/daemon/control"
)

func (d *Daemon) setVolume(ctx context.Context, r *control.Request) (map[string]any, error) {
	var p struct {
		Playback *float64 `json:"playback"`
		Capture  *float64 `json:"capture"`
	}
	if err := decodeParams(r.Params, &p); err != nil {
		return nil, err
	}
	if p.Playback == nil && p.Capture == nil {
		return nil, control.InvalidParams("playback", "give playback and/or capture, each 0..1")
	}
	for name, v := range map[string]*float64{"playback": p.Playback, "capture": p.Capture} {
		if v != nil && (*v < 0 || *v > 1 || math.IsNaN(*v)) {
			return nil, control.InvalidParams(name, "must be between 0 and 1")
		}
	}
	if p.Playback != nil {
		d.volume.SetPlayback(*p.Playback)
	}
	if p.Capture != nil {
		d.volume.SetCapture(*p.Capture)
	}
	return d.getVolume(ctx, r)
}

func (d *Daemon) getVolume(ctx context.Context, r *control.Request) (map[string]any, error) {
	play, capt := d.volume.Get()
	return map[string]any{"playback": play, "capture": capt}, nil
}
