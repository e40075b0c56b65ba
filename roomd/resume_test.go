package roomd

import (
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/voipd/voipd/proto"
)

// resumeMsg is a's join back to its seat with ticket.
func resumeMsg(openid, group, ticket string) *proto.Message {
	return &proto.Message{Type: proto.TypeJoin, Kind: proto.KindVoIP, AppID: testApp.ID, OpenID: openid, GroupID: group, Resume: ticket}
}

// membersUntil reads c's messages until a members list satisfies done,
// and returns every members list it read.
func membersUntil(t *testing.T, c *websocket.Conn, done func([]string) bool) [][]string {
	t.Helper()
	var lists [][]string
	for {
		m := next(t, c)
		if m.Type != proto.TypeMembers {
			continue
		}
		lists = append(lists, m.Members)
		if done(m.Members) {
			return lists
		}
	}
}

// TestResumeKeepsTheSeat: a member whose connection drops comes back with
// its ticket into the same place, and the others never see it leave; its
// ticket is fresh each time and says how long the seat is kept.
func TestResumeKeepsTheSeat(t *testing.T) {
	s := startTest(t, Config{})
	now := time.Now()
	ja, a := rawJoin(t, s, joinMsg(testApp, "a", "g", now))
	jb, b := rawJoin(t, s, joinMsg(testApp, "b", "g", now))
	if ja.Type != proto.TypeJoined || ja.Resume == "" || ja.GraceMs != defaultResumeGrace.Milliseconds() || jb.Resume == "" {
		t.Fatalf("joined without a ticket and its grace: %+v", ja)
	}
	claims, err := proto.VerifyResume(ja.Resume, testApp.Secret, now)
	if err != nil || claims.Member != "a" || claims.Room != "g" || claims.RoomType != proto.RoomVoice || claims.JoinType != proto.RoomVoice {
		t.Fatalf("a's ticket: %+v, %v", claims, err)
	}
	a.Close() // the network drops: no leave

	back, _ := rawJoin(t, s, resumeMsg("a", "g", ja.Resume))
	if back.Type != proto.TypeJoined || !slices.Equal(back.Members, []string{"a", "b"}) || back.Resume == "" {
		t.Fatalf("resume answered %+v; want joined [a b] with a new ticket", back)
	}
	_, c := rawJoin(t, s, joinMsg(testApp, "c", "g", now))
	defer c.Close()
	lists := membersUntil(t, b, func(l []string) bool { return slices.Contains(l, "c") })
	for _, l := range lists {
		if !slices.Contains(l, "a") {
			t.Fatalf("b saw a leave: members %v (all: %v)", l, lists)
		}
	}
	if last := lists[len(lists)-1]; !slices.Equal(last, []string{"a", "b", "c"}) {
		t.Fatalf("members %v, want a in its first place: [a b c]", last)
	}
}

// TestSeatGivenUp: past the grace the seat is given up (the others see the
// member leave) and the ticket refused; a member that said leave gives its
// seat up at once; a forged or another member's ticket is refused.
func TestSeatGivenUp(t *testing.T) {
	s := startTest(t, Config{ResumeGrace: 200 * time.Millisecond})
	now := time.Now()
	ja, a := rawJoin(t, s, joinMsg(testApp, "a", "g", now))
	jb, b := rawJoin(t, s, joinMsg(testApp, "b", "g", now))
	a.Close()
	membersUntil(t, b, func(l []string) bool { return !slices.Contains(l, "a") })
	refused, _ := rawJoin(t, s, resumeMsg("a", "g", ja.Resume))
	expect(t, refused, proto.TypeError, proto.ReasonResume)

	b.WriteJSON(&proto.Message{Type: proto.TypeLeave})
	for { // the server closes after a leave
		b.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := b.ReadMessage(); err != nil {
			break
		}
	}
	refused, _ = rawJoin(t, s, resumeMsg("b", "g", jb.Resume))
	expect(t, refused, proto.TypeError, proto.ReasonResume)

	jc, _ := rawJoin(t, s, joinMsg(testApp, "c", "g", now))
	forged := proto.Resume{AppID: testApp.ID, Kind: proto.KindVoIP, Room: "g", Member: "c", Expires: now.Add(time.Hour).Unix()}.Seal("not the secret")
	for name, ticket := range map[string]string{"forged": forged, "another member's": jc.Resume} {
		refused, _ = rawJoin(t, s, resumeMsg("d", "g", ticket))
		if refused.Type != proto.TypeError || refused.Reason != proto.ReasonResume {
			t.Errorf("%s ticket: %+v", name, refused)
		}
	}
}

// TestResumeAfterRestart: another roomd of the same app (this one
// restarted) re-admits members with their tickets into a re-created room
// of the same type, in their first join's order whatever order they come
// back in; a fresh join of the member makes its older tickets stale (they
// get "duplicate", as a replaced connection does).
func TestResumeAfterRestart(t *testing.T) {
	first := startTest(t, Config{})
	now := time.Now()
	video := joinMsg(testApp, "a", "g", now)
	video.RoomType = proto.RoomVideo
	ja, _ := rawJoin(t, first, video)
	jb, _ := rawJoin(t, first, joinMsg(testApp, "b", "g", now))
	first.Close()

	second := startTest(t, Config{})
	back, b := rawJoin(t, second, resumeMsg("b", "g", jb.Resume))
	if back.Type != proto.TypeJoined || !slices.Equal(back.Members, []string{"b"}) {
		t.Fatalf("b back: %+v", back)
	}
	back, _ = rawJoin(t, second, resumeMsg("a", "g", ja.Resume))
	if back.Type != proto.TypeJoined || !slices.Equal(back.Members, []string{"a", "b"}) {
		t.Fatalf("a back: %+v; want [a b], the first join's order", back)
	}
	second.mu.Lock()
	roomType := second.rooms[testApp.ID+"\x00g"].roomType
	second.mu.Unlock()
	if roomType != proto.RoomVideo {
		t.Fatalf("the re-created room is %s, want the first joiner's video", roomType)
	}
	membersUntil(t, b, func(l []string) bool { return slices.Equal(l, []string{"a", "b"}) })

	fresh, _ := rawJoin(t, second, joinMsg(testApp, "a", "g", now)) // a joins anew: a new seat
	if fresh.Type != proto.TypeJoined {
		t.Fatalf("fresh join: %+v", fresh)
	}
	refused, _ := rawJoin(t, second, resumeMsg("a", "g", ja.Resume))
	expect(t, refused, proto.TypeError, proto.ReasonDuplicate)
}

// TestResumeOfReplacedSeat: a member joining again replaces its first
// connection, which is told "duplicate"; the first connection's client
// coming back with its ticket (its media closed before it read the error)
// hears "duplicate" too, and the new connection keeps the seat.
func TestResumeOfReplacedSeat(t *testing.T) {
	s := startTest(t, Config{})
	now := time.Now()
	first, c1 := rawJoin(t, s, joinMsg(testApp, "a", "g", now))
	_, b := rawJoin(t, s, joinMsg(testApp, "b", "g", now))
	if second, _ := rawJoin(t, s, joinMsg(testApp, "a", "g", now)); second.Type != proto.TypeJoined {
		t.Fatalf("the second join: %+v", second)
	}
	for {
		var m proto.Message
		c1.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := c1.ReadJSON(&m); err != nil {
			t.Fatalf("the first connection ended without an error: %v", err)
		}
		if m.Type == proto.TypeError {
			expect(t, &m, proto.TypeError, proto.ReasonDuplicate)
			break
		}
	}
	seat := func() *member {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r := s.rooms[testApp.ID+"\x00g"]; r != nil {
			return r.members["a"]
		}
		return nil
	}
	holder := seat()
	refused, _ := rawJoin(t, s, resumeMsg("a", "g", first.Resume))
	expect(t, refused, proto.TypeError, proto.ReasonDuplicate)
	if holder == nil || seat() != holder {
		t.Fatal("the refused resume took the seat from the second connection")
	}
	membersUntil(t, b, func(l []string) bool { return slices.Equal(l, []string{"a", "b"}) })
}

// TestJoinTimesDistinct: joins in the same millisecond still get distinct
// times in their order, so a re-created room lists them as they joined.
func TestJoinTimesDistinct(t *testing.T) {
	r := newRoster()
	for i, id := range []string{"a", "b", "c"} {
		m := &member{openid: id, joinedAt: r.after(1000)}
		r.add(m)
		if want := int64(1000 + i); m.joinedAt != want {
			t.Fatalf("%s joined at %d, want %d", id, m.joinedAt, want)
		}
	}
	if got := r.after(5000); got != 5000 {
		t.Fatalf("a later join moved from 5000 to %d", got)
	}
	if order := r.list(); !slices.Equal(order, []string{"a", "b", "c"}) {
		t.Fatalf("order %v", order)
	}
}

// A roomd shutting down tells no member that another left: each ends with
// "shutdown" and keeps its list for the resume. (A list without the first
// member, racing the second's final error out, made TestBrowserReconnect's
// page wait for a member it had dropped.)
func TestShutdownAnnouncesNoDeparture(t *testing.T) {
	s := startTest(t, Config{})
	now := time.Now()
	rawJoin(t, s, joinMsg(testApp, "a", "g", now))
	_, b := rawJoin(t, s, joinMsg(testApp, "b", "g", now))
	membersUntil(t, b, func(l []string) bool { return slices.Equal(l, []string{"a", "b"}) })
	s.mu.Lock()
	r := s.rooms[testApp.ID+"\x00g"]
	a, bm := r.members["a"], r.members["b"]
	s.closing = true // Close's first step, without the rest racing this test
	s.mu.Unlock()
	bm.listMu.Lock()
	before := bm.listVer
	bm.listMu.Unlock()
	if !s.leave(a) {
		t.Fatal("a was not in the room")
	}
	bm.listMu.Lock()
	after := bm.listVer
	bm.listMu.Unlock()
	if after != before {
		t.Fatalf("b was sent a member list (version %d -> %d) while the server shut down", before, after)
	}
	s.mu.Lock()
	s.closing = false // so the test's cleanup runs Close whole
	s.mu.Unlock()
}
