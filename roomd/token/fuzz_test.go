package token

import (
	"maps"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/fuzzmut"
)

// FuzzVerify: the token verifier (what roomd's checkToken calls on a
// joinRtcRoom's token) never panics; only the tokens minted here verify,
// for their room and user, and serialise back to themselves; a minted
// token mutated (fuzzmut.Mutate) never verifies, even when it decodes to the same
// bytes. Whatever Parse accepts survives a serialisation: signed again
// and parsed, it is the same token.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	exp := uint32(now.Add(time.Hour).Unix())
	type minted struct{ tok, room, user string }
	var valid []minted
	for _, m := range []struct {
		room, user string
		privs      [][2]uint32
	}{
		{"r1", "u1", [][2]uint32{{0, exp}, {1, exp}, {2, exp}, {3, exp}, {4, exp}}},
		{"*", "viewer", [][2]uint32{{4, 0}}},
		{"room with spaces", "ü", nil},
		{"r", "u", [][2]uint32{{0, exp}, {4, exp}}}, // 2 bytes of base64 padding
	} {
		s := independent(appKey, appID, m.room, m.user, 7, uint32(now.Unix()), exp, m.privs)
		valid = append(valid, minted{s, m.room, m.user})
		f.Add(s, uint8(len(valid)-1), uint16(0), byte('A'), uint8(0))
	}
	f.Add("001"+appID+"AAAA", uint8(0), uint16(len(valid[0].tok)-1), byte('='), uint8(1))
	f.Add("001"+appID, uint8(3), uint16(len(valid[3].tok)-3), byte('B'), uint8(0))
	// Found by fuzzing: tokens that decode to the same bytes verified — a
	// line break inserted into the base64, and the last character before
	// the padding changed in the bits decoding drops (Parse now wants the
	// canonical encoding).
	f.Add("hello", uint8(1), uint16(30), byte('\n'), uint8(1))
	f.Add("", uint8(1), uint16(len(valid[1].tok)-3), byte('B'), uint8(0))
	f.Fuzz(func(t *testing.T, s string, which uint8, pos uint16, c byte, op uint8) {
		for i, v := range valid {
			tok, err := Verify(s, appID, appKey, v.room, v.user, now)
			if err != nil {
				continue
			}
			if s != v.tok {
				t.Fatalf("%q verifies for token %d's room and user, minted as %q", s, i, v.tok)
			}
			if again, err := tok.Serialize(appKey); err != nil || again != s {
				t.Fatalf("verified token serialises to %q, %v", again, err)
			}
		}
		v := valid[int(which)%len(valid)]
		if m := fuzzmut.Mutate(v.tok, pos, c, op); m != v.tok {
			if _, err := Verify(m, appID, appKey, v.room, v.user, now); err == nil {
				t.Fatalf("%q mutated to %q verifies", v.tok, m)
			}
		}

		tok, _, _, err := Parse(s)
		if err != nil {
			return
		}
		again, err := tok.Serialize("another key")
		if err != nil {
			t.Fatalf("a parsed token does not serialise: %v", err)
		}
		back, _, _, err := Parse(again)
		if err != nil {
			t.Fatalf("%q, serialised from a parsed token, does not parse: %v", again, err)
		}
		if back.AppID != tok.AppID || back.RoomID != tok.RoomID || back.UserID != tok.UserID || back.Nonce != tok.Nonce ||
			back.IssuedAt != tok.IssuedAt || back.ExpireAt != tok.ExpireAt || !maps.Equal(back.Privileges, tok.Privileges) {
			t.Fatalf("parsed %+v, serialised and parsed again %+v", tok, back)
		}
	})
}
