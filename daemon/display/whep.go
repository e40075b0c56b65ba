package display

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// vp8Codec is what every session sends: the producers' own VP8, as is.
// Only PLI and FIR are offered as feedback, because nothing here answers a
// NACK (pion's NACK responder allocates per packet, which the path of a
// frame in docs/ARCHITECTURE.md rules out, and on loopback nothing is lost
// on the wire; a packet a slow viewer dropped is repaired by a keyframe
// instead).
var vp8Codec = webrtc.RTPCodecCapability{
	MimeType:  webrtc.MimeTypeVP8,
	ClockRate: 90000,
	RTCPFeedback: []webrtc.RTCPFeedback{
		{Type: "nack", Parameter: "pli"},
		{Type: "ccm", Parameter: "fir"},
	},
}

// vp8PayloadType is the payload type offered in answers; the browser's
// own offer decides the one used, and pion rewrites each packet's type to
// it.
const vp8PayloadType = 96

// gatherTimeout bounds the wait for ICE gathering before answering: on
// loopback with no STUN servers it completes in milliseconds.
const gatherTimeout = 5 * time.Second

// whep builds the sessions' PeerConnections.
type whep struct {
	api *webrtc.API
}

func newWHEP() (*whep, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: vp8Codec, PayloadType: vp8PayloadType},
		webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("display: register VP8: %w", err)
	}
	ir := &interceptor.Registry{}
	// Sender reports only: they give the browser the RTP-to-wall-clock
	// mapping; NACK, TWCC and the stats interceptor would cost work per
	// packet for nothing on loopback.
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("display: register RTCP reports: %w", err)
	}
	var se webrtc.SettingEngine
	// Loopback only: the browser is on this machine, and a candidate on
	// another interface would offer the camera's stream to the network.
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	// Browsers hide their host addresses behind .local names; pion learns
	// them as peer-reflexive candidates from the browser's checks instead
	// of resolving them.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return &whep{api: webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se))}, nil
}

// newSessionID returns a random session id for the Location URL: random,
// so one page cannot guess and end another page's session.
func newSessionID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// errBadOffer marks an offer the PeerConnection refused (a 400, not a 500).
var errBadOffer = errors.New("bad offer")

// answer builds a session for src from the browser's offer and returns it
// with the complete SDP answer (all candidates included: no trickle).
func (s *Server) answer(ctx context.Context, src *Source, offer string) (*viewer, string, error) {
	pc, err := s.whep.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", fmt.Errorf("new peer connection: %w", err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(vp8Codec, "video", "voipd-"+src.id)
	if err != nil {
		pc.Close()
		return nil, "", fmt.Errorf("new track: %w", err)
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		pc.Close()
		return nil, "", fmt.Errorf("add track: %w", err)
	}
	v := newViewer(newSessionID(), src, pc, track)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("session state", "source", src.id, "session", v.id, "state", st.String())
		switch st {
		case webrtc.PeerConnectionStateConnected:
			// The browser can decode nothing before a keyframe.
			src.requestKeyframe()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			// A tab closed without DELETE ends here. Not on pion's
			// callback goroutine: close waits for pion to shut down.
			go s.endSession(v, st.String())
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		pc.Close()
		return nil, "", fmt.Errorf("%w: %w", errBadOffer, err)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		pc.Close()
		return nil, "", fmt.Errorf("%w: create answer: %w", errBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		pc.Close()
		return nil, "", fmt.Errorf("set local description: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, gatherTimeout)
	defer cancel()
	select {
	case <-gathered:
	case <-ctx.Done():
		pc.Close()
		return nil, "", fmt.Errorf("ICE gathering: %w", ctx.Err())
	}
	v.start(sender)
	return v, pc.LocalDescription().SDP, nil
}

// addSession registers v and attaches it to its source, or reports false
// when the server closed or the source was removed meanwhile.
func (s *Server) addSession(v *viewer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.sources[v.src.id] != v.src {
		return false
	}
	s.sessions[v.id] = v
	v.src.attach(v)
	return true
}

// endSession forgets and closes a session; it is safe to call more than
// once and from any goroutine except pion's callbacks.
func (s *Server) endSession(v *viewer, why string) {
	s.mu.Lock()
	_, known := s.sessions[v.id]
	delete(s.sessions, v.id)
	s.mu.Unlock()
	if err := v.close(); err != nil {
		s.log.Debug("close session", "source", v.src.id, "session", v.id, "err", err)
	}
	if known {
		s.log.Info("session ended", "source", v.src.id, "session", v.id, "why", why)
	}
}

// session returns the session with id when it belongs to source src.
func (s *Server) session(src, id string) *viewer {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.sessions[id]
	if v == nil || v.src.id != src {
		return nil
	}
	return v
}
