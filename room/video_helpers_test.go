package room_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/roomd"
)

// videoRecorder is a recorder that is also a room.VideoHandler and reads
// every video track it is given.
type videoRecorder struct {
	*recorder
	vtracks  chan string
	vended   chan string
	vmembers chan []string
	vpackets chan packet
}

func newVideoRecorder() *videoRecorder {
	return &videoRecorder{
		recorder: newRecorder(),
		vtracks:  make(chan string, 64),
		vended:   make(chan string, 64),
		vmembers: make(chan []string, 64),
		vpackets: make(chan packet, 4096),
	}
}

var _ room.VideoHandler = (*videoRecorder)(nil)

func (r *videoRecorder) VideoTrackEnded(m string)       { r.vended <- m }
func (r *videoRecorder) VideoMembersChanged(m []string) { r.vmembers <- m }

func (r *videoRecorder) VideoTrack(member string, t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	r.vtracks <- member
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			p, _, err := t.ReadRTP()
			if err != nil {
				return
			}
			select {
			case r.vpackets <- packet{member: member, pkt: p}:
			default:
			}
		}
	}()
}

// waitVideoFrom waits for a video packet that member sent (payload starts
// with its openid) with VP8's payload type.
func (r *videoRecorder) waitVideoFrom(t *testing.T, member string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case p := <-r.vpackets:
			if p.member != member || !bytes.HasPrefix(p.pkt.Payload, []byte(member+":")) {
				continue
			}
			if p.pkt.PayloadType != 96 {
				t.Fatalf("video from %s has payload type %d, want 96", member, p.pkt.PayloadType)
			}
			return
		case <-deadline:
			fatalStalled(t, "no video from %s", member)
		}
	}
}

// videoSenders counts, for a second after the pipeline settled, whose
// video packets arrive.
func (r *videoRecorder) videoSenders(t *testing.T) map[string]int {
	t.Helper()
	time.Sleep(500 * time.Millisecond) // packets in flight before the change
	drainVideo(r)
	got := map[string]int{}
	end := time.After(1500 * time.Millisecond)
	for {
		select {
		case p := <-r.vpackets:
			got[p.member]++
		case <-end:
			return got
		}
	}
}

// videoWindowUntil takes videoSenders windows until ok holds of one,
// failing the test after waitLimit with the last window.
func (r *videoRecorder) videoWindowUntil(t *testing.T, who string, ok func(map[string]int) bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		got := r.videoSenders(t)
		if ok(got) {
			return
		}
		if time.Now().After(deadline) {
			fatalStalled(t, "%s got video packets %v", who, got)
		}
	}
}

func drainVideo(r *videoRecorder) {
	for {
		select {
		case <-r.vpackets:
		default:
			return
		}
	}
}

// waitVideoMembers waits for a VideoMembersChanged with exactly want.
func (r *videoRecorder) waitVideoMembers(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case m := <-r.vmembers:
			if strings.Join(m, ",") == strings.Join(want, ",") {
				return
			}
		case <-deadline:
			fatalStalled(t, "no VideoMembersChanged %v", want)
		}
	}
}

func (r *videoRecorder) waitVideoEnded(t *testing.T, member string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case m := <-r.vended:
			if m == member {
				return
			}
		case <-deadline:
			fatalStalled(t, "no VideoTrackEnded(%s)", member)
		}
	}
}

// joinVideo joins with roomType video.
func joinVideo(t *testing.T, srv *roomd.Server, openid, group string, h room.Handler) *room.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p := params(openid, group)
	p.RoomType = "video"
	s, err := room.Join(ctx, room.Config{URL: wsURL(srv), Logger: testLogger()}, p, h)
	if err != nil {
		t.Fatalf("%s: join: %v", openid, err)
	}
	t.Cleanup(func() { s.Leave(context.Background()) })
	return s
}

// publish writes VP8-like RTP (payload "openid:counter", 30 a second) to
// the session's video track until ctx ends, through failed writes, and returns a channel of the
// PLIs its VideoSender receives for its own SSRC.
func publish(ctx context.Context, t *testing.T, s *room.Session, openid string) <-chan struct{} {
	track, sender := s.VideoTrack(), s.VideoSender()
	if track == nil || sender == nil {
		t.Fatalf("%s: no video track in a video room", openid)
	}
	enc := sender.GetParameters().Encodings
	if len(enc) == 0 {
		t.Fatalf("%s: video sender has no encoding", openid)
	}
	ssrc := uint32(enc[0].SSRC)
	plis := make(chan struct{}, 64)
	go func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if pli, ok := p.(*rtcp.PictureLossIndication); ok && pli.MediaSSRC == ssrc {
					select {
					case plis <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	go func() {
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); ; seq++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: true,
				SequenceNumber: seq, Timestamp: uint32(seq) * 3000},
				Payload: []byte(openid + ":" + string(rune('a'+seq%26)))}
			// Like the daemon's pipeline, a failed write (a renegotiation
			// rebinding the track, a reconnect) is not the end.
			_ = track.WriteRTP(p)
		}
	}()
	return plis
}

// waitPLI waits for a PLI on plis.
func waitPLI(t *testing.T, plis <-chan struct{}, why string) {
	t.Helper()
	select {
	case <-plis:
	case <-time.After(waitLimit):
		t.Fatalf("no PLI at the publisher after %s", why)
	}
}

func drainPLIs(plis <-chan struct{}) {
	for {
		select {
		case <-plis:
		default:
			return
		}
	}
}
