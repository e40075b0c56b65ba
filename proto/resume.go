package proto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A Resume ticket lets a member whose connection dropped back into its
// room without a new signature: a panel cannot ask its backend for one
// mid-call, and nonces are single-use. roomd hands one out in joined (and
// a fresh one at each resume); the client keeps it opaque and sends it as
// join's "resume". It is bound to the app, the room, the member and an
// expiry, and signed with a key derived from the app secret, so any roomd
// of the app verifies it without memory of the first: a restarted roomd,
// or another behind the same load balancer, re-admits the member into a
// re-created room.
type Resume struct {
	AppID    string `json:"app"`
	Kind     string `json:"kind"`     // KindVoIP, or Kind1v1 for a call room
	Room     string `json:"room"`     // the groupId
	Member   string `json:"member"`   // the openid
	RoomType string `json:"roomType"` // the room's: a re-created room has it
	JoinType string `json:"joinType"` // the member's own join (voice in a video room)
	// Joined is when the member first joined (Unix milliseconds): a
	// re-created room lists its members in their first join order.
	Joined  int64 `json:"joined"`
	Expires int64 `json:"exp"` // Unix seconds
}

// resumePrefix versions the ticket's format.
const resumePrefix = "r1."

// resumeKey is the ticket's signing key: derived from the app secret under
// a label of its own, so a ticket's MAC can never pass for a session key or
// a join signature.
func resumeKey(appSecret string) []byte {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write([]byte("voipd resume ticket"))
	return mac.Sum(nil)
}

// Seal signs r with the app secret: "r1.<claims>.<mac>", both unpadded
// base64url. It is never logged.
func (r Resume) Seal(appSecret string) string {
	claims, _ := json.Marshal(r) // strings and integers: cannot fail
	payload := base64.RawURLEncoding.EncodeToString(claims)
	mac := hmac.New(sha256.New, resumeKey(appSecret))
	mac.Write([]byte(resumePrefix + payload))
	return resumePrefix + payload + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// ErrResume is what every refused ticket wraps.
var ErrResume = errors.New("resume ticket refused")

// OpenResume reads a ticket's claims without checking them: the app they
// name says which secret checks them (VerifyResume).
func OpenResume(ticket string) (Resume, error) {
	rest, ok := strings.CutPrefix(ticket, resumePrefix)
	payload, _, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return Resume{}, fmt.Errorf("%w: not a resume ticket", ErrResume)
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var r Resume
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil {
		return Resume{}, fmt.Errorf("%w: unreadable claims", ErrResume)
	}
	return r, nil
}

// VerifyResume checks a ticket's signature with the app secret (in
// constant time) and its expiry against now, and returns its claims.
func VerifyResume(ticket, appSecret string, now time.Time) (Resume, error) {
	r, err := OpenResume(ticket)
	if err != nil {
		return Resume{}, err
	}
	// The MAC is compared as the text Seal wrote, not decoded: base64
	// decoding skips CR and LF, so a decoded comparison would let a
	// ticket with line breaks added pass as well (found by fuzzing:
	// FuzzVerifyResume).
	i := strings.LastIndexByte(ticket, '.')
	mac := hmac.New(sha256.New, resumeKey(appSecret))
	mac.Write([]byte(ticket[:i]))
	want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(ticket[i+1:]), []byte(want)) {
		return Resume{}, fmt.Errorf("%w: signature does not match", ErrResume)
	}
	if now.Unix() >= r.Expires {
		return Resume{}, fmt.Errorf("%w: expired at %s", ErrResume, time.Unix(r.Expires, 0).UTC().Format(time.RFC3339))
	}
	return r, nil
}
