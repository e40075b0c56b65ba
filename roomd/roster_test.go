package roomd

import (
	"encoding/json"
	"log/slog"
	"slices"
	"testing"
)

// Two changes' member lists race to a member outside Server.mu (announce):
// the list computed later wins, one computed earlier arriving after it is
// dropped, so a member never ends on a stale list. Found in CI: after a
// roomd restart, members coming back at once left one member's list
// without a member that was back.
func TestMemberListsKeepTheirOrder(t *testing.T) {
	s := &Server{}
	m := &member{out: make(chan []byte, 8), quit: make(chan struct{}), log: slog.New(slog.DiscardHandler)}
	v1, v2 := s.stampLocked(), s.stampLocked() // v1 computed first
	s.broadcastMembers([]*member{m}, []string{"a", "b", "c"}, v2)
	s.broadcastMembers([]*member{m}, []string{"b", "c"}, v1) // late
	s.broadcastMembers([]*member{m}, []string{"a", "b", "c", "d"}, s.stampLocked())
	var got [][]string
	for len(m.out) > 0 {
		var msg struct{ Members []string }
		if err := json.Unmarshal(<-m.out, &msg); err != nil {
			t.Fatal(err)
		}
		got = append(got, msg.Members)
	}
	if len(got) != 2 || !slices.Equal(got[0], []string{"a", "b", "c"}) || !slices.Equal(got[1], []string{"a", "b", "c", "d"}) {
		t.Fatalf("lists sent: %v, want [a b c] then [a b c d]", got)
	}
}
