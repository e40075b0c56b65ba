package roomd

import (
	"fmt"
	"slices"
	"strings"

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
		od := o.MediaDescriptions[i]
		if md.MediaName.Media != od.MediaName.Media {
			return fmt.Errorf("the answer's media section %d is %s, the offer's %s", i, md.MediaName.Media, od.MediaName.Media)
		}
		if setup, ok := md.Attribute("setup"); ok && setup == "actpass" {
			return fmt.Errorf("the answer's setup in media section %d is actpass: an answer chooses active or passive", i)
		}
		if err := answersACodec(i, od, md); err != nil {
			return err
		}
	}
	return nil
}

// answersACodec refuses an accepted audio or video section that answers
// none of the offer's codecs: a payload type of the offer's whose rtpmap
// (name, clock rate, channels) is the offer's. pion takes such an answer,
// and the next offer to the member fails (found by fuzzing: "RTPSender
// created with no codecs"), ending it as an internal error instead of a
// bad answer.
func answersACodec(i int, offer, answer *sdp.MediaDescription) error {
	if answer.MediaName.Port.Value == 0 || (answer.MediaName.Media != "audio" && answer.MediaName.Media != "video") {
		return nil // refused, or not RTP
	}
	offered, answered := rtpmaps(offer), rtpmaps(answer)
	for _, pt := range answer.MediaName.Formats {
		if codec, ok := answered[pt]; ok && strings.EqualFold(codec, offered[pt]) && slices.Contains(offer.MediaName.Formats, pt) {
			return nil
		}
	}
	return fmt.Errorf("the answer's media section %d answers none of the offer's codecs", i)
}

// rtpmaps maps a section's payload types to their rtpmap codec.
func rtpmaps(md *sdp.MediaDescription) map[string]string {
	m := map[string]string{}
	for _, a := range md.Attributes {
		if a.Key == "rtpmap" {
			pt, codec, _ := strings.Cut(a.Value, " ")
			m[pt] = strings.TrimSpace(codec)
		}
	}
	return m
}
