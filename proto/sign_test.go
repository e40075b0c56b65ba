package proto

import "testing"

// WeChat's own example of the signature (proto/README.md, "Signatures"):
// the same values sign the join example there.
func TestSignatureCheckValue(t *testing.T) {
	got := Signature("wx20afc706a711eefc", "1559129713_672975982", "8AP6DT9ybtniUJfb", 1559129714, "gDyVgzwa0mFz9uUP7M6GQQ==")
	const want = "b002b824688dd8593a6079e11d8c5e8734fbcb39a6d5906eb347bfbcad79c617"
	if got != want {
		t.Fatalf("signature = %s, want %s", got, want)
	}
	if !VerifySignature(want, "wx20afc706a711eefc", "1559129713_672975982", "8AP6DT9ybtniUJfb", 1559129714, "gDyVgzwa0mFz9uUP7M6GQQ==") {
		t.Fatal("VerifySignature rejected the check value")
	}
	if VerifySignature(want, "wx20afc706a711eefc", "1559129713_672975982", "8AP6DT9ybtniUJfb", 1559129715, "gDyVgzwa0mFz9uUP7M6GQQ==") {
		t.Fatal("VerifySignature accepted a signature for another timeStamp")
	}
}

func TestSessionKeyShape(t *testing.T) {
	k := SessionKey("secret", "door-1")
	if len(k) != 24 {
		t.Fatalf("session key %q has %d characters, want 24", k, len(k))
	}
	if k == SessionKey("secret", "door-2") || k == SessionKey("other", "door-1") {
		t.Fatal("session keys of different members or apps collide")
	}
	if k != SessionKey("secret", "door-1") {
		t.Fatal("session key is not deterministic")
	}
}
