package session

import (
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/proto"
)

// The engine's snapshot, in the shapes status sends (the control API,
// README.md): every field always present; lists are never null.

// Status is the engine's part of status.
type Status struct {
	State   State          `json:"state"`
	Room    *RoomStatus    `json:"room"` // null when idle
	Devices DevicesStatus  `json:"devices"`
	Stats   StatsSummary   `json:"stats"`
	Calls   ListenerStatus `json:"calls"`
}

// RoomStatus is the room the device is in (or joining, or leaving).
type RoomStatus struct {
	Kind       Kind             `json:"kind"`
	ID         string           `json:"id"`
	RoomType   string           `json:"roomType"`
	Members    []string         `json:"members"`
	Speakers   []string         `json:"speakers"`
	MuteConfig proto.MuteConfig `json:"muteConfig"`
	Network    *NetworkStatus   `json:"network"` // null until the room is joined
}

// NetworkStatus is the media connection's selected pair.
type NetworkStatus struct {
	State           string  `json:"state"`
	LocalCandidate  string  `json:"localCandidate"`
	RemoteCandidate string  `json:"remoteCandidate"`
	RemotePort      int     `json:"remotePort"`
	RTTMs           float64 `json:"rttMs"`
	// How often the room came back: by an ICE restart on the same
	// connection, and by a new connection to the room server.
	ICERestarts int `json:"iceRestarts"`
	Reconnects  int `json:"reconnects"`
}

// DevicesStatus are the devices in use, or configured when none is open.
type DevicesStatus struct {
	Capture  *DeviceStatus `json:"capture"`
	Playback *DeviceStatus `json:"playback"`
	Camera   *DeviceStatus `json:"camera"` // null outside a video room
}

// DeviceStatus is one device.
type DeviceStatus struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Backend   string `json:"backend"`
	Synthetic bool   `json:"synthetic"`
	State     string `json:"state"` // "open" in a room, "closed" otherwise, "lost" (a camera being looked for)
	// Callbacks is the driver callbacks' lateness (malgo devices only).
	Callbacks *CallbackStatus `json:"callbacks,omitempty"`
	// Dropped counts frames lost at the device since it opened (devices
	// that count them, hw.DropCounter): a microphone's or camera's frames
	// overwritten before voipd read them, a speaker's periods played as
	// silence because nothing was queued (underruns).
	Dropped *uint64 `json:"dropped,omitempty"`
	// Processing is a microphone's hands-free processing in a room:
	// which stages run and what the echo canceller estimates; absent when
	// none runs (a synthetic source, every stage off, outside a room).
	Processing *ProcessingStatus `json:"processing,omitempty"`
}

// ProcessingStatus is media.ProcessingStats as status shows it.
type ProcessingStatus struct {
	EchoCancellation bool    `json:"echoCancellation"`
	NoiseSuppression bool    `json:"noiseSuppression"`
	AutoGainControl  bool    `json:"autoGainControl"`
	ERLEDb           float64 `json:"erleDb"`          // how much echo the canceller removes; 0 before it heard the far end
	EchoDelayMs      float64 `json:"echoDelayMs"`     // the echo delay it finds; -1 not yet
	ReportedDelayMs  float64 `json:"reportedDelayMs"` // the speaker's queue plus the microphone's, as told to it
	Resets           uint64  `json:"resets"`          // echo canceller restarts: a device reopened, a burst of speaker underruns or microphone overruns
	// ClockDriftPpm is how much faster the speaker's clock runs than the
	// microphone's (parts per million); null until 20 s are counted.
	ClockDriftPpm *float64 `json:"clockDriftPpm"`
}

// CallbackStatus is how late the driver's callbacks ran. They are C
// (hw/audio) and never wait for Go, so Go falling behind shows as dropped
// frames and underruns instead.
type CallbackStatus struct {
	Count       uint64  `json:"count"`
	Late        uint64  `json:"late"` // more than one period behind the device clock
	WorstLateMs float64 `json:"worstLateMs"`
}

// StatsSummary is status' live figures: every stream's totals, audio and
// video, and the worst member's jitter; zeros outside a room.
type StatsSummary struct {
	BytesSent     uint64  `json:"bytesSent"`
	BytesReceived uint64  `json:"bytesReceived"`
	PacketsLost   int64   `json:"packetsLost"`
	JitterMs      float64 `json:"jitterMs"`
}

// Stats are getStats' lists.
type Stats struct {
	Outbound []media.OutboundStats `json:"outbound"`
	Inbound  []media.InboundStats  `json:"inbound"`
}

// ListenerStatus is the listener side of calls.
type ListenerStatus struct {
	Allowed   bool `json:"allowed"`
	Enabled   bool `json:"enabled"`
	Reachable bool `json:"reachable"`
	Ringing   int  `json:"ringing"`
}

// Status returns the snapshot. It asks the media and the room for their
// figures outside the engine's lock.
func (e *Engine) Status() Status {
	e.mu.Lock()
	st := Status{
		State: e.state,
		Devices: DevicesStatus{
			Capture:  configured(e.cfg.Audio.Capture),
			Playback: configured(e.cfg.Audio.Playback),
		},
		Calls: e.listenerStatus(),
	}
	var r Room
	var call media.Call
	s := e.s
	if s != nil {
		call = s.call
		st.Room = &RoomStatus{
			Kind: s.kind, ID: s.id, RoomType: s.roomType,
			Members: clone(s.members), Speakers: clone(s.speakers), MuteConfig: s.mute,
		}
		if s.capture != nil {
			st.Devices.Capture = statusOf(s.capture, s.capture.Info(), "open")
		}
		if s.playback != nil {
			st.Devices.Playback = statusOf(s.playback, s.playback.Info(), "open")
		}
		if s.captureLost { // being opened again: what the config names
			st.Devices.Capture.State = "lost"
		}
		if s.playbackLost {
			st.Devices.Playback.State = "lost"
		}
		st.Devices.Camera = e.cameraStatus(s)
		r = s.room
	}
	e.mu.Unlock()
	if r != nil {
		ns := r.Stats()
		st.Room.Network = &NetworkStatus{
			State: ns.State, LocalCandidate: ns.LocalCandidate, RemoteCandidate: ns.RemoteCandidate,
			RemotePort: ns.RemotePort, RTTMs: float64(ns.RTT.Microseconds()) / 1000,
			ICERestarts: ns.ICERestarts, Reconnects: ns.Reconnects,
		}
	}
	if call != nil && st.Devices.Capture != nil {
		if ps := call.Stats().Processing; ps != nil {
			st.Devices.Capture.Processing = &ProcessingStatus{
				EchoCancellation: ps.EchoCancellation, NoiseSuppression: ps.NoiseSuppression, AutoGainControl: ps.AutoGainControl,
				ERLEDb: ps.ERLE, EchoDelayMs: ps.EchoDelayMs, ReportedDelayMs: ps.ReportedDelayMs, Resets: ps.Resets,
			}
			if ps.ClockDriftKnown {
				d := ps.ClockDriftPpm
				st.Devices.Capture.Processing.ClockDriftPpm = &d
			}
		}
	}
	all := e.Stats()
	for _, o := range all.Outbound {
		st.Stats.BytesSent += o.BytesSent
	}
	for _, in := range all.Inbound {
		st.Stats.BytesReceived += in.BytesReceived
		st.Stats.PacketsLost += in.PacketsLost
		st.Stats.JitterMs = max(st.Stats.JitterMs, in.JitterMs)
	}
	return st
}

// cameraStatus is the camera's entry: null outside a video room. Call with
// e.mu held.
func (e *Engine) cameraStatus(s *session) *DeviceStatus {
	v := s.video
	switch {
	case s.camera != nil: // opened for the join, not yet sending
		return cameraOf(s.camera, "open")
	case v == nil:
		return nil
	case v.state == camSending:
		return cameraOf(v.cam, "open")
	case v.state == camLost:
		id := e.cfg.Video.Camera
		if v.back {
			id = e.cfg.Video.Back
		}
		return &DeviceStatus{ID: id, Name: id, Synthetic: hw.IsSynthetic(id), State: "lost"}
	}
	return nil
}

func cameraOf(cam hw.Camera, state string) *DeviceStatus {
	ci := cam.Info()
	backend := "v4l2"
	if ci.Synthetic {
		backend = "synth"
	}
	return statusOf(cam, hw.DeviceInfo{ID: ci.ID, Name: ci.Name, Backend: backend, Synthetic: ci.Synthetic}, state)
}

// statusOf describes an open device with the driver-level figures it has.
func statusOf(dev any, info hw.DeviceInfo, state string) *DeviceStatus {
	ds := &DeviceStatus{ID: info.ID, Name: info.Name, Backend: info.Backend, Synthetic: info.Synthetic, State: state}
	if lr, ok := dev.(hw.LatenessReporter); ok {
		worst, late, n := lr.CallbackLateness()
		ds.Callbacks = &CallbackStatus{Count: n, Late: late, WorstLateMs: float64(worst.Microseconds()) / 1000}
	}
	if dc, ok := dev.(hw.DropCounter); ok {
		n := dc.Dropped()
		ds.Dropped = &n
	}
	return ds
}

// configured describes a device that is not open: what the config names.
func configured(id string) *DeviceStatus {
	return &DeviceStatus{ID: id, Name: id, Synthetic: hw.IsSynthetic(id), State: "closed"}
}

// Stats returns every stream's figures: the call's audio, the camera's
// video and each member's; empty lists outside a room.
func (e *Engine) Stats() Stats {
	st := Stats{Outbound: []media.OutboundStats{}, Inbound: []media.InboundStats{}}
	e.mu.Lock()
	var call media.Call
	var send media.VideoSender
	var recv []media.VideoReceiver
	if s := e.s; s != nil && e.state.inRoom() {
		call = s.call
		if v := s.video; v != nil {
			send = v.send
			for _, mv := range v.recv {
				recv = append(recv, mv.r)
			}
		}
	}
	e.mu.Unlock()
	if call != nil {
		cs := call.Stats()
		st.Outbound = append(st.Outbound, cs.Outbound)
		st.Inbound = append(st.Inbound, cs.Inbound...)
	}
	if send != nil {
		st.Outbound = append(st.Outbound, send.Stats())
	}
	for _, r := range recv {
		st.Inbound = append(st.Inbound, r.Stats())
	}
	return st
}
