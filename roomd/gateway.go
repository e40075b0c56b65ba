package roomd

import (
	"cmp"
	"time"

	"github.com/voipd/voipd/proto"
)

// Gateway mode (Config.Gateway; a fleet on LiveKit, package roomd/lkgate):
// roomd forwards no media. It verifies every join exactly as it does its
// own (signature, timeStamp, nonce, resume ticket, RTC token), spends
// nonces in the store the fleet's gateways share, and answers the member
// with where its media goes (proto.TypeLiveKit), then closes. Gateways
// keep no state of their own, so any number serve behind a load balancer.

// Gateway is what gateway mode needs from the engine behind it.
type Gateway interface {
	// SpendNonce records a join's nonce as used until forgetAt, for every
	// gateway sharing the store, and reports whether it was fresh.
	SpendNonce(key string, forgetAt, now time.Time) (fresh bool, err error)
	// Admit returns the URL and access token with which the member of a
	// verified join connects to the engine.
	Admit(a Admission) (url, token string, err error)
}

// Admission is a verified join, as the engine's access token carries it.
type Admission struct {
	AppID    string
	Kind     string // proto.KindVoIP, proto.KindRTC
	Room     string // groupId or roomId
	Member   string // openid or userId
	RoomType string // group rooms: proto.RoomVoice or proto.RoomVideo
	// MaxMembers is the room's size (Config.MaxMembers, RTCMaxMembers):
	// the engine holds a room to it.
	MaxMembers int
	// CanPublish: whether the member may send media (an RTC token
	// without a publish privilege joins to receive only).
	CanPublish bool
	// Until bounds the access token's life: the RTC token's expiry, or
	// zero.
	Until time.Time
}

// serveGateway answers a verified join (readJoin checked signatures and
// tickets; RTC tokens are checked here) with the engine's URL and token.
func (s *Server) serveGateway(m *member, join *proto.Message) {
	now := time.Now()
	a := Admission{AppID: join.AppID, Kind: join.Kind, RoomType: join.RoomType, CanPublish: true}
	var out proto.Message
	switch join.Kind {
	case proto.KindVoIP:
		a.Room, a.Member, a.MaxMembers = join.GroupID, join.OpenID, s.cfg.MaxMembers
		joined := now.UnixMilli()
		if m.resume != nil { // back with its ticket: its first join's type and time
			a.RoomType, joined = m.resume.JoinType, m.resume.Joined
		}
		if a.RoomType == "" {
			a.RoomType = proto.RoomVoice
		}
		out.Resume = proto.Resume{
			AppID: a.AppID, Kind: a.Kind, Room: a.Room, Member: a.Member,
			RoomType: a.RoomType, JoinType: a.RoomType, Joined: joined, Expires: now.Add(s.cfg.ResumeTTL).Unix(),
		}.Seal(s.auth.apps[a.AppID])
		out.GraceMs = s.cfg.ResumeGrace.Milliseconds()
	case proto.KindRTC:
		tok, rej := s.checkToken(join, now)
		if rej != nil {
			s.gatewayRefused(m, join.Kind, rej)
			return
		}
		a.Room, a.Member, a.MaxMembers = join.RoomID, join.UserID, s.cfg.RTCMaxMembers
		a.CanPublish = tok.CanPublish(now)
		if tok.ExpireAt != 0 {
			a.Until = time.Unix(int64(tok.ExpireAt), 0)
			out.ExpireAt = int64(tok.ExpireAt) // the device leaves then (tokenExpiring before)
		}
	case proto.Kind1v1: // its ticket or resume ticket was checked (call.go, callbus.go)
		a.Room, a.Member, a.MaxMembers = join.GroupID, join.OpenID, 2
		joinType := join.RoomType
		joined := now.UnixMilli()
		if m.resume != nil {
			joinType, joined = m.resume.JoinType, m.resume.Joined
		}
		// A call room is always a video room (room.go); each side sends
		// video when it joined with it.
		a.RoomType = proto.RoomVideo
		out.Resume = proto.Resume{
			AppID: a.AppID, Kind: a.Kind, Room: a.Room, Member: a.Member,
			RoomType: proto.RoomVideo, JoinType: cmp.Or(joinType, proto.RoomVoice), Joined: joined,
			Expires: now.Add(s.cfg.ResumeTTL).Unix(),
		}.Seal(s.auth.apps[a.AppID])
		out.GraceMs = s.cfg.ResumeGrace.Milliseconds()
	default:
		s.gatewayRefused(m, join.Kind, reject(proto.ReasonParams, "join of unknown kind %q", join.Kind))
		return
	}
	m.log = m.log.With("kind", a.Kind, "room", a.Room, "member", a.Member)
	url, token, err := s.cfg.Gateway.Admit(a)
	if err != nil {
		m.log.Error("gateway: no access token", "err", err)
		s.gatewayRefused(m, a.Kind, reject(proto.ReasonInternal, "the gateway could not admit the join"))
		return
	}
	s.counters.join(a.Kind, "ok")
	m.log.Info("gateway: admitted", "url", url, "publish", a.CanPublish)
	out.Type, out.URL, out.Token = proto.TypeLiveKit, url, token
	m.finish(&out)
}

func (s *Server) gatewayRefused(m *member, kind string, rej *rejection) {
	s.counters.join(kind, rej.reason)
	s.refusals.add(rej.reason, m.remote, rej.msg)
	m.fail(rej.reason, rej.msg)
}
