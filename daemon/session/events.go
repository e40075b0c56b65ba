package session

import (
	"time"

	"github.com/voipd/voipd/proto"
)

// Kind is the family of the room a session is in (status' room.kind).
type Kind string

const (
	KindGroup Kind = "voip" // WeChat's group rooms (joinVoIPChat)
	KindCall  Kind = "1v1"  // WeChat's two-party calls (join1v1Chat)
	KindRTC   Kind = "rtc"  // Douyin's token rooms (joinRtcRoom)
)

// EventSink takes the engine's events. Each says what happened in the
// engine's terms; package daemon names it and shapes its payload for the
// room's family (the seeds' onVoIPChat*, onRtc*, on1v1Chat* events).
// Emit is called from the engine's goroutines and must not block.
type EventSink interface {
	Emit(Event)
}

// Event is one of the types below.
type Event interface{ event() }

// MembersChanged: the room's members now, in join order, this device
// included.
type MembersChanged struct {
	Room    Kind
	Members []string
}

// SpeakersChanged: who is talking now, this device included.
type SpeakersChanged struct {
	Room     Kind
	Speakers []string
}

// VideoMembersChanged: the members sending video now.
type VideoMembersChanged struct {
	Room    Kind
	Members []string
}

// DeviceLost: a device failed during the room; the room goes on without
// it and the device is opened again until DeviceBack ("camera": the call
// goes on with audio; "audio": the microphone or speaker, the room goes
// on receiving, or sending, or both).
type DeviceLost struct {
	Room   Kind
	Device string
	Err    string
}

// RoomReconnecting: the room's connection was lost; the room client is getting
// back into the seat (the media keeps running; nothing arrives meanwhile).
type RoomReconnecting struct {
	Room Kind
	Err  string
}

// RoomReconnected: back in the seat.
type RoomReconnected struct{ Room Kind }

// DeviceBack: a lost camera works again.
type DeviceBack struct {
	Room   Kind
	Device string
}

// EndReason says why a room ended.
type EndReason string

const (
	EndLocal    EndReason = "local"    // this device left (exit, destroy)
	EndShutdown EndReason = "shutdown" // voipd is stopping
	EndRemote   EndReason = "remote"   // the other side of a call left
	EndNetwork  EndReason = "network"  // the room was lost, or a call's other side never came
	EndDevice   EndReason = "device"   // the microphone or the speaker failed
	EndRemoved  EndReason = "removed"  // the server removed this member (Detail: why)
)

// Ended: the session left its room; sent once, as leaving begins.
type Ended struct {
	Room   Kind
	ID     string // the groupId, callId or roomId
	Reason EndReason
	Detail string
}

// TokenExpiring: the token room's token expires at At.
type TokenExpiring struct{ At time.Time }

// CallInvited: a call rings at this device.
type CallInvited struct {
	CallID   string
	Caller   proto.Party
	RoomType string
}

// CallCancelled: a call that rang here ended before it was answered.
type CallCancelled struct {
	CallID string
	Reason string // the caller hung up ("remote"), or "no_answer"
}

// CallSwitched: the running call switched to voice or video.
type CallSwitched struct {
	CallID   string
	RoomType string
}

func (MembersChanged) event()      {}
func (SpeakersChanged) event()     {}
func (VideoMembersChanged) event() {}
func (DeviceLost) event()          {}
func (DeviceBack) event()          {}
func (RoomReconnecting) event()    {}
func (RoomReconnected) event()     {}
func (Ended) event()               {}
func (TokenExpiring) event()       {}
func (CallInvited) event()         {}
func (CallCancelled) event()       {}
func (CallSwitched) event()        {}
