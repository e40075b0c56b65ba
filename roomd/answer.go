package roomd

import (
	"fmt"

	"github.com/pion/sdp/v3"
)

// checkAnswer refuses an answer that cannot answer offer, before pion sees
// it. pion checks an answer's syntax and ICE credentials but takes some
// nonsense whole: roomd's own offer sent back as the answer passes, and
// leaves the member's peer connection checking ICE against itself, a
// member that holds a seat and a peer connection and will never get media.
// The two rules here are the answer's half of offer/answer:
//   - as many media sections as the offer, in its order (RFC 3264 §6: a
//     section refused is still there, with port 0);
//   - a DTLS role chosen: setup active or passive, not actpass (RFC 5763
//     §5; actpass is the offerer's).
func checkAnswer(offer, answer string) error {
	var o, a sdp.SessionDescription
	if err := o.UnmarshalString(offer); err != nil {
		return nil // roomd's own offer (pion's): never, and not the member's fault; pion judges the answer alone
	}
	if err := a.UnmarshalString(answer); err != nil {
		return fmt.Errorf("the answer does not parse: %w", err)
	}
	if len(a.MediaDescriptions) != len(o.MediaDescriptions) {
		return fmt.Errorf("the answer has %d media sections, the offer %d", len(a.MediaDescriptions), len(o.MediaDescriptions))
	}
	if setup, ok := a.Attribute("setup"); ok && setup == "actpass" {
		return fmt.Errorf("the answer's setup is actpass: an answer chooses active or passive")
	}
	for i, md := range a.MediaDescriptions {
		if md.MediaName.Media != o.MediaDescriptions[i].MediaName.Media {
			return fmt.Errorf("the answer's media section %d is %s, the offer's %s", i, md.MediaName.Media, o.MediaDescriptions[i].MediaName.Media)
		}
		if setup, ok := md.Attribute("setup"); ok && setup == "actpass" {
			return fmt.Errorf("the answer's setup in media section %d is actpass: an answer chooses active or passive", i)
		}
	}
	return nil
}
