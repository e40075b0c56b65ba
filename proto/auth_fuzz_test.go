package proto

import (
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/fuzzmut"
)

// signedString is what a join signature's HMAC covers: WeChat's four
// fields sorted and joined with nothing between them.
func signedString(appID, groupID, nonceStr string, timeStamp int64) string {
	parts := []string{appID, groupID, nonceStr, strconv.FormatInt(timeStamp, 10)}
	sort.Strings(parts)
	return strings.Join(parts, "")
}

// FuzzVerifySignature: the join signature check never panics, and no
// signature verifies unless it is one made here (hex case aside:
// VerifySignature takes upper-case hex too) over the same signed string.
// The fuzzer gives both free-form fields and a mutation (fuzzmut.Mutate) of one
// field of a valid join. The fields themselves may differ from the signed
// ones: WeChat's scheme joins the sorted fields without separators, so
// characters moved between adjacent fields ("lobby" with nonce "AB", and
// "obby" with nonce "ABl") sign the same string — a property of the
// scheme roomd must stay compatible with, allowed here so that nothing
// else verifies (docs/RELIABILITY.md, "Fuzzing").
func FuzzVerifySignature(f *testing.F) {
	const appID, openid, appSecret = "wx20afc706a711eefc", "door-1", "test-secret"
	key := SessionKey(appSecret, openid)
	type join struct {
		sig, app, group, nonce string
		ts                     int64
	}
	var joins []join
	made := map[string]string{} // signature → the string it signs
	for _, j := range []join{
		{app: appID, group: "1559129713_672975982", nonce: "8AP6DT9ybtniUJfb", ts: 1559129714},
		{app: appID, group: "lobby", nonce: "ABCDEFGHIJKLMNOP", ts: 1763880000},
		{app: appID, group: "presence:door-1", nonce: "0123456789abcdef", ts: 1763880001}, // a call registration's purpose-made groupId
		{app: appID},
		{app: "ä", group: "\x00\xff", nonce: "-", ts: -1},
	} {
		j.sig = Signature(j.app, j.group, j.nonce, j.ts, key)
		made[j.sig] = signedString(j.app, j.group, j.nonce, j.ts)
		joins = append(joins, j)
		f.Add(j.sig, j.app, j.group, j.nonce, j.ts, uint8(len(joins)-1), uint8(0), uint16(0), byte('0'), uint8(0))
	}
	f.Add(strings.ToUpper(joins[1].sig), appID, "lobby", "ABCDEFGHIJKLMNOP", int64(1763880000), uint8(1), uint8(2), uint16(0), byte('l'), uint8(2))
	f.Add(joins[1].sig, appID, "obby", "ABCDEFGHIJKLMNOPl", int64(1763880000), uint8(1), uint8(3), uint16(16), byte('l'), uint8(1))
	f.Fuzz(func(t *testing.T, sig, app, group, nonce string, ts int64, which, field uint8, pos uint16, c byte, op uint8) {
		check := func(sig, app, group, nonce string, ts int64) {
			if !VerifySignature(sig, app, group, nonce, ts, key) {
				return
			}
			signed, ok := made[strings.ToLower(sig)]
			if !ok {
				t.Fatalf("signature %q, made by no one here, verifies", sig)
			}
			if got := signedString(app, group, nonce, ts); got != signed {
				t.Fatalf("signature %q verifies %q; it signed %q", sig, got, signed)
			}
		}
		if !VerifySignature(Signature(app, group, nonce, ts, key), app, group, nonce, ts, key) {
			t.Fatal("a signature does not verify its own fields")
		}
		check(sig, app, group, nonce, ts)

		j := joins[int(which)%len(joins)]
		switch field % 5 {
		case 0:
			j.sig = fuzzmut.Mutate(j.sig, pos, c, op)
		case 1:
			j.app = fuzzmut.Mutate(j.app, pos, c, op)
		case 2:
			j.group = fuzzmut.Mutate(j.group, pos, c, op)
		case 3:
			j.nonce = fuzzmut.Mutate(j.nonce, pos, c, op)
		case 4:
			j.ts += int64(int8(c))
		}
		check(j.sig, j.app, j.group, j.nonce, j.ts)
	})
}

// FuzzVerifyResume: reading a resume ticket never panics; only the
// tickets sealed here verify, and to the claims they were sealed with; a
// ticket sealed here and then mutated (fuzzmut.Mutate) never verifies, even when
// it decodes to the same bytes; and whatever claims OpenResume reads,
// sealed again, verify to the same claims.
func FuzzVerifyResume(f *testing.F) {
	const secret = "test-secret"
	now := time.Unix(1_763_880_000, 0)
	sealed := map[string]Resume{}
	var tickets []string
	for _, r := range []Resume{
		{AppID: "wx20afc706a711eefc", Kind: KindVoIP, Room: "lobby", Member: "door-1", RoomType: RoomVoice, JoinType: RoomVoice, Joined: 1763879000123, Expires: now.Unix() + 3600},
		{AppID: "wx20afc706a711eefc", Kind: Kind1v1, Room: CallRoomPrefix + "abc", Member: "kiosk", RoomType: RoomVideo, JoinType: RoomVoice, Joined: 1, Expires: now.Unix() + 1},
		{AppID: "a", Room: "ä\u2028", Member: "\"<>&", Expires: now.Unix() + 1<<40},
		{AppID: "wx20afc706a711eefc", Kind: KindVoIP, Room: "old", Member: "m", Expires: now.Unix()}, // expired this second
	} {
		tk := r.Seal(secret)
		sealed[tk] = r
		tickets = append(tickets, tk)
		f.Add(tk, uint8(len(tickets)-1), uint16(0), byte('A'), uint8(0))
	}
	// Found by fuzzing: a CR inserted into a ticket's MAC verified, since
	// base64 decoding skips it (VerifyResume now compares the MAC's text).
	f.Add("", uint8(0), uint16(len(tickets[0])-1), byte('\r'), uint8(1))
	f.Add("", uint8(1), uint16(len(tickets[1])), byte('\n'), uint8(1))
	for _, s := range []string{"r1.", "r1..", "r1.e30.", "r2.e30.AAAA", ""} {
		f.Add(s, uint8(0), uint16(len(tickets[0])-1), byte('B'), uint8(0))
	}
	f.Fuzz(func(t *testing.T, ticket string, which uint8, pos uint16, c byte, op uint8) {
		r, err := VerifyResume(ticket, secret, now)
		if err == nil {
			want, ok := sealed[ticket]
			if !ok {
				t.Fatalf("ticket %q, sealed by no one here, verifies to %+v", ticket, r)
			}
			if r != want {
				t.Fatalf("ticket verifies to %+v, sealed with %+v", r, want)
			}
		}
		valid := tickets[int(which)%len(tickets)]
		if m := fuzzmut.Mutate(valid, pos, c, op); m != valid {
			if r, err := VerifyResume(m, secret, now); err == nil {
				t.Fatalf("ticket %q mutated to %q verifies to %+v", valid, m, r)
			}
		}

		claims, err := OpenResume(ticket)
		if err != nil {
			return
		}
		again, err := VerifyResume(claims.Seal(secret), secret, now)
		switch {
		case now.Unix() >= claims.Expires:
			if err == nil {
				t.Fatalf("claims expired at %d verify at %d", claims.Expires, now.Unix())
			}
		case err != nil || again != claims:
			t.Fatalf("claims %+v sealed again verify to %+v, %v", claims, again, err)
		}
	})
}
