package roomd

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/nack"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/proto/rtpcodecs"
)

// newAPI builds the pion API every member's PeerConnection shares: Opus, VP8
// and the RFC 6464 audio level extension from rtpcodecs (forwarding without
// re-encoding needs every member on the same codecs and payload types, and
// the server's offers fix the extension ids for everyone so forwarded
// packets keep valid ids), default interceptors, and the single UDP mux.
func newAPI(mux ice.UDPMux, publicIPs []string, mediaTimeout time.Duration) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := rtpcodecs.Register(me); err != nil {
		return nil, fmt.Errorf("roomd: %w", err)
	}
	ir := &interceptor.Registry{}
	// The defaults (pion v4.2) include ConfigureTWCCSender: transport-cc
	// feedback and the transport-wide sequence number extension in every
	// offer (VP8 and Opus, so registered after the codecs), and the
	// interceptor that reports each upload's arrivals every 100 ms. Clients
	// estimate their send bandwidth from that (room's OnBitrateEstimate);
	// registering it a second time would send every report twice.
	//
	// pion's NACK responder is replaced by nack's: every forwarded video
	// packet is kept once per receiver, and pion's copy allocates each time
	// (docs/ARCHITECTURE.md, "The path of a frame";
	// roomd/forward_alloc_test.go). pion's stats interceptor is left out:
	// roomd never asks for stats, and it cloned every forwarded header.
	resp, err := nack.NewResponder()
	if err == nil {
		err = nack.RegisterForwarding(me, ir, resp)
	}
	if err != nil {
		return nil, fmt.Errorf("roomd: register interceptors: %w", err)
	}
	var se webrtc.SettingEngine
	se.SetICEUDPMux(mux)
	// Loopback candidates let clients on the same host (an embedded roomd,
	// tests on a machine without network) connect; elsewhere they cost a
	// failed check or two.
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	// A server cannot resolve browsers' .local names across networks; it
	// learns their addresses as peer-reflexive candidates instead.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	rtpcodecs.SetMediaTimeout(&se, mediaTimeout)
	if len(publicIPs) > 0 {
		// 1:1 NAT: announce the public addresses as host candidates on the
		// same port, and keep the local ones (clients on the LAN or on
		// this host reach those directly).
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        publicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteAppend,
		}); err != nil {
			return nil, fmt.Errorf("roomd: Config.PublicIPs: %w", err)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se)), nil
}

// newPeer creates a member's PeerConnection: first a recvonly audio
// transceiver for its upload (mid 0), then the forwarding track the others
// will receive its audio on.
func (m *member) newPeer(api *webrtc.API) error {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fmt.Errorf("new peer connection: %w", err)
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		pc.Close()
		return fmt.Errorf("add upload transceiver: %w", err)
	}
	fwd, err := webrtc.NewTrackLocalStaticRTP(rtpcodecs.Opus, "audio", m.openid)
	if err != nil {
		pc.Close()
		return fmt.Errorf("new forwarding track: %w", err)
	}
	m.pc, m.fwd = pc, fwd
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		f := newForwarder(r, &m.srv.counters, t.Kind() == webrtc.RTPCodecTypeVideo)
		if m.rtc != nil { // token rooms forward only what may be published
			m.forwardRTC(t, f)
			return
		}
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			m.forwardVideo(t, f)
			return
		}
		m.forward(t, f)
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		b, err := json.Marshal(c.ToJSON())
		if err != nil {
			return
		}
		m.send(&proto.Message{Type: proto.TypeCandidate, Candidate: b})
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		m.log.Debug("peer connection state", "state", st.String())
		switch st {
		case webrtc.PeerConnectionStateConnected:
			m.mediaUp()
		case webrtc.PeerConnectionStateFailed:
			m.mediaFailed()
		}
	})
	return nil
}

// forward is the one read loop of a member's upload: each packet goes to the
// member's forwarding track, which pion writes to every PeerConnection it is
// bound to (the other members), rewriting SSRC and payload type per binding.
func (m *member) forward(t *webrtc.TrackRemote, f *forwarder) {
	m.log.Debug("upload track", "ssrc", t.SSRC())
	buf := make([]byte, 1500)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		// Errors here are members that just left (a closed binding); the
		// others still got the packet.
		_ = f.forward(m.fwd, buf[:n])
	}
}

// addSender adds another member's audio forwarding track to this member's
// PeerConnection. Called under Server.mu.
func (m *member) addSender(other *member) error {
	tr, sender, err := m.attachTrack(other.fwd, &m.idle)
	if err != nil {
		return err
	}
	m.senders[other.openid] = tr
	// RTCP from receivers must be read for pion's interceptors to run (NACK
	// responses, reports); audio needs nothing else from it.
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	return nil
}

// attachTrack puts track on the transceiver of a member who left, if idle
// has one, else on a new sendonly one. Reuse keeps the SDP from growing by a
// media section per visitor over a long-lived member's stay; the receiver
// sees a new SSRC and stream id on the old mid and gets a new track. Called
// under Server.mu.
func (m *member) attachTrack(track webrtc.TrackLocal, idle *[]*webrtc.RTPTransceiver) (*webrtc.RTPTransceiver, *webrtc.RTPSender, error) {
	if n := len(*idle); n > 0 {
		tr := (*idle)[n-1]
		s, err := m.srv.api.NewRTPSender(track, m.pc.SCTP().Transport())
		if err != nil {
			return nil, nil, err
		}
		if err := tr.SetSender(s, track); err != nil {
			s.Stop()
			return nil, nil, err
		}
		*idle = (*idle)[:n-1]
		return tr, s, nil
	}
	tr, err := m.pc.AddTransceiverFromTrack(track,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return nil, nil, err
	}
	return tr, tr.Sender(), nil
}

// removeSender stops forwarding other's audio to this member. Called under
// Server.mu.
func (m *member) removeSender(openid string) { m.detachTrack(m.senders, &m.idle, openid) }

// detachTrack stops forwarding openid's track of one kind to this member;
// its transceiver goes inactive and waits in idle for reuse. Called under
// Server.mu.
func (m *member) detachTrack(senders map[string]*webrtc.RTPTransceiver, idle *[]*webrtc.RTPTransceiver, openid string) {
	tr, ok := senders[openid]
	if !ok {
		return
	}
	delete(senders, openid)
	if s := tr.Sender(); s != nil {
		if err := m.pc.RemoveTrack(s); err != nil {
			if !errors.Is(err, webrtc.ErrConnectionClosed) {
				m.log.Debug("remove track", "err", err)
			}
			return
		}
	}
	*idle = append(*idle, tr)
}

// negotiate sends this member a new offer, or, when one is already
// outstanding, remembers to send another once its answer arrives: offers to
// one member never overlap.
func (m *member) negotiate() {
	m.negMu.Lock()
	defer m.negMu.Unlock()
	m.negotiateLocked()
}

// restartICE sends this member an offer that restarts ICE (its iceRestart
// message), after the one outstanding if there is one.
func (m *member) restartICE() {
	m.negMu.Lock()
	defer m.negMu.Unlock()
	m.restartDue = true
	m.negotiateLocked()
}

func (m *member) negotiateLocked() {
	if m.negotiating {
		m.pendingOffer = true
		return
	}
	m.negotiating = true
	m.offerLocked()
}

func (m *member) offerLocked() {
	var opts *webrtc.OfferOptions
	if m.restartDue {
		opts, m.restartDue = &webrtc.OfferOptions{ICERestart: true}, false
		m.log.Info("restarting ICE")
	}
	offer, err := m.pc.CreateOffer(opts)
	if err == nil {
		err = m.pc.SetLocalDescription(offer)
	}
	if err != nil {
		m.negotiating = false
		if m.pc.ConnectionState() != webrtc.PeerConnectionStateClosed {
			m.log.Warn("creating offer failed", "err", err)
			m.fail(proto.ReasonInternal, "creating an offer failed")
		}
		return
	}
	m.send(&proto.Message{Type: proto.TypeOffer, SDP: m.pc.LocalDescription().SDP})
}

// answer applies the member's answer to the outstanding offer.
func (m *member) answer(sdpText string) error {
	m.negMu.Lock()
	defer m.negMu.Unlock()
	if !m.negotiating {
		return errors.New("answer without an outstanding offer")
	}
	offer := m.pc.LocalDescription() // set whenever an offer is outstanding
	if offer == nil {
		return errors.New("answer without an outstanding offer")
	}
	if err := checkAnswer(offer.SDP, sdpText); err != nil {
		return fmt.Errorf("bad answer: %w", err)
	}
	err := m.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdpText})
	if err != nil {
		return fmt.Errorf("bad answer: %w", err)
	}
	for _, c := range m.pendingCands {
		if err := m.pc.AddICECandidate(c); err != nil {
			m.log.Debug("add candidate", "err", err)
		}
	}
	m.pendingCands = nil
	if m.pendingOffer {
		m.pendingOffer = false
		m.offerLocked()
		return nil
	}
	m.negotiating = false
	return nil
}

// maxPendingCands bounds the candidates held for a member before its first
// answer: a host with every interface, IPv6 and TCP candidates has a few
// dozen; without a bound a member that never answers could grow the list
// for as long as it likes.
const maxPendingCands = 100

// candidate adds a trickled remote candidate, holding it until the first
// answer gives the PeerConnection a remote description.
func (m *member) candidate(raw json.RawMessage) error {
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("bad candidate: %w", err)
	}
	m.negMu.Lock()
	defer m.negMu.Unlock()
	if m.pc.RemoteDescription() == nil {
		if len(m.pendingCands) == maxPendingCands {
			return fmt.Errorf("more than %d candidates before an answer", maxPendingCands)
		}
		m.pendingCands = append(m.pendingCands, c)
		return nil
	}
	if err := m.pc.AddICECandidate(c); err != nil {
		// A candidate the agent cannot use (another family, a .local name)
		// is not the member's fault.
		m.log.Debug("add candidate", "err", err)
	}
	return nil
}
