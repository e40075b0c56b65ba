package pipeline

import (
	"github.com/pion/rtcp"

	"github.com/voipd/voipd/media"
)

// WatchRTCP reads the RTCP that receivers send back about s's stream until
// r fails (the RTPSender was stopped), and acts on it: a PLI or FIR (RFC
// 4585 §6.3.1, RFC 5104 §4.3.1) makes the next frame a keyframe, a REMB
// (draft-alvestrand-rmcat-remb) sets the bitrate, clamped between
// settings.VideoMinBitrate and the configured bitrate. Reading is also what keeps pion's
// interceptors (NACK, reports) running. Run it in its own goroutine.
//
// Transport-wide congestion control (TWCC) feedback is not an estimate:
// pion's interceptor/pkg/gcc turns it into one on the sending side, and
// its BandwidthEstimator.OnTargetBitrateChange callback is where
// s.SetBitrate would be called when the room negotiates TWCC instead of
// REMB.
func WatchRTCP(r media.RTCPReader, s *VideoSender) {
	for {
		pkts, _, err := r.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				s.RequestKeyframe()
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				s.SetBitrate(int(p.Bitrate))
			}
		}
	}
}
