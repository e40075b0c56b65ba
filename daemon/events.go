package daemon

import (
	"sync/atomic"

	"github.com/voipd/voipd/daemon/session"
	"github.com/voipd/voipd/proto"
)

// EventNames are the events the daemon publishes, the names a control
// client may subscribe to (besides "*"). TestEventNamesComplete keeps it
// in step with what events.go publishes.
var EventNames = []string{
	"onVoIPChatMembersChanged", "onVoIPChatSpeakersChanged", "onVoIPVideoMembersChanged",
	"onVoIPChatStateChanged", "onVoIPChatInterrupted",
	"onRtcChatMembersChanged", "onRtcChatSpeakersChanged", "onRtcVideoMembersChanged",
	"onRtcStateChange", "onRtcChatInterrupted",
	"on1v1ChatInvite", "on1v1ChatEnded", "on1v1ChatSwitched",
}

// events is the engine's EventSink: it names each event for the room's
// family and shapes its payload, once, here — WeChat's group rooms and
// calls say openIdList and errCode, Douyin's token rooms userIdList and
// errNo — and publishes it to subscribed control clients.
type events struct {
	pub      atomic.Pointer[Publisher]
	counters *counters // what metrics count of the events; set by New
}

func (ev *events) set(p Publisher) { ev.pub.Store(&p) }

func (ev *events) publish(name string, payload any) {
	if p := ev.pub.Load(); p != nil {
		(*p).Publish(name, payload)
	}
}

// The events' payloads. Every field is always present but those marked
// omitempty, which the seeds give only in some cases.
type (
	// groupList is onVoIPChatMembersChanged's, onVoIPChatSpeakersChanged's
	// and onVoIPVideoMembersChanged's.
	groupList struct {
		OpenIDList []string `json:"openIdList"`
		ErrCode    int      `json:"errCode"`
		ErrMsg     string   `json:"errMsg"`
	}
	// rtcList is onRtcChatMembersChanged's, onRtcChatSpeakersChanged's and
	// onRtcVideoMembersChanged's.
	rtcList struct {
		UserIDList []string `json:"userIdList"`
		ErrNo      int      `json:"errNo"`
		ErrMsg     string   `json:"errMsg"`
	}
	groupInterruptedEvent struct {
		ErrCode int    `json:"errCode"`
		ErrMsg  string `json:"errMsg"`
	}
	rtcInterruptedEvent struct {
		ErrNo  int    `json:"errNo"`
		ErrMsg string `json:"errMsg"`
		Reason string `json:"reason,omitempty"` // the server removed this member: why
	}
	// stateData is a state event's data.
	stateData struct {
		Device   string `json:"device,omitempty"`
		Error    string `json:"error,omitempty"`
		ExpireAt int64  `json:"expireAt,omitempty"`
	}
	groupStateEvent struct {
		Code int       `json:"code"`
		Data stateData `json:"data"`
	}
	rtcStateEvent struct {
		ErrNo  int       `json:"errNo"`
		ErrMsg string    `json:"errMsg"`
		Data   stateData `json:"data"`
	}
	callEndedEvent struct {
		CallID string `json:"callId"`
		Reason string `json:"reason"`           // local, remote, network, device
		Detail string `json:"detail,omitempty"` // a call cancelled before its answer: why
	}
	callInviteEvent struct {
		CallID   string      `json:"callId"`
		Caller   proto.Party `json:"caller"`
		RoomType string      `json:"roomType"`
	}
	callSwitchedEvent struct {
		CallID   string `json:"callId"`
		RoomType string `json:"roomType"`
	}
)

// Emit implements session.EventSink.
func (ev *events) Emit(e session.Event) {
	switch e := e.(type) {
	case session.MembersChanged:
		ev.list(e.Room, "onVoIPChatMembersChanged", "onRtcChatMembersChanged", e.Members)
	case session.SpeakersChanged:
		ev.list(e.Room, "onVoIPChatSpeakersChanged", "onRtcChatSpeakersChanged", e.Speakers)
	case session.VideoMembersChanged:
		ev.list(e.Room, "onVoIPVideoMembersChanged", "onRtcVideoMembersChanged", e.Members)
	case session.DeviceLost:
		ev.counters.deviceError(e.Device)
		ev.state(e.Room, stateDeviceLost, stateData{Device: e.Device, Error: e.Err})
	case session.DeviceBack:
		ev.state(e.Room, stateDeviceBack, stateData{Device: e.Device})
	case session.RoomReconnecting:
		ev.counters.reconnects.Add(1)
		ev.state(e.Room, stateReconnecting, stateData{Error: e.Err})
	case session.RoomReconnected:
		ev.state(e.Room, stateReconnected, stateData{})
	case session.TokenExpiring:
		ev.publish("onRtcStateChange", rtcStateEvent{ErrNo: stateTokenExpiry, ErrMsg: "token will expire", Data: stateData{ExpireAt: e.At.Unix()}})
	case session.Ended:
		ev.ended(e)
	case session.CallInvited:
		ev.publish("on1v1ChatInvite", callInviteEvent{CallID: e.CallID, Caller: e.Caller, RoomType: e.RoomType})
	case session.CallCancelled:
		ev.publish("on1v1ChatEnded", callEndedEvent{CallID: e.CallID, Reason: string(session.EndRemote), Detail: e.Reason})
	case session.CallSwitched:
		ev.publish("on1v1ChatSwitched", callSwitchedEvent{CallID: e.CallID, RoomType: e.RoomType})
	}
}

// list publishes a member list under the family's name (a call's members
// are a VoIP chat's, as WeChat's calls are VoIP chats).
func (ev *events) list(k session.Kind, group, rtc string, l []string) {
	if k == session.KindRTC {
		ev.publish(rtc, rtcList{UserIDList: l, ErrMsg: rtc + ":ok"})
		return
	}
	ev.publish(group, groupList{OpenIDList: l, ErrMsg: group + ":ok"})
}

// state publishes a device's state change (its codes are the control
// API's, README.md).
func (ev *events) state(k session.Kind, code int, data stateData) {
	if k == session.KindRTC {
		ev.publish("onRtcStateChange", rtcStateEvent{ErrNo: code, ErrMsg: "onRtcStateChange", Data: data})
		return
	}
	ev.publish("onVoIPChatStateChanged", groupStateEvent{Code: code, Data: data})
}

// ended tells how a room ended: a call ends with on1v1ChatEnded whatever
// the reason (but shutdown); a group or token room that was lost, not
// left, is interrupted.
func (ev *events) ended(e session.Ended) {
	switch {
	case e.Reason == session.EndShutdown:
	case e.Room == session.KindCall:
		ev.publish("on1v1ChatEnded", callEndedEvent{CallID: e.ID, Reason: string(e.Reason)})
	case e.Reason == session.EndLocal:
	case e.Room == session.KindRTC && e.Reason == session.EndRemoved:
		ev.publish("onRtcChatInterrupted", rtcInterruptedEvent{ErrNo: rtcInterrupted, ErrMsg: "onRtcChatInterrupted: " + e.Detail, Reason: e.Detail})
	case e.Room == session.KindRTC:
		ev.publish("onRtcChatInterrupted", rtcInterruptedEvent{ErrNo: rtcInterrupted, ErrMsg: "onRtcChatInterrupted: " + e.Detail})
	default:
		ev.publish("onVoIPChatInterrupted", groupInterruptedEvent{ErrCode: groupInterrupted, ErrMsg: "onVoIPChatInterrupted: " + e.Detail})
	}
}
