package proto

import (
	"fmt"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// The media half of the room protocol: the codecs and header extension
// every peer connection registers, the same on the server and its clients,
// so the server's offers fix payload types and extension ids for everyone
// and forwarded packets stay valid at every receiver.
const (
	OpusPayloadType = 111
	VP8PayloadType  = 96
)

// OpusCodec is the one audio codec: 48 kHz Opus with in-band FEC.
var OpusCodec = webrtc.RTPCodecCapability{
	MimeType:    webrtc.MimeTypeOpus,
	ClockRate:   48000,
	Channels:    2,
	SDPFmtpLine: "minptime=10;useinbandfec=1",
}

// VP8Codec is the one video codec. Its feedback is what a forwarding server
// can serve: NACK (retransmitted from a per-receiver buffer), PLI and FIR
// (passed on to the publisher), and REMB for senders that estimate from it.
var VP8Codec = webrtc.RTPCodecCapability{
	MimeType:  webrtc.MimeTypeVP8,
	ClockRate: 90000,
	RTCPFeedback: []webrtc.RTCPFeedback{
		{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}, {Type: "goog-remb"},
	},
}

// RegisterMedia registers Opus, VP8 and the RFC 6464 audio level extension
// in me, in the order both sides rely on.
func RegisterMedia(me *webrtc.MediaEngine) error {
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: OpusCodec, PayloadType: OpusPayloadType},
		webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("register Opus: %w", err)
	}
	// VP8 always: a voice member is never offered video (its SDP has no
	// video section), so it costs nothing there.
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: VP8Codec, PayloadType: VP8PayloadType},
		webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("register VP8: %w", err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI},
		webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("register audio level extension: %w", err)
	}
	return nil
}
