// Package audio opens microphones and speakers through miniaudio (malgo):
// PulseAudio/PipeWire, ALSA, CoreAudio (macOS) or miniaudio's null backend, always as 48 kHz
// mono S16 in periods of the configured frame (20 ms, or 10 ms with
// audio.frameMs = 10). It implements hw.AudioSystem; "tone:N" and
// "null" ids give the synthetic devices of hw/synth through the same calls,
// so configuration alone decides what is real.
//
// The device callbacks are C (callbacks.c): they copy into or out of a
// preallocated ring in C memory and wake the Go reader or writer through an
// eventfd in Go's poller, so a device period costs no call into Go; Read and
// Write wait on those wakeups, so the device clock paces the daemon. Native
// errors become hw kinds in one function (errors.go).
package audio

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"

	"github.com/gen2brain/malgo"
	"github.com/voipd/voipd/hw"
)

// Config selects the backend of a System.
type Config struct {
	Backend      string // "auto" (default) or one of hw.AudioBackends: "alsa", "pulse", "null"; "coreaudio", "null" on macOS
	PeriodMillis int    // device period, the pipeline's frame; 0 means hw.FrameMillis (20)
	Logger       *slog.Logger
}

// backendNull is miniaudio's null backend. malgo v0.11.24's BackendNull
// constant has the wrong value (it selects the custom backend).
const backendNull = malgo.Backend(14)

// System is one miniaudio context of one backend. It implements
// hw.AudioSystem and is safe for concurrent use.
type System struct {
	backend string
	period  int
	log     *slog.Logger
	ctx     *malgo.AllocatedContext

	// micAccess is the system's answer to "may this process record?",
	// asked by OpenCapture (permission.go): micAccessNow, or always allowed
	// for the null backend, which records nothing. Tests replace it.
	micAccess func() micAccess

	// life is held shared while the context is in use (listing, opening)
	// and exclusively to mark the System closed, so Close never frees the
	// context under a concurrent OpenCapture.
	life   sync.RWMutex
	closed bool // guarded by life

	// ctxMu serialises calls into the miniaudio context: listing devices
	// and opening one. They are not safe to run at once; with PulseAudio
	// both iterate the context's one pa_mainloop, and two threads doing so
	// abort the process (a microphone and a speaker reopened together,
	// listDevices during a join).
	ctxMu sync.Mutex

	mu   sync.Mutex
	open map[closer]struct{} // devices to close with the System
}

type closer interface{ Close() error }

// New makes the miniaudio context of cfg.Backend. For "auto" it uses
// PulseAudio (or PipeWire's pulse server) when a server answers, else ALSA;
// on macOS CoreAudio; and logs the choice (backends_*.go).
func New(cfg Config) (*System, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	period := cfg.PeriodMillis
	if period == 0 {
		period = hw.FrameMillis
	}
	if period < 1 || period > 1000 {
		return nil, fmt.Errorf("audio: period %d ms out of range", period)
	}
	name := cfg.Backend
	if name == "" {
		name = "auto"
	}
	s := &System{period: period, log: log, open: map[closer]struct{}{}, micAccess: micAccessNow}
	if name == "auto" {
		if name = s.chooseAuto(); s.ctx != nil {
			return s, nil
		}
	}
	ctx, err := newContext(name, log)
	if err != nil {
		return nil, err
	}
	s.backend, s.ctx = name, ctx
	if name == "null" {
		s.micAccess = func() micAccess { return accessAllowed }
	}
	return s, nil
}

func newContext(name string, log *slog.Logger) (*malgo.AllocatedContext, error) {
	b, ok := backends[name]
	if !ok {
		return nil, fmt.Errorf("audio: backend %q is not one of %s's (want one of %s)", name, runtime.GOOS, strings.Join(hw.AudioBackends, ", "))
	}
	ctx, err := malgo.InitContext([]malgo.Backend{b}, malgo.ContextConfig{}, func(msg string) {
		log.Debug("miniaudio", "backend", name, "msg", msg)
	})
	if err != nil {
		return nil, fmt.Errorf("audio: %s backend: %w", name, err)
	}
	return ctx, nil
}

func freeContext(ctx *malgo.AllocatedContext) {
	_ = ctx.Uninit()
	ctx.Free()
}

// Backend returns the backend in use: "pulse", "alsa", "coreaudio" or "null".
func (s *System) Backend() string { return s.backend }

// Close closes the devices still open and frees the context.
func (s *System) Close() error {
	s.life.Lock()
	if s.closed {
		s.life.Unlock()
		return nil
	}
	s.closed = true
	s.life.Unlock()
	// From here no one else uses the context: acquire fails.
	s.mu.Lock()
	devs := make([]closer, 0, len(s.open))
	for d := range s.open {
		devs = append(devs, d)
	}
	s.mu.Unlock()
	var errs []error
	for _, d := range devs {
		errs = append(errs, d.Close())
	}
	errs = append(errs, s.ctx.Uninit())
	s.ctx.Free()
	return errors.Join(errs...)
}

// acquire reserves the context for one use; false once the System is
// closed. Each successful acquire is paired with release.
func (s *System) acquire() bool {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return false
	}
	return true
}

func (s *System) release() { s.life.RUnlock() }

// track registers an open device, to be closed with the System.
func (s *System) track(d closer) {
	s.mu.Lock()
	s.open[d] = struct{}{}
	s.mu.Unlock()
}

func (s *System) untrack(d closer) {
	s.mu.Lock()
	delete(s.open, d)
	s.mu.Unlock()
}

// Devices lists the capture and playback devices of the backend in use.
func (s *System) Devices() (capture, playback []hw.DeviceInfo, err error) {
	if !s.acquire() {
		return nil, nil, &hw.DeviceError{Op: "list", Device: s.backend, Kind: hw.ErrClosed}
	}
	defer s.release()
	s.ctxMu.Lock()
	c, p, err := enumerate(s.ctx)
	s.ctxMu.Unlock()
	if err != nil {
		return nil, nil, deviceError("list", s.backend, err)
	}
	return s.infos(c), s.infos(p), nil
}

func enumerate(ctx *malgo.AllocatedContext) (capture, playback []malgo.DeviceInfo, err error) {
	if capture, err = ctx.Devices(malgo.Capture); err != nil {
		return nil, nil, err
	}
	if playback, err = ctx.Devices(malgo.Playback); err != nil {
		return nil, nil, err
	}
	return capture, playback, nil
}

// infos describes malgo's devices. miniaudio's null backend's are
// synthetic: no hardware behind them, a clock that paces silence.
func (s *System) infos(ds []malgo.DeviceInfo) []hw.DeviceInfo {
	out := make([]hw.DeviceInfo, len(ds))
	for i := range ds {
		out[i] = hw.DeviceInfo{ID: idString(ds[i].ID), Name: ds[i].Name(), Backend: s.backend, Default: ds[i].IsDefault != 0, Synthetic: s.backend == "null"}
	}
	return out
}

// The interfaces the daemon and media pipelines use.
var (
	_ hw.AudioSystem  = (*System)(nil)
	_ hw.Capture      = (*capture)(nil)
	_ hw.DropCounter  = (*capture)(nil)
	_ hw.Playback     = (*playback)(nil)
	_ hw.DropCounter  = (*playback)(nil)
	_ hw.ReadyWaiter  = (*playback)(nil)
	_ hw.RoomReporter = (*playback)(nil)
)
