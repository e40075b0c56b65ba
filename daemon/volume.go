package daemon

import (
	"context"
	"math"
	"sync/atomic"

	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/hw"
)

// gains are the playback and capture volumes (setVolume), 0..1 linear,
// applied to every frame as it passes the device wrappers below: in place,
// no allocation, and a gain of 1 costs nothing.
type gains struct {
	play, capt atomic.Uint64 // math.Float64bits
}

func newGains() *gains {
	g := &gains{}
	g.play.Store(math.Float64bits(1))
	g.capt.Store(math.Float64bits(1))
	return g
}

func (g *gains) get() (playback, capture float64) {
	return math.Float64frombits(g.play.Load()), math.Float64frombits(g.capt.Load())
}

func (g *gains) capture(c hw.Capture) hw.Capture    { return &gainCapture{Capture: c, g: &g.capt} }
func (g *gains) playback(p hw.Playback) hw.Playback { return &gainPlayback{Playback: p, g: &g.play} }

func scale(frame []int16, gain float64) {
	if gain == 1 {
		return
	}
	for i, v := range frame {
		frame[i] = int16(float64(v) * gain) // gain ≤ 1: no overflow
	}
}

type gainCapture struct {
	hw.Capture
	g *atomic.Uint64
}

// Unwrap returns the device under the volume.
func (c *gainCapture) Unwrap() any { return c.Capture }

// Unwrap returns the device under the volume.
func (p *gainPlayback) Unwrap() any { return p.Playback }

func (c *gainCapture) Read(frame []int16) error {
	err := c.Capture.Read(frame)
	if err == nil {
		scale(frame, math.Float64frombits(c.g.Load()))
	}
	return err
}

// gainPlayback scales the frame in place before writing it: the mixer
// rewrites its buffer every frame, so nothing else sees the change.
type gainPlayback struct {
	hw.Playback
	g *atomic.Uint64
}

func (p *gainPlayback) Write(frame []int16) error {
	scale(frame, math.Float64frombits(p.g.Load()))
	return p.Playback.Write(frame)
}

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
		d.gains.play.Store(math.Float64bits(*p.Playback))
	}
	if p.Capture != nil {
		d.gains.capt.Store(math.Float64bits(*p.Capture))
	}
	return d.getVolume(ctx, r)
}

func (d *Daemon) getVolume(ctx context.Context, r *control.Request) (map[string]any, error) {
	play, capt := d.gains.get()
	return map[string]any{"playback": play, "capture": capt}, nil
}
