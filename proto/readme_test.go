package proto

import (
	"os"
	"regexp"
	"testing"
)

// Every ```json block of README.md is a message that decodes and
// validates, and every message type appears in one.
func TestReadmeExamples(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(b, -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no json examples")
	}
	seen := map[string]bool{}
	for _, blk := range blocks {
		m, err := Decode(blk[1])
		if err != nil {
			t.Errorf("example %s: %v", blk[1], err)
			continue
		}
		seen[m.Type] = true
	}
	for _, typ := range []string{TypeJoin, TypeJoined, TypeOffer, TypeAnswer, TypeCandidate, TypeMembers,
		TypeMute, TypeLeave, TypePing, TypePong, TypeError, TypeSubscribe, TypeVideoMembers, TypeICERestart, TypeLiveKit} {
		if !seen[typ] {
			t.Errorf("README.md has no example of %s", typ)
		}
	}
}

// The join example is signed correctly (it is WeChat's check value).
func TestReadmeJoinSignature(t *testing.T) {
	b, _ := os.ReadFile("README.md")
	blk := regexp.MustCompile("(?s)```json\n(\\{\"type\": \"join\".*?)```").FindSubmatch(b)
	if blk == nil {
		t.Fatal("no join example")
	}
	m, err := Decode(blk[1])
	if err != nil {
		t.Fatal(err)
	}
	if !VerifySignature(m.Signature, m.AppID, m.GroupID, m.NonceStr, m.TimeStamp, "gDyVgzwa0mFz9uUP7M6GQQ==") {
		t.Fatal("the join example's signature does not verify with the check-value key")
	}
}
