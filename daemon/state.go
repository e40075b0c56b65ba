package daemon

import (
	"context"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/hw"
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

// session is one group room from the start of its join to its end.
type session struct {
	groupID  string
	roomType string

	cancelJoin context.CancelCauseFunc
	joinDone   chan struct{} // closed when the join request has been answered

	mu       sync.Mutex // guards the fields below
	mute     proto.MuteConfig
	members  []string
	speakers []string
	capture  hw.Capture
	playback hw.Playback
	rs       *room.Session
	call     Call
	pending  []pendingTrack // tracks that arrived before the call existed
	camera   hw.Camera      // opened for a video room, until the video starts
	video    *videoState    // a video room's video, once joined
	stopCall context.CancelFunc
	callDone chan struct{}
	leaving  bool
}

type pendingTrack struct {
	member string
	audio  RTPReader
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
func (d *Daemon) beginJoin(parent context.Context, groupID, roomType string, mute proto.MuteConfig) (*session, context.Context, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != stateIdle {
		what := "a room"
		if d.sess != nil {
			what = "room " + d.sess.groupID
		}
		return nil, nil, fail(kindInRoom, "busy", "already in %s (state %s)", what, d.state)
	}
	ctx, cancel := context.WithCancelCause(parent)
	s := &session{groupID: groupID, roomType: roomType, mute: mute, cancelJoin: cancel, joinDone: make(chan struct{})}
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

	d.log.Info("leaving room", "group", s.groupID, "why", why)
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
