package session

import (
	"context"
	"slices"
	"time"
)

// Speaker detection: a member is speaking while its audio level (RFC 6464 on
// the wire, 0..1 linear here) is above speakThreshold, and stays so for
// speakHold after it falls quiet, so the list does not flicker between
// words.
const (
	speakThreshold = 0.02 // about -34 dBov
	speakHold      = 600 * time.Millisecond
	speakTick      = 100 * time.Millisecond
)

type speakerTracker struct {
	lastLoud map[string]time.Time
	current  []string
}

// update takes the levels seen now and returns the speaking set and whether
// it changed.
func (t *speakerTracker) update(now time.Time, levels map[string]float64) ([]string, bool) {
	if t.lastLoud == nil {
		t.lastLoud = map[string]time.Time{}
	}
	for m, l := range levels {
		if l > speakThreshold {
			t.lastLoud[m] = now
		}
	}
	var speaking []string
	for m, at := range t.lastLoud {
		if _, present := levels[m]; present && now.Sub(at) <= speakHold {
			speaking = append(speaking, m)
		} else if !present || now.Sub(at) > speakHold {
			delete(t.lastLoud, m)
		}
	}
	slices.Sort(speaking)
	if slices.Equal(speaking, t.current) {
		return t.current, false
	}
	t.current = speaking
	return speaking, true
}

// watchSpeakers emits SpeakersChanged whenever who is talking changes,
// this device included (silent while its microphone is muted).
func (e *Engine) watchSpeakers(ctx context.Context, s *session) {
	tick := time.NewTicker(speakTick)
	defer tick.Stop()
	var tr speakerTracker
	levels := map[string]float64{}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			e.mu.Lock()
			call, muted := s.call, s.mute.MuteMicrophone
			e.mu.Unlock()
			cs := call.Stats()
			clear(levels)
			for _, in := range cs.Inbound {
				levels[in.Member] = in.AudioLevel
			}
			levels[s.self] = cs.Outbound.AudioLevel
			if muted {
				levels[s.self] = 0
			}
			speaking, changed := tr.update(now, levels)
			if !changed {
				continue
			}
			e.mu.Lock()
			s.speakers = slices.Clone(speaking)
			e.mu.Unlock()
			e.p.Events.Emit(SpeakersChanged{Room: s.kind, Speakers: clone(speaking)})
		}
	}
}
