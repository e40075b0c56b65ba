package lk

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// LiveKit's signalling messages (livekit_rtc.proto and livekit_models.proto
// of github.com/livekit/protocol): the fields voipd uses, encoded and
// decoded with protowire. Field numbers are LiveKit's; unknown fields are
// skipped, as protobuf's rules say, so newer servers' additions pass.
// The generated Go package is not used: its init registers every LiveKit
// message type and costs each voipd 1.4 MB of heap and 3.6 MB of RSS before
// any room is joined (docs/SCALE-OUT.md); signal_test.go checks this codec
// against it.

// TrackType and TrackSource are LiveKit's enums.
type (
	TrackType   int32
	TrackSource int32
)

const (
	TrackAudio TrackType = 0
	TrackVideo TrackType = 1

	SourceUnknown    TrackSource = 0
	SourceCamera     TrackSource = 1
	SourceMicrophone TrackSource = 2
)

// Signal targets: which of the two peer connections a trickled candidate
// belongs to.
const (
	TargetPublisher  = 0
	TargetSubscriber = 1
)

// SessionDescription is an offer or an answer.
type SessionDescription struct {
	Type string // "offer" or "answer"
	SDP  string
	ID   uint32
}

// Trickle is one ICE candidate (the JSON of an RTCIceCandidateInit).
type Trickle struct {
	CandidateInit string
	Target        int32
	Final         bool
}

// AddTrack asks to publish a track; CID is the client's id for it (the
// local track's id), echoed in TrackPublished.
type AddTrack struct {
	CID, Name     string
	Type          TrackType
	Width, Height uint32
	Muted         bool
	Source        TrackSource
	DisableRed    bool
	Stream        string
}

// Mute mutes or unmutes a published track.
type Mute struct {
	SID   string
	Muted bool
}

// Subscription subscribes to tracks or unsubscribes from them.
type Subscription struct {
	TrackSIDs []string
	Subscribe bool
}

// Leave says goodbye (from the client), or that the server ends the
// session (Reason: LiveKit's DisconnectReason; Action: 0 disconnect,
// 1 resume, 2 reconnect).
type Leave struct {
	CanReconnect bool
	Reason       int32
	Action       int32
}

// Leave actions.
const (
	LeaveDisconnect = 0
	LeaveResume     = 1
	LeaveReconnect  = 2
)

// Ping and Pong keep the signalling alive (times in Unix milliseconds).
type Ping struct{ Timestamp, RTT int64 }
type Pong struct{ LastPingTimestamp, Timestamp int64 }

// Request is one SignalRequest: exactly one field set.
type Request struct {
	Offer, Answer *SessionDescription
	Trickle       *Trickle
	AddTrack      *AddTrack
	Mute          *Mute
	Subscription  *Subscription
	Leave         *Leave
	Ping          *Ping
}

// RoomInfo is what a client learns of its room.
type RoomInfo struct {
	SID, Name, Metadata string
	MaxParticipants     uint32
	NumParticipants     uint32
}

// Participant is a ParticipantInfo.
type Participant struct {
	SID, Identity string
	State         int32 // 0 joining, 1 joined, 2 active, 3 disconnected
	Tracks        []Track
	Metadata      string
	Version       uint32
	IsPublisher   bool
	Kind          int32
	// CanPublish is the participant's permission (its token's grant).
	CanPublish bool
}

// ParticipantDisconnected is Participant.State of one that left.
const ParticipantDisconnected = 3

// Track is a TrackInfo.
type Track struct {
	SID           string
	Type          TrackType
	Muted         bool
	Width, Height uint32
	Source        TrackSource
	MimeType, Mid string
	Stream        string
}

// ICEServer is a STUN or TURN server LiveKit hands the client.
type ICEServer struct {
	URLs                 []string
	Username, Credential string
}

// JoinResponse is the server's first message.
type JoinResponse struct {
	Room              RoomInfo
	Participant       Participant
	Others            []Participant
	ServerVersion     string
	ICEServers        []ICEServer
	SubscriberPrimary bool
	PingTimeout       int32 // seconds
	PingInterval      int32 // seconds
}

// TrackPublished answers AddTrack.
type TrackPublished struct {
	CID   string
	Track Track
}

// Speaker is one SpeakerInfo of SpeakersChanged.
type Speaker struct {
	SID    string
	Level  float32
	Active bool
}

// Response is one SignalResponse: the field its message set (Kind names it).
type Response struct {
	Kind             string // "join", "answer", "offer", ... ("" for one voipd does not use)
	Join             *JoinResponse
	Answer, Offer    *SessionDescription
	Trickle          *Trickle
	Update           []Participant // ParticipantUpdate
	TrackPublished   *TrackPublished
	Leave            *Leave
	Mute             *Mute
	Speakers         []Speaker
	RefreshToken     string
	Pong             *Pong
	TrackUnpublished string // its track sid
}

// ---- encoding -----------------------------------------------------------

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBool(b []byte, num protowire.Number, v bool) []byte {
	if !v {
		return b
	}
	return appendVarint(b, num, 1)
}

func appendMessage(b []byte, num protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

func (s *SessionDescription) marshal() []byte {
	var b []byte
	b = appendString(b, 1, s.Type)
	b = appendString(b, 2, s.SDP)
	return appendVarint(b, 3, uint64(s.ID))
}

func (t *Trickle) marshal() []byte {
	var b []byte
	b = appendString(b, 1, t.CandidateInit)
	b = appendVarint(b, 2, uint64(t.Target))
	return appendBool(b, 3, t.Final)
}

func (a *AddTrack) marshal() []byte {
	var b []byte
	b = appendString(b, 1, a.CID)
	b = appendString(b, 2, a.Name)
	b = appendVarint(b, 3, uint64(a.Type))
	b = appendVarint(b, 4, uint64(a.Width))
	b = appendVarint(b, 5, uint64(a.Height))
	b = appendBool(b, 6, a.Muted)
	b = appendVarint(b, 8, uint64(a.Source))
	b = appendBool(b, 13, a.DisableRed)
	return appendString(b, 15, a.Stream)
}

// Marshal encodes the request as a SignalRequest.
func (r *Request) Marshal() ([]byte, error) {
	var b []byte
	n := 0
	if r.Offer != nil {
		b, n = appendMessage(b, 1, r.Offer.marshal()), n+1
	}
	if r.Answer != nil {
		b, n = appendMessage(b, 2, r.Answer.marshal()), n+1
	}
	if r.Trickle != nil {
		b, n = appendMessage(b, 3, r.Trickle.marshal()), n+1
	}
	if r.AddTrack != nil {
		b, n = appendMessage(b, 4, r.AddTrack.marshal()), n+1
	}
	if r.Mute != nil {
		m := appendBool(appendString(nil, 1, r.Mute.SID), 2, r.Mute.Muted)
		b, n = appendMessage(b, 5, m), n+1
	}
	if r.Subscription != nil {
		var m []byte
		for _, sid := range r.Subscription.TrackSIDs {
			m = protowire.AppendTag(m, 1, protowire.BytesType)
			m = protowire.AppendString(m, sid)
		}
		m = appendBool(m, 2, r.Subscription.Subscribe)
		b, n = appendMessage(b, 6, m), n+1
	}
	if r.Leave != nil {
		m := appendBool(nil, 1, r.Leave.CanReconnect)
		m = appendVarint(m, 2, uint64(r.Leave.Reason))
		m = appendVarint(m, 3, uint64(r.Leave.Action))
		b, n = appendMessage(b, 8, m), n+1
	}
	if r.Ping != nil {
		m := appendVarint(nil, 1, uint64(r.Ping.Timestamp))
		m = appendVarint(m, 2, uint64(r.Ping.RTT))
		b, n = appendMessage(b, 16, m), n+1
	}
	if n != 1 {
		return nil, fmt.Errorf("lk: a signal request holds one message, not %d", n)
	}
	return b, nil
}

// ---- decoding -----------------------------------------------------------

var errTruncated = errors.New("lk: truncated or malformed protobuf")

// fields calls fn for each field of b, with its number, wire type and
// value: v for varints and fixed32, data for length-delimited ones.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errTruncated
		}
		b = b[n:]
		var v uint64
		var data []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			data, n = protowire.ConsumeBytes(b)
		case protowire.Fixed32Type:
			var f uint32
			f, n = protowire.ConsumeFixed32(b)
			v = uint64(f)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errTruncated
		}
		b = b[n:]
		if err := fn(num, typ, v, data); err != nil {
			return err
		}
	}
	return nil
}

func parseSD(b []byte) (*SessionDescription, error) {
	s := &SessionDescription{}
	return s, fields(b, func(num protowire.Number, typ protowire.Type, v uint64, d []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			s.Type = string(d)
		case num == 2 && typ == protowire.BytesType:
			s.SDP = string(d)
		case num == 3 && typ == protowire.VarintType:
			s.ID = uint32(v)
		}
		return nil
	})
}

func parseTrickle(b []byte) (*Trickle, error) {
	t := &Trickle{}
	return t, fields(b, func(num protowire.Number, typ protowire.Type, v uint64, d []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			t.CandidateInit = string(d)
		case num == 2 && typ == protowire.VarintType:
			t.Target = int32(v)
		case num == 3 && typ == protowire.VarintType:
			t.Final = v != 0
		}
		return nil
	})
}

func parseTrack(b []byte) (Track, error) {
	var t Track
	return t, fields(b, func(num protowire.Number, typ protowire.Type, v uint64, d []byte) error {
		if typ == protowire.BytesType {
			switch num {
			case 1:
				t.SID = string(d)
			case 11:
				t.MimeType = string(d)
			case 12:
				t.Mid = string(d)
			case 17:
				t.Stream = string(d)
			}
			return nil
		}
		if typ != protowire.VarintType {
			return nil
		}
		switch num {
		case 2:
			t.Type = TrackType(v)
		case 4:
			t.Muted = v != 0
		case 5:
			t.Width = uint32(v)
		case 6:
			t.Height = uint32(v)
		case 9:
			t.Source = TrackSource(v)
		}
		return nil
	})
}

func parseParticipant(b []byte) (Participant, error) {
	var p Participant
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, d []byte) error {
		if typ == protowire.BytesType {
			switch num {
			case 1:
				p.SID = string(d)
			case 2:
				p.Identity = string(d)
			case 4:
				t, err := parseTrack(d)
				if err != nil {
					return err
				}
				p.Tracks = append(p.Tracks, t)
			case 5:
				p.Metadata = string(d)
			case 11: // ParticipantPermission
				return fields(d, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
					if num == 2 && typ == protowire.VarintType {
						p.CanPublish = v != 0
					}
					return nil
				})
			}
			return nil
		}
		if typ != protowire.VarintType {
			return nil
		}
		switch num {
		case 3:
			p.State = int32(v)
		case 10:
			p.Version = uint32(v)
		case 13:
			p.IsPublisher = v != 0
		case 14:
			p.Kind = int32(v)
		}
		return nil
	})
	return p, err
}

func parseRoom(b []byte) (RoomInfo, error) {
	var r RoomInfo
	return r, fields(b, func(num protowire.Number, typ protowire.Type, v uint64, d []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			r.SID = string(d)
		case num == 2 && typ == protowire.BytesType:
			r.Name = string(d)
		case num == 8 && typ == protowire.BytesType:
			r.Metadata = string(d)
		case num == 4 && typ == protowire.VarintType:
			r.MaxParticipants = uint32(v)
		case num == 9 && typ == protowire.VarintType:
			r.NumParticipants = uint32(v)
		}
		return nil
	})
}

func parseICEServer(b []byte) (ICEServer, error) {
	var s ICEServer
	return s, fields(b, func(num protowire.Number, typ protowire.Type, v uint64, d []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			s.URLs = append(s.URLs, string(d))
		case 2:
			s.Username = string(d)
		case 3:
			s.Credential = string(d)
		}
		return nil
	})
}

func parseJoin(b []byte) (*JoinResponse, error) {
	j := &JoinResponse{}
	return j, fields(b, func(num protowire.Number, typ protowire.Type, v uint64, d []byte) error {
		var err error
		if typ == protowire.BytesType {
			switch num {
			case 1:
				j.Room, err = parseRoom(d)
			case 2:
				j.Participant, err = parseParticipant(d)
			case 3:
				var p Participant
				if p, err = parseParticipant(d); err == nil {
					j.Others = append(j.Others, p)
				}
			case 4:
				j.ServerVersion = string(d)
			case 5:
				var s ICEServer
				if s, err = parseICEServer(d); err == nil {
					j.ICEServers = append(j.ICEServers, s)
				}
			}
			return err
		}
		if typ != protowire.VarintType {
			return nil
		}
		switch num {
		case 6:
			j.SubscriberPrimary = v != 0
		case 10:
			j.PingTimeout = int32(v)
		case 11:
			j.PingInterval = int32(v)
		}
		return nil
	})
}

func parseLeave(b []byte) (*Leave, error) {
	l := &Leave{}
	return l, fields(b, func(num protowire.Number, typ protowire.Type, v uint64, d []byte) error {
		if typ != protowire.VarintType {
			return nil
		}
		switch num {
		case 1:
			l.CanReconnect = v != 0
		case 2:
			l.Reason = int32(v)
		case 3:
			l.Action = int32(v)
		}
		return nil
	})
}

// ParseResponse decodes one SignalResponse.
func ParseResponse(b []byte) (*Response, error) {
	r := &Response{}
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, d []byte) error {
		if typ != protowire.BytesType {
			return nil // the deprecated int64 pong (18): voipd sends ping_req
		}
		var err error
		switch num {
		case 1:
			r.Kind = "join"
			r.Join, err = parseJoin(d)
		case 2:
			r.Kind = "answer"
			r.Answer, err = parseSD(d)
		case 3:
			r.Kind = "offer"
			r.Offer, err = parseSD(d)
		case 4:
			r.Kind = "trickle"
			r.Trickle, err = parseTrickle(d)
		case 5:
			r.Kind = "update"
			r.Update = []Participant{}
			err = fields(d, func(num protowire.Number, typ protowire.Type, _ uint64, d []byte) error {
				if num == 1 && typ == protowire.BytesType {
					p, err := parseParticipant(d)
					r.Update = append(r.Update, p)
					return err
				}
				return nil
			})
		case 6:
			r.Kind = "trackPublished"
			tp := &TrackPublished{}
			err = fields(d, func(num protowire.Number, typ protowire.Type, _ uint64, d []byte) error {
				var err error
				switch {
				case num == 1 && typ == protowire.BytesType:
					tp.CID = string(d)
				case num == 2 && typ == protowire.BytesType:
					tp.Track, err = parseTrack(d)
				}
				return err
			})
			r.TrackPublished = tp
		case 8:
			r.Kind = "leave"
			r.Leave, err = parseLeave(d)
		case 9:
			r.Kind = "mute"
			m := &Mute{}
			err = fields(d, func(num protowire.Number, typ protowire.Type, v uint64, d []byte) error {
				switch {
				case num == 1 && typ == protowire.BytesType:
					m.SID = string(d)
				case num == 2 && typ == protowire.VarintType:
					m.Muted = v != 0
				}
				return nil
			})
			r.Mute = m
		case 10:
			r.Kind = "speakers"
			r.Speakers = []Speaker{}
			err = fields(d, func(num protowire.Number, typ protowire.Type, _ uint64, d []byte) error {
				if num != 1 || typ != protowire.BytesType {
					return nil
				}
				var s Speaker
				err := fields(d, func(num protowire.Number, typ protowire.Type, v uint64, d []byte) error {
					switch {
					case num == 1 && typ == protowire.BytesType:
						s.SID = string(d)
					case num == 2 && typ == protowire.Fixed32Type:
						s.Level = math.Float32frombits(uint32(v))
					case num == 3 && typ == protowire.VarintType:
						s.Active = v != 0
					}
					return nil
				})
				r.Speakers = append(r.Speakers, s)
				return err
			})
		case 16:
			r.Kind = "refreshToken"
			r.RefreshToken = string(d)
		case 17:
			r.Kind = "trackUnpublished"
			err = fields(d, func(num protowire.Number, typ protowire.Type, _ uint64, d []byte) error {
				if num == 1 && typ == protowire.BytesType {
					r.TrackUnpublished = string(d)
				}
				return nil
			})
		case 20:
			r.Kind = "pong"
			p := &Pong{}
			err = fields(d, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
				switch {
				case num == 1 && typ == protowire.VarintType:
					p.LastPingTimestamp = int64(v)
				case num == 2 && typ == protowire.VarintType:
					p.Timestamp = int64(v)
				}
				return nil
			})
			r.Pong = p
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}
