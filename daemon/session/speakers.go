package session

import (
	"context"
	"slices"
	"time"
)

// Speaker detection: a member is speaking while its audio level (RFC 6464 on
// the wire, 0..1 linear here) is above speakThreshold, and stays so for
// speakHold after it falls quiet, so the list does not flicker between
// words. The call says when a level crosses the threshold (or a member
// comes or goes, or the mute changes: media.CallParams.LevelsChanged), so
// the watch wakes for those and for the end of a hold, never on a ticker:
// a call in which nobody starts or stops talking costs it nothing.
const (
	speakThreshold = 0.02 // about -34 dBov
	speakHold      = 600 * time.Millisecond
)

type speakerTracker struct {
	lastLoud map[string]time.Time // when each member was last seen loud, or fell quiet
	loud     map[string]bool      // above the threshold at the last update
	current  []string
}

// update takes the levels seen now and returns the speaking set and whether
// it changed. A member loud at the last update and quiet now fell quiet
// now: its hold starts here (the call tells of the crossing when it
// happens).
func (t *speakerTracker) update(now time.Time, levels map[string]float64) ([]string, bool) {
	if t.lastLoud == nil {
		t.lastLoud, t.loud = map[string]time.Time{}, map[string]bool{}
	}
	for m, l := range levels {
		loud := l > speakThreshold
		if loud || t.loud[m] {
			t.lastLoud[m] = now
		}
		t.loud[m] = loud
	}
	var speaking []string
	for m, at := range t.lastLoud {
		if _, present := levels[m]; present && now.Sub(at) <= speakHold {
			speaking = append(speaking, m)
		} else {
			delete(t.lastLoud, m)
		}
	}
	for m := range t.loud {
		if _, present := levels[m]; !present {
			delete(t.loud, m)
		}
	}
	slices.Sort(speaking)
	if slices.Equal(speaking, t.current) {
		return t.current, false
	}
	t.current = speaking
	return speaking, true
}

// nextExpiry is how long after now the first hold of a member that is
// quiet but still listed as speaking runs out (ok false: none is held).
func (t *speakerTracker) nextExpiry(now time.Time) (d time.Duration, ok bool) {
	for m, at := range t.lastLoud {
		if t.loud[m] {
			continue
		}
		left := at.Add(speakHold).Sub(now)
		if !ok || left < d {
			d, ok = left, true
		}
	}
	// Just past the hold: update keeps a member for speakHold inclusive.
	return max(d, 0) + time.Millisecond, ok
}

// watchSpeakers emits SpeakersChanged whenever who is talking changes,
// this device included (silent while its microphone is muted). changed is
// the call's LevelsChanged signal.
func (e *Engine) watchSpeakers(ctx context.Context, s *session, changed <-chan struct{}) {
	hold := time.NewTimer(time.Hour)
	hold.Stop()
	defer hold.Stop()
	var tr speakerTracker
	levels := map[string]float64{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-hold.C:
		}
		now := time.Now()
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
		speaking, moved := tr.update(now, levels)
		hold.Stop()
		if d, ok := tr.nextExpiry(now); ok {
			hold.Reset(d)
		}
		if !moved {
			continue
		}
		e.mu.Lock()
		s.speakers = slices.Clone(speaking)
		e.mu.Unlock()
		e.p.Events.Emit(SpeakersChanged{Room: s.kind, Speakers: clone(speaking)})
	}
}
