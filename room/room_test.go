package room_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/roomd"
)

// Two, then three members in one room: everyone hears everyone, with the
// member id and the audio level extension intact; members leaving end their
// tracks at the others.
func TestMembersExchangeAudio(t *testing.T) {
	srv := startServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	ra, rb, rc := newRecorder(), newRecorder(), newRecorder()
	a := join(t, srv, "alice", "g1", ra)
	go sendAudio(ctx, t, a, "alice")
	b := join(t, srv, "bob", "g1", rb)
	go sendAudio(ctx, t, b, "bob")

	ra.waitMembers(t, "alice", "bob")
	if got := b.Members(); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("bob's Members() = %v", got)
	}
	ra.waitPacketFrom(t, "bob")
	rb.waitPacketFrom(t, "alice")

	c := join(t, srv, "carol", "g1", rc)
	go sendAudio(ctx, t, c, "carol")
	ra.waitMembers(t, "alice", "bob", "carol")
	rb.waitMembers(t, "alice", "bob", "carol")
	ra.waitPacketFrom(t, "carol")
	rb.waitPacketFrom(t, "carol")
	rc.waitPacketFrom(t, "alice")
	rc.waitPacketFrom(t, "bob")

	if st := a.Stats(); st.State != "connected" || st.RemotePort != srv.UDPPort() {
		t.Errorf("alice's Stats = %+v, want connected to UDP port %d", st, srv.UDPPort())
	}

	lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer lcancel()
	if err := b.Leave(lctx); err != nil {
		t.Fatal(err)
	}
	ra.waitMembers(t, "alice", "carol")
	rc.waitMembers(t, "alice", "carol")
	waitEnded(t, ra, "bob")
	waitEnded(t, rc, "bob")
	// Audio still flows between those left.
	drain(ra)
	ra.waitPacketFrom(t, "carol")
	select {
	case err := <-rb.interrupted:
		t.Fatalf("Leave caused Interrupted(%v)", err)
	default:
	}
}

// A member that joins again under the same openid replaces its old
// connection, which is told "duplicate".
func TestDuplicateJoinReplaces(t *testing.T) {
	srv := startServer(t, nil)
	r1, r2, rb := newRecorder(), newRecorder(), newRecorder()
	join(t, srv, "door", "g", r1)
	join(t, srv, "bob", "g", rb)
	second := join(t, srv, "door", "g", r2)
	select {
	case err := <-r1.interrupted:
		var re *room.Error
		if !asRoomError(err, &re) || re.Reason != "duplicate" {
			t.Fatalf("old session interrupted with %v, want reason duplicate", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("old session not interrupted")
	}
	if got := second.Members(); !slices.Equal(got, []string{"bob", "door"}) {
		t.Fatalf("Members() = %v, want [bob door]", got)
	}
}

// Closing the server (a restart, as far as a member can tell) makes its
// members reconnect ("shutdown"); with no server back within the grace the
// server gave, they are interrupted ("unreachable").
func TestServerCloseInterrupts(t *testing.T) {
	srv := startServer(t, func(c *roomd.Config) { c.ResumeGrace = 500 * time.Millisecond })
	r := newRecorder()
	join(t, srv, "door", "g", r)
	srv.Close()
	var re *room.Error
	if err := within(t, r.reconnecting, "Reconnecting"); !asRoomError(err, &re) || re.Reason != "shutdown" {
		t.Fatalf("reconnecting after %v, want reason shutdown", err)
	}
	if err := within(t, r.interrupted, "Interrupted after the grace"); !asRoomError(err, &re) || re.Reason != "unreachable" {
		t.Fatalf("interrupted with %v, want reason unreachable", err)
	}
	select {
	case <-r.reconnected:
		t.Fatal("Reconnected with no server")
	default:
	}
}

func waitEnded(t *testing.T, r *recorder, member string) {
	t.Helper()
	select {
	case m := <-r.ended:
		if m != member {
			t.Fatalf("TrackEnded(%s), want %s", m, member)
		}
	case <-time.After(waitLimit):
		t.Fatalf("no TrackEnded(%s)", member)
	}
}

func drain(r *recorder) {
	for {
		select {
		case <-r.packets:
		default:
			return
		}
	}
}

// Members joining at the same moment: the server's offers to each member
// are serialised, and everyone ends up hearing everyone.
func TestConcurrentJoins(t *testing.T) {
	srv := startServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	names := []string{"m1", "m2", "m3", "m4"}
	recs := map[string]*recorder{}
	sessions := make(chan *room.Session, len(names))
	errs := make(chan error, len(names))
	for _, n := range names {
		r := newRecorder()
		recs[n] = r
		go func() {
			jctx, jcancel := context.WithTimeout(ctx, 15*time.Second)
			defer jcancel()
			s, err := room.Join(jctx, room.Config{URL: wsURL(srv)}, params(n, "busy"), r)
			if err != nil {
				errs <- err
				return
			}
			t.Cleanup(func() { s.Leave(context.Background()) })
			go sendAudio(ctx, t, s, n)
			sessions <- s
		}()
	}
	for range names {
		select {
		case <-sessions:
		case err := <-errs:
			t.Fatal(err)
		case <-time.After(20 * time.Second):
			t.Fatal("joins did not finish")
		}
	}
	for _, to := range names {
		for _, from := range names {
			if from != to {
				recs[to].waitPacketFrom(t, from)
			}
		}
	}
}
