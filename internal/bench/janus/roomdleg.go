package janus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/roomd"
)

// publisherID is the publisher's openid in roomd's rooms.
const publisherID = "pub"

// RoomdStarter is the roomd leg: a fresh video room per N on the roomd
// whose WebSocket is wsURL, everyone joining through package room with
// joins signed for app. The publisher joins first; each subscriber joins
// as a video member and subscribes to the publisher's video alone (it
// receives the publisher's audio anyway), sending nothing itself.
func RoomdStarter(wsURL string, app roomd.App) Starter {
	return func(ctx context.Context, n int, sinks *Sinks) (*Publisher, func(), error) {
		group := fmt.Sprintf("bench-%d-%d", n, time.Now().UnixNano())
		cfg := room.Config{URL: wsURL, JoinTimeout: 30 * time.Second}
		join := func(ctx context.Context, openid string, h room.Handler) (*room.Session, error) {
			s := roomd.Sign(app, openid, group, time.Now())
			return room.Join(ctx, cfg, room.JoinParams{AppID: s.AppID, OpenID: s.OpenID, GroupID: s.GroupID,
				NonceStr: s.NonceStr, TimeStamp: s.TimeStamp, Signature: s.Signature, RoomType: proto.RoomVideo}, h)
		}
		return fillRoom(ctx, n, sinks, group, func(ctx context.Context, openid string, h *sinkHandler, sub bool) (*room.Session, error) {
			s, err := join(ctx, openid, h)
			if err == nil && sub {
				if err = s.SubscribeVideo([]string{publisherID}); err != nil { // the publisher's video alone
					s.Leave(ctx)
				}
			}
			return s, err
		})
	}
}

// benchSession is a member of a measured room: roomd's (package room) or
// LiveKit's (room/lk).
type benchSession interface {
	Leave(context.Context) error
	AudioTrack() *webrtc.TrackLocalStaticRTP
	VideoTrack() *webrtc.TrackLocalStaticRTP
	VideoSender() *webrtc.RTPSender
}

// fillRoom joins the publisher, starts its media, then joins n
// subscribers at once, whose tracks go to sinks (join's sub says which it
// is joining). It returns the publisher and what tears the room down.
func fillRoom[S benchSession](ctx context.Context, n int, sinks *Sinks, room string,
	join func(ctx context.Context, id string, h *sinkHandler, sub bool) (S, error)) (*Publisher, func(), error) {
	var (
		mu       sync.Mutex
		sessions []S
	)
	pctx, stopMedia := context.WithCancel(context.Background())
	stop := func() {
		stopMedia()
		mu.Lock()
		all := sessions
		mu.Unlock()
		leaveAll(all)
	}
	ps, err := join(ctx, publisherID, &sinkHandler{}, false)
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("publisher: %w", err)
	}
	sessions = append(sessions, ps)
	if ps.VideoTrack() == nil {
		stop()
		return nil, nil, fmt.Errorf("publisher: no video track (room %s is not a video room)", room)
	}
	pub := NewPublisher(ps.AudioTrack(), ps.VideoTrack())
	go pub.ReadRTCP(ps.VideoSender())
	go pub.Run(pctx)
	err = parallel(ctx, n, func(ctx context.Context, i int) error {
		s, err := join(ctx, fmt.Sprintf("sub-%d", i), &sinkHandler{sinks: sinks}, true)
		if err != nil {
			return fmt.Errorf("subscriber %d: %w", i, err)
		}
		mu.Lock()
		sessions = append(sessions, s)
		mu.Unlock()
		return nil
	})
	if err != nil {
		stop()
		return nil, nil, err
	}
	return pub, stop, nil
}

// leaveAll leaves every session at once (roomd's and LiveKit's alike).
func leaveAll[S interface{ Leave(context.Context) error }](ss []S) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.Leave(ctx)
		}()
	}
	wg.Wait()
}

// sinkHandler is a roomd member's Handler: the publisher's audio and video
// tracks go to sinks (nil for the publisher, which receives nothing of
// interest), everything else is ignored.
type sinkHandler struct {
	sinks *Sinks
}

func (h *sinkHandler) MembersChanged([]string) {}

func (h *sinkHandler) AudioTrack(member string, t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	h.track(member, t, r)
}

func (h *sinkHandler) VideoTrack(member string, t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	h.track(member, t, r)
}

func (h *sinkHandler) track(member string, t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	if h.sinks == nil || member != publisherID {
		return
	}
	go h.sinks.Drain(t)
	go DrainRTCP(r)
}

func (h *sinkHandler) TrackEnded(string)            {}
func (h *sinkHandler) VideoTrackEnded(string)       {}
func (h *sinkHandler) VideoMembersChanged([]string) {}
func (h *sinkHandler) Interrupted(error)            {} // a lost member shows as packets not delivered
