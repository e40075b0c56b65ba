package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

const (
	appID  = "5f2a1b3c4d5e6f7081920a1b" // 24 characters, like Volcengine's
	appKey = "b7e4d2f0c1a94e8f9a7b6c5d4e3f2a10"
)

// independent builds a token byte by byte, following Volcengine's published
// layout, without any code of this package.
func independent(key, app, room, user string, nonce, issued, expire uint32, privs [][2]uint32) string {
	le16 := func(b []byte, v uint16) []byte { return append(b, byte(v), byte(v>>8)) }
	le32 := func(b []byte, v uint32) []byte { return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24)) }
	str := func(b []byte, s []byte) []byte { return append(le16(b, uint16(len(s))), s...) }
	var msg []byte
	msg = le32(msg, nonce)
	msg = le32(msg, issued)
	msg = le32(msg, expire)
	msg = str(msg, []byte(room))
	msg = str(msg, []byte(user))
	msg = le16(msg, uint16(len(privs))) // privs given sorted by key
	for _, p := range privs {
		msg = le16(msg, uint16(p[0]))
		msg = le32(msg, p[1])
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(msg)
	var content []byte
	content = str(content, msg)
	content = str(content, mac.Sum(nil))
	return "001" + app + base64.StdEncoding.EncodeToString(content)
}

func TestIndependentTokensVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	exp := uint32(now.Add(time.Hour).Unix())
	pub := [][2]uint32{{0, exp}, {1, exp}, {2, exp}, {3, exp}, {4, exp}}
	good := independent(appKey, appID, "r1", "u1", 7, uint32(now.Unix()), exp, pub)

	tok, err := Verify(good, appID, appKey, "r1", "u1", now)
	if err != nil {
		t.Fatalf("a good token: %v", err)
	}
	if !tok.CanPublish(now) || !tok.Can(SubscribeStream, now) || tok.Nonce != 7 {
		t.Fatalf("privileges lost: %+v", tok)
	}
	// Our own serialisation is byte-identical to the independent one.
	mine := &Token{AppID: appID, RoomID: "r1", UserID: "u1", Nonce: 7, IssuedAt: uint32(now.Unix()), ExpireAt: exp}
	mine.AddPrivilege(PublishStream, exp)
	mine.AddPrivilege(SubscribeStream, exp)
	if s, _ := mine.Serialize(appKey); s != good {
		t.Fatalf("Serialize differs from the independent builder:\n%s\n%s", s, good)
	}

	flipped := []byte(good)
	flipped[len(flipped)-10] ^= 1
	if flipped[len(flipped)-10] == '=' || flipped[len(flipped)-10] > 'z' {
		flipped[len(flipped)-10] = 'A'
	}
	sub := independent(appKey, appID, "r1", "viewer", 1, uint32(now.Unix()), exp, [][2]uint32{{4, exp}})
	star := independent(appKey, appID, "*", "u1", 1, uint32(now.Unix()), 0, pub)
	cases := []struct {
		name         string
		tok          string
		key, room, u string
		want         error
	}{
		{"one byte changed", string(flipped), appKey, "r1", "u1", nil},
		{"wrong AppKey", good, "not-the-key", "r1", "u1", ErrSignature},
		{"wrong room", good, appKey, "r2", "u1", ErrRoom},
		{"wrong user", good, appKey, "r1", "u2", ErrUser},
		{"expired", independent(appKey, appID, "r1", "u1", 1, 1, uint32(now.Add(-time.Second).Unix()), pub), appKey, "r1", "u1", ErrExpired},
		{"another app", independent(appKey, "aaaaaaaaaaaaaaaaaaaaaaaa", "r1", "u1", 1, 1, 0, pub), appKey, "r1", "u1", ErrApp},
		{"not a token", "hello", appKey, "r1", "u1", ErrMalformed},
	}
	for _, c := range cases {
		_, err := Verify(c.tok, appID, c.key, c.room, c.u, now)
		if c.want == nil {
			if err == nil {
				t.Errorf("%s: accepted", c.name)
			}
			continue
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
	if tok, err := Verify(star, appID, appKey, "any-room", "u1", now); err != nil || !tok.Expiry().IsZero() {
		t.Errorf(`"*" room, never expiring: %v %+v`, err, tok)
	}
	if tok, err := Verify(sub, appID, appKey, "r1", "viewer", now); err != nil || tok.CanPublish(now) || !tok.Can(SubscribeStream, now) {
		t.Errorf("subscribe-only token: %v %+v", err, tok)
	}
}

func TestPrivilegeExpiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	soon := uint32(now.Add(time.Minute).Unix())
	s := independent(appKey, appID, "r", "u", 1, 1, 0, [][2]uint32{{0, soon}, {4, 0}})
	tok, err := Verify(s, appID, appKey, "r", "u", now)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Can(PublishStream, now) || tok.Can(PublishStream, now.Add(2*time.Minute)) || !tok.Can(SubscribeStream, now.Add(time.Hour)) {
		t.Fatal("per-privilege expiry not enforced")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(independent(appKey, appID, "r", "u", 1, 2, 3, [][2]uint32{{0, 0}}))
	f.Add("001" + appID + "AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		tok, _, _, err := Parse(s)
		if err == nil && tok.AppID != s[3:27] {
			t.Fatal("appId not taken from the prefix")
		}
	})
}
