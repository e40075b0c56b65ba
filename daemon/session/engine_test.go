package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// TestTransitionsTable: every arrow of the machine is legal, and nothing
// else is: in particular no session is in a room without having joined,
// and none leaves without passing through leaving.
func TestTransitionsTable(t *testing.T) {
	want := map[[2]State]bool{
		{Idle, Joining}: true, {Joining, InRoom}: true, {Joining, Idle}: true,
		{InRoom, Leaving}: true, {Leaving, Idle}: true,
		{InRoom, Reconnecting}: true, {Reconnecting, InRoom}: true, {Reconnecting, Leaving}: true,
	}
	all := []State{Idle, Joining, InRoom, Leaving, Reconnecting}
	for _, from := range all {
		for _, to := range all {
			if got := legal(from, to); got != want[[2]State{from, to}] {
				t.Errorf("%s → %s legal = %v, want %v", from, to, got, !got)
			}
		}
	}
	r := newRig(t, nil)
	r.e.mu.Lock()
	ok := r.e.move(InRoom)
	r.e.mu.Unlock()
	if ok || r.e.State() != Idle || len(r.moves()) != 0 {
		t.Fatal("an illegal move (idle → inRoom) was made")
	}
}

// TestJoinOutcomes drives the engine through each way a join ends and
// checks the states it passed, the answer, the devices left open and
// the room: a table of scripted rooms and devices.
func TestJoinOutcomes(t *testing.T) {
	unreachable := &room.Error{Reason: proto.ReasonUnreachable, Msg: "room: cannot connect"}
	busy := &hw.DeviceError{Op: "open capture", Device: "tone:440", Kind: hw.ErrBusy}
	for _, tc := range []struct {
		name    string
		prep    func(r *rig) *fakeRoom
		states  []State
		kind    ErrKind // of the failure, when wantErr
		wantErr error   // errors.Is target; nil for success
		open    int64   // devices open after the join answered
	}{
		{
			name: "joined",
			prep: func(r *rig) *fakeRoom {
				s, room := joinsTo("door-1", "b")
				r.rooms.script = s
				return room
			},
			states: []State{Joining, InRoom}, open: 2,
		},
		{
			name: "room server unreachable",
			prep: func(r *rig) *fakeRoom {
				r.rooms.script = func(context.Context, Handler) (Room, error) { return nil, unreachable }
				return nil
			},
			states: []State{Joining, Idle}, wantErr: unreachable,
		},
		{
			name:    "microphone busy",
			prep:    func(r *rig) *fakeRoom { r.audio.busy = busy; return nil },
			states:  []State{Joining, Idle},
			kind:    ErrDevice,
			wantErr: hw.ErrBusy,
		},
		{
			name: "audio pipeline fails",
			prep: func(r *rig) *fakeRoom {
				s, room := joinsTo("door-1")
				r.rooms.script = s
				r.media.fail = errors.New("no encoder")
				return room
			},
			states: []State{Joining, Idle}, wantErr: r0(errors.New("no encoder")),
		},
		{
			name: "room lost while the join finishes",
			prep: func(r *rig) *fakeRoom {
				room := &fakeRoom{members: []string{"door-1"}}
				r.rooms.script = func(_ context.Context, h Handler) (Room, error) {
					h.Interrupted(unreachable) // before Join returns to the engine
					return room, nil
				}
				return room
			},
			states: []State{Joining, Idle}, wantErr: unreachable,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			room := tc.prep(r)
			j, err := r.e.Join(context.Background(), 1, group("lobby"))
			if got := r.moves(); !slices.Equal(got, tc.states) {
				t.Errorf("states %v, want %v", got, tc.states)
			}
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Join: %v", err)
			case tc.wantErr == nil:
				if !slices.Equal(j.Members, []string{"door-1", "b"}) {
					t.Errorf("members %v", j.Members)
				}
			case err == nil:
				t.Fatalf("Join succeeded, want %v", tc.wantErr)
			case tc.kind != 0:
				var f *Error
				if !errors.As(err, &f) || f.Kind != tc.kind || !errors.Is(err, tc.wantErr) {
					t.Fatalf("Join = %v, want kind %d wrapping %v", err, tc.kind, tc.wantErr)
				}
			case !errors.Is(err, tc.wantErr) && err.Error() != fmt.Sprintf("audio pipeline: %v", tc.wantErr):
				t.Fatalf("Join = %v, want %v", err, tc.wantErr)
			}
			if got := r.audio.open(); got != tc.open {
				t.Errorf("%d devices open after the join answered, want %d", got, tc.open)
			}
			if room != nil && tc.wantErr != nil && !room.hasLeft() {
				t.Error("a room joined for a failed join was not left")
			}
			if c := r.media.last(); c != nil && tc.wantErr != nil {
				r.waitFor("the failed join's call to stop", func() bool { return !c.running.Load() })
			}
		})
	}
}

// r0 is the error the pipeline test expects wrapped.
func r0(err error) error { return err }

// TestLeaveOutcomes: each way an established room ends passes through
// leaving to idle once, tells the sink why once, stops the call, leaves
// the room and closes the devices.
func TestLeaveOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		end    func(r *rig)
		reason EndReason
	}{
		{"exit", func(r *rig) { r.e.Exit(context.Background()) }, EndLocal},
		{"shutdown", func(r *rig) { r.e.Shutdown(context.Background()) }, EndShutdown},
		{"room lost", func(r *rig) { r.rooms.lastHandler().Interrupted(errors.New("connection reset")) }, EndNetwork},
		{"removed, then the close", func(r *rig) {
			h := r.rooms.lastHandler()
			h.Removed("duplicate")
			h.Interrupted(errors.New("closed")) // the socket's close after a removal is no second end
		}, EndRemoved},
		{"microphone lost", func(r *rig) {
			r.media.last().failed <- &hw.DeviceError{Op: "read", Device: "mic", Kind: hw.ErrAbsent}
		}, EndDevice},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			s, room := joinsTo("door-1", "b")
			r.rooms.script = s
			if _, err := r.e.Join(context.Background(), 1, group("lobby")); err != nil {
				t.Fatal(err)
			}
			r.moves()
			call := r.media.last()
			tc.end(r)
			r.waitState(Idle)
			r.waitFor("the leave's last move", func() bool {
				r.mu.Lock()
				defer r.mu.Unlock()
				return len(r.states) == 2
			})
			if got := r.moves(); !slices.Equal(got, []State{Leaving, Idle}) {
				t.Errorf("states %v, want leaving, idle", got)
			}
			ended := r.events.ended()
			if len(ended) != 1 || ended[0].Reason != tc.reason || ended[0].Room != KindGroup || ended[0].ID != "lobby" {
				t.Errorf("Ended events %+v, want one with reason %s", ended, tc.reason)
			}
			if !room.hasLeft() || call.running.Load() || r.audio.open() != 0 {
				t.Errorf("after the end: room left %v, call running %v, %d devices open", room.hasLeft(), call.running.Load(), r.audio.open())
			}
			if tc.reason == EndDevice && !slices.ContainsFunc(r.events.all(), func(e Event) bool {
				d, ok := e.(DeviceLost)
				return ok && d.Device == "audio"
			}) {
				t.Error("no DeviceLost event for the microphone")
			}
			if err := r.e.Exit(context.Background()); err == nil {
				t.Error("Exit after the end succeeded; want not_in_room")
			}
		})
	}
}

// TestExitOrShutdownWhileJoining: a join under way is cancelled: once Exit
// returns the device is idle with its devices closed, and the join
// answers ErrExited. (Exit waits for the join to end; the join's caller
// may hear its answer a moment after Exit returned.)
func TestExitOrShutdownWhileJoining(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stop  func(e *Engine)
		cause error
	}{
		{"exit", func(e *Engine) { e.Exit(context.Background()) }, ErrExitWhileJoining},
		{"shutdown", func(e *Engine) { e.Shutdown(context.Background()) }, ErrShutdown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			connecting := make(chan struct{})
			r.rooms.script = func(ctx context.Context, _ Handler) (Room, error) {
				close(connecting)
				<-ctx.Done() // the room server never answers
				return nil, ctx.Err()
			}
			answered := make(chan error, 1)
			go func() {
				_, err := r.e.Join(context.Background(), 1, group("lobby"))
				answered <- err
			}()
			<-connecting
			tc.stop(r.e)
			if st := r.e.State(); st != Idle || r.audio.open() != 0 {
				t.Fatalf("after the cancelled join: state %s, %d devices open", st, r.audio.open())
			}
			select {
			case err := <-answered:
				var f *Error
				if !errors.As(err, &f) || f.Kind != ErrExited || !errors.Is(err, tc.cause) {
					t.Fatalf("Join = %v, want ErrExited caused by %v", err, tc.cause)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the join never answered")
			}
		})
	}
}

// TestBusy: a join while a session runs is refused with the family's
// failure, and the running session is untouched.
func TestBusy(t *testing.T) {
	r := newRig(t, nil)
	s, _ := joinsTo("door-1", "flat")
	r.rooms.script = s
	call := Call{Caller: proto.Party{Nickname: "Door", OpenID: "door-1"}, Listener: proto.Party{Nickname: "Flat", OpenID: "flat"}, RoomType: "voice"}
	if _, err := r.e.Join(context.Background(), 7, call); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		owner uint64
		join  Join
		kind  ErrKind
	}{
		{"group room", 7, group("lobby"), ErrInRoom},
		{"call, same client", 7, call, ErrInCall},
		{"call, another client", 8, call, ErrCallHeld},
		{"token room", 7, RTC{RoomID: "r", UserID: "u"}, ErrInRoom},
	} {
		_, err := r.e.Join(context.Background(), tc.owner, tc.join)
		var f *Error
		if !errors.As(err, &f) || f.Kind != tc.kind || f.Reason != ReasonBusy {
			t.Errorf("%s: %v, want kind %d busy", tc.name, err, tc.kind)
		}
	}
	if st := r.e.State(); st != InRoom || r.rooms.joins != 1 {
		t.Fatalf("state %s after refused joins, %d joins reached the server", st, r.rooms.joins)
	}
}

// TestCallEndsWhenTheOtherSideLeaves: a call whose peer leaves ends with
// reason remote; a group room whose member leaves goes on.
func TestCallEndsWhenTheOtherSideLeaves(t *testing.T) {
	for _, tc := range []struct {
		join Join
		ends bool
	}{
		{Call{Caller: proto.Party{Nickname: "D", OpenID: "door-1"}, Listener: proto.Party{Nickname: "F", OpenID: "flat"}, RoomType: "voice"}, true},
		{group("lobby"), false},
	} {
		r := newRig(t, nil)
		s, _ := joinsTo("door-1", "flat")
		r.rooms.script = s
		j, err := r.e.Join(context.Background(), 1, tc.join)
		if err != nil {
			t.Fatal(err)
		}
		r.rooms.lastHandler().MembersChanged([]string{"door-1"})
		if !tc.ends {
			if st := r.e.State(); st != InRoom {
				t.Fatalf("a group room ended (%s) when a member left", st)
			}
			continue
		}
		if j.CallID != "c-1" {
			t.Errorf("callId %q", j.CallID)
		}
		r.waitState(Idle)
		if e := r.events.ended(); len(e) != 1 || e[0].Reason != EndRemote || e[0].Room != KindCall || e[0].ID != "c-1" {
			t.Fatalf("Ended %+v", e)
		}
	}
}

// TestCallPeerComesBack: a call back from a reconnect into a room the
// server re-created (after a restart) lists only the members back so
// far; the other side has the server's grace to come back (the call goes
// on), and the call ends only if it does not.
func TestCallPeerComesBack(t *testing.T) {
	for _, back := range []bool{true, false} {
		r := newRig(t, nil)
		s, fr := joinsTo("door-1", "flat")
		fr.grace = 300 * time.Millisecond
		r.rooms.script = s
		call := Call{Caller: proto.Party{Nickname: "D", OpenID: "door-1"}, Listener: proto.Party{Nickname: "F", OpenID: "flat"}, RoomType: "voice"}
		if _, err := r.e.Join(context.Background(), 1, call); err != nil {
			t.Fatal(err)
		}
		h := r.rooms.lastHandler()
		h.Reconnecting(errors.New("server restarting"))
		h.MembersChanged([]string{"door-1"}) // the re-created room: only this side so far
		h.Reconnected()
		if back {
			h.MembersChanged([]string{"door-1", "flat"})
			time.Sleep(2 * fr.grace) // past the grace: the call must still be on
			if st := r.e.State(); st != InRoom || len(r.events.ended()) != 0 {
				t.Fatalf("the call ended (%s, %+v) though the other side came back", st, r.events.ended())
			}
			continue
		}
		r.waitState(Idle)
		if e := r.events.ended(); len(e) != 1 || e[0].Reason != EndRemote {
			t.Fatalf("Ended %+v, want remote once the grace ran out", e)
		}
	}
}

// TestTracksBeforeTheCall: tracks that arrive while the join finishes are
// added once the call exists; tracks of a session that is gone are not.
func TestTracksBeforeTheCall(t *testing.T) {
	r := newRig(t, nil)
	room := &fakeRoom{members: []string{"door-1", "b"}}
	r.rooms.script = func(_ context.Context, h Handler) (Room, error) {
		h.AudioTrack("b", discardRTP{})
		return room, nil
	}
	if _, err := r.e.Join(context.Background(), 1, group("lobby")); err != nil {
		t.Fatal(err)
	}
	call := r.media.last()
	if !call.has("b") {
		t.Fatal("the track that came before the call was not added")
	}
	h := r.rooms.lastHandler()
	h.AudioTrack("c", discardRTP{})
	h.TrackEnded("b")
	if !call.has("c") || call.has("b") {
		t.Fatal("tracks after the join: added and ended wrongly")
	}
	r.e.Exit(context.Background())
	h.AudioTrack("d", discardRTP{})
	h.MembersChanged([]string{"x"})
	if call.has("d") {
		t.Fatal("a track reached the call of a session that left")
	}
	for _, e := range r.events.all() {
		if m, ok := e.(MembersChanged); ok && slices.Contains(m.Members, "x") {
			t.Fatal("a left session's room still emits events")
		}
	}
}

// TestMuteIsOneState: updateVoIPChatMuteConfig and a token room's
// changeAudioCapture set the one microphone state that status reports,
// the call applies and the room server hears of.
func TestMuteIsOneState(t *testing.T) {
	r := newRig(t, nil)
	if err := r.e.SetMute(proto.MuteConfig{MuteMicrophone: true}); err == nil {
		t.Fatal("SetMute outside a room succeeded")
	}
	s, room := joinsTo("u1")
	r.rooms.script = s
	if _, err := r.e.Join(context.Background(), 1, RTC{AppID: "a", RoomID: "r", UserID: "u1", Token: "t", AutoPublish: false, AutoSubscribe: true}); err != nil {
		t.Fatal(err)
	}
	call := r.media.last()
	if mic, _ := call.muted(); !mic || !r.e.Status().Room.MuteConfig.MuteMicrophone {
		t.Fatal("autoPublish false: the microphone is not muted")
	}
	if err := r.e.SetCapture(true, true); err != nil {
		t.Fatal(err)
	}
	if mic, _ := call.muted(); mic || r.e.Status().Room.MuteConfig.MuteMicrophone {
		t.Fatal("changeAudioCapture 1: the microphone is still muted somewhere")
	}
	if p := room.publishes(); len(p) != 1 || p[0] != [2]bool{true, false} {
		t.Fatalf("the room was told to publish %v", p)
	}
	if err := r.e.SetMute(proto.MuteConfig{MuteMicrophone: true, MuteEarphone: true}); err != nil {
		t.Fatal(err)
	}
	if mic, ear := call.muted(); !mic || !ear || !r.e.Status().Room.MuteConfig.MuteEarphone || len(room.mutes()) != 1 {
		t.Fatal("updateVoIPChatMuteConfig did not reach the call, status and the room")
	}
}

// TestStatusShapes: status' lists are never null and its stats always
// there, idle or in a room.
func TestStatusShapes(t *testing.T) {
	r := newRig(t, nil)
	st := r.e.Status()
	if st.State != Idle || st.Room != nil || st.Devices.Capture == nil || !st.Devices.Capture.Synthetic || st.Devices.Capture.State != "closed" {
		t.Fatalf("idle status %+v", st)
	}
	s, _ := joinsTo("door-1")
	r.rooms.script = s
	if _, err := r.e.Join(context.Background(), 1, group("lobby")); err != nil {
		t.Fatal(err)
	}
	st = r.e.Status()
	if st.Room == nil || st.Room.Speakers == nil || st.Room.Members == nil || st.Room.Network == nil || st.Room.Network.RTTMs != 2 {
		t.Fatalf("in-room status %+v", st.Room)
	}
	if st.Stats.BytesSent != 100 || st.Devices.Capture.State != "open" {
		t.Fatalf("stats %+v, capture %+v", st.Stats, st.Devices.Capture)
	}
}

// TestHammer runs mute, status, stats and exit from several goroutines
// while joins come and go: run with -race it proves the one mutex guards
// every field, and no request ever reaches a session half made.
func TestHammer(t *testing.T) {
	r := newRig(t, nil)
	r.rooms.script = func(ctx context.Context, h Handler) (Room, error) {
		h.AudioTrack("b", discardRTP{})
		h.MembersChanged([]string{"door-1", "b"})
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Millisecond):
		}
		return &fakeRoom{members: []string{"door-1", "b"}}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	const joins = 60
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < joins && ctx.Err() == nil; i++ {
			r.e.Join(ctx, 1, group(fmt.Sprint("g", i)))
			r.e.Exit(ctx)
		}
		cancel()
	}()
	var half sync.Once
	for _, f := range []func(){
		func() {
			// In a room means complete: its mute reaches a call, and status
			// shows the room's network.
			if err := r.e.SetMute(proto.MuteConfig{MuteMicrophone: true}); err == nil && r.media.last() == nil {
				half.Do(func() { t.Error("a mute succeeded with no call") })
			}
		},
		func() {
			if st := r.e.Status(); st.State == InRoom && (st.Room == nil || st.Room.Network == nil) {
				half.Do(func() { t.Errorf("status in a room without its room or network: %+v", st.Room) })
			}
		},
		func() { r.e.Stats() },
		func() { r.e.Exit(context.Background()) },
		func() { r.e.SubscribeVideo([]string{"b"}) },
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				f()
			}
		}()
	}
	wg.Wait()
	r.e.Exit(context.Background())
	r.waitState(Idle)
	if n := r.audio.open(); n != 0 {
		t.Fatalf("%d devices left open after the hammering", n)
	}
	for _, m := range r.media.calls {
		if m.running.Load() {
			t.Fatal("a call still runs after every session ended")
		}
	}
}

// driverDevice reports callback lateness and drops, as a malgo device does.
type driverDevice struct{}

func (driverDevice) CallbackLateness() (time.Duration, uint64, uint64) {
	return 12500 * time.Microsecond, 1, 500
}
func (driverDevice) Dropped() uint64 { return 3 }

// TestStatusOfDriverFigures: a device's lateness and drop counts reach
// status as the README gives them; a device that counts neither shows
// neither.
func TestStatusOfDriverFigures(t *testing.T) {
	b, err := json.Marshal(statusOf(driverDevice{}, hw.DeviceInfo{ID: "default", Backend: "alsa"}, "open"))
	if err != nil {
		t.Fatal(err)
	}
	var wire struct {
		Callbacks map[string]float64
		Dropped   *float64
	}
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	if wire.Dropped == nil || *wire.Dropped != 3 || wire.Callbacks["count"] != 500 || wire.Callbacks["late"] != 1 || wire.Callbacks["worstLateMs"] != 12.5 {
		t.Fatalf("status of a driver device: %s", b)
	}
	if b, _ := json.Marshal(statusOf(struct{}{}, hw.DeviceInfo{ID: "x"}, "open")); strings.Contains(string(b), "dropped") || strings.Contains(string(b), "callbacks") {
		t.Fatalf("status of a device without counters: %s", b)
	}
}

// TestReconnecting: a room whose connection is lost stays the device's
// room while the room client gets back into the seat: the state says so,
// the sink hears it (codes 1 and 2 on the socket), mute still works, and
// an exit leaves at once; a loss for good ends it as any room lost.
func TestReconnecting(t *testing.T) {
	for _, tc := range []struct {
		name   string
		during func(r *rig)
		back   bool
		reason EndReason
	}{
		{"back in the seat", func(r *rig) {}, true, ""},
		{"exit while reconnecting", func(r *rig) { r.e.Exit(context.Background()) }, false, EndLocal},
		{"not back within the grace", func(r *rig) { r.rooms.lastHandler().Interrupted(errors.New("grace over")) }, false, EndNetwork},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			s, _ := joinsTo("door-1", "b")
			r.rooms.script = s
			if _, err := r.e.Join(context.Background(), 1, group("lobby")); err != nil {
				t.Fatal(err)
			}
			r.moves()
			h := r.rooms.lastHandler()
			h.Reconnecting(errors.New("connection reset"))
			if st := r.e.Status(); st.State != Reconnecting || st.Room == nil {
				t.Fatalf("status while reconnecting: %+v", st)
			}
			if err := r.e.SetMute(proto.MuteConfig{MuteMicrophone: true}); err != nil {
				t.Fatalf("mute while reconnecting: %v", err)
			}
			tc.during(r)
			h.Reconnected()
			if tc.back {
				if got := r.moves(); !slices.Equal(got, []State{Reconnecting, InRoom}) {
					t.Fatalf("states %v, want reconnecting, inRoom", got)
				}
				var saw []string
				for _, e := range r.events.all() {
					switch e.(type) {
					case RoomReconnecting:
						saw = append(saw, "reconnecting")
					case RoomReconnected:
						saw = append(saw, "reconnected")
					}
				}
				if !slices.Equal(saw, []string{"reconnecting", "reconnected"}) {
					t.Fatalf("events %v", saw)
				}
				return
			}
			r.waitState(Idle)
			if got := r.moves(); !slices.Equal(got, []State{Reconnecting, Leaving, Idle}) {
				t.Fatalf("states %v, want reconnecting, leaving, idle", got)
			}
			if e := r.events.ended(); len(e) != 1 || e[0].Reason != tc.reason {
				t.Fatalf("Ended %+v, want one with %s", e, tc.reason)
			}
		})
	}
}

// memKeeper keeps in memory what a FileKeeper keeps in its file.
type memKeeper struct {
	mu   sync.Mutex
	kept *Kept
}

func (m *memKeeper) Keep(k Kept) error { m.mu.Lock(); m.kept = &k; m.mu.Unlock(); return nil }
func (m *memKeeper) Forget()           { m.mu.Lock(); m.kept = nil; m.mu.Unlock() }
func (m *memKeeper) Kept() (Kept, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.kept == nil {
		return Kept{}, false
	}
	return *m.kept, true
}

// TestKeptAcrossARestart: a group room is kept with its latest ticket and
// mute while the device is in it and forgotten when it is left; an engine
// started with one kept gets back into it with the ticket (no signature),
// reports it as a reconnect's end, and forgets a room it cannot get back
// into.
func TestKeptAcrossARestart(t *testing.T) {
	keeper := &memKeeper{}
	r := newRig(t, nil)
	r.e.p.Keeper = keeper
	fr := &fakeRoom{members: []string{"door-1"}, ticket: "t1"}
	r.rooms.script = func(context.Context, Handler) (Room, error) { return fr, nil }
	if _, err := r.e.Join(context.Background(), 1, group("lobby")); err != nil {
		t.Fatal(err)
	}
	if k, ok := keeper.Kept(); !ok || k.GroupID != "lobby" || k.Ticket != "t1" || k.OpenID != "door-1" {
		t.Fatalf("kept %+v, %v", k, ok)
	}
	r.e.SetMute(proto.MuteConfig{MuteEarphone: true})
	fr.ticket = "t2" // a reconnect brought a fresh one
	h := r.rooms.lastHandler()
	h.Reconnecting(errors.New("blip"))
	h.Reconnected()
	if k, _ := keeper.Kept(); k.Ticket != "t2" || !k.Mute.MuteEarphone {
		t.Fatalf("kept after mute and reconnect: %+v", k)
	}
	r.e.Exit(context.Background())
	if _, ok := keeper.Kept(); ok {
		t.Fatal("the room is still kept after exit")
	}

	// A restart: a new engine finds the room kept and gets back into it.
	keeper.Keep(Kept{AppID: "wx0000000000000000", OpenID: "door-1", GroupID: "lobby", RoomType: "voice", Ticket: "t2", Mute: proto.MuteConfig{MuteMicrophone: true}})
	again := newRig(t, nil)
	again.e.p.Keeper = keeper
	s, _ := joinsTo("door-1", "b")
	again.rooms.script = s
	again.e.Rejoin(context.Background(), nil)
	if st := again.e.Status(); st.State != InRoom || st.Room.ID != "lobby" || !st.Room.MuteConfig.MuteMicrophone {
		t.Fatalf("after Rejoin: %+v", st)
	}
	if p := again.rooms.params[0]; p.Resume != "t2" || p.Signature != "" {
		t.Fatalf("rejoined with %+v, want the ticket and no signature", p)
	}
	if !slices.ContainsFunc(again.events.all(), func(e Event) bool { _, ok := e.(RoomReconnected); return ok }) {
		t.Fatal("no RoomReconnected after the rejoin")
	}
	again.e.Exit(context.Background())

	// A seat given up: refused, forgotten, idle.
	keeper.Keep(Kept{AppID: "wx0000000000000000", OpenID: "door-1", GroupID: "lobby", Ticket: "t3"})
	refused := newRig(t, nil)
	refused.e.p.Keeper = keeper
	refused.rooms.script = func(context.Context, Handler) (Room, error) {
		return nil, &room.Error{Reason: proto.ReasonResume, Msg: "the seat was given up"}
	}
	refused.e.Rejoin(context.Background(), nil)
	if _, ok := keeper.Kept(); ok || refused.e.State() != Idle {
		t.Fatalf("a refused rejoin: kept %v, state %s", ok, refused.e.State())
	}
}

// TestRTCKeptAcrossARestart: a token room is kept with its token and the
// capture and receiving as last asked; an engine started with it joins
// again with the token, restores the capture (the join publishes both or
// neither), tells the caller (before) so the control surface can re-create
// its context, and reports a reconnect's end. Left, it is forgotten.
func TestRTCKeptAcrossARestart(t *testing.T) {
	keeper := &memKeeper{}
	r := newRig(t, nil)
	r.e.p.Keeper = keeper
	s, _ := joinsTo("u1")
	r.rooms.script = s
	if _, err := r.e.Join(context.Background(), 1, RTC{AppID: "tt1", RoomID: "r", UserID: "u1", Token: "tok", AutoPublish: true, AutoSubscribe: true}); err != nil {
		t.Fatal(err)
	}
	if err := r.e.SetCapture(false, false); err != nil { // the camera off, the microphone on
		t.Fatal(err)
	}
	if err := r.e.SetSubscribing(false); err != nil {
		t.Fatal(err)
	}
	want := Kept{Kind: KindRTC, AppID: "tt1", RoomID: "r", UserID: "u1", Token: "tok", PublishAudio: true}
	if k, ok := keeper.Kept(); !ok || k != want {
		t.Fatalf("kept %+v, %v; want %+v", k, ok, want)
	}

	again := newRig(t, nil)
	again.e.p.Keeper = keeper
	s2, fr := joinsTo("u1", "u2")
	again.rooms.script = s2
	var told Kept
	again.e.Rejoin(context.Background(), func(k Kept) { told = k })
	if told != want {
		t.Fatalf("before was told %+v", told)
	}
	if st := again.e.Status(); st.State != InRoom || st.Room.Kind != KindRTC || st.Room.ID != "r" || st.Room.MuteConfig.MuteMicrophone {
		t.Fatalf("after Rejoin: %+v", st.Room)
	}
	if p := again.rooms.rtc; len(p) != 1 || p[0].Token != "tok" || !p[0].AutoPublish || p[0].AutoSubscribe {
		t.Fatalf("rejoined with %+v", p)
	}
	if p := fr.publishes(); len(p) != 1 || p[0] != [2]bool{true, false} {
		t.Fatalf("the capture restored as %v, want audio only", p)
	}
	if !slices.ContainsFunc(again.events.all(), func(e Event) bool { rc, ok := e.(RoomReconnected); return ok && rc.Room == KindRTC }) {
		t.Fatal("no RoomReconnected for the token room")
	}
	again.e.LeaveRTC(context.Background())
	if _, ok := keeper.Kept(); ok {
		t.Fatal("the token room is still kept after it was left")
	}
}

// TestFileKeeper: the file is the room, mode 0600, and gone when forgotten.
func TestFileKeeper(t *testing.T) {
	f := FileKeeper{Path: filepath.Join(t.TempDir(), "room.json")}
	if _, ok := f.Kept(); ok {
		t.Fatal("kept before anything was")
	}
	want := Kept{Kind: KindGroup, AppID: "a", OpenID: "o", GroupID: "g", RoomType: "video", Ticket: "r1.x.y"}
	if err := f.Keep(want); err != nil {
		t.Fatal(err)
	}
	if got, ok := f.Kept(); !ok || got != want {
		t.Fatalf("Kept = %+v, %v", got, ok)
	}
	if st, err := os.Stat(f.Path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the file's mode: %v, %v", st.Mode().Perm(), err)
	}
	f.Forget()
	if _, err := os.Stat(f.Path); !os.IsNotExist(err) {
		t.Fatalf("the file after Forget: %v", err)
	}
}

// TestAudioDeviceLostAndBack: a microphone or speaker that fails mid-call
// leaves the room going (no Ended), says so (DeviceLost "audio", status
// "lost"), and is opened again until it is back (DeviceBack), handed to
// the call.
func TestAudioDeviceLostAndBack(t *testing.T) {
	r := newRig(t, nil)
	s, room := joinsTo("door-1", "b")
	r.rooms.script = s
	if _, err := r.e.Join(context.Background(), 1, group("lobby")); err != nil {
		t.Fatal(err)
	}
	call := r.media.last()
	for _, device := range []string{"microphone", "speaker"} {
		open := r.audio.open()
		call.params.DeviceLost(device, &hw.DeviceError{Op: "read", Device: device, Kind: hw.ErrUnavailable})
		st := r.e.Status()
		lost := st.Devices.Capture
		if device == "speaker" {
			lost = st.Devices.Playback
		}
		if st.State != InRoom || lost.State != "lost" || r.audio.open() != open-1 {
			t.Fatalf("%s lost: state %s, device %+v, %d open (was %d)", device, st.State, lost, r.audio.open(), open)
		}
		select {
		case <-call.swapped:
		case <-time.After(5 * time.Second):
			t.Fatalf("the %s was not opened again", device)
		}
		r.waitFor(device+" back in status", func() bool {
			st := r.e.Status()
			return st.Devices.Capture.State == "open" && st.Devices.Playback.State == "open"
		})
	}
	// The status says open as the device opens; the event that says so
	// is emitted just after, on the engine's goroutine: wait for it too.
	var lost, back int
	count := func() bool {
		lost, back = 0, 0
		for _, e := range r.events.all() {
			switch e := e.(type) {
			case DeviceLost:
				if e.Device == "audio" {
					lost++
				}
			case DeviceBack:
				if e.Device == "audio" {
					back++
				}
			case Ended:
				t.Fatalf("the room ended: %+v", e)
			}
		}
		return lost == 2 && back == 2
	}
	r.waitFor("two audio lost and two back events", count)
	if count(); lost != 2 || back != 2 || room.hasLeft() {
		t.Fatalf("%d lost, %d back, room left %v", lost, back, room.hasLeft())
	}
	r.e.Exit(context.Background())
	if n := r.audio.open(); n != 0 {
		t.Fatalf("%d devices open after exit", n)
	}
}

// The room server's reports of the audio lost on the way reach the call
// (its encoder sizes FEC by them) while the room is the engine's, and no
// longer once it was left.
func TestUplinkLossReachesTheCall(t *testing.T) {
	r := newRig(t, nil)
	s, _ := joinsTo("door-1", "b")
	r.rooms.script = s
	if _, err := r.e.Join(context.Background(), 1, group("lobby")); err != nil {
		t.Fatal(err)
	}
	h := r.rooms.lastHandler()
	call := r.media.last()
	h.UplinkLoss(0.25)
	h.UplinkLoss(0.125)
	r.e.Exit(context.Background())
	h.UplinkLoss(0.5) // the room is no longer the engine's
	call.mu.Lock()
	defer call.mu.Unlock()
	if !slices.Equal(call.loss, []float64{0.25, 0.125}) {
		t.Fatalf("the call heard %v, want [0.25 0.125]", call.loss)
	}
}

// TestCallPeerLeftDuringTheJoin: the other side arrives and hangs up
// while this side's join is still finishing (both member lists come
// before the join returns, and the room's own list is the last one): the
// call ends at once with reason remote, not 15 s later as a network
// failure.
func TestCallPeerLeftDuringTheJoin(t *testing.T) {
	r := newRig(t, nil)
	room := &fakeRoom{members: []string{"door-1"}}
	r.rooms.script = func(_ context.Context, h Handler) (Room, error) {
		h.MembersChanged([]string{"door-1", "flat"})
		h.MembersChanged([]string{"door-1"})
		return room, nil
	}
	call := Call{Caller: proto.Party{Nickname: "D", OpenID: "door-1"}, Listener: proto.Party{Nickname: "F", OpenID: "flat"}, RoomType: "voice"}
	if _, err := r.e.Join(context.Background(), 1, call); err != nil {
		t.Fatal(err)
	}
	r.waitState(Idle)
	if e := r.events.ended(); len(e) != 1 || e[0].Reason != EndRemote || e[0].Room != KindCall {
		t.Fatalf("Ended %+v, want one with reason remote", e)
	}
}

// TestSpeakersFollowTheCall: the speaker list follows the call's word that
// a level crossed (no polling): a member and this device join it when
// loud, this device leaves it when muted and a member when quiet, each
// after the hold.
func TestSpeakersFollowTheCall(t *testing.T) {
	r := newRig(t, nil)
	s, _ := joinsTo("u1", "u2")
	r.rooms.script = s
	if _, err := r.e.Join(context.Background(), 1, RTC{AppID: "a", RoomID: "r", UserID: "u1", Token: "t", AutoPublish: true, AutoSubscribe: true}); err != nil {
		t.Fatal(err)
	}
	call := r.media.last()
	if call.params.LevelsChanged == nil || call.params.SpeakingLevel != speakThreshold {
		t.Fatalf("the call was not asked to tell of level crossings (threshold %v)", call.params.SpeakingLevel)
	}
	last := func() []string {
		var sp []string
		for _, e := range r.events.all() {
			if e, ok := e.(SpeakersChanged); ok {
				sp = e.Speakers
			}
		}
		return sp
	}
	want := func(what string, w ...string) {
		t.Helper()
		r.waitFor(what, func() bool { return slices.Equal(last(), w) })
	}
	call.AddMember("u2", nil)
	call.setLevel("u2", 0.5)
	want("u2 speaking", "u2")
	call.setLevel("", 0.3)
	want("this device speaking too", "u1", "u2")
	if err := r.e.SetMute(proto.MuteConfig{MuteMicrophone: true}); err != nil {
		t.Fatal(err)
	}
	want("this device muted, after the hold", "u2")
	call.setLevel("u2", 0)
	want("u2 quiet, after the hold", []string{}...)
	if sp := last(); sp == nil {
		t.Fatal("the last SpeakersChanged listed nil, not an empty list")
	}
	// A member leaving while loud leaves the list at once.
	call.setLevel("u2", 0.5)
	want("u2 speaking again", "u2")
	call.RemoveMember("u2")
	want("u2 removed", []string{}...)
}
