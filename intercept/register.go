package intercept

import (
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/nack"
)

// Register does for a client what webrtc.RegisterDefaultInterceptors does,
// with the project's allocation-free interceptors in the places of pion's:
// NACK feedback and PLI for video, package nack's responder (resp) and
// generator, this package's sender and receiver reports, the simulcast
// header extensions. Left out:
// pion's stats interceptor (it clones every header; nothing here calls
// GetStats) and its transport-cc feedback sender (roomd strips the
// transport-wide numbers from what it forwards and keeps no estimate
// toward its receivers, so that feedback would say nothing). The
// transport-cc extension and feedback are still registered with the
// MediaEngine, so the SDP is what it was; bwe (nil: none) numbers the
// packets and reads roomd's feedback. The order is pion's: interceptors
// registered before Register, and bwe, sit nearer the wire and see what
// resp resends.
func Register(me *webrtc.MediaEngine, ir *interceptor.Registry, resp interceptor.Factory, bwe *BWE) error {
	if bwe != nil {
		ir.Add(bwe)
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir.Add(resp)
	ir.Add(nack.NewGenerator())
	ir.Add(NewReports())
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return err
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, webrtc.RTPCodecTypeVideo)
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, webrtc.RTPCodecTypeVideo); err != nil {
		return err
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, webrtc.RTPCodecTypeAudio)
	return me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, webrtc.RTPCodecTypeAudio)
}
