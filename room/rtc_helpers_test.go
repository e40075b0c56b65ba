package room_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/roomd"
	"github.com/voipd/voipd/roomd/token"
)

// rtcApp is an RTC app: a 24-character id, as Volcengine's AppIDs.
var rtcApp = roomd.App{ID: "5f3c8a9b2d1e4f6a7b8c9d0e", Secret: "rtc-app-key"}

// startRTCServer runs a roomd serving the group test app and rtcApp.
func startRTCServer(t *testing.T, mod func(*roomd.Config)) *roomd.Server {
	t.Helper()
	return startServer(t, func(c *roomd.Config) {
		c.Apps = append(c.Apps, rtcApp)
		if mod != nil {
			mod(c)
		}
	})
}

// mint returns a token of app for user in roomID, expiring at expire (zero:
// never), with PublishStream when publish and SubscribeStream always.
func mint(t *testing.T, app roomd.App, roomID, user string, publish bool, expire time.Time) string {
	t.Helper()
	tok := token.New(app.ID, roomID, user, time.Now())
	if !expire.IsZero() {
		tok.ExpireAt = uint32(expire.Unix())
	}
	if publish {
		tok.AddPrivilege(token.PublishStream, tok.ExpireAt)
	}
	tok.AddPrivilege(token.SubscribeStream, tok.ExpireAt)
	s, err := tok.Serialize(app.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rtcParams is a join of rtcApp with a token that never expires.
func rtcParams(t *testing.T, roomID, user string, publish bool) room.RTCJoinParams {
	return room.RTCJoinParams{AppID: rtcApp.ID, RoomID: roomID, UserID: user,
		Token: mint(t, rtcApp, roomID, user, publish, time.Time{}), AutoPublish: true, AutoSubscribe: true}
}

// rtcRecorder is a videoRecorder that is also a room.RTCHandler.
type rtcRecorder struct {
	*videoRecorder
	expiring chan time.Time
	removed  chan string
}

var _ room.RTCHandler = (*rtcRecorder)(nil)

func newRTCRecorder() *rtcRecorder {
	return &rtcRecorder{videoRecorder: newVideoRecorder(), expiring: make(chan time.Time, 4), removed: make(chan string, 4)}
}

func (r *rtcRecorder) TokenExpiring(at time.Time) { r.expiring <- at }
func (r *rtcRecorder) Removed(reason string)      { r.removed <- reason }

func tryJoinRTC(srv *roomd.Server, p room.RTCJoinParams, h room.Handler) (*room.Session, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return room.JoinRTC(ctx, room.Config{URL: wsURL(srv), Logger: testLogger()}, p, h)
}

func joinRTC(t *testing.T, srv *roomd.Server, p room.RTCJoinParams, h room.Handler) *room.Session {
	t.Helper()
	s, err := tryJoinRTC(srv, p, h)
	if err != nil {
		t.Fatalf("%s: JoinRTC: %v", p.UserID, err)
	}
	t.Cleanup(func() { s.Leave(context.Background()) })
	return s
}

// wantReason checks that err is a *room.Error with reason.
func wantReason(t *testing.T, what string, err error, reason string) {
	t.Helper()
	var re *room.Error
	if !errors.As(err, &re) || re.Reason != reason {
		t.Fatalf("%s: err = %v, want reason %q", what, err, reason)
	}
}

// noAudioFrom checks that no audio packet of member arrives at r for d.
func noAudioFrom(t *testing.T, r *recorder, member string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case p := <-r.packets:
			if p.member == member {
				t.Fatalf("audio from %s arrived: %q", member, p.pkt.Payload)
			}
		case <-deadline:
			return
		}
	}
}

// sendFor writes s's audio (and video when video) until the test ends.
func sendFor(t *testing.T, s *room.Session, user string, video bool) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go sendAudio(ctx, t, s, user)
	if video {
		publish(ctx, t, s, user)
	}
}
