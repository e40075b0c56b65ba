package roomd

import (
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/nack"
	"github.com/voipd/voipd/proto/rtpcodecs"
)

// subscribers is how many receivers one published packet goes to here.
const subscribers = 3

// twccID is the transport-cc extension's id in uploadPacket, as if
// negotiated so.
const twccID = 3

// uploadPacket is a publisher's video packet as roomd reads it: VP8 with
// the transport-cc header extension every member sends.
func uploadPacket(t testing.TB) []byte {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: rtpcodecs.VP8PayloadType, SSRC: 0xabc}, Payload: make([]byte, 1100)}
	if err := p.Header.SetExtension(twccID, []byte{0, 1}); err != nil {
		t.Fatal(err)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bindingCtx binds a forwarding track to a local stream the way an
// RTPSender does, minus the transport: the stream is the given writer.
type bindingCtx struct {
	id   string
	ssrc webrtc.SSRC
	out  interceptor.RTPWriter
}

func (c *bindingCtx) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{{RTPCodecCapability: rtpcodecs.VP8, PayloadType: rtpcodecs.VP8PayloadType}}
}
func (c *bindingCtx) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (c *bindingCtx) SSRC() webrtc.SSRC                                      { return c.ssrc }
func (c *bindingCtx) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (c *bindingCtx) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (c *bindingCtx) WriteStream() webrtc.TrackLocalWriter                   { return c }
func (c *bindingCtx) ID() string                                             { return c.id }
func (c *bindingCtx) RTCPReader() interceptor.RTCPReader                     { return nil }
func (c *bindingCtx) Write(b []byte) (int, error)                            { return len(b), nil }
func (c *bindingCtx) WriteRTP(h *rtp.Header, p []byte) (int, error)          { return c.out.Write(h, p, nil) }

// wireSink stands for SRTP and the socket: it checks each packet is the
// receiver's (its SSRC) without the upload's transport-cc number, and
// counts.
type wireSink struct {
	ssrc           uint32
	packets, wrong int
}

func (w *wireSink) Write(h *rtp.Header, p []byte, _ interceptor.Attributes) (int, error) {
	w.packets++
	if h.SSRC != w.ssrc || h.GetExtension(twccID) != nil {
		w.wrong++
	}
	return len(p), nil
}

// The project's forwarding step, one packet to N receivers through pion's
// forwarding track and each receiver's NACK responder (which keeps a copy
// of every video packet), allocates nothing.
func TestForwardAllocatesNothing(t *testing.T) {
	fwd, err := webrtc.NewTrackLocalStaticRTP(rtpcodecs.VP8, "video", "publisher")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := nack.NewResponder()
	if err != nil {
		t.Fatal(err)
	}
	var sinks []*wireSink
	for i := range subscribers {
		ic, err := resp.NewInterceptor(fmt.Sprint("pc", i))
		if err != nil {
			t.Fatal(err)
		}
		ssrc := uint32(1000 + i)
		sink := &wireSink{ssrc: ssrc}
		sinks = append(sinks, sink)
		info := &interceptor.StreamInfo{SSRC: ssrc, RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack"}}}
		if _, err := fwd.Bind(&bindingCtx{id: fmt.Sprint(i), ssrc: webrtc.SSRC(ssrc), out: ic.BindLocalStream(info, sink)}); err != nil {
			t.Fatal(err)
		}
	}
	pkt := uploadPacket(t)
	f := forwarder{hop: []uint8{twccID}}
	seq := uint16(0)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		binary.BigEndian.PutUint16(pkt[2:], seq)
		if err := f.forward(fwd, pkt); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("forwarding one packet to %d receivers: %v allocations, want 0", subscribers, allocs)
	}
	for i, s := range sinks {
		if s.packets != 1001 || s.wrong != 0 {
			t.Errorf("receiver %d: %d packets (%d with another SSRC or transport-cc), want 1001", i, s.packets, s.wrong)
		}
	}
	// What the forwarding loop did before forwarder: Write parses into a
	// pooled packet pion zeroes, so the extension slice is made anew.
	t.Logf("per packet to %d receivers: forwarder %v allocations, TrackLocalStaticRTP.Write %v",
		subscribers, allocs, testing.AllocsPerRun(1000, func() { _, _ = fwd.Write(pkt) }))
}

// mutedConn is a subscriber's socket that can stop handing packets to
// pion, so that measuring roomd's sends does not count the subscribers'
// receiving in the same process. It reads with ReadFromUDPAddrPort, which
// allocates nothing while it drops.
type mutedConn struct {
	*net.UDPConn
	muted atomic.Bool
}

func (c *mutedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, ap, err := c.ReadFromUDPAddrPort(b)
		if err != nil || !c.muted.Load() {
			return n, net.UDPAddrFromAddrPort(ap), err
		}
	}
}

// loopbackMux is a UDP mux on 127.0.0.1, over mc when it is not nil.
func loopbackMux(t *testing.T, mc *mutedConn) ice.UDPMux {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var pc net.PacketConn = conn
	if mc != nil {
		mc.UDPConn, pc = conn, mc
	}
	mux := webrtc.NewICEUDPMux(nil, pc)
	t.Cleanup(func() { mux.Close() })
	return mux
}

// pionAPI is roomd's API as newAPI built it before package nack: pion's
// default interceptors, its NACK responder among them. Also the
// subscribers' API.
func pionAPI(t *testing.T, mux ice.UDPMux) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: rtpcodecs.VP8, PayloadType: rtpcodecs.VP8PayloadType},
		webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetICEUDPMux(mux)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// negotiate has the server offer, as roomd does, and the client answer,
// with every candidate in the descriptions.
func negotiate(t *testing.T, server, client *webrtc.PeerConnection) {
	t.Helper()
	publish := func(from, to *webrtc.PeerConnection, d webrtc.SessionDescription, err error) {
		if err != nil {
			t.Fatal(err)
		}
		done := webrtc.GatheringCompletePromise(from)
		if err := from.SetLocalDescription(d); err != nil {
			t.Fatal(err)
		}
		<-done
		if err := to.SetRemoteDescription(*from.LocalDescription()); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := server.CreateOffer(nil)
	publish(server, client, offer, err)
	answer, err := client.CreateAnswer(nil)
	publish(client, server, answer, err)
}

// forwardOverLoopback forwards packets from one forwarding track to
// subscribers real PeerConnections made by api on 127.0.0.1, and returns
// the heap allocations per forwarded packet: roomd's part only, the
// subscribers muted meanwhile. It includes pion below WriteRTP: the
// interceptors, SRTP, the socket.
func forwardOverLoopback(t *testing.T, api *webrtc.API) float64 {
	fwd, err := webrtc.NewTrackLocalStaticRTP(rtpcodecs.VP8, "video", "publisher")
	if err != nil {
		t.Fatal(err)
	}
	var conns []*mutedConn
	var tracks atomic.Int32
	for range subscribers {
		server, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { server.Close() })
		tr, err := server.AddTransceiverFromTrack(fwd, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			t.Fatal(err)
		}
		go func() { // as addVideoSender: RTCP is read, the interceptors run
			buf := make([]byte, 1500)
			for {
				if _, _, err := tr.Sender().Read(buf); err != nil {
					return
				}
			}
		}()
		mc := &mutedConn{}
		conns = append(conns, mc)
		client, err := pionAPI(t, loopbackMux(t, mc)).NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		client.OnTrack(func(rt *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			tracks.Add(1)
			buf := make([]byte, 1500)
			for {
				if _, _, err := rt.Read(buf); err != nil {
					return
				}
			}
		})
		negotiate(t, server, client)
	}
	pkt, f, seq := uploadPacket(t), forwarder{}, uint16(0)
	send := func() {
		seq++
		binary.BigEndian.PutUint16(pkt[2:], seq)
		_ = f.forward(fwd, pkt)
	}
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for tracks.Load() < subscribers { // pion calls OnTrack on a first packet
		select {
		case <-tick.C:
			send()
		case <-deadline:
			t.Fatalf("%d of %d subscribers received the track", tracks.Load(), subscribers)
		}
	}
	for _, c := range conns {
		c.muted.Store(true)
	}
	for range 200 { // warm: rings and pools filled
		send()
	}
	const runs = 2000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		send()
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / runs
}

// One video packet to three subscribers over real PeerConnections: with
// roomd's interceptors (newAPI) and with pion's defaults. The figures
// include pion below WriteRTP and the process's background goroutines
// (timers, RTCP), so they are not required to be zero;
// TestForwardAllocatesNothing holds the project's part to zero. pion's
// stats interceptor, which newAPI leaves out, cloned every header (one
// allocation per receiver): a figure of one or more per packet means
// something on the path allocates per packet again.
func TestForwardAllocsOverLoopback(t *testing.T) {
	ours, err := newAPI(loopbackMux(t, nil), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	withNack := forwardOverLoopback(t, ours)
	withPion := forwardOverLoopback(t, pionAPI(t, loopbackMux(t, nil)))
	t.Logf("allocations per packet forwarded to %d subscribers: %.2f with package nack, %.2f with pion's default interceptors",
		subscribers, withNack, withPion)
	// pion's responder copies each packet once per receiver, several
	// allocations each; a background goroutine's few cannot close that gap.
	if withNack+subscribers > withPion {
		t.Errorf("package nack saves fewer than %d allocations per packet (%.2f against %.2f)", subscribers, withNack, withPion)
	}
	if withNack >= 1 && !raceEnabled {
		t.Errorf("roomd's interceptors: %.2f allocations per packet forwarded to %d subscribers, want well under one", withNack, subscribers)
	}
}
