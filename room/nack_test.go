package room

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto/rtpcodecs"
)

// lossyConn drops the first transmission of every tenth RTP packet the
// sender writes and counts retransmissions: SRTP encrypts only the payload
// (RFC 3711 §3.1), so sequence numbers can be read on the wire. Dropping by
// sequence number rather than at random makes the loss exactly 10 % and
// lets every retransmission through, so the receiver must end up with
// every packet.
type lossyConn struct {
	net.PacketConn

	mu      sync.Mutex
	seen    map[uint16]bool
	dropped int
	resent  int
}

func (c *lossyConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	// RTP, not RTCP (RFC 5761 §4: payload types 64-95 with the marker bit
	// are RTCP's 192-223), STUN or DTLS (RFC 7983 §7).
	if len(b) >= 12 && b[0]>>6 == 2 && !(b[1] >= 192 && b[1] <= 223) {
		seq := binary.BigEndian.Uint16(b[2:])
		c.mu.Lock()
		again := c.seen[seq]
		c.seen[seq] = true
		if again {
			c.resent++
		}
		drop := !again && seq%10 == 3
		if drop {
			c.dropped++
		}
		c.mu.Unlock()
		if drop {
			return len(b), nil
		}
	}
	return c.PacketConn.WriteTo(b, addr)
}

func (c *lossyConn) counts() (dropped, resent int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped, c.resent
}

// lossyPeer is a PeerConnection from newAPI, the one the room client uses,
// on a UDP socket of its own on 127.0.0.1 (wrapped by wrap).
func lossyPeer(t *testing.T, wrap func(net.PacketConn) net.PacketConn) *webrtc.PeerConnection {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	mux := webrtc.NewICEUDPMux(nil, wrap(conn))
	t.Cleanup(func() { mux.Close() })
	api, err := newAPI(true, 0, nil, func(_ *webrtc.MediaEngine, _ *interceptor.Registry, se *webrtc.SettingEngine) error {
		se.SetICEUDPMux(mux)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// connect runs offer and answer between a and b with every candidate in
// the descriptions.
func connect(t *testing.T, a, b *webrtc.PeerConnection) {
	t.Helper()
	offer, err := a.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(a)
	if err := a.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := b.SetRemoteDescription(*a.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := b.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done = webrtc.GatheringCompletePromise(b)
	if err := b.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := a.SetRemoteDescription(*b.LocalDescription()); err != nil {
		t.Fatal(err)
	}
}

// A video sender losing 10 % of its packets on the way: the receiver's
// NACKs (package nack's generator) reach the sender's responder (package
// nack's too), which resends from its ring, and the receiver gets every
// packet.
func TestNACKRecoversLoss(t *testing.T) {
	const packets = 400
	const first = 1000
	lossy := &lossyConn{seen: map[uint16]bool{}}
	sender := lossyPeer(t, func(c net.PacketConn) net.PacketConn { lossy.PacketConn = c; return lossy })
	receiver := lossyPeer(t, func(c net.PacketConn) net.PacketConn { return c })

	track, err := webrtc.NewTrackLocalStaticRTP(rtpcodecs.VP8, "video", "sender")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := sender.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	go func() { // the responder runs in the RTCP read
		buf := make([]byte, 1500)
		for {
			if _, _, err := rs.Read(buf); err != nil {
				return
			}
		}
	}()

	var mu sync.Mutex
	got := map[uint16]bool{}
	all := make(chan struct{})
	receiver.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			mu.Lock()
			got[p.SequenceNumber] = true
			if len(got) == packets {
				close(all)
			}
			mu.Unlock()
		}
	})
	connected := make(chan struct{})
	var once sync.Once
	sender.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	connect(t, sender, receiver)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case <-connected:
	case <-ctx.Done():
		t.Fatal("the pair never connected")
	}
	// Paced like a camera's packets: a burst of 400 could overflow the
	// socket buffers and lose packets the test did not drop.
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: rtpcodecs.VP8PayloadType}, Payload: make([]byte, 900)}
	for i := range packets {
		<-tick.C
		p.SequenceNumber = uint16(first + i)
		p.Timestamp = uint32(i/4) * 3000 // four packets a frame
		p.Marker = i%4 == 3
		p.Payload[0] = 0x10 // VP8 descriptor: start of a partition
		if err := track.WriteRTP(p); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-ctx.Done():
		mu.Lock()
		n := len(got)
		mu.Unlock()
		dropped, resent := lossy.counts()
		t.Fatalf("receiver has %d of %d packets (%d dropped, %d resent)", n, packets, dropped, resent)
	}
	dropped, resent := lossy.counts()
	t.Logf("%d packets, %d dropped, %d resent, all received", packets, dropped, resent)
	if dropped != packets/10 || resent < dropped {
		t.Fatalf("%d dropped, %d resent: want %d dropped, each resent", dropped, resent, packets/10)
	}
}
