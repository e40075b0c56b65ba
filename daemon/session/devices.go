package session

import (
	"context"
	"time"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
)

// deviceRetry is how often a lost microphone or speaker is opened again.
const deviceRetry = time.Second

// deviceLost hears from the call that the microphone or the speaker
// failed (unplugged, its sound server restarted): the room goes on —
// receiving, and sending nothing, or mixing to nowhere — the sink hears
// code 4 (device "audio"), and the device is opened again every
// deviceRetry until it is back (code 5) or the room ends.
func (e *Engine) deviceLost(ctx context.Context, s *session, call media.Call, device string, err error) {
	e.log.Warn("audio device lost; the room goes on without it", "device", device, "err", err)
	e.mu.Lock()
	var old interface{ Close() error }
	if device == "microphone" {
		if s.capture != nil {
			old = s.capture
		}
		s.capture, s.captureLost = nil, true
	} else {
		if s.playback != nil {
			old = s.playback
		}
		s.playback, s.playbackLost = nil, true
	}
	e.mu.Unlock()
	if old != nil {
		old.Close() // the failed stream's resources; the call no longer uses it
	}
	e.p.Events.Emit(DeviceLost{Room: s.kind, Device: "audio", Err: err.Error()})
	go e.reopen(ctx, s, call, device)
}

// reopen opens the lost device again until it opens, and hands it to the
// call.
func (e *Engine) reopen(ctx context.Context, s *session, call media.Call, device string) {
	t := time.NewTicker(deviceRetry)
	defer t.Stop()
	a := e.cfg.Audio
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var capture hw.Capture
		var playback hw.Playback
		var err error
		if device == "microphone" {
			capture, err = e.p.Audio.OpenCapture(a.Capture)
		} else {
			playback, err = e.p.Audio.OpenPlayback(a.Playback)
		}
		if err != nil {
			continue
		}
		e.mu.Lock()
		if ctx.Err() != nil || e.s != s {
			e.mu.Unlock()
			if capture != nil { // the room ended meanwhile
				capture.Close()
			} else {
				playback.Close()
			}
			return
		}
		if capture != nil {
			s.capture, s.captureLost = capture, false
			call.SetCapture(capture)
		} else {
			s.playback, s.playbackLost = playback, false
			call.SetPlayback(playback)
		}
		e.mu.Unlock()
		e.log.Info("audio device back", "device", device)
		e.p.Events.Emit(DeviceBack{Room: s.kind, Device: "audio"})
		return
	}
}
