package roomd

import (
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// hopExtensions are the RTP header extensions that describe one hop, not
// the media: a transport-wide sequence number counts the packets on the
// publisher's transport (RFC 8888's predecessor, draft-holmer), MID and RID
// name the publisher's media section, abs-send-time is the sender's clock.
// Forwarded as they arrived they would tell a receiver things about another
// transport: its transport-cc feedback (ten RTCP packets a second per
// receiver, each decrypted and parsed here, then thrown away: roomd has no
// send-side estimate toward receivers) would acknowledge the publisher's
// sequence numbers. The audio level extension is the media's and stays.
var hopExtensions = []string{sdp.TransportCCURI, sdp.SDESMidURI, sdp.SDESRTPStreamIDURI,
	sdp.SDESRepairRTPStreamIDURI, sdp.ABSSendTimeURI}

// forwarder writes raw packets to a forwarding track through one reused
// rtp.Packet. TrackLocalStaticRTP.Write unmarshals into a pooled packet
// that it zeroes after each use, so every packet with a header extension
// (all of them: transport-cc, audio level) cost an allocation; unmarshalled
// here, the extension slice keeps its capacity and WriteRTP copies only the
// struct. It drops the hop's own extensions (hopExtensions) on the way. One
// per read loop.
type forwarder struct {
	pkt   rtp.Packet
	hop   []uint8   // the ids hopExtensions were negotiated under on the upload
	c     *counters // the server's, for metrics; nil counts nothing
	video bool
}

// newForwarder returns the forwarder of an upload received by r, counting
// into c (nil: none) as video or audio.
func newForwarder(r *webrtc.RTPReceiver, c *counters, video bool) *forwarder {
	f := &forwarder{c: c, video: video}
	if r == nil {
		return f
	}
	for _, e := range r.GetParameters().HeaderExtensions {
		for _, uri := range hopExtensions {
			if e.URI == uri && e.ID > 0 && e.ID < 256 {
				f.hop = append(f.hop, uint8(e.ID))
			}
		}
	}
	return f
}

func (f *forwarder) forward(track *webrtc.TrackLocalStaticRTP, b []byte) error {
	if err := f.pkt.Unmarshal(b); err != nil {
		return err
	}
	if f.c != nil {
		f.c.forwarded(f.video, len(b))
	}
	if f.pkt.Extension {
		for _, id := range f.hop {
			// Not found is the usual case for MID, which browsers stop
			// sending once they see it acknowledged; removal shifts the
			// slice in place.
			_ = f.pkt.Header.DelExtension(id)
		}
	}
	return track.WriteRTP(&f.pkt)
}
