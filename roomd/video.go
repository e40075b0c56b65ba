package roomd

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/voipd/voipd/proto/rtpcodecs"
)

// keyframeInterval is the least time between two keyframe requests to one
// publisher. Every new receiver and every lost frame at any receiver asks
// for one; in a room of ten, passing each on would have the publisher send
// little else but keyframes.
const keyframeInterval = 500 * time.Millisecond

// videoTrack is a publisher's forwarding track. It is pion's
// TrackLocalStaticRTP, which writes each packet to every receiver bound to
// it (a non-blocking UDP write each: a slow receiver cannot hold the others
// up, it just loses packets), plus a hook on Bind: a receiver that starts
// on the track mid-stream cannot decode until the next keyframe, so the
// publisher is asked for one at once.
type videoTrack struct {
	*webrtc.TrackLocalStaticRTP
	onBind func()
}

// Bind implements webrtc.TrackLocal.
func (v *videoTrack) Bind(c webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	p, err := v.TrackLocalStaticRTP.Bind(c)
	if err == nil {
		v.onBind()
	}
	return p, err
}

// keyframer coalesces keyframe requests to one publisher to at most one per
// keyframeInterval. A request that comes too soon is not dropped but
// deferred to the end of the interval, so the receiver that asked still gets
// its keyframe; any number of requests meanwhile ride on that one.
type keyframer struct {
	send func()

	mu      sync.Mutex
	last    time.Time
	pending *time.Timer
	stopped bool
}

func (k *keyframer) request() {
	k.mu.Lock()
	if k.stopped || k.pending != nil {
		k.mu.Unlock()
		return
	}
	wait := keyframeInterval - time.Since(k.last)
	if wait > 0 {
		k.pending = time.AfterFunc(wait, k.fire)
		k.mu.Unlock()
		return
	}
	k.last = time.Now()
	k.mu.Unlock()
	k.send()
}

func (k *keyframer) fire() {
	k.mu.Lock()
	k.pending = nil
	if k.stopped {
		k.mu.Unlock()
		return
	}
	k.last = time.Now()
	k.mu.Unlock()
	k.send()
}

func (k *keyframer) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	if k.pending != nil {
		k.pending.Stop()
		k.pending = nil
	}
}

// enableVideo gives a member of a video room who joined for video its
// upload transceiver (recvonly, right after the audio one, so mid 1) and
// the track its video is forwarded on. Called by Server.join under
// Server.mu, before the member's first offer.
func (m *member) enableVideo() error {
	if _, err := m.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return fmt.Errorf("add video upload transceiver: %w", err)
	}
	t, err := webrtc.NewTrackLocalStaticRTP(rtpcodecs.VP8, "video", m.openid)
	if err != nil {
		return fmt.Errorf("new video forwarding track: %w", err)
	}
	m.keyframes = &keyframer{send: m.sendPLI}
	m.vfwd = &videoTrack{TrackLocalStaticRTP: t, onBind: m.keyframes.request}
	m.video = true
	return nil
}

// sendPLI asks this member's camera for a keyframe: a PLI for the SSRC its
// video arrives with (RFC 4585 §6.3.1). Before the first packet there is
// nothing to ask, and the first frame an encoder sends is a keyframe anyway.
func (m *member) sendPLI() {
	ssrc := m.vssrc.Load()
	if ssrc == 0 {
		return
	}
	err := m.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	if err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
		m.log.Debug("sending PLI", "err", err)
	}
}

func (m *member) requestKeyframe() {
	if m.keyframes != nil {
		m.keyframes.request()
	}
}

func (m *member) stopKeyframes() {
	if m.keyframes != nil {
		m.keyframes.stop()
	}
}

// forwardVideo is the one read loop of a member's video upload: each packet
// goes to the member's video forwarding track and from there to every
// receiver subscribed to it. The member counts as publishing from the first
// packet (pion calls OnTrack once one arrived) until the track ends.
func (m *member) forwardVideo(t *webrtc.TrackRemote, f *forwarder) {
	if m.vfwd == nil {
		return // not offered: pion would not have accepted it
	}
	m.log.Debug("video upload track", "ssrc", t.SSRC())
	m.vssrc.Store(uint32(t.SSRC()))
	m.srv.setPublishing(m, true)
	defer m.srv.setPublishing(m, false)
	buf := make([]byte, 1500)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		_ = f.forward(m.vfwd.TrackLocalStaticRTP, buf[:n])
	}
}

// addVideoSender forwards other's video to this member, and reads the
// member's RTCP for it: its first RTCP (it is receiving) and every PLI or
// FIR it sends (it lost a frame) become a keyframe request to other. Called
// under Server.mu.
func (m *member) addVideoSender(other *member) error {
	tr, sender, err := m.attachTrack(other.vfwd, &m.vidle)
	if err != nil {
		return err
	}
	m.vsenders[other.openid] = tr
	go func() {
		first := true
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			ask := first
			first = false
			for _, p := range pkts {
				switch p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					ask = true
				}
			}
			if ask {
				other.requestKeyframe()
			}
		}
	}()
	return nil
}

// removeVideoSender stops forwarding openid's video to this member. Called
// under Server.mu.
func (m *member) removeVideoSender(openid string) { m.detachTrack(m.vsenders, &m.vidle, openid) }
