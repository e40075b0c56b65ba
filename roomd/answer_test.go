package roomd

import (
	"strings"
	"testing"
)

const testOffer = `v=0
o=- 1 1 IN IP4 0.0.0.0
s=-
t=0 0
a=group:BUNDLE 0
m=audio 9 UDP/TLS/RTP/SAVPF 111
c=IN IP4 0.0.0.0
a=mid:0
a=setup:actpass
a=rtpmap:111 opus/48000/2
a=sendrecv
`

const testAnswer = `v=0
o=- 2 2 IN IP4 0.0.0.0
s=-
t=0 0
a=group:BUNDLE 0
m=audio 9 UDP/TLS/RTP/SAVPF 111
c=IN IP4 0.0.0.0
a=mid:0
a=setup:active
a=rtpmap:111 opus/48000/2
a=sendrecv
`

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// checkAnswer takes an answer that answers the offer and refuses one that
// cannot: another section count or kind, actpass, or an accepted section
// with none of the offer's codecs (pion takes that one, and the next offer
// to the member fails).
func TestCheckAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, answer, want string
	}{
		{"a good answer", testAnswer, ""},
		{"the offer sent back", testOffer, "actpass"},
		{"no rtpmap for the codec", strings.Replace(testAnswer, "a=rtpmap:111 opus/48000/2\n", "", 1), "none of the offer's codecs"},
		{"the payload type mapped to nonsense", strings.Replace(testAnswer, "opus/48000/2", "VP8/rg/id", 1), "none of the offer's codecs"},
		{"a codec the offer did not make", strings.ReplaceAll(testAnswer, "111", "96"), "none of the offer's codecs"},
		{"a refused section needs no codec", strings.Replace(strings.Replace(testAnswer, "m=audio 9", "m=audio 0", 1), "a=rtpmap:111 opus/48000/2\n", "", 1), ""},
		{"another kind", strings.Replace(testAnswer, "m=audio", "m=video", 1), "is video"},
	} {
		err := checkAnswer(crlf(testOffer), crlf(tc.answer))
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
