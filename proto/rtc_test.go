package proto

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// Every token-room message type has a README example, and the rtc join
// example decodes as kind rtc with its roomId and token.
func TestReadmeRTCExamples(t *testing.T) {
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
		seen[m.Type] = true
		if m.Type == TypeJoin && m.Kind == KindRTC {
			seen["rtc join"] = true
			if m.RoomID != "hall-1" || m.UserID != "door-1" || !strings.HasPrefix(m.Token, "001"+m.AppID) {
				t.Errorf("rtc join example decodes as roomId %q userId %q token %.30q", m.RoomID, m.UserID, m.Token)
			}
		}
	}
	for _, typ := range []string{TypePublish, TypePublished, TypeReceive, TypeTokenExpiring, "rtc join"} {
		if !seen[typ] {
			t.Errorf("README.md has no example of %s", typ)
		}
	}
}

func TestValidateRTC(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name string
		m    Message
		ok   bool
	}{
		{"join", Message{Type: TypeJoin, Kind: KindRTC, AppID: "a", CallFields: CallFields{RoomID: "r"},
			RTCFields: RTCFields{UserID: "u", Token: "t", AutoPublish: &no}}, true},
		{"join without token", Message{Type: TypeJoin, Kind: KindRTC, AppID: "a", CallFields: CallFields{RoomID: "r"},
			RTCFields: RTCFields{UserID: "u"}}, false},
		{"join without roomId", Message{Type: TypeJoin, Kind: KindRTC, AppID: "a",
			RTCFields: RTCFields{UserID: "u", Token: "t"}}, false},
		{"join without userId", Message{Type: TypeJoin, Kind: KindRTC, AppID: "a", CallFields: CallFields{RoomID: "r"},
			RTCFields: RTCFields{Token: "t"}}, false},
		{"join with a bad roomType", Message{Type: TypeJoin, Kind: KindRTC, AppID: "a", RoomType: "tv",
			CallFields: CallFields{RoomID: "r"}, RTCFields: RTCFields{UserID: "u", Token: "t"}}, false},
		{"receive", Message{Type: TypeReceive, RTCFields: RTCFields{Receive: &yes}}, true},
		{"receive without receive", Message{Type: TypeReceive}, false},
		{"tokenExpiring without expireAt", Message{Type: TypeTokenExpiring}, false},
		{"publish of nothing", Message{Type: TypePublish}, true},
	} {
		if err := tc.m.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	if BoolOr(nil, true) != true || BoolOr(&no, true) != false {
		t.Error("BoolOr")
	}
}
