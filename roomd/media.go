package roomd

import (
	"time"

	"github.com/voipd/voipd/proto"
)

// A member's media connection that fails (ICE found no working path: the
// network, most likely) does not end the member. Its WebSocket may still
// work, and its client then asks for an ICE restart (iceRestart) on the
// same peer connection; or the client comes back on a new connection
// with its resume ticket or token. Either way the others see nothing
// unless the grace (Config.ResumeGrace, a token's expiry) runs out first,
// counted from the failure: then the member is removed as unreachable.

// grace is how long m's seat is kept once its connection is lost.
func (m *member) grace() time.Duration {
	if m.rtc != nil {
		return m.srv.rtcGrace(m)
	}
	return m.srv.cfg.ResumeGrace
}

// mediaFailed starts the grace of a member whose media connection failed
// (as the server sees it, or as the member does: its iceRestart). Restarts
// do not start it again; only the media connection up stops it.
func (m *member) mediaFailed() {
	grace := m.grace()
	m.mediaMu.Lock()
	defer m.mediaMu.Unlock()
	if m.mediaTimer != nil {
		return
	}
	m.mediaDown = time.Now()
	m.mediaTimer = time.AfterFunc(grace, func() {
		m.log.Info("seat given up: the media connection did not come back within the grace", "grace", grace)
		m.mediaExpired.Store(true)
		m.fail(proto.ReasonUnreachable, "the media connection did not come back within the grace")
	})
	m.log.Info("media connection failed: the member is kept for an ICE restart or a resume", "grace", grace)
}

// mediaUp stops the grace of a member whose media connection is back.
func (m *member) mediaUp() {
	m.mediaMu.Lock()
	defer m.mediaMu.Unlock()
	if m.mediaTimer == nil {
		return
	}
	if m.mediaTimer.Stop() {
		m.log.Info("media connection back", "after", time.Since(m.mediaDown).Round(time.Millisecond))
	}
	m.mediaTimer, m.mediaDown = nil, time.Time{}
}

// graceLeft is how much of grace is left to m, whose connection is now
// lost too: the grace runs from its media's failure when that came first.
func (m *member) graceLeft(grace time.Duration) time.Duration {
	down := m.stopMediaGrace()
	if down.IsZero() {
		return grace
	}
	return max(grace-time.Since(down), time.Millisecond)
}

// stopMediaGrace stops the grace of m's media (the caller's timer takes
// over, or another connection has its seat) and returns when its media
// failed, zero if it had not.
func (m *member) stopMediaGrace() time.Time {
	m.mediaMu.Lock()
	defer m.mediaMu.Unlock()
	if m.mediaTimer == nil {
		return time.Time{}
	}
	m.mediaTimer.Stop()
	down := m.mediaDown
	m.mediaTimer, m.mediaDown = nil, time.Time{}
	return down
}
