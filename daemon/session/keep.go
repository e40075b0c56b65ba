package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// Kept is what the engine keeps of the group room or token room it is in,
// so that a voipd killed mid-call (a crash, SIGKILL, the watchdog) gets
// back into it when it starts again, without a command and without a new
// signature or token. Leaving the room in any way — exit, SIGTERM, the
// room lost — forgets it.
type Kept struct {
	Kind     Kind             `json:"kind,omitempty"` // KindGroup ("" in files written before the others), KindCall or KindRTC
	AppID    string           `json:"appId"`
	OpenID   string           `json:"openid,omitempty"`
	GroupID  string           `json:"groupId,omitempty"`
	RoomType string           `json:"roomType,omitempty"`
	Mute     proto.MuteConfig `json:"muteConfig"`
	Ticket   string           `json:"resume,omitempty"` // a credential: the file is 0600, never logged

	// A call's: its id and its room on the server (the ticket is the
	// resume ticket of this device's seat in that room).
	CallID   string `json:"callId,omitempty"`
	CallRoom string `json:"callRoom,omitempty"`

	// A token room's join (the token is a credential too; it is not
	// single-use) and what it publishes and receives as last asked.
	RoomID       string `json:"roomId,omitempty"`
	UserID       string `json:"userId,omitempty"`
	Token        string `json:"token,omitempty"`
	Video        bool   `json:"video,omitempty"` // joined with a camera
	PublishAudio bool   `json:"publishAudio,omitempty"`
	PublishVideo bool   `json:"publishVideo,omitempty"`
	Receive      bool   `json:"receive,omitempty"`
}

// usable reports whether k holds what getting back in needs.
func (k Kept) usable() bool {
	switch k.Kind {
	case KindRTC:
		return k.Token != "" && k.RoomID != "" && k.UserID != "" && k.AppID != ""
	case KindCall:
		return k.Ticket != "" && k.CallID != "" && k.CallRoom != ""
	}
	return k.Ticket != ""
}

// Keeper stores a Kept across restarts.
type Keeper interface {
	Keep(Kept) error
	Kept() (Kept, bool)
	Forget()
}

// FileKeeper keeps it in one JSON file (mode 0600), written whole and
// renamed into place so that a kill mid-write leaves the old one.
type FileKeeper struct{ Path string }

func (f FileKeeper) Keep(k Kept) error {
	b, err := json.Marshal(k)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), ".room-*.json")
	if err != nil {
		return fmt.Errorf("keep the room: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.Path)
	}
	if err != nil {
		return fmt.Errorf("keep the room in %s: %w", f.Path, err)
	}
	return nil
}

func (f FileKeeper) Kept() (Kept, bool) {
	b, err := os.ReadFile(f.Path)
	var k Kept
	if err != nil || json.Unmarshal(b, &k) != nil || !k.usable() {
		return Kept{}, false
	}
	if k.Kind == "" {
		k.Kind = KindGroup
	}
	return k, true
}

func (f FileKeeper) Forget() {
	if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// Nothing else to do: a stale file is refused at the next start
		// (its seat was given up) and forgotten then.
		_ = err
	}
}

// keep stores the session's group room or token room, when there is a
// Keeper. Called without e.mu.
func (e *Engine) keep(s *session) {
	if e.p.Keeper == nil {
		return
	}
	e.mu.Lock()
	if e.s != s || !e.state.inRoom() || s.room == nil {
		e.mu.Unlock()
		return
	}
	var k Kept
	if r, ok := s.fam.(RTC); ok {
		k = Kept{Kind: KindRTC, AppID: r.AppID, RoomID: r.RoomID, UserID: r.UserID, Token: r.Token,
			Video: r.Video, PublishAudio: !s.mute.MuteMicrophone, PublishVideo: s.videoOn, Receive: s.receive, Mute: s.mute}
	} else if s.kind == KindCall {
		k = Kept{Kind: KindCall, AppID: e.cfg.Identity.AppID, OpenID: e.cfg.Identity.OpenID, CallID: s.callID,
			CallRoom: s.callRoom, RoomType: s.roomType, Mute: s.mute, Ticket: s.room.Ticket()}
	} else {
		k = Kept{Kind: KindGroup, AppID: e.cfg.Identity.AppID, OpenID: e.cfg.Identity.OpenID, GroupID: s.id,
			RoomType: s.roomType, Mute: s.mute, Ticket: s.room.Ticket()}
	}
	e.mu.Unlock()
	if !k.usable() {
		return // a room server that gives no tickets: nothing to come back with
	}
	if err := e.p.Keeper.Keep(k); err != nil {
		e.log.Warn("the room is not kept across a restart", "err", err)
	}
}

// forget drops what was kept, when there is a Keeper.
func (e *Engine) forget() {
	if e.p.Keeper != nil {
		e.p.Keeper.Forget()
	}
}

// Rejoin gets back into the group room or token room voipd was in when it
// was killed, with what it kept (no command, no new signature or token);
// before, when one was kept, it calls before with it (the control surface
// re-creates a token room's context). status shows it joining, and once
// back in the room the sink hears it as a reconnect's end (code 2, errNo
// 2). A room that cannot be got back into — the seat given up, the token
// expired, another identity now — is forgotten.
func (e *Engine) Rejoin(ctx context.Context, before func(Kept)) {
	if e.p.Keeper == nil {
		return
	}
	k, ok := e.p.Keeper.Kept()
	if !ok {
		return
	}
	var j Join
	switch k.Kind {
	case KindRTC:
		// The join publishes both or neither; the capture as last asked
		// is restored below.
		j = RTC{AppID: k.AppID, RoomID: k.RoomID, UserID: k.UserID, Token: k.Token,
			AutoPublish: k.PublishAudio || k.PublishVideo, AutoSubscribe: k.Receive, Video: k.Video}
	default:
		id := e.cfg.Identity
		if k.AppID != id.AppID || k.OpenID != id.OpenID {
			e.log.Warn("forgetting a kept room of another identity", "kind", k.Kind)
			e.forget()
			return
		}
		j = Group{GroupID: k.GroupID, RoomType: k.RoomType, Mute: k.Mute, Resume: k.Ticket}
		if k.Kind == KindCall {
			j = resumedCall{roomType: k.RoomType, ticket: room.CallTicket{CallID: k.CallID, RoomID: k.CallRoom,
				RoomType: k.RoomType, AppID: k.AppID, Resume: k.Ticket}}
		}
	}
	id := j.spec(e).id
	e.log.Info("getting back into the room voipd was in", "kind", k.Kind, "room", id)
	if before != nil {
		before(k)
	}
	if _, err := e.Join(ctx, 0, j); err != nil {
		e.log.Warn("could not get back into the room", "kind", k.Kind, "room", id, "err", err)
		e.forget()
		return
	}
	if k.Kind == KindRTC {
		publishing := k.PublishAudio || k.PublishVideo
		for _, c := range []struct {
			audio, on bool
		}{{true, k.PublishAudio}, {false, k.PublishVideo}} {
			if c.on != publishing {
				if err := e.SetCapture(c.audio, c.on); err != nil {
					e.log.Warn("restoring the capture as it was", "audio", c.audio, "on", c.on, "err", err)
				}
			}
		}
	}
	e.p.Events.Emit(RoomReconnected{Room: k.Kind})
}
