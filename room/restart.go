package room

import (
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/proto/rtpcodecs"
)

// ICE restart: a link whose media connection failed, or stayed
// disconnected long enough (watchDisconnected), while its WebSocket still
// works keeps both. The session asks the server for an ICE restart
// (iceRestart), answers the server's offer with new ICE credentials on the
// same PeerConnection, and waits for the checks to find a path again:
// tracks, transceivers and SSRCs stay, the others see nothing, and no
// join is repeated. While the WebSocket answers, a restart that finds no
// path is followed by another (the server holds the seat; a new
// connection would meet the same network) until the server's grace runs
// out. A server that sends no offer soon after the request is taken for
// gone too, and the link is replaced as any lost link is (reconnect.go).

const (
	// restartOfferWait bounds the server's offer after an iceRestart: an
	// answer proves the WebSocket alive (the server answers at once).
	restartOfferWait = 2 * time.Second
	// restartWait bounds one restart's checks before the next is asked
	// (sooner when they fail), growing by half each time up to
	// restartWaitMax: pion gives a candidate pair up after 7 checks 200 ms
	// apart, so a restart whose checks met the cut network finds nothing
	// afterwards, and the next restart is what finds the network back; the
	// growth leaves a slow path (a TURN relay far away) the time to
	// complete. restartGap spaces the requests.
	restartWait    = 2 * time.Second
	restartWaitMax = 8 * time.Second
	restartGap     = 500 * time.Millisecond
)

// mediaFailed handles the failure of link l's media connection: an ICE
// restart on the link when the server offers them and keeps the seat,
// else the link is lost.
func (s *Session) mediaFailed(l *link) {
	cause := &Error{Reason: proto.ReasonUnreachable, Msg: "room: the media connection failed"}
	s.mu.Lock()
	if s.l == l && s.restarting {
		// A restart's checks found no path: the restart asks again.
		if s.restartDown != nil {
			close(s.restartDown)
			s.restartDown = nil
		}
		s.mu.Unlock()
		return
	}
	restart := s.l == l && s.live && !s.relinking && s.iceRestartOK && s.resumableLocked() && !s.leaving.Load()
	if restart {
		s.restarting = true
	}
	s.mu.Unlock()
	if !restart {
		s.linkFailed(l, cause)
		return
	}
	go s.restartICE(l, cause)
}

// watchDisconnected restarts ICE on link l when its media connection pc,
// now disconnected, is still disconnected as long again (10 s without a
// packet by default), well before it would count as failed (30 s): a path
// that died with its interface (a new DHCP address, an adapter unplugged, a
// VPN torn down) never comes back, and a restart gathers the interfaces
// there are now. A path that was only slow comes back by itself first;
// one that comes back during the restart keeps working. Without a server
// that offers restarts the failure is waited for as before.
func (s *Session) watchDisconnected(l *link, pc *webrtc.PeerConnection) {
	after := rtpcodecs.DisconnectedAfter(s.cfg.MediaTimeout)
	time.AfterFunc(after, func() {
		if pc.ConnectionState() != webrtc.PeerConnectionStateDisconnected {
			return
		}
		s.mu.Lock()
		restart := s.l == l && !s.restarting && s.live && !s.relinking && s.iceRestartOK &&
			s.resumableLocked() && !s.leaving.Load()
		if restart {
			s.restarting = true
			s.silentSince = time.Now().Add(-2 * after)
		}
		s.mu.Unlock()
		if restart {
			go s.restartICE(l, &Error{Reason: proto.ReasonUnreachable, Msg: "room: no media from the room server"})
		}
	})
}

// mediaUp tells a restart under way on l that the media connection is up.
func (s *Session) mediaUp(l *link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silentSince = time.Time{}
	if s.l == l && s.restartUp != nil {
		close(s.restartUp)
		s.restartUp = nil
	}
}

// offered tells a restart under way on l that the server's offer came.
func (s *Session) offered(l *link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.l == l && s.restartOffered != nil {
		close(s.restartOffered)
		s.restartOffered = nil
	}
}

// restartICE restarts ICE on link l until its media connection is up, the
// link is lost (its reconnect takes over), the grace runs out, or the
// session ends.
func (s *Session) restartICE(l *link, cause error) {
	s.log.Warn("media connection lost: restarting ICE", "err", cause)
	rh, _ := s.h.(ReconnectHandler)
	if rh != nil {
		rh.Reconnecting(cause)
	}
	start := time.Now()
	s.mu.Lock()
	deadline := s.graceDeadlineLocked()
	s.mu.Unlock()
	wait := restartWait
	for attempt := 1; ; attempt, wait = attempt+1, min(wait*3/2, restartWaitMax) {
		offered, up, down := make(chan struct{}), make(chan struct{}), make(chan struct{})
		s.mu.Lock()
		s.restartOffered, s.restartUp, s.restartDown = offered, up, down
		pc := s.pc
		s.mu.Unlock()
		if pc != nil && pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
			close(up) // back between two attempts
		} else if err := l.write(&s.writeMu, &proto.Message{Type: proto.TypeICERestart}); err != nil {
			s.endRestart()
			s.linkFailed(l, &Error{Reason: proto.ReasonUnreachable, Msg: "room: asking for an ICE restart: " + err.Error()})
			return
		} else {
			select {
			case <-offered:
			case <-l.down:
				s.endRestart() // the link's reconnect takes over
				return
			case <-s.closed:
				s.endRestart()
				return
			case <-time.After(restartOfferWait):
				s.endRestart()
				s.log.Info("no offer for the ICE restart: replacing the connection", "after", restartOfferWait)
				s.linkFailed(l, &Error{Reason: proto.ReasonUnreachable, Msg: "room: the room server did not answer an ICE restart"})
				return
			}
		}
		select {
		case <-up:
			s.mu.Lock()
			s.restarting, s.restartOffered, s.restartUp, s.restartDown = false, nil, nil, nil
			s.iceRestarts++
			s.mu.Unlock()
			s.log.Info("media connection back after an ICE restart", "attempt", attempt,
				"after", time.Since(start).Round(time.Millisecond))
			if rh != nil {
				rh.Reconnected()
			}
			return
		case <-l.down:
			s.endRestart()
			return
		case <-s.closed:
			s.endRestart()
			return
		case <-down:
			select { // not more often than every restartGap
			case <-time.After(restartGap):
			case <-s.closed:
				s.endRestart()
				return
			}
		case <-time.After(wait):
		}
		if time.Now().After(deadline) {
			s.endRestart()
			s.fail(&Error{Reason: proto.ReasonUnreachable, Msg: "room: the media connection did not come back within the server's grace"})
			return
		}
		s.log.Debug("ICE restart found no path yet: restarting again", "attempt", attempt)
	}
}

func (s *Session) endRestart() {
	s.mu.Lock()
	s.restarting, s.restartOffered, s.restartUp, s.restartDown = false, nil, nil, nil
	s.mu.Unlock()
}

// graceDeadlineLocked is when a restart or reconnect starting now gives up: the
// server's grace from the moment the media counts as failed there, which
// is later than now when the loss was found early by a lasting
// disconnection (watchDisconnected). Called under s.mu.
func (s *Session) graceDeadlineLocked() time.Time {
	from := time.Now()
	if !s.silentSince.IsZero() {
		timeout := s.cfg.MediaTimeout
		if timeout <= 0 {
			timeout = rtpcodecs.DefaultMediaTimeout
		}
		if failed := s.silentSince.Add(timeout); failed.After(from) {
			from = failed
		}
	}
	return from.Add(s.grace)
}
