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
)

// Kept is what the engine keeps of the group room it is in, so that a
// voipd killed mid-call (a crash, SIGKILL, the watchdog) gets back into it
// when it starts again, without a command and without a new signature.
// Leaving the room in any way — exit, SIGTERM, the room lost — forgets it.
type Kept struct {
	AppID    string           `json:"appId"`
	OpenID   string           `json:"openid"`
	GroupID  string           `json:"groupId"`
	RoomType string           `json:"roomType"`
	Mute     proto.MuteConfig `json:"muteConfig"`
	Ticket   string           `json:"resume"` // a credential: the file is 0600, never logged
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
	if err != nil || json.Unmarshal(b, &k) != nil || k.Ticket == "" {
		return Kept{}, false
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

// keep stores the session's group room, when there is a Keeper. Called
// without e.mu.
func (e *Engine) keep(s *session) {
	if e.p.Keeper == nil || s.kind != KindGroup {
		return
	}
	e.mu.Lock()
	if e.s != s || !e.state.inRoom() || s.room == nil {
		e.mu.Unlock()
		return
	}
	k := Kept{AppID: e.cfg.Identity.AppID, OpenID: e.cfg.Identity.OpenID, GroupID: s.id, RoomType: s.roomType, Mute: s.mute, Ticket: s.room.Ticket()}
	e.mu.Unlock()
	if k.Ticket == "" {
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

// Rejoin gets back into the group room voipd was in when it was killed,
// with the resume ticket it kept (no command, no new signature); status
// shows it joining, and once back in the room the sink hears it as a
// reconnect's end (code 2). A room that cannot be got back into — the seat
// given up, another identity now — is forgotten.
func (e *Engine) Rejoin(ctx context.Context) {
	if e.p.Keeper == nil {
		return
	}
	k, ok := e.p.Keeper.Kept()
	if !ok {
		return
	}
	id := e.cfg.Identity
	if k.AppID != id.AppID || k.OpenID != id.OpenID {
		e.log.Warn("forgetting a kept room of another identity", "groupId", k.GroupID)
		e.forget()
		return
	}
	e.log.Info("getting back into the room voipd was in", "groupId", k.GroupID)
	if _, err := e.Join(ctx, 0, Group{GroupID: k.GroupID, RoomType: k.RoomType, Mute: k.Mute, Resume: k.Ticket}); err != nil {
		e.log.Warn("could not get back into the room", "groupId", k.GroupID, "err", err)
		e.forget()
		return
	}
	e.p.Events.Emit(RoomReconnected{Room: KindGroup})
}
