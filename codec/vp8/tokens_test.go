package vp8

import "testing"

func TestFresh(t *testing.T) {
	before := []span{{10, 20}, {30, 40}}
	after := []span{{0, 50}, {10, 20}, {60, 70}}
	got := fresh(before, after)
	want := []span{{0, 10}, {20, 30}, {40, 50}, {60, 70}}
	if len(got) != len(want) {
		t.Fatalf("fresh = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fresh = %v, want %v", got, want)
		}
	}
}
