package proto

import (
	"fmt"
	"strings"
)

// Two-party calls (voipd's join1v1Chat). Three kinds of connection share
// /ws, told apart by their first message:
//
//	presence (listener)  register → registered, then invite / callEnded from
//	                     the server and callAnswer from the client, for as
//	                     long as the device wants to be reachable
//	call (caller)        call → ringing → accepted | callEnded, or error
//	                     (offline, listener_busy, ...); hangup cancels
//	call room            join {kind:"1v1", roomId, ticket} with the ticket
//	                     of accepted, then an ordinary room of two
//
// The signature of register covers the group id "1v1:"+openid and that of
// call "call:"+listener's openid (PresenceGroup, CallGroup), both with the
// signer's own session key, so a device proves it owns the openid it
// registers or calls from and a signature for one purpose cannot be
// replayed for another.
const (
	TypeRegister   = "register"   // client → server: reachable for calls under openid
	TypeRegistered = "registered" // server → client: the registration holds
	TypeCall       = "call"       // client → server: ring a listener
	TypeRinging    = "ringing"    // server → caller: the listener's device rings
	TypeInvite     = "invite"     // server → listener: a call rings here
	TypeCallAnswer = "callAnswer" // listener → server: accept or decline
	TypeAccepted   = "accepted"   // server → both: the call room and a ticket
	TypeHangup     = "hangup"     // caller → server: cancel the ringing call
	TypeCallEnded  = "callEnded"  // server → either: the call ended before the room
)

// Kind1v1 is the join kind of a call's private room.
const Kind1v1 = "1v1"

// Call room ids are CallRoomPrefix + callId; group rooms may not use it.
const CallRoomPrefix = "1v1:"

// Reasons of call outcomes (callEnded, or error to a caller).
const (
	ReasonDeclined     = "declined"      // the listener declined
	ReasonNoAnswer     = "no_answer"     // the ring timed out
	ReasonOffline      = "offline"       // no presence for the listener (or it dropped while ringing)
	ReasonListenerBusy = "listener_busy" // the listener rings or is in a call or room
	ReasonRemote       = "remote"        // the caller hung up while it rang
	ReasonNotFound     = "not_found"     // callAnswer for a call that is gone
	ReasonTicket       = "ticket"        // a 1v1 join with a ticket that is unknown, used or expired
)

// PresenceGroup is what a register signature signs as its groupId.
func PresenceGroup(openid string) string { return "1v1:" + openid }

// CallGroup is what a call signature signs as its groupId.
func CallGroup(listenerOpenID string) string { return "call:" + listenerOpenID }

// Party is the seed's caller or listener.
type Party struct {
	Nickname  string `json:"nickname"`
	HeadImage string `json:"headImage,omitempty"`
	OpenID    string `json:"openid"`
}

// CallFields are the fields of the call messages. Message embeds them, so
// on the wire they sit beside the others.
type CallFields struct {
	CallID   string `json:"callId,omitempty"`
	Caller   *Party `json:"caller,omitempty"`
	Listener *Party `json:"listener,omitempty"`
	// callAnswer: a pointer, so that a missing accept is refused rather
	// than read as a decline.
	Accept        *bool  `json:"accept,omitempty"`
	RoomID        string `json:"roomId,omitempty"`
	Ticket        string `json:"ticket,omitempty"`
	Peer          string `json:"peer,omitempty"`          // accepted: the other side's openid
	RingTimeoutMs int64  `json:"ringTimeoutMs,omitempty"` // call: 0 means the server's default
}

// validateCall checks the call message types; ok is false for other types.
func (m *Message) validateCall() (ok bool, err error) {
	missing := func(f string) error { return fmt.Errorf("%s message lacks %s", m.Type, f) }
	signed := func() error {
		switch {
		case m.AppID == "":
			return missing("appId")
		case m.NonceStr == "":
			return missing("nonceStr")
		case m.TimeStamp == 0:
			return missing("timeStamp")
		case m.Signature == "":
			return missing("signature")
		}
		return nil
	}
	switch m.Type {
	case TypeRegister:
		if m.OpenID == "" {
			return true, missing("openid")
		}
		return true, signed()
	case TypeCall:
		if err := signed(); err != nil {
			return true, err
		}
		if err := m.validateParties(); err != nil {
			return true, err
		}
		if m.RingTimeoutMs < 0 {
			return true, fmt.Errorf("call message has negative ringTimeoutMs")
		}
		return true, validRoomType(m)
	case TypeInvite:
		if m.CallID == "" {
			return true, missing("callId")
		}
		if err := m.validateParties(); err != nil {
			return true, err
		}
		return true, validRoomType(m)
	case TypeRinging, TypeHangup:
		if m.CallID == "" {
			return true, missing("callId")
		}
	case TypeCallAnswer:
		switch {
		case m.CallID == "":
			return true, missing("callId")
		case m.Accept == nil:
			return true, missing("accept")
		case m.Reason != "" && (*m.Accept || m.Reason != ReasonListenerBusy):
			return true, fmt.Errorf("callAnswer's reason may only be %s, with accept false", ReasonListenerBusy)
		}
	case TypeAccepted:
		switch {
		case m.CallID == "":
			return true, missing("callId")
		case m.RoomID == "":
			return true, missing("roomId")
		case m.Ticket == "":
			return true, missing("ticket")
		case m.Peer == "":
			return true, missing("peer")
		}
		return true, validRoomType(m)
	case TypeCallEnded:
		switch {
		case m.CallID == "":
			return true, missing("callId")
		case m.Reason == "":
			return true, missing("reason")
		}
	case TypeRegistered:
	default:
		return false, nil
	}
	return true, nil
}

// validateCallJoin checks a join of kind 1v1: the ticket stands in for
// groupId, nonceStr, timeStamp and signature (the resume ticket, for a
// member coming back into its call room's seat).
func (m *Message) validateCallJoin() error {
	missing := func(f string) error { return fmt.Errorf("1v1 join message lacks %s", f) }
	switch {
	case m.AppID == "":
		return missing("appId")
	case m.OpenID == "":
		return missing("openid")
	case !strings.HasPrefix(m.RoomID, CallRoomPrefix) || len(m.RoomID) == len(CallRoomPrefix):
		return fmt.Errorf("1v1 join message has roomId %q, not %s<callId>", m.RoomID, CallRoomPrefix)
	case m.Ticket == "" && m.Resume == "":
		return missing("ticket")
	}
	return validRoomType(m)
}

func (m *Message) validateParties() error {
	switch {
	case m.Caller == nil || m.Caller.OpenID == "":
		return fmt.Errorf("%s message lacks caller.openid", m.Type)
	case m.Listener == nil || m.Listener.OpenID == "":
		return fmt.Errorf("%s message lacks listener.openid", m.Type)
	}
	return nil
}

func validRoomType(m *Message) error {
	if m.RoomType != "" && m.RoomType != RoomVoice && m.RoomType != RoomVideo {
		return fmt.Errorf("%s message has unknown roomType %q", m.Type, m.RoomType)
	}
	return nil
}
