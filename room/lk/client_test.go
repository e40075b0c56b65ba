package lk_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/internal/lktest"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/room/lk"
	"github.com/voipd/voipd/roomd"
	"github.com/voipd/voipd/roomd/lkgate"
)

var app = roomd.App{ID: "wx20afc706a711eefc", Secret: "0123456789abcdef0123456789abcdef"}

func gateway(t *testing.T, node *lktest.Node, redis string) string {
	t.Helper()
	gw, err := lkgate.New(lkgate.Config{URL: node.URL, APIKey: lktest.Key, APISecret: lktest.Secret, Redis: redis})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	srv, err := roomd.New(roomd.Config{Listen: "127.0.0.1:0", Apps: []roomd.App{app}, Gateway: gw})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return "ws" + strings.TrimPrefix(srv.URL(), "http") + "/ws"
}

// member is a test's LiveKit member: what it heard, from whom.
type member struct {
	mu      sync.Mutex
	members []string
	heard   map[string]*atomic.Int64
	lost    chan error
}

func newMember() *member {
	return &member{heard: map[string]*atomic.Int64{}, lost: make(chan error, 1)}
}

func (m *member) MembersChanged(ms []string) {
	m.mu.Lock()
	m.members = ms
	m.mu.Unlock()
}

func (m *member) AudioTrack(who string, t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	m.mu.Lock()
	n := m.heard[who]
	if n == nil {
		n = &atomic.Int64{}
		m.heard[who] = n
	}
	m.mu.Unlock()
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := t.Read(buf); err != nil {
				return
			}
			n.Add(1)
		}
	}()
}

func (m *member) TrackEnded(string) {}
func (m *member) Interrupted(err error) {
	select {
	case m.lost <- err:
	default:
	}
}

func (m *member) packetsFrom(who string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := m.heard[who]; n != nil {
		return n.Load()
	}
	return 0
}

func (m *member) list() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.members)
}

// redirect asks the gateway at url to admit openid into group, as voipd's
// room client does, and returns where it sends the join.
func redirect(t *testing.T, url, openid, group string) *room.Redirect {
	t.Helper()
	return redirectAs(t, url, openid, group, "")
}

// redirectAs is redirect for a join of roomType.
func redirectAs(t *testing.T, url, openid, group, roomType string) *room.Redirect {
	t.Helper()
	sg := roomd.Sign(app, openid, group, time.Now())
	_, err := room.Join(context.Background(), room.Config{URL: url, JoinTimeout: 10 * time.Second},
		room.JoinParams{AppID: app.ID, OpenID: openid, GroupID: group, RoomType: roomType, NonceStr: sg.NonceStr, TimeStamp: sg.TimeStamp, Signature: sg.Signature},
		nopHandler{})
	var rd *room.Redirect
	if !errors.As(err, &rd) {
		t.Fatalf("the gateway's answer: %v, want a redirect to LiveKit", err)
	}
	return rd
}

type nopHandler struct{}

func (nopHandler) MembersChanged([]string)                                     {}
func (nopHandler) AudioTrack(string, *webrtc.TrackRemote, *webrtc.RTPReceiver) {}
func (nopHandler) TrackEnded(string)                                           {}
func (nopHandler) Interrupted(error)                                           {}

// speak writes an Opus packet every 20 ms to s until ctx ends.
func speak(ctx context.Context, s *lk.Session) { speakOn(ctx, s.AudioTrack()) }

// speakOn writes an Opus packet every 20 ms to track until ctx ends.
func speakOn(ctx context.Context, track *webrtc.TrackLocalStaticRTP) {
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111}, Payload: []byte{0xf8, 0xff, 0xfe}}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			p.SequenceNumber++
			p.Timestamp += 960
			track.WriteRTP(p)
		}
	}
}

// TestTwoPanelsThroughTwoGateways (issue 18, test 1): two panels join one
// groupId through different gateways; LiveKit's RoomService lists both;
// each receives the other's audio; a leave is seen by LiveKit and by the
// other panel.
func TestTwoPanelsThroughTwoGateways(t *testing.T) {
	redis := lktest.Redis(t)
	node := lktest.LiveKit(t, redis)
	gws := []string{gateway(t, node, redis), gateway(t, node, redis)}
	ids := []string{"door-1", "door-2"}
	var sess [2]*lk.Session
	var ms [2]*member
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i, id := range ids {
		rd := redirect(t, gws[i], id, "lobby")
		if rd.URL != node.URL || rd.Resume == "" || rd.Grace <= 0 {
			t.Fatalf("%s's redirect %+v: want %s with a resume ticket and grace", id, rd, node.URL)
		}
		ms[i] = newMember()
		s, err := lk.Join(context.Background(), lk.Params{URL: rd.URL, Token: rd.Token, Identity: id, Resume: rd.Resume,
			Grace: rd.Grace, JoinTimeout: 20 * time.Second}, ms[i])
		if err != nil {
			t.Fatalf("%s joining LiveKit: %v", id, err)
		}
		defer s.Leave(context.Background())
		if s.Ticket() != rd.Resume {
			t.Errorf("%s's ticket is not the gateway's", id)
		}
		sess[i] = s
		go speak(ctx, s)
	}
	roomName := lkgate.RoomName(proto.KindVoIP, app.ID, "lobby")
	eventually(t, 20*time.Second, func() (bool, string) {
		got, err := node.Participants(roomName)
		return err == nil && slices.Equal(got, ids), "RoomService lists " + strings.Join(got, ",")
	})
	eventually(t, 20*time.Second, func() (bool, string) {
		a, b := ms[0].packetsFrom("door-2"), ms[1].packetsFrom("door-1")
		return a > 50 && b > 50, "door-1 received " + strconv.FormatInt(a, 10) + " packets from door-2, door-2 " + strconv.FormatInt(b, 10) + " from door-1"
	})
	if l := sess[0].Members(); !slices.Equal(l, ids) && !slices.Equal(l, []string{"door-2", "door-1"}) {
		t.Errorf("door-1's members %v", l)
	}
	if st := sess[0].Stats(); st.State != "connected" || !strings.Contains(st.RemoteCandidate, "127.0.0.1") {
		t.Errorf("door-1's stats %+v: want connected over loopback", st)
	}

	// door-2 leaves: LiveKit and door-1 see it.
	if err := sess[1].Leave(context.Background()); err != nil {
		t.Errorf("door-2's leave: %v", err)
	}
	eventually(t, 20*time.Second, func() (bool, string) {
		got, err := node.Participants(roomName)
		return err == nil && slices.Equal(got, []string{"door-1"}), "RoomService lists " + strings.Join(got, ",")
	})
	eventually(t, 20*time.Second, func() (bool, string) {
		l := ms[0].list()
		return slices.Equal(l, []string{"door-1"}), "door-1's members " + strings.Join(l, ",")
	})
	select {
	case err := <-ms[0].lost:
		t.Errorf("door-1 lost its room: %v", err)
	default:
	}
}

func eventually(t *testing.T, d time.Duration, f func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, what := f()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
