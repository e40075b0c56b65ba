package display

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// startServer starts a display on 127.0.0.1:0, closed at the test's end.
func startServer(t *testing.T) *Server {
	t.Helper()
	w := &testWriter{t: t}
	s, err := New(Config{Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		w.stop()
	})
	return s
}

// testWriter sends the server's log lines to t.Log until stop: pion's
// callbacks may still log while the test ends, and t.Log after the end
// panics.
type testWriter struct {
	mu      sync.Mutex
	t       *testing.T
	stopped bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

// whepClient is a pion viewer of one source, as a browser would be.
type whepClient struct {
	pc       *webrtc.PeerConnection
	location string

	// countOnly: count packets into received without keeping them (no
	// allocation per packet on the client's side).
	countOnly bool
	received  atomic.Uint64

	mu      sync.Mutex
	pkts    []rtp.Packet // every packet received, payloads copied
	ssrc    uint32       // the SSRC the answer negotiated
	ended   chan struct{}
	gotData chan struct{}
}

// dialWHEP posts an offer for source id and returns the connected client,
// or the HTTP status when the server refused.
func dialWHEP(ctx context.Context, t *testing.T, base, id string, opts ...func(*whepClient)) (*whepClient, int) {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: vp8Codec, PayloadType: 102},
		webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// An empty registry, not pion's defaults: the client's own receiver
	// reports would allocate per packet and blur the server's measurement.
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	c := &whepClient{pc: pc, ended: make(chan struct{}), gotData: make(chan struct{})}
	for _, o := range opts {
		o(c)
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		defer close(c.ended)
		if c.countOnly {
			buf := make([]byte, 1500)
			for {
				if _, _, err := tr.Read(buf); err != nil {
					return
				}
				c.received.Add(1)
			}
		}
		var once sync.Once
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			p.Payload = append([]byte(nil), p.Payload...)
			c.mu.Lock()
			c.ssrc = uint32(tr.SSRC())
			c.pkts = append(c.pkts, *p)
			c.mu.Unlock()
			once.Do(func() { close(c.gotData) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		t.Fatal("client ICE gathering did not complete")
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/whep/"+url.PathEscape(id),
		strings.NewReader(pc.LocalDescription().SDP))
	req.Header.Set("Content-Type", "application/sdp")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return nil, res.StatusCode
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/sdp" {
		t.Errorf("answer Content-Type %q, want application/sdp", ct)
	}
	c.location = res.Header.Get("Location")
	if !strings.HasPrefix(c.location, "/whep/") {
		t.Fatalf("Location %q", c.location)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		t.Fatal(err)
	}
	return c, res.StatusCode
}

// countOnly makes a client that only counts packets.
func countOnly() func(*whepClient) { return func(c *whepClient) { c.countOnly = true } }

// negotiatedSSRC is the SSRC the session's packets carry.
func (c *whepClient) negotiatedSSRC() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ssrc
}

// packets returns a copy of what the client received so far.
func (c *whepClient) packets() []rtp.Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]rtp.Packet(nil), c.pkts...)
}

// sendPLI asks the server for a keyframe, as a browser's decoder does.
func (c *whepClient) sendPLI() error {
	c.mu.Lock()
	ssrc := c.ssrc
	c.mu.Unlock()
	return c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

// httpDo sends one request and returns its status.
func httpDo(ctx context.Context, method, u string, hdr map[string]string) (int, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, res.Header, nil
}

// eventually polls cond every 10 ms until it holds or ctx ends.
func eventually(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return errors.New("condition not met: " + ctx.Err().Error())
		case <-t.C:
		}
	}
	return nil
}

// producer writes numbered packets (the number in the payload's first 4
// bytes) into src every tick until stop is closed.
func producer(src *Source, ssrc uint32, seq0 uint16, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	payload := make([]byte, 1000)
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 100, SSRC: ssrc, SequenceNumber: seq0}}
	for n := uint32(0); ; n++ {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		payload[0], payload[1], payload[2], payload[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		p.Payload = payload
		p.Marker = n%4 == 3
		p.Timestamp = n / 4 * 3000
		src.WriteRTP(&p)
		p.SequenceNumber++
	}
}
