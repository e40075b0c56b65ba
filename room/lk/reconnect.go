package lk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// A LiveKit session ends when its node dies, when the network drops for
// longer than LiveKit waits, or when LiveKit restarts; LiveKit's own
// clients give up after about a minute and cannot outlive their node. A
// Room keeps the member in its room across that: it asks the gateway for a
// fresh token with the member's resume ticket (any gateway of the fleet
// will do) and joins again — LiveKit re-creates the room on a surviving
// node — with the same tracks, so the pipelines writing to them never
// notice, and hands the handler the members' new tracks, as package room
// does across a roomd's restart.

// Rejoin asks a gateway for a fresh destination for the member, with its
// resume ticket: a *room.Redirect, or the gateway's refusal.
type Rejoin func(ctx context.Context, ticket string) (*room.Redirect, error)

// ReconnectHandler is a Handler told when its room is being reconnected
// (package room's).
type ReconnectHandler interface {
	Reconnecting(err error)
	Reconnected()
}

const (
	reconnectFirst = 200 * time.Millisecond
	reconnectMax   = 2 * time.Second
	reconnectTry   = 3 * time.Second
	defaultGrace   = 60 * time.Second
	// While LiveKit still counts a dead node as its rooms' host — until 4
	// to 5 s after the node's last report (selector.AvailableSeconds, in
	// whole seconds; nodes report every 2 s) — a join waits on the dead
	// node and LiveKit answers the WebSocket only after its own 3-s try.
	// A new join asks LiveKit to place the room again, so tries are cut
	// when LiveKit has not answered within reconnectAnswer (50 ms more
	// each time, for a machine slower than that; reconnectTry at most)
	// and followed at once: the member is back within about that of the
	// moment LiveKit moves the room. A healthy node answers on loopback
	// in about 20 ms.
	reconnectAnswer     = 500 * time.Millisecond
	reconnectAnswerStep = 50 * time.Millisecond
	reconnectAgain      = 50 * time.Millisecond
)

// Room is a member of a LiveKit room across its sessions.
type Room struct {
	p      Params
	h      Handler
	rejoin Rejoin

	mu         sync.Mutex
	cur        *Session
	next       *Session // joining: the first, or a reconnect's try
	members    []string
	ticket     string
	grace      time.Duration
	mute       proto.MuteConfig
	vsel       []string
	vselSet    bool
	receiving  bool // token rooms: SetSubscribing's state
	pubAudio   bool // token rooms: SetPublishing's state
	pubVideo   bool
	reconnects int
	leaving    bool
	closed     chan struct{}
	relinked   chan struct{} // closed and replaced when a new session is up
}

// JoinRoom joins as Join does and keeps the member in the room: when the
// session is lost, rejoin gets a fresh token and the room joins again
// until the grace (Params.Grace, the gateway's) runs out.
func JoinRoom(ctx context.Context, p Params, rejoin Rejoin, h Handler) (*Room, error) {
	r := &Room{p: p, h: h, rejoin: rejoin, ticket: p.Resume, grace: p.Grace, mute: p.Mute,
		receiving: p.AutoSubscribe, closed: make(chan struct{}), relinked: make(chan struct{})}
	if h == nil {
		return nil, &room.Error{Reason: proto.ReasonParams, Msg: "lk: nil Handler"}
	}
	if r.p.Logger == nil {
		r.p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Video { // one estimate across the sessions, each starting where the last was
		initial, lo, hi := room.VideoBitrates(p.VideoBitrate, p.MinVideoBitrate, p.MaxVideoBitrate)
		r.p.estimate = room.NewVideoEstimate(initial, lo, hi, 0, r.sendsVideo, r.p.Logger)
	}
	s, err := joinWith(ctx, r.p, r.adopt)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.cur, r.next = s, nil
	r.members = s.Members()
	r.pubAudio, r.pubVideo = s.Publishing()
	r.p.Audio, r.p.VideoOut = s.AudioTrack(), s.VideoTrack() // the tracks every later session carries
	r.mu.Unlock()
	return r, nil
}

// adopt makes s the room's next session, the one joining: its events
// reach the handler from then on (its members' tracks arrive while it
// joins), and the lost one's no longer do.
func (r *Room) adopt(s *Session) {
	s.h = sessionHandler{r, s}
	r.mu.Lock()
	r.next = s
	r.mu.Unlock()
}

// sessionHandler passes one session's events on to the room's handler;
// those of a session that is neither the room's current one nor the one
// joining are dropped.
type sessionHandler struct {
	r *Room
	s *Session
}

func (sh sessionHandler) current() bool {
	sh.r.mu.Lock()
	defer sh.r.mu.Unlock()
	return sh.r.cur == sh.s || sh.r.next == sh.s
}

func (sh sessionHandler) MembersChanged(m []string) {
	if sh.current() {
		sh.r.setMembers(m)
	}
}

func (sh sessionHandler) AudioTrack(who string, t *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	if sh.current() {
		sh.r.h.AudioTrack(who, t, rcv)
	}
}

func (sh sessionHandler) TrackEnded(who string) {
	if sh.current() {
		sh.r.h.TrackEnded(who)
	}
}

func (sh sessionHandler) VideoTrack(who string, t *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	if vh, ok := sh.r.h.(VideoHandler); ok && sh.current() {
		vh.VideoTrack(who, t, rcv)
	}
}

func (sh sessionHandler) VideoTrackEnded(who string) {
	if vh, ok := sh.r.h.(VideoHandler); ok && sh.current() {
		vh.VideoTrackEnded(who)
	}
}

func (sh sessionHandler) VideoMembersChanged(m []string) {
	if vh, ok := sh.r.h.(VideoHandler); ok && sh.current() {
		vh.VideoMembersChanged(m)
	}
}

func (sh sessionHandler) TokenExpiring(at time.Time) {
	if rh, ok := sh.r.h.(RTCHandler); ok && sh.current() {
		rh.TokenExpiring(at)
	}
}

func (sh sessionHandler) Removed(reason string) {
	if rh, ok := sh.r.h.(RTCHandler); ok && sh.current() {
		rh.Removed(reason)
	}
}

func (sh sessionHandler) Interrupted(err error) {
	sh.r.mu.Lock()
	cur := sh.r.cur == sh.s
	sh.r.mu.Unlock()
	if cur {
		go sh.r.reconnect(err)
	}
}

func (r *Room) setMembers(m []string) {
	r.mu.Lock()
	same := slices.Equal(m, r.members)
	r.members = slices.Clone(m)
	r.mu.Unlock()
	if !same {
		r.h.MembersChanged(m)
	}
}

// final reports whether a lost session or a refused rejoin ends the room:
// the member was removed, replaced or refused, which another try would
// not change.
func final(err error) bool {
	var re *room.Error
	if !errors.As(err, &re) {
		return false
	}
	switch re.Reason {
	case proto.ReasonKicked, proto.ReasonDuplicate, proto.ReasonResume, proto.ReasonSignature, proto.ReasonRoomFull,
		proto.ReasonParams, proto.ReasonTokenInvalid, proto.ReasonTokenExpired, proto.ReasonPermission:
		return true
	}
	return false
}

// reconnect gets the member back into its room after its session was
// lost: tries spaced reconnectFirst, doubling to reconnectMax, each a
// rejoin at the gateway and a join at LiveKit, until one is up, the room
// refuses the member, the grace runs out, or the room is left.
func (r *Room) reconnect(cause error) {
	r.mu.Lock()
	if r.leaving {
		r.mu.Unlock()
		return
	}
	lost := r.cur
	grace := cmpOr(r.grace, defaultGrace)
	r.mu.Unlock()
	if final(cause) || r.rejoin == nil {
		r.end(cause)
		return
	}
	log := r.p.Logger
	log.Warn("LiveKit session lost: reconnecting", "err", cause)
	rh, _ := r.h.(ReconnectHandler)
	if rh != nil {
		rh.Reconnecting(cause)
	}
	lost.close()
	started := time.Now()
	deadline := started.Add(grace)
	var sched schedule
	for attempt := 1; ; attempt++ {
		delay, answerWait := sched.next()
		select {
		case <-r.closed:
			return
		case <-time.After(delay):
		}
		left := time.Until(deadline)
		if left <= 0 {
			r.end(&room.Error{Reason: proto.ReasonUnreachable, Msg: fmt.Sprintf("lk: not back in the room within %s: %v", grace, cause)})
			return
		}
		// A try bounded well below the join timeout: while LiveKit still
		// counts a dead node as the room's, a join hangs; a later try
		// finds the room moved.
		ctx, cancel := context.WithTimeout(context.Background(), min(cmpOr(r.p.JoinTimeout, defaultJoinTimeout), reconnectTry, left))
		s, err := r.relink(ctx, answerWait)
		cancel()
		if err == nil {
			r.mu.Lock()
			if r.leaving {
				r.mu.Unlock()
				s.Leave(context.Background())
				return
			}
			r.cur, r.next = s, nil
			r.reconnects++
			close(r.relinked)
			r.relinked = make(chan struct{})
			r.mu.Unlock()
			log.Info("back in the LiveKit room", "after", time.Since(started).Round(time.Millisecond), "attempts", attempt)
			r.setMembers(s.Members())
			s.videoChanged(nil) // its video members and subscriptions, for the handler
			if rh != nil {
				rh.Reconnected()
			}
			return
		}
		log.Debug("reconnect attempt failed", "attempt", attempt, "err", err)
		if final(err) {
			r.end(err)
			return
		}
		cause = err
		sched.failed(err)
	}
}

// schedule spaces a reconnect's tries: reconnectFirst before the first,
// doubling to reconnectMax after tries that failed at once (a gateway or
// node that refuses), reconnectAgain after a try LiveKit did not answer
// in time (it took its time already, and LiveKit is up placing rooms),
// whose successor may wait reconnectAnswerStep longer for the answer.
type schedule struct {
	tries, cuts int
	delay       time.Duration
	cut         bool
}

// next is how long to wait before the next try and how long that try
// waits for LiveKit to answer.
func (s *schedule) next() (delay, answerWait time.Duration) {
	switch {
	case s.tries == 0:
		s.delay = reconnectFirst
	case s.cut:
		s.delay = reconnectAgain
	default:
		s.delay = min(max(2*s.delay, reconnectFirst), reconnectMax)
	}
	s.tries++
	return s.delay, min(reconnectAnswer+time.Duration(s.cuts)*reconnectAnswerStep, reconnectTry)
}

// failed records how a try failed.
func (s *schedule) failed(err error) {
	s.cut = errors.As(err, new(slowAnswer))
	if s.cut {
		s.cuts++
	}
}

// relink is one try: a fresh token from the gateway, then a session with
// the room's tracks, mute and video subscription.
func (r *Room) relink(ctx context.Context, answerWait time.Duration) (*Session, error) {
	r.mu.Lock()
	ticket, p := r.ticket, r.p
	p.Mute, p.VideoSubscription, p.VideoSubscriptionSet = r.mute, slices.Clone(r.vsel), r.vselSet
	p.AutoSubscribe = r.receiving
	pubAudio, pubVideo := r.pubAudio, r.pubVideo
	r.mu.Unlock()
	rd, err := r.rejoin(ctx, ticket)
	if err != nil {
		return nil, err
	}
	p.URL, p.Token, p.Resume, p.Grace = rd.URL, rd.Token, rd.Resume, rd.Grace
	p.answerWait = answerWait
	if rd.ExpireAt != 0 {
		p.ExpireAt = time.Unix(rd.ExpireAt, 0)
	}
	if p.RTC { // published as it was: nothing until restated below
		p.AutoPublish = false
	}
	s, err := joinWith(ctx, p, r.adopt)
	if err != nil {
		return nil, err
	}
	if p.RTC && (pubAudio || pubVideo) {
		if err := s.SetPublishing(pubAudio, pubVideo); err != nil {
			s.close()
			return nil, err
		}
	}
	r.mu.Lock()
	r.ticket, r.grace = cmpOrString(rd.Resume, r.ticket), cmpOr(rd.Grace, r.grace)
	r.mu.Unlock()
	return s, nil
}

// end reports the room lost for good.
func (r *Room) end(err error) {
	r.mu.Lock()
	if r.leaving {
		r.mu.Unlock()
		return
	}
	r.leaving = true
	close(r.closed)
	r.mu.Unlock()
	r.p.Logger.Info("LiveKit room lost", "err", err)
	r.h.Interrupted(err)
}

func (r *Room) session() *Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

// Members is the room's members, this member included.
func (r *Room) Members() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.members)
}

// AudioTrack and VideoTrack are the tracks the pipelines write to, the
// same across sessions (VideoTrack nil unless the member publishes video).
func (r *Room) AudioTrack() *webrtc.TrackLocalStaticRTP { return r.p.Audio }
func (r *Room) VideoTrack() *webrtc.TrackLocalStaticRTP { return r.p.VideoOut }

// AudioLevelExtID is the current session's RFC 6464 extension id.
func (r *Room) AudioLevelExtID() uint8 { return r.session().AudioLevelExtID() }

// VideoFeedback is the RTCP about this member's video read from whichever
// session is up; its ReadRTCP fails once the room has ended. nil when
// VideoTrack is.
func (r *Room) VideoFeedback() interface {
	ReadRTCP() ([]rtcp.Packet, interceptor.Attributes, error)
} {
	if r.p.VideoOut == nil {
		return nil
	}
	return videoFeedback{r}
}

type videoFeedback struct{ r *Room }

func (f videoFeedback) ReadRTCP() ([]rtcp.Packet, interceptor.Attributes, error) {
	for {
		f.r.mu.Lock()
		s, next := f.r.cur, f.r.relinked
		f.r.mu.Unlock()
		if tx := s.VideoSender(); tx != nil {
			if pkts, attrs, err := tx.ReadRTCP(); err == nil {
				return pkts, attrs, nil
			}
		}
		select {
		case <-f.r.closed:
			return nil, nil, errors.New("lk: the room ended")
		case <-next:
		}
	}
}

// sendsVideo reports whether the member, in the room, sends video now.
func (r *Room) sendsVideo() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.cur
	if s == nil {
		s = r.next
	}
	return !r.leaving && s != nil && s.VideoSender() != nil
}

// OnBitrateEstimate calls fn (from a goroutine of the room) whenever the
// send-side estimate of the member's video changes, with the target
// bitrate for the encoder in bit/s, within Params' MinVideoBitrate and
// MaxVideoBitrate, as room.Session's does; it follows the member across
// its sessions (a new one starts from the last target). The estimate
// comes from LiveKit's transport-wide feedback on the video, which
// arrives as RTCP on the video sender: VideoFeedback must be read. No-op
// unless the member joined with video.
func (r *Room) OnBitrateEstimate(fn func(bps int)) {
	if r.p.estimate != nil {
		r.p.estimate.OnChange(fn)
	}
}

// BitrateEstimate is the current video target (see OnBitrateEstimate), 0
// before the first estimate and when no video is sent.
func (r *Room) BitrateEstimate() int {
	if r.p.estimate == nil {
		return 0
	}
	return r.p.estimate.Target()
}

// SetMute mutes or unmutes the member's audio, now and in later sessions.
func (r *Room) SetMute(m proto.MuteConfig) error {
	r.mu.Lock()
	r.mute = m
	r.mu.Unlock()
	return r.session().SetMute(m)
}

// SubscribeVideo sets whose video the member receives, now and in later
// sessions.
func (r *Room) SubscribeVideo(members []string) error {
	r.mu.Lock()
	r.vsel, r.vselSet = slices.Clone(members), true
	r.mu.Unlock()
	return r.session().SubscribeVideo(members)
}

// SetPublishing and SetSubscribing are token rooms' (rtc.go), kept for
// later sessions too.
func (r *Room) SetPublishing(audio, video bool) error {
	if err := r.session().SetPublishing(audio, video); err != nil {
		return err
	}
	r.mu.Lock()
	r.pubAudio, r.pubVideo = r.cur.Publishing()
	r.mu.Unlock()
	return nil
}

func (r *Room) SetSubscribing(on bool) error {
	if err := r.session().SetSubscribing(on); err != nil {
		return err
	}
	r.mu.Lock()
	r.receiving = on
	r.mu.Unlock()
	return nil
}

// RequestKeyframe asks member's camera for a keyframe.
func (r *Room) RequestKeyframe(member string) error { return r.session().RequestKeyframe(member) }

// Stats is the current session's, with the reconnects so far.
func (r *Room) Stats() room.Stats {
	st := r.session().Stats()
	r.mu.Lock()
	st.Reconnects = r.reconnects
	r.mu.Unlock()
	return st
}

// Ticket and Grace are the latest resume ticket and grace the gateway gave.
func (r *Room) Ticket() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ticket
}

func (r *Room) Grace() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.grace
}

// Leave leaves the room; the handler hears nothing more.
func (r *Room) Leave(ctx context.Context) error {
	r.mu.Lock()
	if !r.leaving {
		r.leaving = true
		close(r.closed)
	}
	s := r.cur
	r.mu.Unlock()
	return s.Leave(ctx)
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func cmpOrString(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
