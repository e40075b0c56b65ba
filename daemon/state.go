package daemon

import (
	"context"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// state is the device's one state machine. Transitions happen only under
// Daemon.mu, in the functions named beside each arrow:
//
//	idle    → joining  beginJoin
//	joining → inRoom   finishJoin
//	joining → idle     abortJoin (failure, exit, SIGTERM)
//	inRoom  → leaving  leave (exit, interruption, shutdown)
//	leaving → idle     leave, once the room and devices are closed
type state int

const (
	stateIdle state = iota
	stateJoining
	stateInRoom
	stateLeaving
)

func (s state) String() string {
	return [...]string{"idle", "joining", "inRoom", "leaving"}[s]
}

// session is one room (a group room, a call or a token room) from the
// start of its join to its end.
type session struct {
	kind          string // kindVoIP, kind1v1, kindRTC
	id            string // the groupId, callId or roomId
	roomType      string
	owner         uint64 // the control client that joined
	callID        string // 1v1: the call, for on1v1ChatEnded
	ended         bool   // 1v1: on1v1ChatEnded was sent
	noSwitchVoice bool   // 1v1: the call may not switch to voice

	cancelJoin context.CancelCauseFunc
	joinDone   chan struct{} // closed when the join request has been answered

	mu       sync.Mutex // guards the fields below
	mute     proto.MuteConfig
	members  []string
	speakers []string
	capture  hw.Capture
	playback hw.Playback
	rs       *room.Session
	call     media.Call
	pending  []pendingTrack // tracks that arrived before the call existed
	camera   hw.Camera      // opened for a video room, until the video starts
	video    *videoState    // a video room's video, once joined
	stopCall context.CancelFunc
	callDone chan struct{}
	leaving  bool
	removed  bool // the server removed this member (RTC): no interruption event
}

// hasCamera says whether a camera was opened for the room being joined.
func (s *session) hasCamera() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.camera != nil
}

// hasVideo says whether this member sends video.
func (s *session) hasVideo() bool {
	s.mu.Lock()
	v := s.video
	s.mu.Unlock()
	return v != nil && v.camera() != nil
}

// setVideoPaused pauses or resumes the camera's stream.
func (s *session) setVideoPaused(p bool) {
	s.mu.Lock()
	v := s.video
	s.mu.Unlock()
	if v != nil {
		v.setPaused(p)
	}
}

type pendingTrack struct {
	member string
	audio  media.RTPReader
	video  *webrtc.TrackRemote
}

// setState moves the machine and tells systemd. Call with d.mu held.
func (d *Daemon) setState(s state) {
	if d.state == s {
		return
	}
	d.log.Info("state", "from", d.state.String(), "to", s.String())
	d.state = s
	d.notify(s.String())
}

// beginJoin claims the device for a new room, or fails with -1.
func (d *Daemon) beginJoin(parent context.Context, spec joinSpec) (*session, context.Context, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != stateIdle {
		return nil, nil, d.busyFailure(spec)
	}
	ctx, cancel := context.WithCancelCause(parent)
	s := &session{kind: spec.kind, id: spec.id, roomType: spec.roomType, owner: spec.owner, mute: spec.mute, noSwitchVoice: spec.noSwitchVoice,
		cancelJoin: cancel, joinDone: make(chan struct{})}
	d.sess = s
	d.setState(stateJoining)
	return s, ctx, nil
}

// abortJoin returns to idle after a failed or cancelled join, closing what
// was opened.
func (d *Daemon) abortJoin(s *session) {
	s.closeDevices()
	d.mu.Lock()
	if d.sess == s {
		d.sess = nil
		d.setState(stateIdle)
	}
	d.mu.Unlock()
}

// finishJoin moves to inRoom unless the join was cancelled meanwhile.
func (d *Daemon) finishJoin(ctx context.Context, s *session) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	d.setState(stateInRoom)
	return nil
}

// busyFailure is the answer to a join while another room is joined or
// joining: -1 in general; for a call while in a call, -20002 from the client
// that holds it and -20003 from another. Call with d.mu held.
func (d *Daemon) busyFailure(spec joinSpec) error {
	cur := d.sess
	what := "a room"
	if cur != nil {
		what = cur.kind + " room " + cur.id
	}
	if spec.kind == kind1v1 && cur != nil && cur.kind == kind1v1 {
		if cur.owner != spec.owner {
			return fail(kindCallHeld, "busy", "another control client holds call %s", cur.id)
		}
		return fail(kindInCall, "busy", "already in call %s", cur.id)
	}
	if spec.kind == kindRTC && cur != nil && cur.kind == kindRTC {
		return fail(kindInRoom, "busy", "user %s is already in the room %s", d.rtcUser(), cur.id)
	}
	return fail(kindInRoom, "busy", "already in %s (state %s)", what, d.state)
}

// current returns the session if the daemon is in a room.
func (d *Daemon) current() (*session, state) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sess, d.state
}

// leave ends an established session once (later calls return at once):
// stop the call, leave the room politely, close the devices, go idle.
func (d *Daemon) leave(ctx context.Context, s *session, why string) {
	d.mu.Lock()
	if d.sess != s || d.state != stateInRoom {
		d.mu.Unlock()
		return
	}
	d.setState(stateLeaving)
	d.mu.Unlock()

	d.log.Info("leaving room", "kind", s.kind, "room", s.id, "why", why)
	s.mu.Lock()
	stop, done, rs := s.stopCall, s.callDone, s.rs
	s.leaving = true
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	if rs != nil {
		lctx, cancel := context.WithTimeout(ctx, leaveTimeout)
		if err := rs.Leave(lctx); err != nil {
			d.log.Warn("leave room", "err", err)
		}
		cancel()
	}
	s.closeDevices()

	d.mu.Lock()
	if d.sess == s {
		d.sess = nil
		d.setState(stateIdle)
	}
	d.mu.Unlock()
}

func (s *session) closeDevices() {
	s.mu.Lock()
	c, p, cam, v := s.capture, s.playback, s.camera, s.video
	s.capture, s.playback, s.camera = nil, nil, nil
	s.mu.Unlock()
	if v != nil {
		v.close()
	}
	if cam != nil {
		cam.Close()
	}
	if c != nil {
		c.Close()
	}
	if p != nil {
		p.Close()
	}
}

// selfID is this device's member id in s: its openid, or in a token room
// the userId it joined with.
func (d *Daemon) selfID(s *session) string {
	if s.kind == kindRTC {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.rtc.userID
	}
	return d.p.Config.Identity.OpenID
}
