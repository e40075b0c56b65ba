package proto

import "fmt"

// Token rooms (voipd's RtcRoomContext, Volcengine's RTC rooms). A member
// joins with join {kind:"rtc", appId, roomId, userId, token} instead of a
// signature; the token (Volcengine's AccessToken, checked by roomd) says
// whether it may publish. Then:
//
//	server → client  joined {members, canPublish, publishAudio, publishVideo, expireAt}
//	client → server  publish {publishAudio, publishVideo}   → published {...} or published {reason}
//	client → server  receive {receive}                      (autoSubscribe:false starts with false)
//	server → client  tokenExpiring {expireAt}               (before the token runs out)
//	server → client  error {reason:"token_expired"|"duplicate"|"kicked"} (then the server closes)
//
// The room id travels in CallFields.RoomID ("roomId"): one JSON name must
// map to one field, or encoding/json silently drops both.
const (
	TypePublish       = "publish"       // client → server: start or stop sending audio/video
	TypePublished     = "published"     // server → client: the answer to publish
	TypeReceive       = "receive"       // client → server: receive the publishers' media or not
	TypeTokenExpiring = "tokenExpiring" // server → client: the token expires at expireAt
)

// KindRTC is the join kind of token rooms.
const KindRTC = "rtc"

// Reasons of token rooms (join errors, removals, refused publish).
const (
	ReasonTokenInvalid   = "token_invalid"   // malformed, bad signature, or for another app/room/user
	ReasonTokenExpired   = "token_expired"   // at join, or the member's token ran out in the room
	ReasonPermission     = "permission"      // publish without the token's PublishStream privilege
	ReasonPublishersFull = "publishers_full" // publish when the room has its maximum of publishers
	ReasonKicked         = "kicked"          // removed by the operator
)

// RTCFields are the fields of the token-room messages. Message embeds them,
// so on the wire they sit beside the others.
type RTCFields struct {
	UserID string `json:"userId,omitempty"`
	Token  string `json:"token,omitempty"`
	// join: absent means true (the seed's roomConfig defaults).
	AutoPublish   *bool `json:"autoPublish,omitempty"`
	AutoSubscribe *bool `json:"autoSubscribe,omitempty"`

	// joined: whether this member holds a publisher slot (its token grants
	// publishing and the room had a slot free).
	CanPublish *bool `json:"canPublish,omitempty"`
	// joined, publish, published: what the member sends (joined: what the
	// server set from autoPublish).
	PublishAudio bool `json:"publishAudio,omitempty"`
	PublishVideo bool `json:"publishVideo,omitempty"`
	// receive: a pointer, so that a missing value is refused, not read as
	// off.
	Receive *bool `json:"receive,omitempty"`
	// joined, tokenExpiring: when the token ends the member's stay (Unix
	// seconds; 0 or absent = never).
	ExpireAt int64 `json:"expireAt,omitempty"`
}

// validateRTCJoin checks a join of kind rtc: the token stands in for
// groupId, nonceStr, timeStamp and signature.
func (m *Message) validateRTCJoin() error {
	missing := func(f string) error { return fmt.Errorf("rtc join message lacks %s", f) }
	switch {
	case m.AppID == "":
		return missing("appId")
	case m.RoomID == "":
		return missing("roomId")
	case m.UserID == "":
		return missing("userId")
	case m.Token == "":
		return missing("token")
	}
	return validRoomType(m)
}

// validateRTC checks the token-room message types; ok is false for other
// types.
func (m *Message) validateRTC() (ok bool, err error) {
	switch m.Type {
	case TypeReceive:
		if m.Receive == nil {
			return true, fmt.Errorf("receive message lacks receive")
		}
	case TypeTokenExpiring:
		if m.ExpireAt <= 0 {
			return true, fmt.Errorf("tokenExpiring message lacks expireAt")
		}
	case TypePublish, TypePublished:
	default:
		return false, nil
	}
	return true, nil
}

// BoolOr is *b, or def when b is nil (absent autoPublish, autoSubscribe).
func BoolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}
