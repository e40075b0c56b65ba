package lk

import (
	"reflect"
	"testing"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// Each request this codec writes is the SignalRequest LiveKit's own
// generated code reads.
func TestRequestsDecodeAsLiveKitReadsThem(t *testing.T) {
	cases := []struct {
		req  Request
		want *livekit.SignalRequest
	}{
		{Request{Offer: &SessionDescription{Type: "offer", SDP: "v=0\r\n", ID: 3}},
			&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: "v=0\r\n", Id: 3}}}},
		{Request{Answer: &SessionDescription{Type: "answer", SDP: "v=0\r\n"}},
			&livekit.SignalRequest{Message: &livekit.SignalRequest_Answer{Answer: &livekit.SessionDescription{Type: "answer", Sdp: "v=0\r\n"}}}},
		{Request{Trickle: &Trickle{CandidateInit: `{"candidate":"c"}`, Target: TargetSubscriber, Final: true}},
			&livekit.SignalRequest{Message: &livekit.SignalRequest_Trickle{Trickle: &livekit.TrickleRequest{
				CandidateInit: `{"candidate":"c"}`, Target: livekit.SignalTarget_SUBSCRIBER, Final: true}}}},
		{Request{AddTrack: &AddTrack{CID: "audio-1", Name: "microphone", Type: TrackAudio, Source: SourceMicrophone, Stream: "door-1"}},
			&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{
				Cid: "audio-1", Name: "microphone", Type: livekit.TrackType_AUDIO, Source: livekit.TrackSource_MICROPHONE, Stream: "door-1"}}}},
		{Request{AddTrack: &AddTrack{CID: "video-1", Name: "camera", Type: TrackVideo, Width: 640, Height: 480, Muted: true, Source: SourceCamera, DisableRed: true}},
			&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{
				Cid: "video-1", Name: "camera", Type: livekit.TrackType_VIDEO, Width: 640, Height: 480, Muted: true,
				Source: livekit.TrackSource_CAMERA, DisableRed: true}}}},
		{Request{Mute: &Mute{SID: "TR_1", Muted: true}},
			&livekit.SignalRequest{Message: &livekit.SignalRequest_Mute{Mute: &livekit.MuteTrackRequest{Sid: "TR_1", Muted: true}}}},
		{Request{Subscription: &Subscription{TrackSIDs: []string{"TR_1", "TR_2"}, Subscribe: true}},
			&livekit.SignalRequest{Message: &livekit.SignalRequest_Subscription{Subscription: &livekit.UpdateSubscription{
				TrackSids: []string{"TR_1", "TR_2"}, Subscribe: true}}}},
		{Request{Leave: &Leave{Reason: int32(livekit.DisconnectReason_CLIENT_INITIATED)}},
			&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{
				Reason: livekit.DisconnectReason_CLIENT_INITIATED}}}},
		{Request{Ping: &Ping{Timestamp: 1767312000123, RTT: 12}},
			&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: 1767312000123, Rtt: 12}}}},
	}
	for _, c := range cases {
		b, err := c.req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var got livekit.SignalRequest
		if err := proto.Unmarshal(b, &got); err != nil {
			t.Fatalf("%+v: LiveKit cannot read it: %v", c.req, err)
		}
		if !proto.Equal(&got, c.want) {
			t.Errorf("LiveKit reads %v, want %v", &got, c.want)
		}
	}
	if _, err := (&Request{}).Marshal(); err == nil {
		t.Error("an empty request marshalled")
	}
	if _, err := (&Request{Ping: &Ping{}, Leave: &Leave{}}).Marshal(); err == nil {
		t.Error("a request with two messages marshalled")
	}
}

// Each response LiveKit's generated code writes is read by this codec with
// the fields voipd uses, whatever else it carries.
func TestResponsesReadAsLiveKitWritesThem(t *testing.T) {
	track := &livekit.TrackInfo{Sid: "TR_a", Type: livekit.TrackType_VIDEO, Muted: true, Width: 640, Height: 480,
		Source: livekit.TrackSource_CAMERA, MimeType: "video/VP8", Mid: "1", Stream: "door-1",
		Codecs: []*livekit.SimulcastCodecInfo{{MimeType: "video/VP8", Mid: "1"}}} // a field voipd skips
	wantTrack := Track{SID: "TR_a", Type: TrackVideo, Muted: true, Width: 640, Height: 480, Source: SourceCamera,
		MimeType: "video/VP8", Mid: "1", Stream: "door-1"}
	part := &livekit.ParticipantInfo{Sid: "PA_1", Identity: "door-1", State: livekit.ParticipantInfo_ACTIVE,
		Tracks: []*livekit.TrackInfo{track}, Metadata: "m", Version: 7, IsPublisher: true,
		Attributes: map[string]string{"k": "v"}, JoinedAtMs: 1767312000000,
		Permission: &livekit.ParticipantPermission{CanSubscribe: true, CanPublish: true, CanPublishSources: []livekit.TrackSource{livekit.TrackSource_MICROPHONE}}}
	wantPart := Participant{SID: "PA_1", Identity: "door-1", State: 2, Tracks: []Track{wantTrack}, Metadata: "m", Version: 7, IsPublisher: true, CanPublish: true}
	cases := []struct {
		msg  *livekit.SignalResponse
		want Response
	}{
		{&livekit.SignalResponse{Message: &livekit.SignalResponse_Join{Join: &livekit.JoinResponse{
			Room: &livekit.Room{Sid: "RM_1", Name: "voip:wx:lobby", Metadata: `{"roomType":"video"}`, MaxParticipants: 10,
				NumParticipants: 2, EnabledCodecs: []*livekit.Codec{{Mime: "audio/opus"}}},
			Participant:       &livekit.ParticipantInfo{Sid: "PA_0", Identity: "door-0"},
			OtherParticipants: []*livekit.ParticipantInfo{part},
			ServerVersion:     "1.13.5",
			IceServers:        []*livekit.ICEServer{{Urls: []string{"stun:127.0.0.1:9"}}, {Urls: []string{"turn:t"}, Username: "u", Credential: "c"}},
			SubscriberPrimary: true, PingTimeout: 15, PingInterval: 5,
			ClientConfiguration: &livekit.ClientConfiguration{ResumeConnection: livekit.ClientConfigSetting_ENABLED},
		}}}, Response{Kind: "join", Join: &JoinResponse{
			Room:              RoomInfo{SID: "RM_1", Name: "voip:wx:lobby", Metadata: `{"roomType":"video"}`, MaxParticipants: 10, NumParticipants: 2},
			Participant:       Participant{SID: "PA_0", Identity: "door-0"},
			Others:            []Participant{wantPart},
			ServerVersion:     "1.13.5",
			ICEServers:        []ICEServer{{URLs: []string{"stun:127.0.0.1:9"}}, {URLs: []string{"turn:t"}, Username: "u", Credential: "c"}},
			SubscriberPrimary: true, PingTimeout: 15, PingInterval: 5}}},
		{&livekit.SignalResponse{Message: &livekit.SignalResponse_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: "v=0", Id: 2,
			MidToTrackId: map[string]string{"0": "TR_a"}}}},
			Response{Kind: "offer", Offer: &SessionDescription{Type: "offer", SDP: "v=0", ID: 2}}},
		{&livekit.SignalResponse{Message: &livekit.SignalResponse_Answer{Answer: &livekit.SessionDescription{Type: "answer", Sdp: "v=0"}}},
			Response{Kind: "answer", Answer: &SessionDescription{Type: "answer", SDP: "v=0"}}},
		{&livekit.SignalResponse{Message: &livekit.SignalResponse_Trickle{Trickle: &livekit.TrickleRequest{CandidateInit: "{}", Target: livekit.SignalTarget_SUBSCRIBER}}},
			Response{Kind: "trickle", Trickle: &Trickle{CandidateInit: "{}", Target: TargetSubscriber}}},
		{&livekit.SignalResponse{Message: &livekit.SignalResponse_Update{Update: &livekit.ParticipantUpdate{Participants: []*livekit.ParticipantInfo{part,
			{Sid: "PA_2", Identity: "door-2", State: livekit.ParticipantInfo_DISCONNECTED}}}}},
			Response{Kind: "update", Update: []Participant{wantPart, {SID: "PA_2", Identity: "door-2", State: ParticipantDisconnected}}}},
		{&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackPublished{TrackPublished: &livekit.TrackPublishedResponse{Cid: "video-1", Track: track}}},
			Response{Kind: "trackPublished", TrackPublished: &TrackPublished{CID: "video-1", Track: wantTrack}}},
		{&livekit.SignalResponse{Message: &livekit.SignalResponse_Leave{Leave: &livekit.LeaveRequest{CanReconnect: true,
			Reason: livekit.DisconnectReason_PARTICIPANT_REMOVED, Action: livekit.LeaveRequest_RECONNECT}}},
			Response{Kind: "leave", Leave: &Leave{CanReconnect: true, Reason: int32(livekit.DisconnectReason_PARTICIPANT_REMOVED), Action: LeaveReconnect}}},
		{&livekit.SignalResponse{Message: &livekit.SignalResponse_Mute{Mute: &livekit.MuteTrackRequest{Sid: "TR_1", Muted: true}}},
			Response{Kind: "mute", Mute: &Mute{SID: "TR_1", Muted: true}}},
		{&livekit.SignalResponse{Message: &livekit.SignalResponse_SpeakersChanged{SpeakersChanged: &livekit.SpeakersChanged{Speakers: []*livekit.SpeakerInfo{
			{Sid: "PA_1", Level: 0.5, Active: true}, {Sid: "PA_2"}}}}},
			Response{Kind: "speakers", Speakers: []Speaker{{SID: "PA_1", Level: 0.5, Active: true}, {SID: "PA_2"}}}},
		{&livekit.SignalResponse{Message: &livekit.SignalResponse_RefreshToken{RefreshToken: "jwt"}},
			Response{Kind: "refreshToken", RefreshToken: "jwt"}},
		{&livekit.SignalResponse{Message: &livekit.SignalResponse_TrackUnpublished{TrackUnpublished: &livekit.TrackUnpublishedResponse{TrackSid: "TR_1"}}},
			Response{Kind: "trackUnpublished", TrackUnpublished: "TR_1"}},
		{&livekit.SignalResponse{Message: &livekit.SignalResponse_PongResp{PongResp: &livekit.Pong{LastPingTimestamp: 5, Timestamp: 9}}},
			Response{Kind: "pong", Pong: &Pong{LastPingTimestamp: 5, Timestamp: 9}}},
		// One voipd does not use: read, and said to be none of its kinds.
		{&livekit.SignalResponse{Message: &livekit.SignalResponse_ConnectionQuality{ConnectionQuality: &livekit.ConnectionQualityUpdate{}}},
			Response{}},
	}
	for _, c := range cases {
		b, err := proto.Marshal(c.msg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseResponse(b)
		if err != nil {
			t.Fatalf("%v: %v", c.msg, err)
		}
		if !reflect.DeepEqual(*got, c.want) {
			t.Errorf("read %v as\n%+v\nwant\n%+v", c.msg, *got, c.want)
		}
	}
}

// Malformed input is an error, never a panic.
func FuzzParseResponse(f *testing.F) {
	b, _ := proto.Marshal(&livekit.SignalResponse{Message: &livekit.SignalResponse_Join{Join: &livekit.JoinResponse{
		Room: &livekit.Room{Name: "r"}, OtherParticipants: []*livekit.ParticipantInfo{{Identity: "a", Tracks: []*livekit.TrackInfo{{Sid: "t"}}}}}}})
	f.Add(b)
	f.Add([]byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseResponse(b)
	})
}
