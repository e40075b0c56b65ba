package daemon

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/daemon/session"
	"github.com/voipd/voipd/hw"
)

// statusResult is status' answer: the engine's snapshot (state, room,
// devices, stats, calls), the control socket's figures and the Go
// runtime's. Every field is always present (status in the control API,
// README.md).
type statusResult struct {
	result
	session.Status
	Control controlStatus `json:"control"`
	Runtime runtimeStatus `json:"runtime"`
}

// controlStatus is the control socket's: clients connected now, event
// subscribers dropped for not reading, connections refused for a limit
// and closed for a line not ended or idling.
type controlStatus struct {
	Clients            int    `json:"clients"`
	DroppedSubscribers uint64 `json:"droppedSubscribers"`
	Refused            uint64 `json:"refused"`
	TimedOut           uint64 `json:"timedOut"`
}

func (d *Daemon) status(ctx context.Context, r *control.Request, _ *noParams) (*statusResult, error) {
	res := &statusResult{Status: d.engine.Status(), Runtime: procRuntime.read()}
	if p := d.events.pub.Load(); p != nil {
		cs := (*p).Stats()
		res.Control = controlStatus{Clients: cs.Clients, DroppedSubscribers: cs.DroppedSubscribers,
			Refused: cs.Refused, TimedOut: cs.TimedOut}
	}
	return res, nil
}

// runtimeStatus is status' runtime object: the Go runtime's own counters,
// so a client (the bench, a kiosk's monitoring) can rate allocation and
// garbage collection between two status calls.
type runtimeStatus struct {
	UptimeSeconds    float64 `json:"uptimeSeconds"`
	HeapAllocBytes   uint64  `json:"heapAllocBytes"`   // cumulative
	HeapAllocObjects uint64  `json:"heapAllocObjects"` // cumulative
	GCCycles         uint64  `json:"gcCycles"`         // cumulative
	HeapLiveBytes    uint64  `json:"heapLiveBytes"`    // as the last GC marked it; 0 before the first
	MappedBytes      uint64  `json:"mappedBytes"`      // all memory the Go runtime maps
	Goroutines       uint64  `json:"goroutines"`
	MaxProcs         int     `json:"maxProcs"`     // GOMAXPROCS in effect (runtime.maxProcs)
	TimerSlackNs     int64   `json:"timerSlackNs"` // the kernel's timer slack in effect (runtime.timerSlack); 0 where there is none
}

// runtimeSamples are the runtime/metrics names behind runtimeStatus, in
// the order read copies them out.
var runtimeSamples = [...]string{
	"/gc/heap/allocs:bytes",
	"/gc/heap/allocs:objects",
	"/gc/cycles/total:gc-cycles",
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
	"/sched/goroutines:goroutines",
}

// runtimeReader reads the samples through runtime/metrics, which, unlike
// runtime.ReadMemStats, does not stop the world: a status poll must not
// pause the media goroutines. The slice is built once and reused (Read may
// not share it between concurrent calls, hence the lock).
type runtimeReader struct {
	started time.Time
	mu      sync.Mutex
	samples []metrics.Sample
}

// procRuntime is process-wide because what it reads is: one Go runtime per
// process, however many Daemons a test makes. Package initialisation runs
// before main, so started is the process's start to within its loading.
var procRuntime = newRuntimeReader()

func newRuntimeReader() *runtimeReader {
	r := &runtimeReader{started: time.Now(), samples: make([]metrics.Sample, len(runtimeSamples))}
	for i, name := range runtimeSamples {
		r.samples[i].Name = name
	}
	return r
}

func (r *runtimeReader) read() runtimeStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	metrics.Read(r.samples)
	v := func(i int) uint64 {
		if r.samples[i].Value.Kind() != metrics.KindUint64 {
			return 0 // a name this Go release dropped: 0, not a panic in status
		}
		return r.samples[i].Value.Uint64()
	}
	return runtimeStatus{
		UptimeSeconds:    time.Since(r.started).Seconds(),
		HeapAllocBytes:   v(0),
		HeapAllocObjects: v(1),
		GCCycles:         v(2),
		HeapLiveBytes:    v(3),
		MappedBytes:      v(4),
		Goroutines:       v(5),
		MaxProcs:         runtime.GOMAXPROCS(0),
		TimerSlackNs:     int64(timerSlack()),
	}
}

// devicesResult is listDevices' answer.
type devicesResult struct {
	result
	Capture  []hw.DeviceInfo `json:"capture"`
	Playback []hw.DeviceInfo `json:"playback"`
	Cameras  []hw.CameraInfo `json:"cameras"`
	// CamerasUnsupported says why no camera can be listed on this system
	// (macOS so far: no camera backend); "" where there is a camera
	// backend (Linux's V4L2), even when it lists no camera.
	CamerasUnsupported string `json:"camerasUnsupported"`
}

// cameraSupport is implemented by a camera system without a backend on
// this system (hw/camera.NoBackend): why it lists none.
type cameraSupport interface{ Unsupported() string }

// listDevices lists the backend's devices, and first the synthetic ones
// the config chose (a tone, a null speaker, a pattern camera: usable, and
// what status then shows in use).
func (d *Daemon) listDevices(ctx context.Context, r *control.Request, _ *noParams) (*devicesResult, error) {
	capture, playback, err := d.audio.Devices()
	if err != nil {
		return nil, err
	}
	res := &devicesResult{Capture: []hw.DeviceInfo{}, Playback: []hw.DeviceInfo{}, Cameras: []hw.CameraInfo{}}
	a := d.cfg.Audio
	if hw.IsSynthetic(a.Capture) {
		res.Capture = append(res.Capture, hw.DeviceInfo{ID: a.Capture, Name: "synthetic " + a.Capture, Backend: "synth", Default: true, Synthetic: true})
	}
	if hw.IsSynthetic(a.Playback) {
		res.Playback = append(res.Playback, hw.DeviceInfo{ID: a.Playback, Name: "synthetic " + a.Playback, Backend: "synth", Default: true, Synthetic: true})
	}
	res.Capture = append(res.Capture, capture...)
	res.Playback = append(res.Playback, playback...)
	if d.cameras == nil {
		return res, nil
	}
	v := d.cfg.Video
	for _, id := range []string{v.Camera, v.Back} {
		if _, ok := hw.ParsePattern(id); ok {
			res.Cameras = append(res.Cameras, hw.CameraInfo{ID: id, Name: "synthetic test pattern", Synthetic: true,
				Formats: []hw.VideoFormat{{Format: hw.FormatI420, Width: v.Width, Height: v.Height, FPS: []int{v.FPS}}}})
		}
	}
	list, err := d.cameras.Cameras()
	if err != nil {
		return nil, err
	}
	res.Cameras = append(res.Cameras, list...)
	if u, ok := d.cameras.(cameraSupport); ok {
		res.CamerasUnsupported = u.Unsupported()
	}
	return res, nil
}

type statsResult struct {
	result
	session.Stats
}

func (d *Daemon) getStats(ctx context.Context, r *control.Request, _ *noParams) (*statsResult, error) {
	return &statsResult{Stats: d.engine.Stats()}, nil
}
