package daemon

import "github.com/voipd/voipd/media"

// ringStandalone opens the speaker for the ringtone of an incoming call and
// closes it when stopped. A speaker in use (the device is in a room) rings
// nothing: the invitation event still tells the UI.
func (d *Daemon) ringStandalone() (stop func()) {
	if _, st := d.current(); st != stateIdle {
		return func() {}
	}
	p, err := d.p.Audio.OpenPlayback(d.p.Config.Audio.Playback)
	if err != nil {
		d.log.Warn("ringtone: speaker", "err", err)
		return func() {}
	}
	stopRing := media.Ring(p, media.Ringtone, d.p.Ringtone, d.volume)
	return func() {
		stopRing()
		p.Close()
	}
}
