package proto

import "fmt"

// Gateway mode (a fleet on LiveKit, roomd -livekit-url): the gateway checks
// a join exactly as roomd does (signature, timeStamp, nonce, resume ticket)
// and, instead of joined, answers with where the member's media goes:
//
//	client → server  join {...}                        (any kind, as to roomd)
//	server → client  livekit {url, token, resume, graceMs}  or  error {reason, message}
//
// then closes. url is the LiveKit signalling URL (ws:// or wss://), token a
// LiveKit access token for this member in this room (short-lived: it is for
// connecting, not for the call's length), resume the member's ticket for
// coming back (to any gateway of the app) when its LiveKit session ends.
// A client that does not know the type ignores it and times out its join,
// as with any server it cannot use.
const TypeLiveKit = "livekit"

// LiveKitFields are the fields of the livekit message (the token travels
// in RTCFields.Token: one JSON name, one field).
type LiveKitFields struct {
	URL string `json:"url,omitempty"`
}

func (m *Message) validateLiveKit() (ok bool, err error) {
	if m.Type != TypeLiveKit {
		return false, nil
	}
	switch {
	case m.URL == "":
		return true, fmt.Errorf("livekit message lacks url")
	case m.Token == "":
		return true, fmt.Errorf("livekit message lacks token")
	}
	return true, nil
}
