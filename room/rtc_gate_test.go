package room

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/roomd"
	"github.com/voipd/voipd/roomd/token"
)

// gateHandler counts the audio packets that arrive from each member.
type gateHandler struct {
	mu  sync.Mutex
	got map[string]int
}

func (h *gateHandler) MembersChanged([]string) {}
func (h *gateHandler) TrackEnded(string)       {}
func (h *gateHandler) Interrupted(error)       {}

func (h *gateHandler) AudioTrack(member string, t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	go func() {
		for {
			if _, _, err := t.ReadRTP(); err != nil {
				return
			}
			h.mu.Lock()
			h.got[member]++
			h.mu.Unlock()
		}
	}()
}

func (h *gateHandler) count(member string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got[member]
}

// The server's own check, with this process's gate forced open: a
// subscriber-only member that sends anyway (a client that ignores
// canPublish) reaches no one, while a publisher's audio does.
func TestRTCServerDropsSubscriberMedia(t *testing.T) {
	app := roomd.App{ID: "5f3c8a9b2d1e4f6a7b8c9d0e", Secret: "rtc-app-key"}
	srv, err := roomd.New(roomd.Config{Listen: "127.0.0.1:0", Apps: []roomd.App{app}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg := Config{URL: strings.Replace(srv.URL(), "http", "ws", 1) + "/ws"}
	join := func(user string, publish bool, h Handler) *Session {
		tok := token.New(app.ID, "hall", user, time.Now())
		if publish {
			tok.AddPrivilege(token.PublishStream, 0)
		}
		tok.AddPrivilege(token.SubscribeStream, 0)
		ts, err := tok.Serialize(app.Secret)
		if err != nil {
			t.Fatal(err)
		}
		s, err := JoinRTC(ctx, cfg, RTCJoinParams{AppID: app.ID, RoomID: "hall", UserID: user, Token: ts,
			AutoPublish: true, AutoSubscribe: true}, h)
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		t.Cleanup(func() { s.Leave(context.Background()) })
		return s
	}
	third := &gateHandler{got: map[string]int{}}
	pub := join("pub", true, &gateHandler{got: map[string]int{}})
	sub := join("sub", false, &gateHandler{got: map[string]int{}})
	join("third", false, third)
	sub.rtcState().gate.audio.Store(true)

	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second) // generous: the suite runs beside other heavy jobs
	for seq := uint16(0); third.count("pub") < 50; seq++ {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("the publisher's audio did not arrive (%d packets)", third.count("pub"))
		}
		for _, s := range []*Session{pub, sub} {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte{0xf8}}
			if err := s.AudioTrack().WriteRTP(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := third.count("sub"); n != 0 {
		t.Fatalf("%d packets of the subscriber-only member were forwarded", n)
	}

	// A publisher that stopped publishing but sends anyway is not
	// forwarded either.
	if err := pub.SetPublishing(false, false); err != nil {
		t.Fatal(err)
	}
	pub.rtcState().gate.audio.Store(true)
	time.Sleep(200 * time.Millisecond) // packets already on their way land
	before := third.count("pub")
	for seq := uint16(1000); seq < 1050; seq++ {
		<-tick.C
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte{0xf8}}
		if err := pub.AudioTrack().WriteRTP(p); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if n := third.count("pub") - before; n != 0 {
		t.Fatalf("%d packets were forwarded after SetPublishing(false, false)", n)
	}
}
