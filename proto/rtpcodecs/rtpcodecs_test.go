package rtpcodecs

import (
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// An offer from a Register'ed engine carries what proto/README.md promises
// every member: Opus 48000/2 with FEC on 111, VP8 on 96 with the feedback a
// forwarding server serves, and the audio level extension.
func TestRegisterOffer(t *testing.T) {
	me := &webrtc.MediaEngine{}
	if err := Register(me); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	// CreateOffer gathers no candidates (that starts with
	// SetLocalDescription), so nothing binds a port.
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"a=rtpmap:111 opus/48000/2",
		"a=fmtp:111 minptime=10;useinbandfec=1",
		"a=rtpmap:96 VP8/90000",
		"a=rtcp-fb:96 nack",
		"a=rtcp-fb:96 nack pli",
		"a=rtcp-fb:96 ccm fir",
		"a=rtcp-fb:96 goog-remb",
		"urn:ietf:params:rtp-hdrext:ssrc-audio-level",
	} {
		if !strings.Contains(offer.SDP, want+"\r\n") {
			t.Errorf("offer lacks %q:\n%s", want, offer.SDP)
		}
	}
}
