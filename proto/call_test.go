package proto

import (
	"os"
	"regexp"
	"testing"
)

// Every call message type has a README example, and the 1v1 join example
// decodes as kind 1v1.
func TestReadmeCallExamples(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, blk := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(b, -1) {
		m, err := Decode(blk[1])
		if err != nil {
			continue // TestReadmeExamples reports it
		}
		seen[m.Type+"/"+m.Kind] = true
	}
	for _, typ := range []string{TypeRegister, TypeRegistered, TypeCall, TypeRinging, TypeInvite,
		TypeCallAnswer, TypeAccepted, TypeHangup, TypeCallEnded} {
		if !seen[typ+"/"] {
			t.Errorf("README.md has no example of %s", typ)
		}
	}
	if !seen[TypeJoin+"/"+Kind1v1] {
		t.Error("README.md has no example of a 1v1 join")
	}
}

func TestValidateCallMessages(t *testing.T) {
	for _, tc := range []struct {
		msg string
		ok  bool
	}{
		{`{"type":"register","appId":"a","openid":"o","nonceStr":"n","timeStamp":1,"signature":"s"}`, true},
		{`{"type":"register","appId":"a","nonceStr":"n","timeStamp":1,"signature":"s"}`, false},
		{`{"type":"register","appId":"a","openid":"o","nonceStr":"n","timeStamp":1}`, false},
		{`{"type":"call","appId":"a","nonceStr":"n","timeStamp":1,"signature":"s","caller":{"openid":"c"},"listener":{"openid":"l"}}`, true},
		{`{"type":"call","appId":"a","nonceStr":"n","timeStamp":1,"signature":"s","caller":{"openid":"c"}}`, false},
		{`{"type":"call","appId":"a","nonceStr":"n","timeStamp":1,"signature":"s","caller":{"openid":"c"},"listener":{"nickname":"l"}}`, false},
		{`{"type":"call","appId":"a","nonceStr":"n","timeStamp":1,"signature":"s","caller":{"openid":"c"},"listener":{"openid":"l"},"roomType":"tv"}`, false},
		{`{"type":"call","appId":"a","nonceStr":"n","timeStamp":1,"signature":"s","caller":{"openid":"c"},"listener":{"openid":"l"},"ringTimeoutMs":-1}`, false},
		{`{"type":"callAnswer","callId":"c","accept":false}`, true},
		{`{"type":"callAnswer","callId":"c"}`, false},
		{`{"type":"callAnswer","callId":"c","accept":false,"reason":"listener_busy"}`, true}, // busy here
		{`{"type":"callAnswer","callId":"c","accept":true,"reason":"listener_busy"}`, false},
		{`{"type":"callAnswer","callId":"c","accept":false,"reason":"offline"}`, false},
		{`{"type":"accepted","callId":"c","roomId":"1v1:c","ticket":"t"}`, false},
		{`{"type":"callEnded","callId":"c"}`, false},
		{`{"type":"ringing"}`, false},
		{`{"type":"join","kind":"1v1","appId":"a","openid":"o","roomId":"1v1:c","ticket":"t"}`, true},
		{`{"type":"join","kind":"1v1","appId":"a","openid":"o","roomId":"g","ticket":"t"}`, false},
		{`{"type":"join","kind":"1v1","appId":"a","openid":"o","roomId":"1v1:","ticket":"t"}`, false},
		{`{"type":"join","kind":"1v1","appId":"a","openid":"o","roomId":"1v1:c"}`, false},
		{`{"type":"join","kind":"1v1","appId":"a","openid":"o","roomId":"1v1:c","resume":"r1.x.y"}`, true}, // back into the seat
	} {
		_, err := Decode([]byte(tc.msg))
		if (err == nil) != tc.ok {
			t.Errorf("Decode(%s) error = %v, want ok=%v", tc.msg, err, tc.ok)
		}
	}
}
