package daemon

import (
	"context"
	"runtime/metrics"
	"slices"
	"sync"
	"time"

	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
)

// deviceStatus is one device in status (DESIGN.md §2 shapes).
type deviceStatus struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Backend   string `json:"backend"`
	Synthetic bool   `json:"synthetic"`
	State     string `json:"state"` // "open" in a room, "closed" otherwise
	// Callbacks is the driver callbacks' lateness (malgo devices only).
	Callbacks *callbackStatus `json:"callbacks,omitempty"`
	// Dropped counts frames lost at the device since it opened (devices
	// that count them, hw.DropCounter): a microphone's or camera's frames
	// overwritten before voipd read them, a speaker's periods played as
	// silence because nothing was queued (underruns).
	Dropped *uint64 `json:"dropped,omitempty"`
}

// statusOf describes an open device, looking through wrappers (Unwrap() any)
// for the driver-level figures.
func statusOf(dev any, info hw.DeviceInfo, state string) *deviceStatus {
	ds := &deviceStatus{ID: info.ID, Name: info.Name, Backend: info.Backend, Synthetic: info.Synthetic, State: state}
	for dev != nil {
		if lr, ok := dev.(hw.LatenessReporter); ok && ds.Callbacks == nil {
			worst, late, n := lr.CallbackLateness()
			ds.Callbacks = &callbackStatus{Count: n, Late: late, WorstLateMs: float64(worst.Microseconds()) / 1000}
		}
		if dc, ok := dev.(hw.DropCounter); ok && ds.Dropped == nil {
			n := dc.Dropped()
			ds.Dropped = &n
		}
		u, ok := dev.(interface{ Unwrap() any })
		if !ok {
			break
		}
		dev = u.Unwrap()
	}
	return ds
}

// callbackStatus is how late the driver's callbacks reached Go: the Go
// scheduler can hold a callback when every P is busy.
type callbackStatus struct {
	Count       uint64  `json:"count"`
	Late        uint64  `json:"late"` // more than one period behind the device clock
	WorstLateMs float64 `json:"worstLateMs"`
}

// configured describes a device that is not open: what the config names.
func configured(id string) *deviceStatus {
	synthetic := len(id) > 5 && id[:5] == "tone:" || id == "null"
	return &deviceStatus{ID: id, Name: id, Synthetic: synthetic, State: "closed"}
}

func (d *Daemon) status(ctx context.Context, r *control.Request) (map[string]any, error) {
	d.mu.Lock()
	st, s := d.state, d.sess
	d.mu.Unlock()
	cfg := d.p.Config
	devices := map[string]any{
		"capture":  configured(cfg.Audio.Capture),
		"playback": configured(cfg.Audio.Playback),
		"camera":   nil,
	}
	var roomInfo any
	var stats *media.CallStats
	if s != nil {
		s.mu.Lock()
		roomInfo = map[string]any{
			"kind": s.kind, "id": s.id, "roomType": s.roomType,
			"members": slices.Clone(s.members), "speakers": slices.Clone(s.speakers),
			"muteConfig": s.mute,
		}
		if s.capture != nil {
			devices["capture"] = statusOf(s.capture, s.capture.Info(), "open")
		}
		if s.playback != nil {
			devices["playback"] = statusOf(s.playback, s.playback.Info(), "open")
		}
		if s.video != nil {
			if cam := s.video.camera(); cam != nil {
				ci := cam.Info()
				ds := statusOf(cam, hw.DeviceInfo{ID: ci.ID, Name: ci.Name, Backend: "v4l2", Synthetic: ci.Synthetic}, "open")
				if ci.Synthetic {
					ds.Backend = "synth"
				}
				devices["camera"] = ds
			} else {
				devices["camera"] = &deviceStatus{ID: d.p.Config.Video.Camera, Name: d.p.Config.Video.Camera, State: "lost"}
			}
		}
		if s.call != nil {
			cs := s.call.Stats()
			stats = &cs
		}
		rs := s.rs
		s.mu.Unlock()
		if rs != nil {
			ns := rs.Stats()
			roomInfo.(map[string]any)["network"] = map[string]any{
				"state": ns.State, "localCandidate": ns.LocalCandidate, "remoteCandidate": ns.RemoteCandidate,
				"remotePort": ns.RemotePort, "rttMs": float64(ns.RTT.Microseconds()) / 1000,
			}
		}
	}
	d.calls.mu.Lock()
	calls := map[string]any{"allowed": cfg.Call.Allowed, "enabled": d.calls.enabled, "reachable": d.calls.presence != nil, "ringing": len(d.calls.ringing)}
	d.calls.mu.Unlock()
	res := map[string]any{"state": st.String(), "room": roomInfo, "devices": devices, "calls": calls}
	if stats != nil {
		res["stats"] = summarize(stats)
	}
	if d.p.Events != nil {
		cs := d.p.Events.Stats()
		res["control"] = map[string]any{"clients": cs.Clients, "droppedSubscribers": cs.DroppedSubscribers}
	}
	res["runtime"] = procRuntime.read()
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
	}
}

// summarize is status' live figures: totals and the worst member.
func summarize(cs *media.CallStats) map[string]any {
	var sent, recv uint64
	var lost int64
	var jitter float64
	sent += cs.Outbound.BytesSent
	for _, in := range cs.Inbound {
		recv += in.BytesReceived
		lost += in.PacketsLost
		jitter = max(jitter, in.JitterMs)
	}
	return map[string]any{"bytesSent": sent, "bytesReceived": recv, "packetsLost": lost, "jitterMs": jitter}
}

func (d *Daemon) listDevices(ctx context.Context, r *control.Request) (map[string]any, error) {
	capture, playback, err := d.p.Audio.Devices()
	if err != nil {
		return nil, err
	}
	if capture == nil {
		capture = []hw.DeviceInfo{}
	}
	if playback == nil {
		playback = []hw.DeviceInfo{}
	}
	cameras := []hw.CameraInfo{}
	if d.p.Cameras != nil {
		list, err := d.p.Cameras.Cameras()
		if err != nil {
			return nil, err
		}
		cameras = append(cameras, list...)
	}
	return map[string]any{"capture": capture, "playback": playback, "cameras": cameras}, nil
}

func (d *Daemon) getStats(ctx context.Context, r *control.Request) (map[string]any, error) {
	s, st := d.current()
	out, in := []any{}, []any{}
	if s != nil && st == stateInRoom {
		s.mu.Lock()
		call, video := s.call, s.video
		s.mu.Unlock()
		if call != nil {
			cs := call.Stats()
			out = append(out, cs.Outbound)
			for _, i := range cs.Inbound {
				in = append(in, i)
			}
		}
		if video != nil {
			vo, vi := video.stats()
			for _, o := range vo {
				out = append(out, o)
			}
			for _, i := range vi {
				in = append(in, i)
			}
		}
	}
	return map[string]any{"outbound": out, "inbound": in}, nil
}
