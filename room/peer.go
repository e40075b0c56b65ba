package room

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/intercept"
	"github.com/voipd/voipd/internal/rawudp"
	"github.com/voipd/voipd/nack"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/proto/rtpcodecs"
)

// newAPI builds the session's pion API, with rtpcodecs' codecs as roomd
// registers them: the server forwards packets unchanged, so every member
// must send the same codecs. A server on a loopback address (an embedded
// roomd, one beside the daemon, tests) is on this host and offers loopback
// candidates: only loopback candidates are gathered for it, as a pair
// through another interface would die with that interface (a DHCP lease
// renewed with a new address, a USB adapter unplugged, a VPN or container
// network torn down) while loopback stays. Any other server gets every
// interface but loopback, which could never pair with it. opts (see
// APIOption) add to it, e.g. congestion control for a video join; adjust,
// when not nil, changes its settings last.
func newAPI(loopback bool, mediaTimeout time.Duration, adjust func(*webrtc.SettingEngine), opts ...APIOption) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := rtpcodecs.Register(me); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	var se webrtc.SettingEngine
	// IPv4 sockets whose reads and writes do not wake the runtime's
	// monitor thread (internal/rawudp; issue 19); an option or adjust (a
	// test's lossy or cut network) may set its own over it.
	n, err := rawudp.New()
	if err != nil {
		return nil, fmt.Errorf("network interfaces: %w", err)
	}
	se.SetNet(n)
	// Options before the defaults: an interceptor registered earlier sits
	// nearer the wire, and congestion control must see the packets the
	// NACK responder retransmits.
	for _, opt := range opts {
		if err := opt(me, ir, &se); err != nil {
			return nil, err
		}
	}
	// pion's defaults, with its NACK responder replaced by one that keeps
	// packets in preallocated slots instead of copying each into the heap
	// (docs/ARCHITECTURE.md, "The path of a frame"; the benchmarks in
	// package nack), its NACK generator by nack's, and its reports, stats
	// and transport-cc feedback by intercept's, none of which allocates per
	// packet (intercept.Register says what is left out).
	resp, err := nack.NewResponder()
	if err == nil {
		err = intercept.Register(me, ir, resp, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("register interceptors: %w", err)
	}
	se.SetIncludeLoopbackCandidate(loopback)
	if loopback {
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	rtpcodecs.SetMediaTimeout(&se, mediaTimeout)
	// A device daemon has no reason to hide its addresses behind mDNS
	// names, and the server does not resolve them.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if adjust != nil {
		adjust(&se)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se)), nil
}

// NewAPI is the pion API a room client uses (newAPI's), for package
// room/lk's LiveKit sessions: opts add to it (a VideoEstimate's Option);
// adjust, when not nil, changes its settings last (over the media
// timeout's ICE timeouts).
func NewAPI(loopback bool, mediaTimeout time.Duration, adjust func(*webrtc.SettingEngine), opts ...APIOption) (*webrtc.API, error) {
	return newAPI(loopback, mediaTimeout, adjust, opts...)
}

// IsLoopbackHost reports whether host (or host:port) names this machine's
// loopback.
func IsLoopbackHost(host string) bool { return isLoopbackHost(host) }

// isLoopbackHost reports whether host names this machine's loopback.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// startPeer creates link l's PeerConnection once the server said joined,
// with the upload track (the session's, the same on every link) added
// before the first offer so that it takes the server's recvonly section
// (mid 0).
func (s *Session) startPeer(l *link, servers []proto.ICEServer) error {
	api, err := newAPI(isLoopbackHost(s.url.Host), s.cfg.MediaTimeout, nil, s.apiOptions()...)
	if err != nil {
		return err
	}
	iceServers := append([]webrtc.ICEServer(nil), s.cfg.ICEServers...)
	for _, is := range servers {
		iceServers = append(iceServers, webrtc.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: iceServers})
	if err != nil {
		return fmt.Errorf("new peer connection: %w", err)
	}
	s.mu.Lock()
	track := s.track
	s.mu.Unlock()
	if track == nil {
		if track, err = webrtc.NewTrackLocalStaticRTP(rtpcodecs.Opus, "audio", s.params.OpenID); err != nil {
			pc.Close()
			return fmt.Errorf("new audio track: %w", err)
		}
	}
	sender, err := pc.AddTrack(s.gated(track, webrtc.RTPCodecTypeAudio))
	if err != nil {
		pc.Close()
		return fmt.Errorf("add audio track: %w", err)
	}
	s.mu.Lock()
	if s.track == nil {
		s.track = track // the first link's: written to by the caller from then on
	}
	s.sender = sender
	s.mu.Unlock()
	if s.params.RoomType == proto.RoomVideo {
		if err := s.addVideo(pc); err != nil {
			pc.Close()
			return err
		}
	}
	go s.readAudioRTCP(sender)
	pc.OnICECandidate(s.localCandidate)
	pc.OnTrack(s.remoteTrack)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("peer connection state", "state", st.String())
		switch st {
		case webrtc.PeerConnectionStateConnected:
			l.connectedUp()
			s.mediaUp(l)
		case webrtc.PeerConnectionStateDisconnected:
			s.watchDisconnected(l, pc)
		case webrtc.PeerConnectionStateFailed:
			s.mediaFailed(l)
		}
	})
	s.mu.Lock()
	s.pc = pc
	s.mu.Unlock()
	return nil
}

// answer answers a server offer and reports the members whose audio the
// offer no longer carries.
func (s *Session) answer(offer string) error {
	pc := s.peer()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return err
	}
	s.mu.Lock()
	peerCands := s.pendingPeer
	s.pendingPeer = nil
	s.mu.Unlock()
	for _, c := range peerCands {
		if err := pc.AddICECandidate(c); err != nil {
			s.log.Debug("add candidate", "err", err)
		}
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := pc.SetLocalDescription(ans); err != nil {
		return err
	}
	s.dropUnplacedVideo(pc)
	if err := s.write(&proto.Message{Type: proto.TypeAnswer, SDP: pc.LocalDescription().SDP}); err != nil {
		return err
	}
	s.mu.Lock()
	s.answered = true
	local := s.pendingLocal
	s.pendingLocal = nil
	s.mu.Unlock()
	for _, c := range local {
		if err := s.write(&proto.Message{Type: proto.TypeCandidate, Candidate: c}); err != nil {
			return err
		}
	}
	s.endGoneTracks(offer)
	return nil
}

// localCandidate trickles a gathered candidate, after the answer it
// belongs to.
func (s *Session) localCandidate(c *webrtc.ICECandidate) {
	if c == nil {
		return
	}
	b, err := json.Marshal(c.ToJSON())
	if err != nil {
		return
	}
	s.mu.Lock()
	if !s.answered {
		s.pendingLocal = append(s.pendingLocal, b)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if err := s.write(&proto.Message{Type: proto.TypeCandidate, Candidate: b}); err != nil {
		s.log.Debug("send candidate", "err", err)
	}
}

// addPeerCandidate adds the server's candidate, holding it until an offer
// has set the remote description.
func (s *Session) addPeerCandidate(raw json.RawMessage) {
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal(raw, &c); err != nil {
		s.log.Debug("bad candidate from server", "err", err)
		return
	}
	pc := s.peer()
	if pc == nil || pc.RemoteDescription() == nil {
		s.mu.Lock()
		s.pendingPeer = append(s.pendingPeer, c)
		s.mu.Unlock()
		return
	}
	if err := pc.AddICECandidate(c); err != nil {
		s.log.Debug("add candidate", "err", err)
	}
}

// remoteTrack hands a member's forwarded audio or video to the Handler.
// roomd sets the stream id to the sender's openid.
func (s *Session) remoteTrack(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	if t.Kind() == webrtc.RTPCodecTypeVideo {
		s.remoteVideo(t, r)
		return
	}
	member := t.StreamID()
	s.mu.Lock()
	s.announced[member] = t
	s.mu.Unlock()
	s.log.Debug("member audio", "member", member, "ssrc", t.SSRC())
	s.h.AudioTrack(member, t, r)
}

// endGoneTracks calls TrackEnded (VideoTrackEnded) for announced members
// whose audio (video) the offer no longer sends: its section went inactive
// when they left or, for video, when the subscription dropped them.
func (s *Session) endGoneTracks(offer string) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return
	}
	active := map[string]bool{} // kind + "\x00" + stream id
	for _, md := range sd.MediaDescriptions {
		sending := false
		stream := ""
		for _, a := range md.Attributes {
			switch a.Key {
			case "sendonly", "sendrecv":
				sending = true
			case "msid":
				stream, _, _ = strings.Cut(a.Value, " ")
			}
		}
		if sending && stream != "" {
			active[md.MediaName.Media+"\x00"+stream] = true
		}
	}
	var gone, goneVideo []string
	s.mu.Lock()
	for m := range s.announced {
		if !active["audio\x00"+m] {
			gone = append(gone, m)
			delete(s.announced, m)
		}
	}
	for m := range s.vannounced {
		if !active["video\x00"+m] {
			goneVideo = append(goneVideo, m)
			delete(s.vannounced, m)
		}
	}
	s.mu.Unlock()
	for _, m := range gone {
		s.h.TrackEnded(m)
	}
	if vh, ok := s.h.(VideoHandler); ok {
		for _, m := range goneVideo {
			vh.VideoTrackEnded(m)
		}
	}
}

// AudioLevelExtID is the negotiated id of the RFC 6464 audio level header
// extension, 0 when the server did not offer it.
func (s *Session) AudioLevelExtID() uint8 {
	s.mu.Lock()
	sender := s.sender
	s.mu.Unlock()
	if sender == nil {
		return 0
	}
	for _, e := range sender.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			return uint8(e.ID)
		}
	}
	return 0
}

// Stats is a cheap snapshot of the media connection: no pion stats report
// is built, only the ICE transport's selected pair is read.
type Stats struct {
	State           string        // the PeerConnection state: "connected", "disconnected", ...
	LocalCandidate  string        // the selected pair's local side, e.g. "udp host 127.0.0.1:40000"
	RemoteCandidate string        // and its remote side (roomd's single UDP port)
	RemotePort      int           // the remote candidate's port
	RTT             time.Duration // the pair's current STUN round trip, 0 before one was measured
	// How often the session got back into its seat: by an ICE restart on
	// the same connection (its media connection had failed), and by a new
	// connection (the connection to the server was lost).
	ICERestarts, Reconnects int
}

// Stats returns the current Stats.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	pc, sender := s.pc, s.sender
	st := Stats{State: "new", ICERestarts: s.iceRestarts, Reconnects: s.reconnects}
	s.mu.Unlock()
	if pc == nil {
		return st
	}
	st.State = pc.ConnectionState().String()
	if sender == nil || sender.Transport() == nil {
		return st
	}
	it := sender.Transport().ICETransport()
	if pair, err := it.GetSelectedCandidatePair(); err == nil && pair != nil {
		st.LocalCandidate = candString(pair.Local)
		st.RemoteCandidate = candString(pair.Remote)
		st.RemotePort = int(pair.Remote.Port)
	}
	if ps, ok := it.GetSelectedCandidatePairStats(); ok {
		st.RTT = time.Duration(ps.CurrentRoundTripTime * float64(time.Second))
	}
	return st
}

func candString(c *webrtc.ICECandidate) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%s %s %s", c.Protocol.String(), c.Typ.String(), net.JoinHostPort(c.Address, fmt.Sprint(c.Port)))
}

// readAudioRTCP reads the RTCP about this device's audio until the sender
// stops: reading is what keeps pion's interceptors (reports, NACK)
// running, and the receiver reports in it say how much of the audio the
// room server lost, which a LossHandler hears.
func (s *Session) readAudioRTCP(sender *webrtc.RTPSender) {
	lh, _ := s.h.(LossHandler)
	var ssrc uint32
	if enc := sender.GetParameters().Encodings; len(enc) > 0 {
		ssrc = uint32(enc[0].SSRC)
	}
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		if lh == nil {
			continue
		}
		for _, p := range pkts {
			var reports []rtcp.ReceptionReport
			switch p := p.(type) {
			case *rtcp.ReceiverReport:
				reports = p.Reports
			case *rtcp.SenderReport:
				reports = p.Reports
			}
			for _, r := range reports {
				if r.SSRC == ssrc {
					lh.UplinkLoss(float64(r.FractionLost) / 256)
				}
			}
		}
	}
}
