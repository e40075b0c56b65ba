package control

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The exported line types are the wire, byte for byte: every line of
// README.md's examples that the server sends decodes into a ServerLine that
// encodes back to the same bytes, and every well-formed request line into a
// RequestLine that does.
func TestWireTypesRoundTripREADME(t *testing.T) {
	f, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var requests, answers, events int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if s, ok := strings.CutPrefix(line, "→ "); ok {
			m, _, e := decodeLine([]byte(s))
			if e != nil {
				continue // a malformed example: nothing to round-trip
			}
			requests++
			if b, err := json.Marshal(m); err != nil || string(b) != s {
				t.Errorf("RequestLine round trip:\n got %s (%v)\nwant %s", b, err, s)
			}
			continue
		}
		s, ok := strings.CutPrefix(line, "← ")
		if !ok {
			continue
		}
		var l ServerLine
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if l.IsEvent() {
			events++
		} else {
			answers++
		}
		if b, err := json.Marshal(l); err != nil || string(b) != s {
			t.Errorf("ServerLine round trip:\n got %s (%v)\nwant %s", b, err, s)
		}
		if l.Error != nil {
			var d ErrorData
			if err := json.Unmarshal(l.Error.Data, &d); err != nil || d.ErrCode != l.Error.Code || d.ErrMsg != l.Error.Message {
				t.Errorf("%s: data %+v (%v) does not repeat code and message", s, d, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if requests < 5 || answers < 5 || events < 1 {
		t.Fatalf("only %d requests, %d answers, %d events round-tripped", requests, answers, events)
	}
}

// ErrorData's members are in the order the daemon's RTC errors already
// send them (a map's sorted keys: errCode, errMsg, errNo, reason), so a
// Handler may use it without changing a byte; errNo and field are left out
// when zero, so the default data is unchanged too.
func TestErrorDataOrder(t *testing.T) {
	cases := []struct {
		d    ErrorData
		want any
	}{
		{ErrorData{ErrCode: 115903, ErrMsg: "joinRtcRoom:fail x", ErrNo: 21102, Reason: "internal"},
			map[string]any{"errCode": 115903, "errMsg": "joinRtcRoom:fail x", "errNo": 21102, "reason": "internal"}},
		{ErrorData{ErrCode: -1, ErrMsg: "joinVoIPChat:fail busy", Reason: "busy"},
			map[string]any{"errCode": -1, "errMsg": "joinVoIPChat:fail busy", "reason": "busy"}},
	}
	for _, c := range cases {
		got, _ := json.Marshal(c.d)
		want, _ := json.Marshal(c.want)
		if string(got) != string(want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	got, _ := json.Marshal(ErrorData{ErrCode: -32602, ErrMsg: "m", Reason: "params", Field: "x"})
	if want := `{"errCode":-32602,"errMsg":"m","reason":"params","field":"x"}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// A null result and null event params stay on the line (a client tells
// "null" from "absent"), and an answer to an unreadable id goes under null.
func TestEncodeKeepsNulls(t *testing.T) {
	got, err := encodeResult(json.RawMessage("3"), "m", nil)
	if want := `{"jsonrpc":"2.0","id":3,"result":null}` + "\n"; err != nil || string(got) != want {
		t.Errorf("nil result: got %s (%v), want %s", got, err, want)
	}
	got, err = encodeEvent("onX", nil)
	if want := `{"jsonrpc":"2.0","method":"onX","params":null}` + "\n"; err != nil || string(got) != want {
		t.Errorf("nil params: got %s (%v), want %s", got, err, want)
	}
	got = encodeError(nil, "", &Error{Code: CodeBusy, Message: "busy", Data: func() {}})
	want := `{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"busy","data":{"errCode":-32000,"errMsg":"busy","reason":"busy"}}}` + "\n"
	if string(got) != want {
		t.Errorf("unmarshallable data: got %s, want %s", got, want)
	}
}
