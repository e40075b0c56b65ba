package proto

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestResumeTickets(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	r := Resume{AppID: "wx1", Kind: KindVoIP, Room: "lobby", Member: "door-1", RoomType: RoomVideo, JoinType: RoomVoice, Joined: now.UnixMilli(), Expires: now.Add(time.Hour).Unix()}
	ticket := r.Seal("secret")
	if !strings.HasPrefix(ticket, "r1.") || strings.ContainsAny(ticket, "+/= ") {
		t.Fatalf("ticket %q is not r1.<base64url>.<base64url>", ticket)
	}
	got, err := VerifyResume(ticket, "secret", now)
	if err != nil || got != r {
		t.Fatalf("VerifyResume = %+v, %v; want %+v", got, err, r)
	}
	// Tampered claims, another app's secret, expiry, garbage: refused.
	claims, _ := OpenResume(ticket)
	claims.Member = "door-2"
	forged := claims.Seal("other secret")
	for name, tc := range map[string]struct {
		ticket, secret string
		at             time.Time
	}{
		"other member, signed with another secret": {forged, "secret", now},
		"claims swapped under the mac":             {ticket[:3] + strings.Split(forged, ".")[1] + "." + strings.Split(ticket, ".")[2], "secret", now},
		"wrong secret":                             {ticket, "secret2", now},
		"expired":                                  {ticket, "secret", now.Add(time.Hour)},
		"not a ticket":                             {"x", "secret", now},
		"empty mac":                                {strings.Split(ticket, ".")[0] + "." + strings.Split(ticket, ".")[1] + ".", "secret", now},
	} {
		if _, err := VerifyResume(tc.ticket, tc.secret, tc.at); !errors.Is(err, ErrResume) {
			t.Errorf("%s: %v, want ErrResume", name, err)
		}
	}
}

func TestResumeJoinValidates(t *testing.T) {
	ok := &Message{Type: TypeJoin, Kind: KindVoIP, AppID: "wx1", OpenID: "door-1", GroupID: "lobby", Resume: "r1.x.y"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("a resume join without signature fields: %v", err)
	}
	bad := *ok
	bad.GroupID = ""
	if err := bad.Validate(); err == nil {
		t.Fatal("a resume join without groupId was accepted")
	}
}
