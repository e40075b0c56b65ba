package room_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/roomd"
)

var testApp = roomd.App{ID: "wx20afc706a711eefc", Secret: "test-secret"}

func testLogger() *slog.Logger {
	if os.Getenv("ROOM_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startServer runs a roomd on 127.0.0.1 for the test's lifetime.
func startServer(t *testing.T, mod func(*roomd.Config)) *roomd.Server {
	t.Helper()
	cfg := roomd.Config{Listen: "127.0.0.1:0", Apps: []roomd.App{testApp}, Logger: testLogger()}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := roomd.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func wsURL(srv *roomd.Server) string {
	return strings.Replace(srv.URL(), "http", "ws", 1) + "/ws"
}

func params(openid, group string) room.JoinParams {
	s := roomd.Sign(testApp, openid, group, time.Now())
	return room.JoinParams{AppID: s.AppID, OpenID: s.OpenID, GroupID: s.GroupID, NonceStr: s.NonceStr,
		TimeStamp: s.TimeStamp, Signature: s.Signature, RoomType: "voice"}
}

type packet struct {
	member string
	pkt    *rtp.Packet
	extID  uint8 // the receiver's negotiated audio level id
}

// recorder is a Handler that records events on channels and reads every
// audio track it is given.
type recorder struct {
	members     chan []string
	tracks      chan string
	ended       chan string
	interrupted chan error
	packets     chan packet
	wg          sync.WaitGroup

	reconnecting chan error
	reconnected  chan struct{}
}

func newRecorder() *recorder {
	return &recorder{
		members:     make(chan []string, 64),
		tracks:      make(chan string, 64),
		ended:       make(chan string, 64),
		interrupted: make(chan error, 4),
		packets:     make(chan packet, 4096),

		reconnecting: make(chan error, 16),
		reconnected:  make(chan struct{}, 16),
	}
}

func (r *recorder) Reconnecting(err error) { r.reconnecting <- err }
func (r *recorder) Reconnected()           { r.reconnected <- struct{}{} }

func (r *recorder) MembersChanged(m []string) { r.members <- m }
func (r *recorder) TrackEnded(m string)       { r.ended <- m }
func (r *recorder) Interrupted(err error)     { r.interrupted <- err }

func (r *recorder) AudioTrack(member string, t *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
	var id uint8
	for _, e := range rcv.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			id = uint8(e.ID)
		}
	}
	r.tracks <- member
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			p, _, err := t.ReadRTP()
			if err != nil {
				return
			}
			select {
			case r.packets <- packet{member: member, pkt: p, extID: id}:
			default: // the test stopped looking
			}
		}
	}()
}

// waitMembers waits for a MembersChanged with exactly want.
func (r *recorder) waitMembers(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case m := <-r.members:
			if strings.Join(m, ",") == strings.Join(want, ",") {
				return
			}
		case <-deadline:
			fatalStalled(t, "no MembersChanged %v", want)
		}
	}
}

// waitPacketFrom waits for a packet that member sent (payload starts with
// its openid) carrying the audio level it set.
func (r *recorder) waitPacketFrom(t *testing.T, member string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case p := <-r.packets:
			if p.member != member || !bytes.HasPrefix(p.pkt.Payload, []byte(member+":")) {
				continue
			}
			if p.extID == 0 {
				t.Fatalf("receiver negotiated no audio level extension")
			}
			ext := p.pkt.GetExtension(p.extID)
			if len(ext) != 1 || ext[0] != levelByte {
				t.Fatalf("audio level extension from %s = %x, want %x", member, ext, levelByte)
			}
			return
		case <-deadline:
			fatalStalled(t, "no packet from %s", member)
		}
	}
}

const levelByte = 0x80 | 30 // voice activity, -30 dBov

// sendAudio writes Opus-like RTP (payload "openid:counter") with the audio
// level extension every 20 ms until ctx ends, through failed writes.
func sendAudio(ctx context.Context, t *testing.T, s *room.Session, openid string) {
	id := s.AudioLevelExtID()
	if id == 0 {
		t.Errorf("%s: no audio level extension negotiated", openid)
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for seq := uint16(0); ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960},
			Payload: []byte(openid + ":" + string(rune('a'+seq%26)))}
		if err := p.SetExtension(id, []byte{levelByte}); err != nil {
			t.Error(err)
			return
		}
		// Like the daemon's pipeline, a failed write (the media connection
		// down, a reconnect under way) is not the end: the next may pass.
		_ = s.AudioTrack().WriteRTP(p)
	}
}

func join(t *testing.T, srv *roomd.Server, openid, group string, h room.Handler) *room.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := room.Join(ctx, room.Config{URL: wsURL(srv), Logger: testLogger()}, params(openid, group), h)
	if err != nil {
		t.Fatalf("%s: join: %v", openid, err)
	}
	t.Cleanup(func() { s.Leave(context.Background()) })
	return s
}

func asRoomError(err error, target **room.Error) bool { return errors.As(err, target) }

// waitLimit bounds the tests' waits for something that must happen (a
// packet, a member list, a PLI): generous, because the suite must pass
// beside another heavy job; nothing is measured against it.
const waitLimit = 30 * time.Second

// fatalStalled fails the test for media or events that never came, with
// what every goroutine of the process was doing: a stall under load is
// rare, and the stacks are what tell a blocked goroutine from a network
// that lost the packets. ROOM_TEST_DUMP=dir writes the full stacks to a
// file there instead of the aggregated ones to the log.
func fatalStalled(t *testing.T, format string, args ...any) {
	t.Helper()
	if dir := os.Getenv("ROOM_TEST_DUMP"); dir != "" {
		f, err := os.CreateTemp(dir, "stall-*.txt")
		if err == nil {
			pprof.Lookup("goroutine").WriteTo(f, 2)
			f.Close()
			t.Logf("goroutines: %s", f.Name())
		}
	} else {
		var b strings.Builder
		pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Logf("goroutines at the stall:\n%s", b.String())
	}
	t.Fatalf(format, args...)
}
