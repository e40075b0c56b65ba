// Package rtpcodecs is the media half of the room protocol: the codecs,
// payload types and header extension every peer connection registers, the
// same on the server (roomd) and its clients (room), so the server's offers
// fix payload types and extension ids for everyone and forwarded packets
// stay valid at every receiver (proto/README.md, "Media" and "Video rooms").
//
// It is a package of its own, and not part of proto, because it is written
// in pion/webrtc's types: in proto it linked WebRTC (ICE, DTLS, SRTP, SCTP)
// into every importer of the messages and signature helpers, voipctl among
// them. The name says what it holds, RTP codecs as a webrtc.MediaEngine
// takes them; "media" alone would be confused with the project's media
// package (the pipelines).
package rtpcodecs

import (
	"fmt"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// The payload types of the two codecs. The server offers them, and a
// forwarded packet keeps its publisher's payload type, so every member
// must use the same ones.
const (
	OpusPayloadType = 111
	VP8PayloadType  = 96
)

// Opus is the one audio codec: 48 kHz Opus with in-band FEC.
var Opus = webrtc.RTPCodecCapability{
	MimeType:    webrtc.MimeTypeOpus,
	ClockRate:   48000,
	Channels:    2,
	SDPFmtpLine: "minptime=10;useinbandfec=1",
}

// VP8 is the one video codec. Its feedback is what a forwarding server
// can serve: NACK (retransmitted from a per-receiver buffer), PLI and FIR
// (passed on to the publisher), and REMB for senders that estimate from it.
var VP8 = webrtc.RTPCodecCapability{
	MimeType:  webrtc.MimeTypeVP8,
	ClockRate: 90000,
	RTCPFeedback: []webrtc.RTCPFeedback{
		{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}, {Type: "goog-remb"},
	},
}

// Register registers Opus, VP8 and the RFC 6464 audio level extension in
// me, in the order both sides rely on.
func Register(me *webrtc.MediaEngine) error {
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: Opus, PayloadType: OpusPayloadType},
		webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("register Opus: %w", err)
	}
	// VP8 always: a voice member is never offered video (its SDP has no
	// video section), so it costs nothing there.
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: VP8, PayloadType: VP8PayloadType},
		webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("register VP8: %w", err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI},
		webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("register audio level extension: %w", err)
	}
	return nil
}

// DefaultMediaTimeout is how long a peer connection goes without a packet
// from the other side before it counts as failed, pion's default (5 s to
// disconnected, 25 s more to failed).
const DefaultMediaTimeout = 30 * time.Second

// SetMediaTimeout makes a peer connection count as failed after d without
// a packet from the other side (0: DefaultMediaTimeout): disconnected
// after a sixth of it (at most 5 s), and a keepalive every half of that
// (at most 2 s). While ICE checks, it keeps checking every candidate pair
// for all of d (pion's default gives a pair up after 7 checks 200 ms
// apart): a loaded peer (a browser) may answer an ICE restart's checks
// late, and a restart made while the network is still cut finds it when
// it returns. Both ends of the room protocol set it the same way.
func SetMediaTimeout(se *webrtc.SettingEngine, d time.Duration) {
	if d <= 0 {
		d = DefaultMediaTimeout
	}
	disconnected := DisconnectedAfter(d)
	se.SetICETimeouts(disconnected, d-disconnected, min(disconnected/2, 2*time.Second))
	const checkInterval = 200 * time.Millisecond // pion's
	se.SetICEMaxBindingRequests(uint16(min(max(d/checkInterval, 7), 1<<16-1)))
}

// DisconnectedAfter is how long a peer connection with media timeout d
// (0: DefaultMediaTimeout) goes without a packet before it counts as
// disconnected: a sixth of d, at most 5 s.
func DisconnectedAfter(d time.Duration) time.Duration {
	if d <= 0 {
		d = DefaultMediaTimeout
	}
	return min(d/6, 5*time.Second)
}
