// Package media is the contract of voipd's media pipelines and the
// per-frame pieces that need no C library.
//
// Like hw's root, this package is cgo-free on purpose: the session engine
// (daemon/session) sees the pipelines only through what is declared here —
// the Factory and the Call, VideoSender and VideoReceiver it builds, and
// their statistics — and so builds with CGO_ENABLED=0. The pipelines
// themselves (libopus and libvpx through codec) live in media/pipeline,
// whose Factory cmd/voipd hands to the daemon; their settings, defaults
// and limits in media/settings, which daemon/config checks against.
//
// What runs on every frame and needs no codec lives here, on the same
// allocation-free path as the pipelines (docs/ARCHITECTURE.md, "The path
// of a frame") and proven so by testing.AllocsPerRun: the volume (Volume,
// applied by the pipelines to
// every captured and played frame), the ring tones of calls (Ring), and
// the writer of a member's outgoing video track (TrackWriter: sequence
// numbers that continue across senders, and the copy for the local
// display).
package media

import (
	"context"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/voipd/voipd/hw"
)

// RTPWriter takes packets: a room's outgoing track
// (*webrtc.TrackLocalStaticRTP), the local display's source.
type RTPWriter interface {
	WriteRTP(*rtp.Packet) error
}

// RTPReader gives one member's incoming packets (*webrtc.TrackRemote).
type RTPReader interface {
	Read(b []byte) (int, interceptor.Attributes, error)
}

// RTCPReader gives the RTCP that receivers send back about a sent track
// (*webrtc.RTPSender): PLI/FIR become keyframes, REMB the bitrate.
type RTCPReader interface {
	ReadRTCP() ([]rtcp.Packet, interceptor.Attributes, error)
}

// Factory builds a room's pipelines, with the settings (media/settings)
// it was made with. media/pipeline implements it.
type Factory interface {
	NewCall(CallParams) (Call, error)
	NewVideoSender(VideoSenderParams) (VideoSender, error)
	NewVideoReceiver(VideoReceiverParams) (VideoReceiver, error)
}

// CallParams are one room's audio devices and where its audio goes.
type CallParams struct {
	Capture  hw.Capture
	Playback hw.Playback
	Out      RTPWriter // this device's Opus RTP
	// LevelExtID is the negotiated id of the RFC 6464 audio level header
	// extension, sent and read (0: none).
	LevelExtID uint8
	// Volume scales every captured and played frame; nil is unity gain.
	Volume *Volume
	// DeviceLost, when set, is told (on the call's goroutines) that the
	// microphone ("microphone") or the speaker ("speaker") failed: the call
	// goes on without it — sending nothing, or mixing on its own clock with
	// nowhere to play — until SetCapture or SetPlayback hands it a reopened
	// one. Without it, Run returns the device's error instead.
	DeviceLost func(device string, err error)
	// LevelsChanged, when set, is told (on the call's goroutines, or the
	// caller's of AddMember, RemoveMember and SetMute; it must not block)
	// each time this device's audio level or a member's crosses
	// SpeakingLevel (0..1 linear, as CallStats reports levels), a member is
	// added or removed, or the mute changes: whoever decides from Stats who
	// is speaking need look only then, and sleep in between.
	LevelsChanged func()
	SpeakingLevel float64
}

// Call is one room's running audio: capture → encode → send, and receive
// → jitter → decode → mix → playback.
type Call interface {
	// Run moves audio until ctx ends (nil), or returns the device's error
	// (wrapping an hw kind) when the microphone or the speaker fails.
	Run(ctx context.Context) error
	// AddMember mixes a member's audio in; adding one again replaces its
	// stream.
	AddMember(member string, src RTPReader)
	RemoveMember(member string)
	// SetMute mutes the microphone (nothing is sent) and the earphone
	// (silence is played; members are still decoded, so levels stay live).
	SetMute(microphone, earphone bool)
	// SetCapture and SetPlayback hand the call a reopened device after
	// DeviceLost; the call owns neither (the caller closes them).
	SetCapture(hw.Capture)
	SetPlayback(hw.Playback)
	// SetUplinkLoss hears the fraction (0..1) of the sent audio a receiver
	// report says was lost: the encoder's FEC follows it.
	SetUplinkLoss(fraction float64)
	Stats() CallStats
}

// VideoSenderParams are a camera and where its VP8 RTP goes.
type VideoSenderParams struct {
	Camera   hw.Camera
	Out      RTPWriter  // a TrackWriter: the room's track and the display
	Feedback RTCPReader // the room's RTCP about the track; nil: none
}

// VideoSender is camera → I420 → VP8 → RTP.
type VideoSender interface {
	// Run sends until ctx ends (nil), or returns the camera's error (a
	// device kind: ErrAbsent when it vanished). It closes nothing: the
	// caller owns the camera.
	Run(ctx context.Context) error
	RequestKeyframe()
	// SetBitrate sets the encoder's target (the send-side estimate),
	// within VideoMinBitrate and the configured bitrate.
	SetBitrate(bps int)
	// SetPaused stops sending (the camera is still drained); the first
	// frame after a pause is a keyframe.
	SetPaused(bool)
	Stats() OutboundStats
}

// VideoReceiverParams are one member's video and where else it goes.
type VideoReceiverParams struct {
	Member string
	Src    RTPReader
	// Display, when not nil, gets every packet as it passes (the local
	// screen's source), parsed once for both.
	Display RTPWriter
	// WantKeyframe is called (on the receiver's goroutine; it must not
	// block) when the receiver needs a keyframe: the caller sends a PLI.
	WantKeyframe func()
}

// VideoReceiver is RTP → VP8 frames (→ decoded pictures), for one member.
type VideoReceiver interface {
	// Run reads until the track ends (nil) or fails.
	Run(ctx context.Context) error
	Stats() InboundStats
}
