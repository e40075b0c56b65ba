package janus

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room/lk"
)

// LiveKitStarter is the LiveKit leg: a fresh video room per N on the
// LiveKit node at url (ws://), everyone joining through voipd's own
// LiveKit client (room/lk) with access tokens minted for key and secret,
// as a gateway would. The publisher joins first; each subscriber receives
// its audio and video (WeChat's rule picks the one publisher) and sends
// nothing.
func LiveKitStarter(url, key, secret string) Starter {
	return func(ctx context.Context, n int, sinks *Sinks) (*Publisher, func(), error) {
		roomName := fmt.Sprintf("bench-%d-%d", n, time.Now().UnixNano())
		meta, _ := json.Marshal(map[string]string{"kind": proto.KindVoIP, "roomType": proto.RoomVideo})
		join := func(ctx context.Context, identity string, video bool, h lk.Handler) (*lk.Session, error) {
			yes := true
			tok, err := auth.NewAccessToken(key, secret).SetIdentity(identity).
				SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: roomName, CanPublish: &yes, CanSubscribe: &yes}).
				SetRoomConfig(&livekit.RoomConfiguration{Name: roomName, MaxParticipants: 1000, Metadata: string(meta)}).
				SetValidFor(time.Hour).ToJWT()
			if err != nil {
				return nil, err
			}
			return lk.Join(ctx, lk.Params{URL: url, Token: tok, Identity: identity, Video: video, JoinTimeout: 30 * time.Second}, h)
		}
		return fillRoom(ctx, n, sinks, roomName, func(ctx context.Context, id string, h *sinkHandler, sub bool) (*lk.Session, error) {
			return join(ctx, id, !sub, h)
		})
	}
}
