package room_test

import (
	"testing"
	"time"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/roomd"
)

// A publisher and a subscriber-only member (no PublishStream): the
// subscriber gets the publisher's audio and video; what it writes itself
// reaches no one, and it may not publish.
func TestRTCPublisherAndSubscriberOnly(t *testing.T) {
	srv := startRTCServer(t, nil)
	pubRec, subRec := newRTCRecorder(), newRTCRecorder()
	pp := rtcParams(t, "hall", "pub", true)
	pp.Video = true
	pub := joinRTC(t, srv, pp, pubRec)
	sub := joinRTC(t, srv, rtcParams(t, "hall", "sub", false), subRec)
	if !pub.CanPublish() || sub.CanPublish() {
		t.Fatalf("CanPublish: publisher %v, subscriber %v; want true, false", pub.CanPublish(), sub.CanPublish())
	}
	pubRec.waitMembers(t, "pub", "sub")
	sendFor(t, pub, "pub", true)
	sendFor(t, sub, "sub", false)
	subRec.waitPacketFrom(t, "pub")
	subRec.waitVideoFrom(t, "pub")
	subRec.waitVideoMembers(t, "pub")
	if got := sub.Members(); len(got) != 2 || got[0] != "pub" || got[1] != "sub" {
		t.Fatalf("members = %v, want [pub sub]", got)
	}
	wantReason(t, "subscriber's SetPublishing", sub.SetPublishing(true, false), proto.ReasonPermission)
	noAudioFrom(t, pubRec.recorder, "sub", 1500*time.Millisecond)
	// Stopping needs no privilege.
	if err := sub.SetPublishing(false, false); err != nil {
		t.Fatalf("subscriber's SetPublishing(false, false): %v", err)
	}
}

// Tokens for another room, user or app, tampered, expired or malformed ones
// are refused with the seed's reasons; a "*" room token joins any room.
func TestRTCTokenChecks(t *testing.T) {
	other := roomd.App{ID: "0123456789abcdef01234567", Secret: "other-key"}
	srv := startRTCServer(t, func(c *roomd.Config) { c.Apps = append(c.Apps, other) })
	good := mint(t, rtcApp, "hall", "u1", true, time.Time{})
	tampered := []byte(good)
	tampered[len(tampered)-6] ^= 1
	short := roomd.App{ID: testApp.ID, Secret: testApp.Secret} // not 24 characters
	for _, tc := range []struct {
		name, appID, roomID, user, token, reason string
	}{
		{"another room", rtcApp.ID, "hall", "u1", mint(t, rtcApp, "lobby", "u1", true, time.Time{}), proto.ReasonTokenInvalid},
		{"another user", rtcApp.ID, "hall", "u1", mint(t, rtcApp, "hall", "u2", true, time.Time{}), proto.ReasonTokenInvalid},
		{"another app's token", rtcApp.ID, "hall", "u1", mint(t, other, "hall", "u1", true, time.Time{}), proto.ReasonTokenInvalid},
		{"tampered", rtcApp.ID, "hall", "u1", string(tampered), proto.ReasonTokenInvalid},
		{"malformed", rtcApp.ID, "hall", "u1", "001" + rtcApp.ID + "not base64!", proto.ReasonTokenInvalid},
		{"expired", rtcApp.ID, "hall", "u1", mint(t, rtcApp, "hall", "u1", true, time.Now().Add(-time.Minute)), proto.ReasonTokenExpired},
		{"unknown app", "ffffffffffffffffffffffff", "hall", "u1", good, proto.ReasonTokenInvalid},
		{"group app", short.ID, "hall", "u1", good, proto.ReasonTokenInvalid},
	} {
		p := room.RTCJoinParams{AppID: tc.appID, RoomID: tc.roomID, UserID: tc.user, Token: tc.token, AutoPublish: true, AutoSubscribe: true}
		_, err := tryJoinRTC(srv, p, newRTCRecorder())
		wantReason(t, tc.name, err, tc.reason)
	}
	_, err := tryJoinRTC(srv, room.RTCJoinParams{AppID: rtcApp.ID, RoomID: "hall", UserID: "u1"}, newRTCRecorder())
	wantReason(t, "no token", err, proto.ReasonParams)

	p := rtcParams(t, "hall", "u1", true)
	p.Token = mint(t, rtcApp, "*", "u1", true, time.Now().Add(time.Hour))
	s := joinRTC(t, srv, p, newRTCRecorder())
	if !s.CanPublish() {
		t.Fatal(`a "*" token with PublishStream joined without publishing`)
	}
}

// A token about to expire: the warning (2 s before, as configured) and
// then the removal.
func TestRTCTokenExpiry(t *testing.T) {
	srv := startRTCServer(t, func(c *roomd.Config) { c.RTCTokenWarning = 2 * time.Second })
	expire := time.Now().Add(3 * time.Second)
	p := rtcParams(t, "hall", "u1", true)
	p.Token = mint(t, rtcApp, "hall", "u1", true, expire)
	rec := newRTCRecorder()
	joinRTC(t, srv, p, rec)
	select {
	case at := <-rec.expiring:
		if at.Unix() != expire.Unix() {
			t.Fatalf("TokenExpiring(%v), want %v", at, expire.Truncate(time.Second))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no TokenExpiring")
	}
	select {
	case reason := <-rec.removed:
		if reason != proto.ReasonTokenExpired {
			t.Fatalf("Removed(%q), want token_expired", reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no Removed")
	}
	select {
	case err := <-rec.interrupted:
		wantReason(t, "Interrupted", err, proto.ReasonTokenExpired)
	case <-time.After(5 * time.Second):
		t.Fatal("no Interrupted after Removed")
	}
}

// The same userId joining again removes the first session.
func TestRTCDuplicateUser(t *testing.T) {
	srv := startRTCServer(t, nil)
	first := newRTCRecorder()
	joinRTC(t, srv, rtcParams(t, "hall", "u1", true), first)
	second := joinRTC(t, srv, rtcParams(t, "hall", "u1", true), newRTCRecorder())
	select {
	case reason := <-first.removed:
		if reason != proto.ReasonDuplicate {
			t.Fatalf("Removed(%q), want duplicate", reason)
		}
	case <-time.After(waitLimit):
		select { // say what ended it instead, if anything did (seen once under load)
		case err := <-first.interrupted:
			t.Fatalf("the first session was not removed; Interrupted(%v)", err)
		default:
			t.Fatal("the first session was not removed, nor interrupted")
		}
	}
	if got := second.Members(); len(got) != 1 || got[0] != "u1" {
		t.Fatalf("members = %v, want [u1]", got)
	}
}

// autoPublish false sends nothing until SetPublishing(true, false).
func TestRTCAutoPublishOff(t *testing.T) {
	srv := startRTCServer(t, nil)
	pubRec, subRec := newRTCRecorder(), newRTCRecorder()
	pp := rtcParams(t, "hall", "pub", true)
	pp.AutoPublish = false
	pub := joinRTC(t, srv, pp, pubRec)
	joinRTC(t, srv, rtcParams(t, "hall", "sub", false), subRec)
	if !pub.CanPublish() {
		t.Fatal("a publisher's token joined without a slot")
	}
	sendFor(t, pub, "pub", false)
	noAudioFrom(t, subRec.recorder, "pub", 1500*time.Millisecond)
	if err := pub.SetPublishing(true, false); err != nil {
		t.Fatalf("SetPublishing(true, false): %v", err)
	}
	subRec.waitPacketFrom(t, "pub")
	wantReason(t, "video without Video", pub.SetPublishing(true, true), proto.ReasonParams)
}

// autoSubscribe false receives nothing until SetSubscribing(true).
func TestRTCAutoSubscribeOff(t *testing.T) {
	srv := startRTCServer(t, nil)
	subRec := newRTCRecorder()
	pub := joinRTC(t, srv, rtcParams(t, "hall", "pub", true), newRTCRecorder())
	sp := rtcParams(t, "hall", "sub", false)
	sp.AutoSubscribe = false
	sub := joinRTC(t, srv, sp, subRec)
	sendFor(t, pub, "pub", false)
	subRec.waitMembers(t, "pub", "sub")
	noAudioFrom(t, subRec.recorder, "pub", 1500*time.Millisecond)
	select {
	case m := <-subRec.tracks:
		t.Fatalf("a track of %s arrived before SetSubscribing", m)
	default:
	}
	if err := sub.SetSubscribing(true); err != nil {
		t.Fatal(err)
	}
	subRec.waitPacketFrom(t, "pub")
}

// Room limits: members beyond RTCMaxMembers are refused; publishers beyond
// RTCMaxPublishers join without a slot and get one when it is freed.
func TestRTCLimits(t *testing.T) {
	srv := startRTCServer(t, func(c *roomd.Config) { c.RTCMaxMembers, c.RTCMaxPublishers = 3, 1 })
	a := joinRTC(t, srv, rtcParams(t, "hall", "a", true), newRTCRecorder())
	bRec := newRTCRecorder()
	b := joinRTC(t, srv, rtcParams(t, "hall", "b", true), bRec)
	joinRTC(t, srv, rtcParams(t, "hall", "c", false), newRTCRecorder())
	if !a.CanPublish() || b.CanPublish() {
		t.Fatalf("CanPublish a=%v b=%v, want true false", a.CanPublish(), b.CanPublish())
	}
	wantReason(t, "second publisher", b.SetPublishing(true, false), proto.ReasonPublishersFull)
	_, err := tryJoinRTC(srv, rtcParams(t, "hall", "d", false), newRTCRecorder())
	wantReason(t, "fourth member", err, proto.ReasonRoomFull)
	if err := a.Leave(t.Context()); err != nil {
		t.Fatal(err)
	}
	bRec.waitMembers(t, "b", "c")
	if err := b.SetPublishing(true, false); err != nil {
		t.Fatalf("SetPublishing once a slot is free: %v", err)
	}
	if !b.CanPublish() {
		t.Fatal("CanPublish false after a slot was given")
	}
}
