// Package proto holds the room protocol: the JSON messages that voipd's room
// client (package room), the browser client and roomd exchange over one
// WebSocket per member. It and its subpackage rtpcodecs (the codecs every
// peer connection registers, in pion/webrtc's types, kept out of proto so
// that importing the messages does not link WebRTC) are the only packages
// room and roomd share.
//
// Every message is one JSON object with a "type" field. The flow:
//
//	client → server  join {kind:"voip", appId, openid, groupId, nonceStr, timeStamp, signature, roomType, muteConfig}
//	                 or, back to its seat, join {kind:"voip", appId, openid, groupId, resume, muteConfig}
//	server → client  joined {members, iceServers, resume, graceMs, iceRestart}  or  error {reason, message}
//	server → client  offer {sdp}                          (the server always offers: no glare)
//	client → server  answer {sdp}
//	both ways        candidate {candidate}                (trickle ICE)
//	server → client  members {members}                    (on every join and leave)
//	client → server  mute {muteConfig}                    (others see it in members' state)
//	client → server  subscribe {openIdList}               (video rooms: whose video to receive)
//	server → client  videoMembers {members}               (video rooms: who publishes video, on every change)
//	client → server  iceRestart {}                        (its media connection failed: the server
//	                                                       answers with an ICE-restart offer)
//	client → server  leave {}                             (then the server closes)
//	both ways        ping {} / pong {}                    (keepalive)
//	server → client  error {reason, message}              (then the server closes)
//
// Media: each member sends one audio track; the server forwards it to every
// other member as a track whose stream id is the sender's openid, so a
// receiver knows whose audio it is without another message. The server's
// offer fixes the header extension ids (the RFC 6464 audio level among them)
// for every peer connection, so forwarded packets keep valid ids.
//
// Video rooms (roomType "video", fixed by the room's first joiner): a member
// that joined with roomType "video" may also send one VP8 track, forwarded
// with stream id = its openid and track id "video" to the members whose
// subscription selects it (see README.md). A voice join into a video room,
// and any join into a voice room, sends and receives audio only.
//
// See README.md beside this file for examples.
package proto

import (
	"encoding/json"
	"fmt"
)

// Message types.
const (
	TypeJoin      = "join"
	TypeJoined    = "joined"
	TypeOffer     = "offer"
	TypeAnswer    = "answer"
	TypeCandidate = "candidate"
	TypeMembers   = "members"
	TypeMute      = "mute"
	TypeLeave     = "leave"
	TypePing      = "ping"
	TypePong      = "pong"
	TypeError     = "error"

	TypeSubscribe    = "subscribe"    // client → server: whose video to receive
	TypeICERestart   = "iceRestart"   // client → server: restart ICE (its media connection failed)
	TypeVideoMembers = "videoMembers" // server → client: who publishes video now
)

// Room types (join's roomType; empty means voice).
const (
	RoomVoice = "voice"
	RoomVideo = "video"
)

// Room kinds.
const (
	KindVoIP = "voip"
)

// Error reasons on the wire: the same stable words as the control socket's
// data.reason (the control API's error codes, README.md).
const (
	ReasonSignature   = "signature"
	ReasonTimestamp   = "timestamp"
	ReasonReplay      = "replay"
	ReasonRoomFull    = "room_full"
	ReasonParams      = "params"
	ReasonInternal    = "internal"
	ReasonNotInRoom   = "not_in_room"
	ReasonDuplicate   = "duplicate" // the same openid joined again elsewhere; the old one is closed
	ReasonShutdown    = "shutdown"  // the server is stopping
	ReasonUnreachable = "unreachable"
	ReasonTimeout     = "timeout"
	ReasonResume      = "resume" // a resume ticket refused: forged, expired, or its seat given up
)

// MaxMessageBytes caps one signalling message (an SDP with many candidates
// stays well under it).
const MaxMessageBytes = 64 << 10

// MuteConfig is the seed's muteConfig.
type MuteConfig struct {
	MuteMicrophone bool `json:"muteMicrophone"`
	MuteEarphone   bool `json:"muteEarphone"`
}

// ICEServer is one STUN or TURN server handed to a client.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Message is the union of every message; Type says which fields are set.
type Message struct {
	Type string `json:"type"`

	// join
	Kind       string      `json:"kind,omitempty"`
	AppID      string      `json:"appId,omitempty"`
	OpenID     string      `json:"openid,omitempty"`
	GroupID    string      `json:"groupId,omitempty"`
	NonceStr   string      `json:"nonceStr,omitempty"`
	TimeStamp  int64       `json:"timeStamp,omitempty"`
	Signature  string      `json:"signature,omitempty"`
	RoomType   string      `json:"roomType,omitempty"`
	MuteConfig *MuteConfig `json:"muteConfig,omitempty"`

	// join: a resume ticket instead of nonceStr, timeStamp and signature
	// (a member coming back to its seat); joined: the member's ticket.
	Resume string `json:"resume,omitempty"`
	// joined: how long the server keeps a member's seat after its
	// connection dropped, in milliseconds (its resume must come sooner).
	GraceMs int64 `json:"graceMs,omitempty"`
	// joined: the server answers an iceRestart message with an offer that
	// restarts ICE, and keeps the member (its seat, its peer connection)
	// while its media connection is down, for the grace.
	ICERestart bool `json:"iceRestart,omitempty"`

	// joined, members, videoMembers
	Members    []string    `json:"members,omitempty"`
	ICEServers []ICEServer `json:"iceServers,omitempty"`

	// subscribe: absent or empty means no one's video
	OpenIDList []string `json:"openIdList,omitempty"`

	// offer, answer
	SDP string `json:"sdp,omitempty"`

	// candidate: the JSON of an RTCIceCandidateInit
	Candidate json.RawMessage `json:"candidate,omitempty"`

	// error
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`

	CallFields // two-party calls: register, call, invite, ... (call.go)
	RTCFields  // token rooms: rtc join, publish, receive, tokenExpiring (rtc.go)

	LiveKitFields // gateway mode: where the member's media goes (livekit.go)
}

// Decode parses one message and checks the fields its type requires.
func Decode(b []byte) (*Message, error) {
	if len(b) > MaxMessageBytes {
		return nil, fmt.Errorf("message of %d bytes is over the %d-byte limit", len(b), MaxMessageBytes)
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("bad message: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks that the fields the message's type needs are present.
func (m *Message) Validate() error {
	missing := func(f string) error { return fmt.Errorf("%s message lacks %s", m.Type, f) }
	switch m.Type {
	case TypeJoin:
		if m.Kind == Kind1v1 {
			return m.validateCallJoin()
		}
		if m.Kind == KindRTC {
			return m.validateRTCJoin()
		}
		switch {
		case m.Kind != KindVoIP:
			return fmt.Errorf("join message has unknown kind %q", m.Kind)
		case m.AppID == "":
			return missing("appId")
		case m.OpenID == "":
			return missing("openid")
		case m.GroupID == "":
			return missing("groupId")
		case m.Resume != "":
			// A resume: the ticket stands for nonceStr, timeStamp and
			// signature.
		case m.NonceStr == "":
			return missing("nonceStr")
		case m.TimeStamp == 0:
			return missing("timeStamp")
		case m.Signature == "":
			return missing("signature")
		}
		if m.RoomType != "" && m.RoomType != RoomVoice && m.RoomType != RoomVideo {
			return fmt.Errorf("join message has unknown roomType %q", m.RoomType)
		}
	case TypeOffer, TypeAnswer:
		if m.SDP == "" {
			return missing("sdp")
		}
	case TypeCandidate:
		if len(m.Candidate) == 0 {
			return missing("candidate")
		}
	case TypeMute:
		if m.MuteConfig == nil {
			return missing("muteConfig")
		}
	case TypeError:
		if m.Reason == "" {
			return missing("reason")
		}
	case TypeJoined, TypeMembers, TypeLeave, TypePing, TypePong, TypeSubscribe, TypeVideoMembers, TypeICERestart:
	case "":
		return fmt.Errorf("message lacks type")
	default:
		if ok, err := m.validateCall(); ok {
			return err
		}
		if ok, err := m.validateRTC(); ok {
			return err
		}
		if ok, err := m.validateLiveKit(); ok {
			return err
		}
		return fmt.Errorf("unknown message type %q", m.Type)
	}
	return nil
}
