package media

// The statistics the pipelines keep, in the shape getStats sends them
// (after webrtc-stats' outbound-rtp and inbound-rtp): one type per
// direction for both kinds, every field always present, those of the other
// kind zero. The pipelines fill these directly; nothing copies them field
// by field on the way to the control socket.

// OutboundStats is one sent stream.
type OutboundStats struct {
	Kind        string `json:"kind"` // "audio" | "video"
	PacketsSent uint64 `json:"packetsSent"`
	BytesSent   uint64 `json:"bytesSent"` // payload bytes (VP8: descriptors included)
	// WriteErrors counts packets the room's track refused (the network).
	WriteErrors uint64 `json:"writeErrors"`

	// Audio: the microphone's level, 0..1 linear, of the last captured
	// frame, measured before mute (a UI can say "you are muted" while
	// someone talks).
	AudioLevel float64 `json:"audioLevel"`
	// ExpectedLossPerc is the loss, in percent, the Opus in-band FEC is
	// sized for: the configured opus.packetLossPerc, raised by the loss
	// the room server's receiver reports give.
	ExpectedLossPerc int `json:"expectedLossPerc"`

	// Video.
	FramesEncoded    uint64 `json:"framesEncoded"`
	KeyFramesEncoded uint64 `json:"keyFramesEncoded"`
	TargetBitrate    int    `json:"targetBitrate"` // the encoder's current target, bit/s
	// FramesDropped: damaged camera frames and failed encodes.
	FramesDropped uint64 `json:"framesDropped"`
	// EncodeTimeAvgMs is the mean conversion + encode time of a frame.
	EncodeTimeAvgMs float64 `json:"encodeTimeAvgMs"`
}

// InboundStats is one member's received stream.
type InboundStats struct {
	Member          string `json:"member"`
	Kind            string `json:"kind"` // "audio" | "video"
	PacketsReceived uint64 `json:"packetsReceived"`
	BytesReceived   uint64 `json:"bytesReceived"` // payload bytes
	// PacketsLost is expected − received (RFC 3550 A.3), cumulative.
	PacketsLost      int64  `json:"packetsLost"`
	PacketsMalformed uint64 `json:"packetsMalformed"` // not RTP, or not the codec's payload
	// FramesDecoded: audio frames decoded from a packet; video pictures
	// decoded (0 in voipd, which decodes no member's video: the screen's
	// browser decodes the RTP itself).
	FramesDecoded uint64 `json:"framesDecoded"`

	// Audio.
	JitterMs float64 `json:"jitterMs"` // RFC 3550 A.8 interarrival jitter
	// AudioLevel is 0..1 linear of the frame just played: from the RFC
	// 6464 extension when the member sends it, else measured; 0 while the
	// member is silent.
	AudioLevel      float64 `json:"audioLevel"`
	FramesConcealed uint64  `json:"framesConcealed"` // made up by FEC or PLC
	// As webrtc-stats counts them (and libwebrtc: audio rebuilt from the
	// next packet's in-band FEC is decoded audio, not concealed):
	// TotalSamplesReceived is every sample played from this member, decoded
	// or concealed; ConcealedSamples those made up by PLC (a lost packet
	// with no FEC to rebuild it), SilentConcealedSamples those of them that
	// were silence (libopus failed), ConcealmentEvents the runs of them;
	// FECFramesRecovered the lost packets rebuilt from FEC.
	TotalSamplesReceived   uint64 `json:"totalSamplesReceived"`
	ConcealedSamples       uint64 `json:"concealedSamples"`
	SilentConcealedSamples uint64 `json:"silentConcealedSamples"`
	ConcealmentEvents      uint64 `json:"concealmentEvents"`
	FECFramesRecovered     uint64 `json:"fecFramesRecovered"`
	TargetDelayMs          int    `json:"targetDelayMs"`  // the jitter buffer's target
	PacketsLate            uint64 `json:"packetsLate"`    // arrived after their turn to play
	PacketsDropped         uint64 `json:"packetsDropped"` // duplicates, oversized, or cut to bound latency

	// Video.
	FramesReceived   uint64 `json:"framesReceived"` // complete frames passed on in order (resent packets included)
	KeyFramesDecoded uint64 `json:"keyFramesDecoded"`
	// FramesDropped: damaged, undecodable, or waiting for a keyframe.
	FramesDropped    uint64 `json:"framesDropped"`
	FrameWidth       int    `json:"frameWidth"` // of the last keyframe
	FrameHeight      int    `json:"frameHeight"`
	KeyframeRequests uint64 `json:"pliCount"` // PLIs this receiver asked for
	// Freezes and pauses as webrtc-stats defines them, over the frames
	// passed on whole and in order (what a decoder would show): a pause is
	// a gap of 5 s or more, a freeze a shorter one of at least max(3·avg,
	// avg + 150 ms) of the last 30 gaps. Durations in seconds.
	FreezeCount          uint64  `json:"freezeCount"`
	TotalFreezesDuration float64 `json:"totalFreezesDuration"`
	PauseCount           uint64  `json:"pauseCount"`
	TotalPausesDuration  float64 `json:"totalPausesDuration"`
}

// CallStats are a call's figures: its one sent stream, each member's
// received one, and the microphone's level for speaker events.
type CallStats struct {
	Outbound OutboundStats
	Inbound  []InboundStats
	// Processing is the capture path's hands-free processing; nil when
	// none runs (a synthetic source, or every stage off).
	Processing *ProcessingStats
}

// ProcessingStats are the stages of the capture path's processing
// (codec/apm) and what its echo canceller estimates.
type ProcessingStats struct {
	EchoCancellation, NoiseSuppression, AutoGainControl bool
	// ERLE is how much of the echo the canceller removes, in dB (its
	// recent average; 0 before it has heard far-end audio); EchoDelayMs
	// the echo delay it finds (-1: not yet), ReportedDelayMs what the
	// pipeline tells it (the speaker's queue plus the microphone's).
	ERLE            float64
	EchoDelayMs     float64
	ReportedDelayMs float64
	// Resets counts restarts of the processing: a device reopened, or a
	// burst of speaker underruns that broke the timing it had learnt.
	Resets uint64
	// Errors counts frames the module refused (passed on unprocessed).
	Errors uint64
	// ClockDriftPpm is how much faster the speaker's clock runs than the
	// microphone's, in parts per million, each counted against the
	// system clock over at least 20 s (ClockDriftKnown: measured yet).
	ClockDriftPpm   float64
	ClockDriftKnown bool
}
