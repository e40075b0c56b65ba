package token

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"time"
)

// reader unpacks the little-endian fields, remembering the first error.
type reader struct {
	r   *bytes.Reader
	err error
}

func (r *reader) u16() uint16 {
	var v uint16
	if r.err == nil {
		r.err = binary.Read(r.r, binary.LittleEndian, &v)
	}
	return v
}

func (r *reader) u32() uint32 {
	var v uint32
	if r.err == nil {
		r.err = binary.Read(r.r, binary.LittleEndian, &v)
	}
	return v
}

func (r *reader) bytes() []byte {
	n := r.u16()
	if r.err != nil {
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.r, b); err != nil {
		r.err = err
	}
	return b
}

// Parse decodes a token without checking its signature; Verify checks it.
func Parse(s string) (t *Token, msg, sig []byte, err error) {
	if !strings.HasPrefix(s, Version) || len(s) < len(Version)+AppIDLen+4 {
		return nil, nil, nil, fmt.Errorf("%w: not a version %s token", ErrMalformed, Version)
	}
	appID := s[len(Version) : len(Version)+AppIDLen]
	b64 := s[len(Version)+AppIDLen:]
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	// Only the canonical encoding is a token: the decoder skips CR and LF
	// and ignores the bits after the last byte, so other strings decode to
	// the same bytes, and a signed token would otherwise have many
	// spellings (found by fuzzing: FuzzVerify).
	if base64.StdEncoding.EncodeToString(raw) != b64 {
		return nil, nil, nil, fmt.Errorf("%w: not canonical base64", ErrMalformed)
	}
	outer := &reader{r: bytes.NewReader(raw)}
	msg, sig = outer.bytes(), outer.bytes()
	if outer.err != nil || outer.r.Len() != 0 {
		return nil, nil, nil, fmt.Errorf("%w: bad framing", ErrMalformed)
	}
	in := &reader{r: bytes.NewReader(msg)}
	t = &Token{AppID: appID, Privileges: map[Privilege]uint32{}}
	t.Nonce, t.IssuedAt, t.ExpireAt = in.u32(), in.u32(), in.u32()
	t.RoomID, t.UserID = string(in.bytes()), string(in.bytes())
	n := in.u16()
	for i := 0; i < int(n) && in.err == nil; i++ {
		k := Privilege(in.u16())
		t.Privileges[k] = in.u32()
	}
	if in.err != nil || in.r.Len() != 0 {
		return nil, nil, nil, fmt.Errorf("%w: bad message", ErrMalformed)
	}
	return t, msg, sig, nil
}

// Verify parses s and checks it is signed with appKey, for appID, the room
// (or "*") and the user, and not expired at now.
func Verify(s, appID, appKey, roomID, userID string, now time.Time) (*Token, error) {
	t, msg, sig, err := Parse(s)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, []byte(appKey))
	mac.Write(msg)
	if !hmac.Equal(mac.Sum(nil), sig) {
		return nil, ErrSignature
	}
	switch {
	case t.AppID != appID:
		return nil, ErrApp
	case t.RoomID != roomID && t.RoomID != "*":
		return nil, ErrRoom
	case t.UserID != userID:
		return nil, ErrUser
	case expired(t.ExpireAt, now):
		return nil, ErrExpired
	}
	return t, nil
}

func expired(at uint32, now time.Time) bool {
	return at != 0 && int64(at) <= now.Unix()
}

// Can reports whether the token grants p at now (present and not expired,
// nor the token itself).
func (t *Token) Can(p Privilege, now time.Time) bool {
	at, ok := t.Privileges[p]
	return ok && !expired(at, now) && !expired(t.ExpireAt, now)
}

// CanPublish reports whether the member may publish at all.
func (t *Token) CanPublish(now time.Time) bool {
	return t.Can(PublishStream, now) || t.Can(PublishAudioStream, now) || t.Can(PublishVideoStream, now)
}

// Expiry is when the member's session must end: the token's expiry, or the
// last of the privileges it holds if earlier; zero for never.
func (t *Token) Expiry() time.Time {
	if t.ExpireAt == 0 {
		return time.Time{}
	}
	return time.Unix(int64(t.ExpireAt), 0)
}
