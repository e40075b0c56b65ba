package janus

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// joinParallel is how many subscribers join at once, on either server.
const joinParallel = 4

var (
	opusCodec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1"}
	vp8Codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"},
			{Type: "ccm", Parameter: "fir"}, {Type: "goog-remb"}}}
)

// JanusStarter is the Janus leg: a fresh VideoRoom room per N on the Janus
// whose HTTP API is at base (http://127.0.0.1:PORT/janus), the publisher
// joining and publishing with pion's offer, each subscriber joining with
// its own handle, answering Janus's offer and starting.
//
// mediaIP is the one address the peers' ICE uses. Janus's libnice never
// gathers a loopback candidate (its ice_enforce_list cannot name lo), so
// run.sh enforces the host's own address there and passes it here: Linux
// routes traffic between a host's own addresses through lo, as it does
// 127.0.0.1's. nil means 127.0.0.1.
func JanusStarter(base string, mediaIP net.IP) Starter {
	return func(ctx context.Context, n int, sinks *Sinks) (*Publisher, func(), error) {
		api, err := localAPI(mediaIP)
		if err != nil {
			return nil, nil, err
		}
		c, err := newJanusClient(ctx, base)
		if err != nil {
			return nil, nil, err
		}
		var (
			mu  sync.Mutex
			pcs []*webrtc.PeerConnection
		)
		keep := func(pc *webrtc.PeerConnection) {
			mu.Lock()
			pcs = append(pcs, pc)
			mu.Unlock()
		}
		pctx, stopMedia := context.WithCancel(context.Background())
		stop := func() {
			stopMedia()
			mu.Lock()
			all := pcs
			mu.Unlock()
			closeAll(all)
			c.close()
		}
		ph, err := c.attach(ctx)
		if err != nil {
			stop()
			return nil, nil, err
		}
		roomID := rand.Uint64N(1<<40) + 1
		pub, pubID, err := janusPublish(ctx, api, ph, roomID, keep)
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("publisher: %w", err)
		}
		go pub.Run(pctx)
		err = parallel(ctx, n, func(ctx context.Context, i int) error {
			if err := janusSubscribe(ctx, api, c, roomID, pubID, sinks, keep); err != nil {
				return fmt.Errorf("subscriber %d: %w", i, err)
			}
			return nil
		})
		if err != nil {
			stop()
			return nil, nil, err
		}
		return pub, stop, nil
	}
}

// janusPublish creates the room and publishes audio and video in it.
func janusPublish(ctx context.Context, api *webrtc.API, h *janusHandle, roomID uint64,
	keep func(*webrtc.PeerConnection)) (*Publisher, uint64, error) {
	if _, err := h.message(ctx, map[string]any{"request": "create", "room": roomID, "publishers": 1,
		"bitrate": 0, "fir_freq": 0, "audiocodec": "opus", "videocodec": "vp8", "notify_joining": false,
		"description": "bench"}, nil); err != nil {
		return nil, 0, fmt.Errorf("create room: %w", err)
	}
	if _, err := h.message(ctx, map[string]any{"request": "join", "ptype": "publisher", "room": roomID,
		"display": "pub"}, nil); err != nil {
		return nil, 0, err
	}
	joined, err := h.wait(ctx, "joined")
	if err != nil {
		return nil, 0, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, 0, err
	}
	keep(pc)
	up := connected(pc)
	audio, err := webrtc.NewTrackLocalStaticRTP(opusCodec, "audio", "pub")
	if err != nil {
		return nil, 0, err
	}
	video, err := webrtc.NewTrackLocalStaticRTP(vp8Codec, "video", "pub")
	if err != nil {
		return nil, 0, err
	}
	send := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}
	if _, err := pc.AddTransceiverFromTrack(audio, send); err != nil {
		return nil, 0, err
	}
	vt, err := pc.AddTransceiverFromTrack(video, send)
	if err != nil {
		return nil, 0, err
	}
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		return nil, 0, err
	}
	<-webrtc.GatheringCompletePromise(pc) // candidates in the SDP: no trickle
	if _, err := h.message(ctx, map[string]any{"request": "publish"}, pc.LocalDescription()); err != nil {
		return nil, 0, err
	}
	if err := h.trickleDone(ctx); err != nil {
		return nil, 0, err
	}
	ev, err := h.wait(ctx, "event")
	if err != nil {
		return nil, 0, err
	}
	if ev.Jsep == nil {
		return nil, 0, errNoJsep
	}
	if os.Getenv("BENCH_DEBUG_SDP") != "" {
		fmt.Fprintf(os.Stderr, "offer:\n%s\nanswer:\n%s\n", pc.LocalDescription().SDP, ev.Jsep.SDP)
	}
	if err := pc.SetRemoteDescription(*ev.Jsep); err != nil {
		return nil, 0, err
	}
	if err := waitUp(ctx, up); err != nil {
		return nil, 0, err
	}
	// Subscribers may join once Janus, too, counts the publisher as up.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h.waitCore(wctx, "webrtcup"); err != nil {
		return nil, 0, err
	}
	pub := NewPublisher(audio, video)
	go pub.ReadRTCP(vt.Sender())
	return pub, joined.room().ID, nil
}

// janusSubscribe joins one subscriber to feed pubID on its own handle.
func janusSubscribe(ctx context.Context, api *webrtc.API, c *janusClient, roomID, pubID uint64, sinks *Sinks,
	keep func(*webrtc.PeerConnection)) error {
	h, err := c.attach(ctx)
	if err != nil {
		return err
	}
	var ev janusEvent
	for try := 0; ; try++ {
		if _, err = h.message(ctx, map[string]any{"request": "join", "ptype": "subscriber", "room": roomID,
			"streams": []map[string]any{{"feed": pubID}}}, nil); err == nil {
			ev, err = h.wait(ctx, "attached")
		}
		// VideoRoom may not count the publisher as publishing for a moment
		// after its PeerConnection is up: ask again.
		var re *roomError
		if err == nil || try == 10 || !errors.As(err, &re) || re.code != errNoSuchFeed {
			break
		}
		sleep(ctx, 200*time.Millisecond)
	}
	if err != nil {
		return err
	}
	if ev.Jsep == nil {
		return errNoJsep
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	keep(pc)
	up := connected(pc)
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		go sinks.Drain(t)
		go DrainRTCP(r)
	})
	if err := pc.SetRemoteDescription(*ev.Jsep); err != nil {
		return err
	}
	ans, err := pc.CreateAnswer(nil)
	if err == nil {
		err = pc.SetLocalDescription(ans)
	}
	if err != nil {
		return err
	}
	<-webrtc.GatheringCompletePromise(pc)
	if _, err := h.message(ctx, map[string]any{"request": "start"}, pc.LocalDescription()); err != nil {
		return err
	}
	if err := h.trickleDone(ctx); err != nil {
		return err
	}
	if _, err := h.wait(ctx, "event"); err != nil {
		return err
	}
	return waitUp(ctx, up)
}

// connected reports the PeerConnection's first connected (nil) or failed
// state.
func connected(pc *webrtc.PeerConnection) <-chan error {
	ch := make(chan error, 1)
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			once.Do(func() { ch <- nil })
		case webrtc.PeerConnectionStateFailed:
			once.Do(func() { ch <- errors.New("the media connection failed") })
		}
	})
	return ch
}

func waitUp(ctx context.Context, up <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	select {
	case err := <-up:
		return err
	case <-ctx.Done():
		return fmt.Errorf("media connection: %w", ctx.Err())
	}
}

// localAPI is the Janus leg's pion API: Opus and VP8 with the feedback
// both servers use, pion's default interceptors (NACK, reports, TWCC
// feedback) as package room has, and ICE on mediaIP (nil: 127.0.0.1) only.
func localAPI(mediaIP net.IP) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: 111},
		webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: vp8Codec, PayloadType: 96},
		webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool {
		if mediaIP == nil {
			return ip.IsLoopback()
		}
		return ip.Equal(mediaIP)
	})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se)), nil
}
