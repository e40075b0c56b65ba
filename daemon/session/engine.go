// Package session is voipd's session engine: the one room this device is
// in — a group room, a two-party call or a token room — from its join to
// its end, as one state machine (State), and the listener side of calls.
//
// The engine is built from a Params struct: the configuration, the device
// systems, the media factory, the room connector, the local display and
// the event sink. It holds none of the daemon, and the daemon above it
// (package daemon, the control surface) holds none of its insides: it
// calls the engine's methods and maps what they return and emit to the
// seeds' codes and events. One mutex (Engine.mu) guards the state, the
// session and the listener; it is never held across I/O.
//
// What differs between the three families of room is one small interface,
// family (family.go): how a join connects, what happens once it is joined
// and when its members change, and what a second join is told. Everything
// else — devices, media, video, leaving — is the engine's, the same for
// all three.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/proto"
)

// Display is the device's local screen feed (daemon/display): sources the
// local UI's <voip-room> elements watch, fed with the RTP as it is.
type Display interface {
	Source(id string) DisplaySource
	RemoveSource(id string)
}

// DisplaySource takes one stream's RTP and asks for keyframes for its
// viewers.
type DisplaySource interface {
	media.RTPWriter
	OnKeyframeRequest(fn func())
}

// Params are what New needs; cmd/voipd fills them.
type Params struct {
	Config  *config.Config
	Audio   hw.AudioSystem
	Cameras hw.CameraSystem // nil: this daemon has no video
	Media   media.Factory
	Rooms   Connector
	Display Display // nil: no local screen
	Events  EventSink
	Logger  *slog.Logger
	// Ringtone is the incoming-call sound (48 kHz mono); nil: a 700 Hz tone.
	Ringtone []int16
	// OnState hears every state change (systemd's STATUS=, the memory
	// releaser); nil is fine. It is called with Engine.mu held.
	OnState func(State)
	// Keeper keeps the group room across a restart of voipd (keep.go);
	// nil keeps nothing.
	Keeper Keeper
}

// Engine runs the device's sessions, one at a time. Its zero value is not
// usable; make one with New.
type Engine struct {
	p   Params
	cfg *config.Config
	log *slog.Logger
	vol *media.Volume

	mu    sync.Mutex
	state State
	s     *session // while joining, in a room or leaving
	calls listener // the listener side of calls (calls.go)
}

// New makes an engine. Nothing is opened until a join.
func New(p Params) *Engine {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Events == nil {
		p.Events = discard{}
	}
	return &Engine{p: p, cfg: p.Config, log: p.Logger, vol: media.NewVolume()}
}

type discard struct{}

func (discard) Emit(Event) {}

// Volume is the playback and capture volume every call and ring uses.
func (e *Engine) Volume() *media.Volume { return e.vol }

// State is the machine's state now.
func (e *Engine) State() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state
}

// move changes the state along a legal arrow and tells OnState; a move
// off the table is refused (and logged: it is a bug). Call with e.mu held.
func (e *Engine) move(to State) bool {
	if !legal(e.state, to) {
		e.log.Error("state: refused an illegal move", "from", e.state.String(), "to", to.String())
		return false
	}
	e.log.Info("state", "from", e.state.String(), "to", to.String())
	e.state = to
	if e.p.OnState != nil {
		e.p.OnState(to)
	}
	return true
}

// session is one room from the start of its join to its end. Its fields
// below the line are guarded by Engine.mu.
type session struct {
	fam            family
	kind           Kind
	owner          uint64 // the control client that joined
	self           string // this device's member id: its openid, or a token room's userId
	noSwitchVoice  bool   // a call placed with disableSwitchVoice
	optionalCamera bool   // a camera that does not open leaves an audio member

	cancelJoin context.CancelCauseFunc
	joinDone   chan struct{} // closed when the join has been answered

	// ---- guarded by Engine.mu
	id       string // the groupId, callId or roomId
	callID   string // a call's, for its events
	callRoom string // an answered call's room on the server (kept across a restart)
	roomType string
	mute     proto.MuteConfig // the one microphone and earphone state
	videoOn  bool             // the camera is published (token rooms' changeVideoCapture)
	receive  bool             // token rooms: receiving the publishers (autoSubscribe, changeSubscribeState)
	members  []string
	peerSeen bool // a member list with another member came (a call's other side arrived)
	speakers []string
	capture  hw.Capture
	playback hw.Playback

	// captureLost and playbackLost: the device failed and is being opened
	// again (devices.go); the call goes on without it.
	captureLost, playbackLost bool

	camera   hw.Camera // opened for a video room, until the video starts
	room     Room
	call     media.Call
	video    *video // a room with video, once joined
	pending  []pendingTrack
	lost     error // the room was lost while the join was finishing
	stopCall context.CancelFunc
	callDone chan struct{}
}

type pendingTrack struct {
	member string
	audio  bool
	t      media.RTPReader
}

// joinSpec is what a family's join sets up before it connects.
type joinSpec struct {
	id, roomType   string
	self           string
	mute           proto.MuteConfig
	videoOn        bool
	receive        bool // token rooms: receiving the publishers from the start
	optionalCamera bool // a camera that does not open leaves an audio member (RTC)
	noSwitchVoice  bool
}

// Joined is a join's answer.
type Joined struct {
	Members []string // openIdList
	CallID  string
}

// Join runs a join from idle to inRoom, or back to idle with the error. The
// join outlives ctx: only an exit or shutdown (a cancel cause) stops it,
// and it then fails with ErrExited.
func (e *Engine) Join(ctx context.Context, owner uint64, j Join) (Joined, error) {
	s, jctx, err := e.begin(context.WithoutCancel(ctx), owner, j)
	if err != nil {
		return Joined{}, err
	}
	defer close(s.joinDone)
	res, err := e.join(jctx, s)
	if err != nil {
		e.abort(s)
		if cause := context.Cause(jctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%v)", cause, err)
		}
		if errors.Is(err, ErrExitWhileJoining) || errors.Is(err, ErrShutdown) {
			return Joined{}, &Error{Kind: ErrExited, Reason: ReasonInterrupted, Detail: "join interrupted", Cause: context.Cause(jctx)}
		}
		return Joined{}, err
	}
	return res, nil
}

// begin claims the device for a new session, or tells the family's busy
// failure.
func (e *Engine) begin(parent context.Context, owner uint64, j Join) (*session, context.Context, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state != Idle {
		return nil, nil, j.busy(owner, e.s, e.state)
	}
	spec := j.spec(e)
	ctx, cancel := context.WithCancelCause(parent)
	s := &session{
		fam: j, kind: j.kind(), owner: owner, self: spec.self, noSwitchVoice: spec.noSwitchVoice, optionalCamera: spec.optionalCamera,
		cancelJoin: cancel, joinDone: make(chan struct{}),
		id: spec.id, roomType: spec.roomType, mute: spec.mute, videoOn: spec.videoOn, receive: spec.receive,
	}
	e.s = s
	e.move(Joining)
	return s, ctx, nil
}

// abort returns to idle after a failed or cancelled join, closing what was
// opened.
func (e *Engine) abort(s *session) {
	e.mu.Lock()
	devs := s.takeDevices()
	if e.s == s {
		e.s = nil
		e.move(Idle)
	}
	e.mu.Unlock()
	e.closeDevices(devs)
}

// join opens the devices, connects through the family, starts the media
// and completes the session.
func (e *Engine) join(ctx context.Context, s *session) (Joined, error) {
	if err := e.openDevices(s); err != nil {
		return Joined{}, err
	}
	r, err := s.fam.connect(ctx, e, s, handler{e, s})
	if err != nil {
		return Joined{}, err
	}
	e.mu.Lock()
	capture, playback, mute := s.capture, s.playback, s.mute
	e.mu.Unlock()
	callCtx, stop := context.WithCancel(context.Background())
	var call media.Call
	levels := make(chan struct{}, 1) // watchSpeakers' wakeup
	call, err = e.p.Media.NewCall(media.CallParams{
		Capture: capture, Playback: playback, Out: r.AudioOut(), LevelExtID: r.AudioLevelExtID(), Volume: e.vol,
		// A device that fails leaves the call going without it; it is
		// opened again until it is back (devices.go). call is set before
		// the call runs, so before this can be called.
		DeviceLost: func(device string, err error) { e.deviceLost(callCtx, s, call, device, err) },
		LevelsChanged: func() {
			select {
			case levels <- struct{}{}:
			default:
			}
		},
		SpeakingLevel: speakThreshold,
	})
	if err != nil {
		stop()
		r.Leave(context.WithoutCancel(ctx))
		return Joined{}, fmt.Errorf("audio pipeline: %w", err)
	}
	call.SetMute(mute.MuteMicrophone, mute.MuteEarphone)
	callDone := make(chan struct{})
	go e.runCall(callCtx, s, call, callDone)

	e.mu.Lock()
	cause := context.Cause(ctx)
	if cause == nil && s.lost != nil {
		cause = s.lost
	}
	if cause != nil {
		e.mu.Unlock()
		stop()
		<-callDone
		r.Leave(context.WithoutCancel(ctx))
		return Joined{}, cause
	}
	s.room, s.call, s.stopCall, s.callDone = r, call, stop, callDone
	cam := s.camera
	s.camera = nil
	if s.roomType == "video" || r.VideoOut() != nil {
		s.video = newVideo(callCtx)
	}
	pending := s.pending
	s.pending = nil
	s.members = r.Members()
	res := Joined{Members: slices.Clone(s.members), CallID: s.callID}
	id := s.id
	e.move(InRoom) // complete: room, call and video are all in place
	e.mu.Unlock()

	for _, t := range pending {
		if t.audio {
			call.AddMember(t.member, t.t)
		} else {
			e.addVideoMember(s, t.member, t.t)
		}
	}
	if cam != nil {
		e.startCamera(s, cam)
	}
	s.fam.joined(e, s)
	e.keep(s)
	go e.watchSpeakers(callCtx, s, levels)
	e.log.Info("joined room", "kind", s.kind, "room", id, "members", len(res.Members))
	return res, nil
}

// openDevices opens the microphone, the speaker and, for a video room, the
// camera (a token room goes on without one).
func (e *Engine) openDevices(s *session) error {
	a := e.cfg.Audio
	capture, err := e.p.Audio.OpenCapture(a.Capture)
	if err != nil {
		return deviceFailure("microphone", a.Capture, err)
	}
	playback, err := e.p.Audio.OpenPlayback(a.Playback)
	if err != nil {
		capture.Close()
		return deviceFailure("speaker", a.Playback, err)
	}
	e.mu.Lock()
	s.capture, s.playback = capture, playback
	video := s.roomType == "video"
	e.mu.Unlock()
	if !video {
		return nil
	}
	cam, err := e.openCamera(e.cfg.Video.Camera)
	switch {
	case err != nil && s.optionalCamera:
		e.log.Warn("no camera: joining with audio only", "err", err)
		e.mu.Lock()
		s.roomType = "voice"
		e.mu.Unlock()
	case err != nil:
		return err
	default:
		e.mu.Lock()
		s.camera = cam
		e.mu.Unlock()
	}
	return nil
}

// runCall runs the audio until the room ends. A lost microphone or speaker
// does not end it (deviceLost); a call that fails for another reason (the
// encoder) ends the room, and the kiosk's UI learns it from the events.
func (e *Engine) runCall(ctx context.Context, s *session, call media.Call, done chan struct{}) {
	err := call.Run(ctx)
	close(done)
	if err == nil || ctx.Err() != nil {
		return
	}
	e.log.Error("audio failed", "err", err)
	e.p.Events.Emit(DeviceLost{Room: s.kind, Device: "audio", Err: err.Error()})
	e.lose(s, EndDevice, "device lost: "+err.Error(), err)
}

// lose ends a session that failed by itself (its room lost, its audio
// device gone): once in a room it leaves, in the background; while the
// join is finishing the join fails with err instead.
func (e *Engine) lose(s *session, why EndReason, detail string, err error) {
	e.mu.Lock()
	if e.s == s && e.state == Joining {
		s.lost = err
	}
	e.mu.Unlock()
	if e.beginLeave(s, why, detail) {
		go e.finishLeave(context.Background(), s)
	}
}

// leaveTimeout bounds how long leaving politely may take.
const leaveTimeout = 3 * time.Second

// leave ends an established session once (later calls return at once).
func (e *Engine) leave(ctx context.Context, s *session, why EndReason, detail string) {
	if e.beginLeave(s, why, detail) {
		e.finishLeave(ctx, s)
	}
}

// beginLeave moves an established session to leaving and tells the sink
// why; false when s is not in a room (any more). Once it returned true,
// every later end of s (the room's close that follows a removal, a device
// failing while the room is left) finds s leaving and does nothing.
func (e *Engine) beginLeave(s *session, why EndReason, detail string) bool {
	e.mu.Lock()
	if e.s != s || !e.state.inRoom() {
		e.mu.Unlock()
		return false
	}
	e.move(Leaving)
	ended := Ended{Room: s.kind, ID: s.id, Reason: why, Detail: detail}
	e.mu.Unlock()
	e.log.Info("leaving room", "kind", s.kind, "room", ended.ID, "why", why, "detail", detail)
	e.p.Events.Emit(ended)
	return true
}

// finishLeave stops the media, leaves the room politely, closes the
// devices and goes idle.
func (e *Engine) finishLeave(ctx context.Context, s *session) {
	e.mu.Lock()
	stop, done, r := s.stopCall, s.callDone, s.room
	e.mu.Unlock()
	stop()
	<-done
	lctx, cancel := context.WithTimeout(ctx, leaveTimeout)
	if err := r.Leave(lctx); err != nil {
		e.log.Warn("leave room", "err", err)
	}
	cancel()

	e.mu.Lock()
	devs := s.takeDevices()
	e.s = nil
	e.move(Idle)
	e.mu.Unlock()
	e.forget()
	e.closeDevices(devs)
}

// openDevices are a session's devices taken out of it to be closed.
type openDevices struct {
	capture  hw.Capture
	playback hw.Playback
	camera   hw.Camera
	video    *video
}

// takeDevices takes the session's devices out. Call with e.mu held.
func (s *session) takeDevices() openDevices {
	d := openDevices{capture: s.capture, playback: s.playback, camera: s.camera, video: s.video}
	s.capture, s.playback, s.camera = nil, nil, nil
	return d
}

// closeDevices closes what takeDevices took, once the call stopped.
func (e *Engine) closeDevices(d openDevices) {
	if d.video != nil {
		e.closeVideo(d.video)
	}
	if d.camera != nil {
		d.camera.Close()
	}
	if d.capture != nil {
		d.capture.Close()
	}
	if d.playback != nil {
		d.playback.Close()
	}
}

// current is the session while in a room (nil, and a not_in_room failure,
// otherwise). Call with e.mu held.
func (e *Engine) current() (*session, error) {
	if e.s == nil || !e.state.inRoom() {
		return nil, notInRoom("not in a room")
	}
	return e.s, nil
}

// Exit leaves the room (exitVoIPChat), or cancels the join under way: the
// join answers -3 before Exit returns.
func (e *Engine) Exit(ctx context.Context) error {
	e.mu.Lock()
	s, st := e.s, e.state
	e.mu.Unlock()
	switch st {
	case Joining:
		s.cancelJoin(ErrExitWhileJoining)
		<-s.joinDone
		return nil
	case InRoom, Reconnecting:
		e.leave(ctx, s, EndLocal, "exit")
		return nil
	}
	return notInRoom("not in a room")
}

// Shutdown leaves the room (a join under way answers -3 first) and closes
// the devices, within ctx.
func (e *Engine) Shutdown(ctx context.Context) {
	e.mu.Lock()
	s, st := e.s, e.state
	e.mu.Unlock()
	switch st {
	case Joining:
		s.cancelJoin(ErrShutdown)
		select {
		case <-s.joinDone:
		case <-ctx.Done():
		}
	case InRoom, Reconnecting:
		e.leave(ctx, s, EndShutdown, "shutdown")
	}
	e.DisableCalls()
}

// SetMute sets the microphone and earphone (updateVoIPChatMuteConfig): the
// call at once, the room server after.
func (e *Engine) SetMute(m proto.MuteConfig) error {
	e.mu.Lock()
	s, err := e.current()
	if err != nil {
		e.mu.Unlock()
		return err
	}
	s.mute = m
	s.call.SetMute(m.MuteMicrophone, m.MuteEarphone)
	r := s.room
	e.mu.Unlock()
	if err := r.SetMute(m); err != nil {
		e.log.Warn("tell room of mute", "err", err)
	}
	e.keep(s)
	return nil
}

// SubscribeVideo chooses which members' video to receive.
func (e *Engine) SubscribeVideo(members []string) error {
	e.mu.Lock()
	s, err := e.current()
	if err != nil {
		e.mu.Unlock()
		return err
	}
	if s.roomType != "video" {
		e.mu.Unlock()
		return Fail(ErrSystem, ReasonParams, "room %s is a voice room: join with roomType \"video\" to receive video", s.id)
	}
	r := s.room
	e.mu.Unlock()
	if err := r.SubscribeVideo(members); err != nil {
		return fmt.Errorf("subscribe video: %w", err)
	}
	return nil
}
