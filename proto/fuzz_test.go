package proto

import (
	"encoding/json"
	"testing"
)

// FuzzDecode: Decode never panics, and what it accepts validates and
// survives a re-encoding.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"join","kind":"voip","appId":"a","openid":"o","groupId":"g","nonceStr":"n","timeStamp":1,"signature":"s"}`,
		`{"type":"join","kind":"voip","appId":"a","openid":"o","groupId":"g","nonceStr":"n","timeStamp":1,"signature":"s","roomType":"video","muteConfig":{"muteMicrophone":true}}`,
		`{"type":"joined","members":["a","b"],"iceServers":[{"urls":["stun:x"]}]}`,
		`{"type":"offer","sdp":"v=0\r\n"}`,
		`{"type":"answer","sdp":""}`,
		`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0"}}`,
		`{"type":"candidate","candidate":null}`,
		`{"type":"members","members":[]}`,
		`{"type":"mute","muteConfig":{}}`,
		`{"type":"subscribe","openIdList":["a","b"]}`, `{"type":"subscribe"}`,
		`{"type":"videoMembers","members":["a"]}`,
		`{"type":"leave"}`, `{"type":"ping"}`, `{"type":"pong"}`,
		`{"type":"error","reason":"replay","message":"m"}`,
		`{"type":"bogus"}`, `{}`, `[]`, `null`, `{"type":1}`, `{"type":"join","timeStamp":1e99}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("Decode accepted a message that does not validate: %v", err)
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", again, err)
		}
	})
}
