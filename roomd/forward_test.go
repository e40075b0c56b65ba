package roomd

import (
	"slices"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto/rtpcodecs"
)

// headerSink keeps the extension ids of the last packet written.
type headerSink struct {
	ids       []uint8
	extension bool
}

func (s *headerSink) Write(h *rtp.Header, p []byte, _ interceptor.Attributes) (int, error) {
	s.ids, s.extension = h.GetExtensionIDs(), h.Extension
	return len(p), nil
}

// The forwarder drops the hop's extensions (here transport-cc as 3, MID as
// 4) and keeps the media's (audio level as 1), whatever their order.
func TestForwarderDropsHopExtensions(t *testing.T) {
	fwd, err := webrtc.NewTrackLocalStaticRTP(rtpcodecs.VP8, "video", "publisher")
	if err != nil {
		t.Fatal(err)
	}
	sink := &headerSink{}
	if _, err := fwd.Bind(&bindingCtx{id: "r", ssrc: 7, out: sink}); err != nil {
		t.Fatal(err)
	}
	f := forwarder{hop: []uint8{3, 4}}
	for _, tc := range []struct {
		name string
		in   []uint8
		want []uint8
	}{
		{"audio level kept", []uint8{3, 1, 4}, []uint8{1}},
		{"only hop extensions", []uint8{4, 3}, nil},
		{"none to drop", []uint8{1}, []uint8{1}},
		{"no extensions", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: rtpcodecs.VP8PayloadType, SSRC: 0xabc}, Payload: []byte{1, 2, 3}}
			for _, id := range tc.in {
				if err := p.Header.SetExtension(id, []byte{id}); err != nil {
					t.Fatal(err)
				}
			}
			b, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if err := f.forward(fwd, b); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sink.ids, tc.want) || sink.extension != (len(tc.want) > 0) {
				t.Errorf("forwarded extensions %v (extension bit %v), want %v", sink.ids, sink.extension, tc.want)
			}
		})
	}
}
