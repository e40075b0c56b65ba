package audio

import (
	"errors"
	"runtime"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
)

// OpenCapture opens a microphone: "tone:N" for a synthetic tone, "voice"
// for the synthetic voice, "click:PATH"
// for a synthetic click source logging to PATH (hw/synth), "default"
// for the backend's default, or a device id or name from Devices. With ALSA
// any other name is opened as an ALSA PCM name, so PCMs defined in an ALSA
// configuration file work without being enumerated.
func (s *System) OpenCapture(id string) (hw.Capture, error) {
	if f, ok := hw.ParseTone(id); ok {
		// A quarter of full scale (-12 dBFS): loud enough to hear, far from
		// clipping after any gain further down.
		return synth.NewTone(f, 0.25), nil
	}
	if id == hw.VoiceID {
		return synth.NewVoice(), nil
	}
	if path, ok := hw.ParseClick(id); ok {
		return synth.NewClickSource(path)
	}
	if !s.acquire() {
		return nil, &hw.DeviceError{Op: "open capture", Device: id, Kind: hw.ErrClosed}
	}
	defer s.release()
	// Asked once the System is known open, so a closed one answers closed.
	a := s.micAccess()
	if err := micAccessError(id, a); err != nil {
		return nil, err
	}
	if a == accessUndetermined {
		s.log.Warn("macOS has not been asked yet whether voipd may record: it asks the user now, and the microphone records silence until allowed", "id", id)
	}
	c, err := newCapture(time.Duration(s.period) * time.Millisecond)
	if err != nil {
		return nil, &hw.DeviceError{Op: "open capture", Device: id, Kind: hw.ErrUnavailable, Err: err}
	}
	// The device calls the mic's C callback, attached before it starts.
	dev, info, err := s.start("open capture", id, malgo.Capture, malgo.DeviceCallbacks{Stop: c.onStop}, c.mic.attach)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.sys, c.dev, c.info = s, dev, info
	s.track(c)
	go watchStall(c.mic.samples(), c.done, c.stall)
	return c, nil
}

// OpenPlayback opens a speaker: "null" for a synthetic sink that discards
// audio at the device pace, "detect:PATH" for a synthetic click detector
// logging to PATH, "default", or a device id or name from Devices
// (with ALSA, any ALSA PCM name).
func (s *System) OpenPlayback(id string) (hw.Playback, error) {
	if id == hw.NullSink {
		return synth.NewSink(), nil
	}
	if path, ok := hw.ParseDetect(id); ok {
		return synth.NewClickDetector(path)
	}
	if !s.acquire() {
		return nil, &hw.DeviceError{Op: "open playback", Device: id, Kind: hw.ErrClosed}
	}
	defer s.release()
	p, err := newPlayback(time.Duration(s.period) * time.Millisecond)
	if err != nil {
		return nil, &hw.DeviceError{Op: "open playback", Device: id, Kind: hw.ErrUnavailable, Err: err}
	}
	// The device calls the speaker's C callback, attached before it starts.
	dev, info, err := s.start("open playback", id, malgo.Playback, malgo.DeviceCallbacks{Stop: p.onStop}, p.spk.attach)
	if err != nil {
		p.Close()
		return nil, err
	}
	p.sys, p.dev, p.info = s, dev, info
	s.track(p)
	go watchStall(p.spk.samples(), p.done, p.stall)
	return p, nil
}

// start opens the device id in the fixed voipd format, runs attach on it
// (which gives it its C data callback) and starts it. The caller holds the
// context (acquire) until the device is tracked.
func (s *System) start(op, id string, kind malgo.DeviceType, cb malgo.DeviceCallbacks, attach func(*malgo.Device) error) (*malgo.Device, hw.DeviceInfo, error) {
	s.ctxMu.Lock()
	defer s.ctxMu.Unlock()
	devID, info, err := s.resolve(kind, id)
	if err != nil {
		return nil, info, deviceError(op, id, err)
	}
	cfg := malgo.DefaultDeviceConfig(kind)
	sub := &cfg.Capture
	if kind == malgo.Playback {
		sub = &cfg.Playback
	}
	sub.Format = malgo.FormatS16
	sub.Channels = hw.Channels
	cfg.SampleRate = hw.SampleRate
	cfg.PeriodSizeInMilliseconds = uint32(s.period)

	// The id lives in Go memory inside a config that cgo copies to C:
	// pinning makes that legal, and miniaudio copies the id during init.
	var pin runtime.Pinner
	pin.Pin(devID)
	sub.DeviceID = unsafe.Pointer(devID)
	dev, err := malgo.InitDevice(s.ctx.Context, cfg, cb)
	pin.Unpin()
	if err != nil {
		return nil, info, deviceError(op, id, err)
	}
	if err := attach(dev); err != nil {
		dev.Uninit()
		return nil, info, &hw.DeviceError{Op: op, Device: id, Kind: hw.ErrUnavailable, Err: err}
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		return nil, info, deviceError("start", id, err)
	}
	s.log.Info("audio device open", "op", op, "id", id, "device", info.ID, "backend", s.backend)
	return dev, info, nil
}

// errNoDevice reports that the backend lists no device to open.
var errNoDevice = errors.New("no such device")

// resolve turns an id or name into the explicit miniaudio device id to open.
// It never returns a nil id: see kindOf for why.
func (s *System) resolve(kind malgo.DeviceType, id string) (*malgo.DeviceID, hw.DeviceInfo, error) {
	info := hw.DeviceInfo{ID: id, Name: id, Backend: s.backend, Synthetic: s.backend == "null"}
	if id == "" {
		return nil, info, malgo.ErrInvalidArgs
	}
	if id == "default" && s.backend == "alsa" {
		// ALSA's own "default" PCM: whatever the system's asoundrc routes it to.
		info.Default = true
		return textID(id), info, nil
	}
	list, err := s.ctx.Devices(kind)
	if err != nil {
		return nil, info, err
	}
	for i := range list {
		d := &list[i]
		if (id == "default" && d.IsDefault != 0) || idString(d.ID) == id || d.Name() == id {
			return &d.ID, s.infos(list[i : i+1])[0], nil
		}
	}
	if id == "default" && len(list) > 0 { // no device flagged default: the first one
		info := s.infos(list[:1])[0]
		info.Default = false
		return &list[0].ID, info, nil
	}
	if (s.backend == "alsa" || s.backend == "pulse") && len(id) < len(malgo.DeviceID{}) {
		// Not enumerated: hand the name to the backend (an ALSA PCM from a
		// config file, a pulse source that appeared since). Its own error,
		// e.g. ENOENT, then says why it cannot be opened.
		return textID(id), info, nil
	}
	return nil, info, errNoDevice
}

// textID is a miniaudio id holding a NUL-terminated name, as ALSA and
// PulseAudio ids are.
func textID(name string) *malgo.DeviceID {
	var id malgo.DeviceID
	copy(id[:len(id)-1], name)
	return &id
}

// idString is the text of a name-like id (ALSA, PulseAudio), or the hex form
// malgo gives for others (the null backend's integer ids).
func idString(id malgo.DeviceID) string {
	n := 0
	for n < len(id) && id[n] != 0 {
		if id[n] < 0x20 || id[n] > 0x7e {
			return id.String()
		}
		n++
	}
	if n == 0 {
		return id.String()
	}
	return string(id[:n])
}
