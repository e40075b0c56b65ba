package roomd

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestSelectVideo(t *testing.T) {
	order := []string{"a", "b", "c", "d"}
	for _, tc := range []struct {
		name   string
		self   string
		cands  []string
		sub    []string
		subSet bool
		want   []string
	}{
		{"alone", "a", []string{"a"}, nil, false, nil},
		{"two others: all", "c", order[:3], nil, false, []string{"a", "b"}},
		{"first joiner, two others", "a", order[:3], nil, false, []string{"b", "c"}},
		{"fourth: the first two joiners", "d", order, nil, false, []string{"a", "b"}},
		{"first: the first two others", "a", order, nil, false, []string{"b", "c"}},
		{"explicit", "a", order, []string{"d"}, true, []string{"d"}},
		{"explicit keeps join order, skips self and absent", "b", order, []string{"d", "b", "x", "a"}, true, []string{"a", "d"}},
		{"explicit empty: none", "a", order, nil, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := selectVideo(tc.self, tc.cands, tc.sub, tc.subSet)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("selectVideo = %v, want %v", got, tc.want)
			}
		})
	}
}

// Requests closer together than keyframeInterval are coalesced into one
// deferred request, not dropped; after stop nothing more is sent.
func TestKeyframerCoalesces(t *testing.T) {
	var sent atomic.Int32
	k := &keyframer{send: func() { sent.Add(1) }}
	k.request()
	if sent.Load() != 1 {
		t.Fatalf("first request: %d sent, want 1 at once", sent.Load())
	}
	for range 10 {
		k.request()
	}
	if sent.Load() != 1 {
		t.Fatalf("requests within the interval sent %d at once", sent.Load()-1)
	}
	deadline := time.Now().Add(5 * time.Second)
	for sent.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if sent.Load() != 2 {
		t.Fatalf("deferred request: %d sent in all, want 2", sent.Load())
	}
	k.request() // within the interval of the deferred one: deferred again
	k.stop()
	time.Sleep(keyframeInterval + 100*time.Millisecond)
	if sent.Load() != 2 {
		t.Fatalf("a request was sent after stop: %d sent", sent.Load())
	}
}
