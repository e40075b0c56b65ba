package lk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/proto/rtpcodecs"
	"github.com/voipd/voipd/room"
)

// protocolVersion is the LiveKit signalling protocol this client speaks:
// the one server-sdk-go v2.19.0 (of the same release as livekit-server
// v1.13.5) announces.
const protocolVersion = 17

// LiveKit's DisconnectReason values this client tells apart.
const (
	reasonClientInitiated     = 1
	reasonDuplicateIdentity   = 2
	reasonServerShutdown      = 3
	reasonParticipantRemoved  = 4
	reasonRoomDeleted         = 5
	reasonJoinFailure         = 7
	reasonRoomFull            = 14
	defaultJoinTimeout        = 10 * time.Second
	mediaDisconnected         = 2 * time.Second
	mediaKeepalive            = 500 * time.Millisecond
	readWait                  = 45 * time.Second
	writeWait                 = 5 * time.Second
	defaultPingIntervalSecond = 5
)

// Params says where and as whom to join: what a gateway answered
// (proto.TypeLiveKit) and the device's own settings.
type Params struct {
	URL, Token string // LiveKit's URL and the member's access token
	Identity   string // the member (openid or userId), as the token names it
	// Resume and Grace are the gateway's ticket for coming back and how
	// long the seat is kept (Session.Ticket, Session.Grace).
	Resume string
	Grace  time.Duration
	Mute   proto.MuteConfig
	// Video: a video join. This member publishes VP8 (Session.VideoTrack)
	// when the room is a video room (its first joiner's type, in the
	// room's metadata), and receives the others' video by WeChat's rule.
	Video bool
	// Audio and VideoOut, when set, are the tracks to publish (a
	// reconnect's new session carries the same tracks the pipelines write
	// to); otherwise the session makes them.
	Audio, VideoOut *webrtc.TrackLocalStaticRTP
	// VideoSubscription, when VideoSubscriptionSet, is SubscribeVideo's
	// list to start with (restated after a reconnect).
	VideoSubscription    []string
	VideoSubscriptionSet bool
	// RTC: a token room (Douyin's): this member publishes only when its
	// token grants it (LiveKit's permission), starts publishing and
	// receiving as AutoPublish and AutoSubscribe say, receives every
	// publisher (no WeChat video rule), and leaves at ExpireAt (the RTC
	// token's expiry; zero: never) after TokenExpiring TokenWarning before
	// it (default 30 s).
	RTC                        bool
	AutoPublish, AutoSubscribe bool
	ExpireAt                   time.Time
	TokenWarning               time.Duration
	// The video encoder's bitrate, in bit/s, as room.Config's: where it
	// starts and the bounds the send-side estimate keeps it in
	// (Room.OnBitrateEstimate); zero: room's defaults.
	VideoBitrate, MinVideoBitrate, MaxVideoBitrate int
	// ICEServers are used besides those LiveKit hands out.
	ICEServers   []webrtc.ICEServer
	JoinTimeout  time.Duration // default 10 s: from dial to media connected
	MediaTimeout time.Duration // default rtpcodecs.DefaultMediaTimeout
	Logger       *slog.Logger

	// answerWait, when set, bounds the wait for LiveKit to take the
	// WebSocket: LiveKit answers it only once the room's node has taken
	// the member, and a node that died keeps it waiting until LiveKit
	// counts the node out (a reconnect's tries, reconnect.go).
	answerWait time.Duration
	// estimate is the send-side estimate of the video this member
	// publishes, the Room's across its sessions; settings, when set,
	// changes pion's settings last (WithSettings).
	estimate *room.VideoEstimate
	settings func(*webrtc.SettingEngine)
}

// WithSettings is p with f changing the pion settings of its sessions
// last (tests: a network that loses packets).
func WithSettings(p Params, f func(*webrtc.SettingEngine)) Params {
	p.settings = f
	return p
}

// Handler receives a session's events, from its goroutines; calls return
// quickly.
type Handler interface {
	MembersChanged(members []string)
	// AudioTrack: a member's audio arrived; TrackEnded: it ended.
	AudioTrack(member string, t *webrtc.TrackRemote, r *webrtc.RTPReceiver)
	TrackEnded(member string)
	// Interrupted: the room was lost after it was joined.
	Interrupted(err error)
}

// VideoHandler is a Handler that takes video: package room's, with
// LiveKit's tracks (see room.VideoHandler).
type VideoHandler interface {
	VideoTrack(member string, t *webrtc.TrackRemote, r *webrtc.RTPReceiver)
	VideoTrackEnded(member string)
	VideoMembersChanged(members []string)
}

// Session is this device in a LiveKit room: one WebSocket for LiveKit's
// signalling, a publisher peer connection carrying its audio, a
// subscriber peer connection carrying the others'.
type Session struct {
	p   Params
	h   Handler
	log *slog.Logger

	conn    *websocket.Conn
	writeMu sync.Mutex

	pub, sub *webrtc.PeerConnection
	audio    *webrtc.TrackLocalStaticRTP
	audioTx  *webrtc.RTPSender
	video    *webrtc.TrackLocalStaticRTP // nil unless this member publishes video
	videoTx  *webrtc.RTPSender

	mu          sync.Mutex
	self        Participant
	members     []string                 // identities in join order, this member's included
	bySID       map[string]string        // participant sid → identity
	tracks      map[string]string        // subscribed track sid → its member's identity
	early       map[string][]remoteTrack // tracks of participants not yet announced, by participant sid
	audioSID    string                   // this member's audio track, once published
	videoSID    string                   // this member's video track, once published
	joined      bool                     // the join completed: a loss from now on is Interrupted
	canPublish  bool                     // the token grants publishing (always outside token rooms)
	receiving   bool                     // token rooms: receiving the publishers (SetSubscribing)
	pubAudio    bool                     // token rooms: what this member publishes now (SetPublishing)
	pubVideo    bool
	expiry      []*time.Timer
	arecv       map[string]bool        // members whose audio was handed on
	parts       map[string]Participant // the others, by sid, as LiveKit last described them
	videoList   []string               // members publishing video, in join order
	vsel        []string               // SubscribeVideo's list, once set
	vselSet     bool
	vwant       map[string]bool                // video track sid → subscribed (absent: LiveKit's auto-subscription)
	vrecv       map[string]*webrtc.TrackRemote // member → the video track received from it
	published   map[string]chan Track
	pubAnswer   chan SessionDescription
	pubRemote   bool // the publisher has the server's answer
	subRemote   bool // the subscriber has the server's offer
	pubPending  []webrtc.ICECandidateInit
	subPending  []webrtc.ICECandidateInit
	refresh     string // the latest token LiveKit refreshed
	leaving     bool
	pingEvery   time.Duration
	lastPong    time.Time
	closed      chan struct{}
	closeOnce   sync.Once
	failErr     error
	interrupted bool
}

// Join connects to LiveKit, publishes this device's audio and returns once
// its media connection is up. It fails with a *room.Error (the reasons
// package room uses), or an error wrapping ctx.Err().
func Join(ctx context.Context, p Params, h Handler) (*Session, error) {
	if h == nil {
		return nil, &room.Error{Reason: proto.ReasonParams, Msg: "lk: nil Handler"}
	}
	return joinWith(ctx, p, func(s *Session) { s.h = h })
}

// joinWith is Join with setup run on the session before it connects (a
// Room gives each session a handler that knows it).
func joinWith(ctx context.Context, p Params, setup func(*Session)) (*Session, error) {
	if p.JoinTimeout <= 0 {
		p.JoinTimeout = defaultJoinTimeout
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Session{p: p, log: p.Logger.With("livekit", hostOf(p.URL)), bySID: map[string]string{},
		tracks: map[string]string{}, early: map[string][]remoteTrack{}, parts: map[string]Participant{},
		vwant: map[string]bool{}, vrecv: map[string]*webrtc.TrackRemote{}, arecv: map[string]bool{}, published: map[string]chan Track{}, pubAnswer: make(chan SessionDescription, 1),
		closed: make(chan struct{}), lastPong: time.Now(), vsel: slices.Clone(p.VideoSubscription), vselSet: p.VideoSubscriptionSet}
	setup(s)
	joinCtx, cancel := context.WithTimeout(ctx, p.JoinTimeout)
	defer cancel()
	err := s.join(joinCtx)
	if err == nil {
		return s, nil
	}
	s.close()
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("lk: join cancelled: %w", ctx.Err())
	case joinCtx.Err() != nil && !isRoomError(err):
		return nil, &room.Error{Reason: proto.ReasonTimeout, Msg: fmt.Sprintf("lk: no media connection with %s within %s", hostOf(p.URL), p.JoinTimeout)}
	}
	return nil, err
}

// slowAnswer is the error of a dial cut at Params.answerWait: a
// room.Error (timeout) to everyone else.
type slowAnswer struct{ err *room.Error }

func (e slowAnswer) Error() string { return e.err.Msg }
func (e slowAnswer) Unwrap() error { return e.err }

func isRoomError(err error) bool {
	var re *room.Error
	return errors.As(err, &re) && re.Reason != proto.ReasonTimeout
}

func hostOf(u string) string {
	if pu, err := url.Parse(u); err == nil {
		return pu.Host
	}
	return ""
}

func (s *Session) join(ctx context.Context) error {
	if err := s.dial(ctx); err != nil {
		return err
	}
	first, err := s.read(ctx)
	if err != nil {
		return err
	}
	switch {
	case first.Leave != nil:
		return leaveError(first.Leave)
	case first.Join == nil:
		return &room.Error{Reason: proto.ReasonInternal, Msg: fmt.Sprintf("lk: LiveKit's first message was %q, not join", first.Kind)}
	}
	j := first.Join
	s.log.Debug("joined LiveKit", "room", j.Room.Name, "server", j.ServerVersion, "others", len(j.Others))
	s.mu.Lock()
	s.self = j.Participant
	for _, o := range j.Others {
		if s.addParticipantLocked(o) {
			s.parts[o.SID] = o
		}
	}
	s.members = append(s.members, j.Participant.Identity)
	s.bySID[j.Participant.SID] = j.Participant.Identity
	s.pingEvery = time.Duration(max(j.PingInterval, 1)) * time.Second
	if j.PingInterval == 0 {
		s.pingEvery = defaultPingIntervalSecond * time.Second
	}
	s.mu.Unlock()

	publishVideo := s.p.Video && roomTypeOf(j.Room.Metadata, proto.RoomVideo) == proto.RoomVideo
	s.mu.Lock()
	s.canPublish = !s.p.RTC || j.Participant.CanPublish
	s.pubAudio, s.pubVideo = s.canPublish, s.canPublish
	s.receiving = !s.p.RTC || s.p.AutoSubscribe
	s.mu.Unlock()
	if err := s.startPeers(j.ICEServers, publishVideo); err != nil {
		return &room.Error{Reason: proto.ReasonInternal, Msg: "lk: " + err.Error()}
	}
	go s.readLoop()
	if !s.canPublish {
		// A subscribe-only token: nothing to publish, and the media
		// connection comes with the first track LiveKit sends.
		s.joinedUp()
		return nil
	}

	// Publish the microphone (and the camera): announce the tracks, then
	// offer them.
	startMuted := s.p.RTC && !s.p.AutoPublish
	t, err := s.addTrack(ctx, &AddTrack{CID: s.audio.ID(), Name: "microphone", Type: TrackAudio,
		Source: SourceMicrophone, Muted: s.p.Mute.MuteMicrophone || startMuted, Stream: s.p.Identity})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.audioSID = t.SID
	s.mu.Unlock()
	if s.video != nil {
		vt, err := s.addTrack(ctx, &AddTrack{CID: s.video.ID(), Name: "camera", Type: TrackVideo,
			Source: SourceCamera, Muted: startMuted, Stream: s.p.Identity})
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.videoSID = vt.SID
		s.mu.Unlock()
	}
	if err := s.offer(ctx); err != nil {
		return err
	}
	connected := make(chan struct{})
	var once sync.Once
	s.pub.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("publisher connection", "state", st.String())
		switch st {
		case webrtc.PeerConnectionStateConnected:
			once.Do(func() { close(connected) })
		case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed:
			s.fail(&room.Error{Reason: proto.ReasonUnreachable, Msg: "lk: the media connection to LiveKit was lost (" + st.String() + ")"})
		}
	})
	s.sub.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("subscriber connection", "state", st.String())
		if st == webrtc.PeerConnectionStateDisconnected || st == webrtc.PeerConnectionStateFailed {
			s.fail(&room.Error{Reason: proto.ReasonUnreachable, Msg: "lk: the media connection from LiveKit was lost (" + st.String() + ")"})
		}
	})
	if s.pub.ConnectionState() == webrtc.PeerConnectionStateConnected {
		once.Do(func() { close(connected) })
	}
	select {
	case <-connected:
	case <-s.closed:
		return s.failErr
	case <-ctx.Done():
		return ctx.Err()
	}
	if startMuted {
		s.SetPublishing(false, false)
	}
	s.joinedUp()
	return nil
}

// joinedUp starts what runs once the session is in its room.
func (s *Session) joinedUp() {
	s.mu.Lock()
	s.joined = true
	s.mu.Unlock()
	go s.pingLoop()
	s.startExpiry()
	s.videoChanged(nil)
}

// addTrack announces a track to LiveKit and waits for its sid.
func (s *Session) addTrack(ctx context.Context, a *AddTrack) (Track, error) {
	wait := make(chan Track, 1)
	s.mu.Lock()
	s.published[a.CID] = wait
	s.mu.Unlock()
	if err := s.send(&Request{AddTrack: a}); err != nil {
		return Track{}, err
	}
	select {
	case t := <-wait:
		return t, nil
	case <-s.closed:
		return Track{}, s.failErr
	case <-ctx.Done():
		return Track{}, ctx.Err()
	}
}

// roomTypeOf reads the room's type from its metadata (lkgate.RoomMeta, set
// by the join that created it); def when it says none.
func roomTypeOf(meta, def string) string {
	var m struct {
		RoomType string `json:"roomType"`
	}
	if json.Unmarshal([]byte(meta), &m) == nil && m.RoomType != "" {
		return m.RoomType
	}
	return def
}

// dial opens the signalling WebSocket: the access token in the
// Authorization header (never in a URL that a proxy might log).
func (s *Session) dial(ctx context.Context) error {
	u, err := url.Parse(s.p.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return &room.Error{Reason: proto.ReasonParams, Msg: fmt.Sprintf("lk: LiveKit URL %q is not ws:// or wss://", s.p.URL)}
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/rtc"
	auto := "1"
	if s.p.RTC {
		auto = "0" // a token room's subscriptions are this client's (rtc.go)
	}
	u.RawQuery = url.Values{"protocol": {fmt.Sprint(protocolVersion)}, "auto_subscribe": {auto},
		"sdk": {"go"}, "version": {"voipd"}, "os": {runtime.GOOS}}.Encode()
	h := http.Header{"Authorization": {"Bearer " + s.p.Token}}
	dctx := ctx
	if s.p.answerWait > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, s.p.answerWait)
		defer cancel()
	}
	conn, resp, err := room.DialWebSocket(dctx, u.String(), nil, h, 8192)
	if err != nil {
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case s.p.answerWait > 0 && (dctx.Err() != nil || errors.As(err, &ne) && ne.Timeout()):
			// The dialer reads the handshake with dctx's deadline: its
			// timeout can come a moment before dctx's own.
			return slowAnswer{&room.Error{Reason: proto.ReasonTimeout,
				Msg: fmt.Sprintf("lk: LiveKit at %s took no member within %s (the room's node may be down)", u.Host, s.p.answerWait)}}
		}
		return dialError(u.Host, resp, err)
	}
	conn.SetReadLimit(1 << 20)
	s.conn = conn
	return nil
}

// dialError maps a refused WebSocket to a reason: LiveKit answers a bad or
// expired token 401, a room it will not let the member into 403 or 404,
// and names why in the body.
func dialError(host string, resp *http.Response, err error) error {
	if resp == nil {
		return &room.Error{Reason: proto.ReasonUnreachable, Msg: fmt.Sprintf("lk: cannot reach LiveKit at %s: %v", host, err)}
	}
	var body [256]byte
	n, _ := resp.Body.Read(body[:])
	resp.Body.Close()
	why := strings.TrimSpace(string(body[:n]))
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return &room.Error{Reason: proto.ReasonSignature, Msg: "lk: LiveKit refused the access token: " + why}
	case http.StatusForbidden, http.StatusNotFound:
		return &room.Error{Reason: proto.ReasonParams, Msg: fmt.Sprintf("lk: LiveKit refused the join (%s): %s", resp.Status, why)}
	case http.StatusServiceUnavailable:
		return &room.Error{Reason: proto.ReasonUnreachable, Msg: "lk: LiveKit is unavailable: " + why}
	}
	return &room.Error{Reason: proto.ReasonUnreachable, Msg: fmt.Sprintf("lk: LiveKit at %s answered %s: %s", host, resp.Status, why)}
}

// leaveError is the room.Error of LiveKit ending the session.
func leaveError(l *Leave) error {
	switch l.Reason {
	case reasonRoomFull:
		return &room.Error{Reason: proto.ReasonRoomFull, Msg: "lk: the room is full"}
	case reasonDuplicateIdentity:
		return &room.Error{Reason: proto.ReasonDuplicate, Msg: "lk: the same member joined the room elsewhere"}
	case reasonServerShutdown:
		return &room.Error{Reason: proto.ReasonShutdown, Msg: "lk: the LiveKit node is shutting down"}
	case reasonParticipantRemoved, reasonRoomDeleted:
		return &room.Error{Reason: proto.ReasonKicked, Msg: "lk: removed from the room by the operator"}
	case reasonJoinFailure:
		return &room.Error{Reason: proto.ReasonInternal, Msg: "lk: LiveKit could not complete the join"}
	}
	return &room.Error{Reason: proto.ReasonUnreachable, Msg: fmt.Sprintf("lk: LiveKit ended the session (reason %d)", l.Reason)}
}

// newAPI is pion set up as package room sets it up (room.NewAPI): the
// project's codecs, NACK, reports; loopback candidates only when LiveKit
// is on this host. A LiveKit node that dies takes its rooms' media with
// it, and the node carrying the signalling may say nothing for many
// seconds: the media connection is watched closely instead (a keepalive
// every 500 ms, disconnected after 2 s without an answer) and a session
// whose media is disconnected is given up for a new one (reconnect.go),
// which LiveKit places on a live node.
// newAPI is the session's pion API; when it publishes video, with a fresh
// estimator of the send-side estimate (LiveKit's transport-wide feedback
// covers the video only: the estimate leaves nothing for the audio).
func (s *Session) newAPI(video bool) (*webrtc.API, error) {
	mt := s.p.MediaTimeout
	if mt <= 0 {
		mt = rtpcodecs.DefaultMediaTimeout
	}
	var opts []room.APIOption
	if video {
		if s.p.estimate == nil {
			initial, lo, hi := room.VideoBitrates(s.p.VideoBitrate, s.p.MinVideoBitrate, s.p.MaxVideoBitrate)
			s.p.estimate = room.NewVideoEstimate(initial, lo, hi, 0, nil, s.log)
		}
		opts = append(opts, s.p.estimate.Option())
	}
	return room.NewAPI(room.IsLoopbackHost(hostOf(s.p.URL)), mt, func(se *webrtc.SettingEngine) {
		se.SetICETimeouts(mediaDisconnected, mt-mediaDisconnected, mediaKeepalive)
		if s.p.settings != nil {
			s.p.settings(se)
		}
	}, opts...)
}

func (s *Session) startPeers(servers []ICEServer, video bool) error {
	api, err := s.newAPI(video)
	if err != nil {
		return err
	}
	ices := slices.Clone(s.p.ICEServers)
	for _, is := range servers {
		ices = append(ices, webrtc.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	cfg := webrtc.Configuration{ICEServers: ices}
	if s.pub, err = api.NewPeerConnection(cfg); err != nil {
		return fmt.Errorf("publisher peer connection: %w", err)
	}
	if s.sub, err = api.NewPeerConnection(cfg); err != nil {
		return fmt.Errorf("subscriber peer connection: %w", err)
	}
	if s.audio = s.p.Audio; s.audio == nil {
		if s.audio, err = webrtc.NewTrackLocalStaticRTP(rtpcodecs.Opus, "audio", s.p.Identity); err != nil {
			return fmt.Errorf("audio track: %w", err)
		}
	}
	tr, err := s.pub.AddTransceiverFromTrack(s.audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return fmt.Errorf("add audio: %w", err)
	}
	s.audioTx = tr.Sender()
	go drainRTCP(s.audioTx)
	if video {
		if s.video = s.p.VideoOut; s.video == nil {
			if s.video, err = webrtc.NewTrackLocalStaticRTP(rtpcodecs.VP8, "video", s.p.Identity); err != nil {
				return fmt.Errorf("video track: %w", err)
			}
		}
		vt, err := s.pub.AddTransceiverFromTrack(s.video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return fmt.Errorf("add video: %w", err)
		}
		s.videoTx = vt.Sender() // its RTCP is the video sender's to read (VideoFeedback)
	}
	s.pub.OnICECandidate(func(c *webrtc.ICECandidate) { s.trickle(c, TargetPublisher) })
	s.sub.OnICECandidate(func(c *webrtc.ICECandidate) { s.trickle(c, TargetSubscriber) })
	s.sub.OnTrack(s.onTrack)
	return nil
}

// drainRTCP reads a sender's RTCP so that its interceptors run.
func drainRTCP(tx *webrtc.RTPSender) {
	for {
		if _, _, err := tx.ReadRTCP(); err != nil {
			return
		}
	}
}

func (s *Session) trickle(c *webrtc.ICECandidate, target int32) {
	if c == nil {
		return
	}
	b, err := json.Marshal(c.ToJSON())
	if err != nil {
		return
	}
	if err := s.send(&Request{Trickle: &Trickle{CandidateInit: string(b), Target: target}}); err != nil {
		s.log.Debug("trickle", "err", err)
	}
}

// offer sends the publisher's offer and sets the server's answer.
func (s *Session) offer(ctx context.Context) error {
	o, err := s.pub.CreateOffer(nil)
	if err != nil {
		return &room.Error{Reason: proto.ReasonInternal, Msg: "lk: publisher offer: " + err.Error()}
	}
	if err := s.pub.SetLocalDescription(o); err != nil {
		return &room.Error{Reason: proto.ReasonInternal, Msg: "lk: publisher offer: " + err.Error()}
	}
	if err := s.send(&Request{Offer: &SessionDescription{Type: "offer", SDP: o.SDP}}); err != nil {
		return err
	}
	var a SessionDescription
	select {
	case a = <-s.pubAnswer:
	case <-s.closed:
		return s.failErr
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := s.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: a.SDP}); err != nil {
		return &room.Error{Reason: proto.ReasonInternal, Msg: "lk: LiveKit's answer: " + err.Error()}
	}
	s.remoteSet(TargetPublisher)
	return nil
}

// remoteSet records that target's connection has LiveKit's description
// and adds the candidates that came before it.
func (s *Session) remoteSet(target int32) {
	s.mu.Lock()
	pc, pending := s.pub, s.pubPending
	if target == TargetSubscriber {
		pc, pending = s.sub, s.subPending
		s.subPending, s.subRemote = nil, true
	} else {
		s.pubPending, s.pubRemote = nil, true
	}
	s.mu.Unlock()
	for _, c := range pending {
		if err := pc.AddICECandidate(c); err != nil {
			s.log.Debug("adding LiveKit's candidate", "err", err)
		}
	}
}

func (s *Session) send(r *Request) error {
	b, err := r.Marshal()
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.conn == nil {
		return &room.Error{Reason: proto.ReasonUnreachable, Msg: "lk: not connected"}
	}
	s.conn.SetWriteDeadline(time.Now().Add(writeWait))
	if err := s.conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		return &room.Error{Reason: proto.ReasonUnreachable, Msg: "lk: sending to LiveKit: " + err.Error()}
	}
	return nil
}

// read reads one message (the join's first, before readLoop runs).
func (s *Session) read(ctx context.Context) (*Response, error) {
	if dl, ok := ctx.Deadline(); ok {
		s.conn.SetReadDeadline(dl)
	}
	for {
		typ, b, err := s.conn.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &room.Error{Reason: proto.ReasonUnreachable, Msg: "lk: connection to LiveKit lost: " + err.Error()}
		}
		if typ != websocket.BinaryMessage {
			continue
		}
		return ParseResponse(b)
	}
}

func (s *Session) readLoop() {
	for {
		s.conn.SetReadDeadline(time.Now().Add(readWait))
		typ, b, err := s.conn.ReadMessage()
		if err != nil {
			s.fail(&room.Error{Reason: proto.ReasonUnreachable, Msg: "lk: connection to LiveKit lost: " + err.Error()})
			return
		}
		if typ != websocket.BinaryMessage {
			continue
		}
		r, err := ParseResponse(b)
		if err != nil {
			s.log.Debug("ignoring a message LiveKit sent", "err", err)
			continue
		}
		if err := s.handle(r); err != nil {
			s.fail(err)
			return
		}
	}
}

func (s *Session) handle(r *Response) error {
	switch {
	case r.Offer != nil:
		return s.answerSubscriber(r.Offer)
	case r.Answer != nil:
		select {
		case s.pubAnswer <- *r.Answer:
		default:
			s.log.Debug("an answer LiveKit sent unasked")
		}
	case r.Trickle != nil:
		var c webrtc.ICECandidateInit
		if err := json.Unmarshal([]byte(r.Trickle.CandidateInit), &c); err != nil {
			s.log.Debug("bad candidate from LiveKit", "err", err)
			return nil
		}
		s.addCandidate(c, r.Trickle.Target)
	case r.Update != nil:
		s.updateParticipants(r.Update)
	case r.TrackPublished != nil:
		s.mu.Lock()
		ch := s.published[r.TrackPublished.CID]
		delete(s.published, r.TrackPublished.CID)
		s.mu.Unlock()
		if ch != nil {
			ch <- r.TrackPublished.Track
		}
	case r.Leave != nil:
		return leaveError(r.Leave)
	case r.RefreshToken != "":
		s.mu.Lock()
		s.refresh = r.RefreshToken
		s.mu.Unlock()
	case r.Pong != nil:
		s.mu.Lock()
		s.lastPong = time.Now()
		s.mu.Unlock()
	}
	return nil
}

func (s *Session) addCandidate(c webrtc.ICECandidateInit, target int32) {
	s.mu.Lock()
	pc := s.pub
	ready := s.pubRemote
	if target == TargetSubscriber {
		pc, ready = s.sub, s.subRemote
	}
	if !ready {
		if target == TargetSubscriber {
			s.subPending = append(s.subPending, c)
		} else {
			s.pubPending = append(s.pubPending, c)
		}
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if err := pc.AddICECandidate(c); err != nil {
		s.log.Debug("adding LiveKit's candidate", "err", err)
	}
}

// answerSubscriber answers LiveKit's offer on the subscriber connection
// (the others' tracks).
func (s *Session) answerSubscriber(o *SessionDescription) error {
	if err := s.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.SDP}); err != nil {
		return &room.Error{Reason: proto.ReasonInternal, Msg: "lk: LiveKit's offer: " + err.Error()}
	}
	s.remoteSet(TargetSubscriber)
	a, err := s.sub.CreateAnswer(nil)
	if err == nil {
		err = s.sub.SetLocalDescription(a)
	}
	if err != nil {
		return &room.Error{Reason: proto.ReasonInternal, Msg: "lk: answering LiveKit's offer: " + err.Error()}
	}
	return s.send(&Request{Answer: &SessionDescription{Type: "answer", SDP: a.SDP, ID: o.ID}})
}

type remoteTrack struct {
	t *webrtc.TrackRemote
	r *webrtc.RTPReceiver
}

// onTrack hands a subscribed track to the handler under its member's
// identity: LiveKit's stream id is "<participant sid>|<track sid>". A
// track whose participant LiveKit has not announced yet waits for it.
func (s *Session) onTrack(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	psid, _, _ := strings.Cut(t.StreamID(), "|")
	s.mu.Lock()
	who := s.bySID[psid]
	if who == "" {
		s.early[psid] = append(s.early[psid], remoteTrack{t, r})
		s.mu.Unlock()
		s.log.Debug("a track before its participant", "stream", t.StreamID())
		return
	}
	s.mu.Unlock()
	s.deliver(who, remoteTrack{t, r})
}

func (s *Session) deliver(who string, rt remoteTrack) {
	s.mu.Lock()
	s.tracks[rt.t.ID()] = who
	s.mu.Unlock()
	if rt.t.Kind() == webrtc.RTPCodecTypeVideo {
		s.deliverVideo(who, rt)
		return
	}
	s.mu.Lock()
	take := s.receiving
	if take {
		s.arecv[who] = true
	}
	s.mu.Unlock()
	if !take { // a token room not receiving: LiveKit drops it on our word
		go drainTrack(rt.t)
		return
	}
	s.log.Debug("member's audio", "member", who)
	s.h.AudioTrack(who, rt.t, rt.r)
}

func drainTrack(t *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := t.Read(buf); err != nil {
			return
		}
	}
}

// addParticipantLocked records a participant seen for the first time.
func (s *Session) addParticipantLocked(p Participant) bool {
	if p.State == ParticipantDisconnected || p.Kind != 0 { // 0: a standard participant (not an agent or egress)
		return false
	}
	if _, ok := s.bySID[p.SID]; ok {
		return false
	}
	s.bySID[p.SID] = p.Identity
	if !slices.Contains(s.members, p.Identity) {
		s.members = append(s.members, p.Identity)
	}
	return true
}

func (s *Session) updateParticipants(ps []Participant) {
	s.mu.Lock()
	changed := false
	var ended []string
	for _, p := range ps {
		if p.SID == s.self.SID {
			continue
		}
		if old, ok := s.parts[p.SID]; !ok || p.Version >= old.Version {
			s.parts[p.SID] = p
		}
		if p.State == ParticipantDisconnected {
			delete(s.parts, p.SID)
			if who, ok := s.bySID[p.SID]; ok {
				delete(s.bySID, p.SID)
				s.members = slices.DeleteFunc(s.members, func(m string) bool { return m == who })
				for sid, w := range s.tracks {
					if w == who {
						delete(s.tracks, sid)
					}
				}
				ended = append(ended, who)
				changed = true
			}
			continue
		}
		if s.addParticipantLocked(p) {
			changed = true
		}
	}
	list := slices.Clone(s.members)
	type waiting struct {
		who string
		rts []remoteTrack
	}
	var ready []waiting
	for psid, rts := range s.early {
		if who := s.bySID[psid]; who != "" {
			ready = append(ready, waiting{who, rts})
			delete(s.early, psid)
		}
	}
	vended := s.videoEndedLocked(ended)
	s.mu.Unlock()
	for _, who := range ended {
		s.h.TrackEnded(who)
	}
	if changed {
		s.h.MembersChanged(list)
	}
	s.videoChanged(vended)
	for _, w := range ready {
		for _, rt := range w.rts {
			s.deliver(w.who, rt)
		}
	}
}

func (s *Session) pingLoop() {
	s.mu.Lock()
	every := s.pingEvery
	s.mu.Unlock()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.closed:
			return
		case now := <-t.C:
			if err := s.send(&Request{Ping: &Ping{Timestamp: now.UnixMilli()}}); err != nil {
				s.fail(err)
				return
			}
		}
	}
}

// fail ends the session for err; a joined session's handler hears it
// (Interrupted) unless it is leaving.
func (s *Session) fail(err error) {
	s.mu.Lock()
	if s.failErr != nil {
		s.mu.Unlock()
		return
	}
	s.failErr = err
	notify := !s.leaving && s.joined && !s.interrupted
	s.interrupted = s.interrupted || notify
	s.mu.Unlock()
	s.close()
	if notify {
		s.log.Info("LiveKit session lost", "err", err)
		s.h.Interrupted(err)
	}
}

func (s *Session) close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		if s.failErr == nil {
			s.failErr = &room.Error{Reason: proto.ReasonUnreachable, Msg: "lk: session closed"}
		}
		for _, t := range s.expiry {
			t.Stop()
		}
		s.mu.Unlock()
		close(s.closed)
		s.writeMu.Lock()
		if s.conn != nil {
			s.conn.Close()
		}
		s.writeMu.Unlock()
		if s.pub != nil {
			s.pub.Close()
		}
		if s.sub != nil {
			s.sub.Close()
		}
	})
}

// Members is the room's members (identities in join order, this member
// included).
func (s *Session) Members() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.members)
}

// AudioTrack takes this device's Opus RTP.
func (s *Session) AudioTrack() *webrtc.TrackLocalStaticRTP { return s.audio }

// AudioLevelExtID is the negotiated RFC 6464 extension id (0: none).
func (s *Session) AudioLevelExtID() uint8 {
	if s.audioTx == nil {
		return 0
	}
	for _, e := range s.audioTx.GetParameters().HeaderExtensions {
		if e.URI == "urn:ietf:params:rtp-hdrext:ssrc-audio-level" {
			return uint8(e.ID)
		}
	}
	return 0
}

// SetMute mutes or unmutes this device's audio track at LiveKit (the
// media pipeline stops sending; LiveKit tells the others).
func (s *Session) SetMute(m proto.MuteConfig) error {
	s.mu.Lock()
	sid := s.audioSID
	s.mu.Unlock()
	if sid == "" {
		return nil
	}
	return s.send(&Request{Mute: &Mute{SID: sid, Muted: m.MuteMicrophone}})
}

// Ticket and Grace are the gateway's resume ticket and grace.
func (s *Session) Ticket() string        { return s.p.Resume }
func (s *Session) Grace() time.Duration  { return s.p.Grace }
func (s *Session) Done() <-chan struct{} { return s.closed }

// Stats is the publisher connection's state and selected pair.
func (s *Session) Stats() room.Stats {
	st := room.Stats{State: s.pub.ConnectionState().String()}
	if s.audioTx == nil || s.audioTx.Transport() == nil {
		return st
	}
	it := s.audioTx.Transport().ICETransport()
	if pair, err := it.GetSelectedCandidatePair(); err == nil && pair != nil {
		st.LocalCandidate = fmt.Sprintf("%s %s %s", pair.Local.Protocol, pair.Local.Typ, net.JoinHostPort(pair.Local.Address, fmt.Sprint(pair.Local.Port)))
		st.RemoteCandidate = fmt.Sprintf("%s %s %s", pair.Remote.Protocol, pair.Remote.Typ, net.JoinHostPort(pair.Remote.Address, fmt.Sprint(pair.Remote.Port)))
		st.RemotePort = int(pair.Remote.Port)
	}
	if ps, ok := it.GetSelectedCandidatePairStats(); ok {
		st.RTT = time.Duration(ps.CurrentRoundTripTime * float64(time.Second))
	}
	return st
}

// Leave tells LiveKit this member leaves and closes; the handler hears
// nothing more.
func (s *Session) Leave(ctx context.Context) error {
	s.mu.Lock()
	s.leaving = true
	s.mu.Unlock()
	err := s.send(&Request{Leave: &Leave{Reason: reasonClientInitiated}})
	s.close()
	return err
}
