package daemon

import (
	"math"
	"sync"

	"github.com/voipd/voipd/hw"
)

// A ring pattern: a tone on for on frames, silent for off frames, repeated.
// The listener hears the ringtone (700 Hz, or the configured WAV); the
// caller hears a 450 Hz ringback (China's ringback tone: 1 s on, 4 s off).
type ringPattern struct {
	hz      float64
	on, off int // in 20 ms frames
}

var (
	ringtone = ringPattern{hz: 700, on: 50, off: 50}
	ringback = ringPattern{hz: 450, on: 50, off: 200}
)

// ring plays the pattern on dev until the returned stop is called; stop
// waits until the last frame was written, so the call's own audio never
// interleaves with it. A nil dev rings nothing.
func (d *Daemon) ring(dev interface{ Write([]int16) error }, pat ringPattern) (stop func()) {
	if dev == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		frame := make([]int16, hw.FrameSamples)
		var phase float64
		step := 2 * math.Pi * pat.hz / hw.SampleRate
		wav := d.p.Ringtone
		pos := 0
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			default:
			}
			switch {
			case pat == ringtone && len(wav) > 0:
				for i := range frame {
					frame[i] = wav[pos]
					pos = (pos + 1) % len(wav)
				}
			case n%(pat.on+pat.off) < pat.on:
				for i := range frame {
					frame[i] = int16(0.25 * 32767 * math.Sin(phase))
					phase += step
				}
				phase = math.Mod(phase, 2*math.Pi)
			default:
				clear(frame)
			}
			if err := dev.Write(frame); err != nil {
				return // the device closed: the ring is over
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-finished
		})
	}
}

// ringStandalone opens the speaker for the ringtone of an incoming call and
// closes it when stopped. A speaker in use (the device is in a room) rings
// nothing: the invitation event still tells the UI.
func (d *Daemon) ringStandalone(pat ringPattern) (stop func()) {
	if _, st := d.current(); st != stateIdle {
		return func() {}
	}
	p, err := d.p.Audio.OpenPlayback(d.p.Config.Audio.Playback)
	if err != nil {
		d.log.Warn("ringtone: speaker", "err", err)
		return func() {}
	}
	stopRing := d.ring(d.gains.playback(p), pat)
	return func() {
		stopRing()
		p.Close()
	}
}
