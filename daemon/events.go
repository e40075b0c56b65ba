package daemon

// The events of a room depend on its family: WeChat's group rooms and
// calls say openIdList, Douyin's token rooms userIdList and errNo. They are
// chosen here, once.

func (d *Daemon) publishMembers(s *session, members []string) {
	if s.kind == kindRTC {
		d.publish("onRtcChatMembersChanged", map[string]any{"userIdList": nonNil(members), "errNo": 0, "errMsg": "onRtcChatMembersChanged:ok"})
		return
	}
	d.publish("onVoIPChatMembersChanged", map[string]any{"openIdList": nonNil(members), "errCode": 0, "errMsg": "onVoIPChatMembersChanged:ok"})
}

func (d *Daemon) publishSpeakers(s *session, speakers []string) {
	if s.kind == kindRTC {
		d.publish("onRtcChatSpeakersChanged", map[string]any{"userIdList": nonNil(speakers), "errNo": 0, "errMsg": "onRtcChatSpeakersChanged:ok"})
		return
	}
	d.publish("onVoIPChatSpeakersChanged", map[string]any{"openIdList": nonNil(speakers), "errCode": 0, "errMsg": "onVoIPChatSpeakersChanged:ok"})
}

func (d *Daemon) publishVideoMembers(s *session, members []string) {
	if s.kind == kindRTC {
		d.publish("onRtcVideoMembersChanged", map[string]any{"userIdList": nonNil(members), "errNo": 0, "errMsg": "onRtcVideoMembersChanged:ok"})
		return
	}
	d.publish("onVoIPVideoMembersChanged", map[string]any{"openIdList": nonNil(members), "errCode": 0, "errMsg": "onVoIPVideoMembersChanged:ok"})
}

// publishInterrupted says the room was lost; a call says it ended.
func (d *Daemon) publishInterrupted(s *session, why1v1, why string) {
	switch s.kind {
	case kindRTC:
		d.publish("onRtcChatInterrupted", map[string]any{"errNo": 115903, "errMsg": "onRtcChatInterrupted: " + why})
	case kind1v1:
		d.publishCallEnded(s, why1v1)
	default:
		d.publish("onVoIPChatInterrupted", map[string]any{"errCode": -1000, "errMsg": "onVoIPChatInterrupted: " + why})
	}
}

// publishState reports a device or network state change (DESIGN.md §2's
// codes: 4 device lost, 5 device back).
func (d *Daemon) publishState(s *session, code int, data map[string]any) {
	if s != nil && s.kind == kindRTC {
		d.publish("onRtcStateChange", map[string]any{"errNo": code, "errMsg": "onRtcStateChange", "data": data})
		return
	}
	d.publish("onVoIPChatStateChanged", map[string]any{"code": code, "data": data})
}

// publishCallEnded sends on1v1ChatEnded once per call.
func (d *Daemon) publishCallEnded(s *session, reason string) {
	s.mu.Lock()
	done := s.ended
	s.ended = true
	s.mu.Unlock()
	if !done {
		d.publish("on1v1ChatEnded", map[string]any{"callId": s.callID, "reason": reason})
	}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
