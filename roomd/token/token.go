// Package token reads and writes RTC room tokens in Volcengine's
// AccessToken format, so an operator who already mints Volcengine tokens can
// point its backend at roomd unchanged:
//
//	"001" + AppID (24 characters) + base64(packString(msg) + packString(signature))
//	msg       = u32le nonce, u32le issuedAt, u32le expireAt (absolute Unix seconds, 0 = never),
//	            packString(roomId), packString(userId),
//	            u16le count, then per privilege sorted by key: u16le key, u32le expireAt
//	signature = HMAC-SHA256(key = AppKey, msg)
//	packString(b) = u16le len(b) + b
//
// Standard base64 with padding. PublishStream (0) also grants publishing
// audio (1), video (2) and data (3); SubscribeStream is 4. Each privilege's
// own expiry is enforced as well as the token's.
package token

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Version is the only token version there is.
const Version = "001"

// AppIDLen is the length of a Volcengine AppID.
const AppIDLen = 24

// Privilege is a right a token grants.
type Privilege uint16

// The privileges of Volcengine's AccessToken.
const (
	PublishStream      Privilege = 0
	PublishAudioStream Privilege = 1
	PublishVideoStream Privilege = 2
	PublishDataStream  Privilege = 3
	SubscribeStream    Privilege = 4
)

// Token is a decoded AccessToken.
type Token struct {
	AppID      string
	RoomID     string // "*" for any room
	UserID     string
	Nonce      uint32
	IssuedAt   uint32
	ExpireAt   uint32 // 0 = never
	Privileges map[Privilege]uint32
}

// New returns a token for a user in a room, issued now with a random-free
// nonce the caller may set.
func New(appID, roomID, userID string, now time.Time) *Token {
	return &Token{AppID: appID, RoomID: roomID, UserID: userID, IssuedAt: uint32(now.Unix()), Privileges: map[Privilege]uint32{}}
}

// AddPrivilege grants p until expireAt (0 = never). PublishStream grants
// the three publish privileges with it, as Volcengine's generators do.
func (t *Token) AddPrivilege(p Privilege, expireAt uint32) {
	if t.Privileges == nil {
		t.Privileges = map[Privilege]uint32{}
	}
	t.Privileges[p] = expireAt
	if p == PublishStream {
		t.Privileges[PublishAudioStream] = expireAt
		t.Privileges[PublishVideoStream] = expireAt
		t.Privileges[PublishDataStream] = expireAt
	}
}

// Errors of Verify; the room server maps them to the seed's codes.
var (
	ErrMalformed = errors.New("malformed token")
	ErrSignature = errors.New("token signature does not match")
	ErrExpired   = errors.New("token expired")
	ErrApp       = errors.New("token is for another app")
	ErrRoom      = errors.New("token is for another room")
	ErrUser      = errors.New("token is for another user")
)

func packString(buf *bytes.Buffer, s []byte) {
	binary.Write(buf, binary.LittleEndian, uint16(len(s)))
	buf.Write(s)
}

func (t *Token) message() []byte {
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, t.Nonce)
	binary.Write(&buf, binary.LittleEndian, t.IssuedAt)
	binary.Write(&buf, binary.LittleEndian, t.ExpireAt)
	packString(&buf, []byte(t.RoomID))
	packString(&buf, []byte(t.UserID))
	keys := make([]int, 0, len(t.Privileges))
	for k := range t.Privileges {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	binary.Write(&buf, binary.LittleEndian, uint16(len(keys)))
	for _, k := range keys {
		binary.Write(&buf, binary.LittleEndian, uint16(k))
		binary.Write(&buf, binary.LittleEndian, t.Privileges[Privilege(k)])
	}
	return buf.Bytes()
}

// Serialize signs the token with appKey.
func (t *Token) Serialize(appKey string) (string, error) {
	if len(t.AppID) != AppIDLen {
		return "", fmt.Errorf("appId %q has %d characters, want %d", t.AppID, len(t.AppID), AppIDLen)
	}
	msg := t.message()
	mac := hmac.New(sha256.New, []byte(appKey))
	mac.Write(msg)
	var buf bytes.Buffer
	packString(&buf, msg)
	packString(&buf, mac.Sum(nil))
	return Version + t.AppID + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}
