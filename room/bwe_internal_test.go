package room

import "testing"

func TestVideoBitrates(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		cfg                  Config
		initial, lo, hi      int
		estimate, wantTarget int
	}{
		{"defaults", Config{}, 800_000, 50_000, 4_000_000, 1_000_000, 960_000},
		{"audio leaves too little", Config{}, 800_000, 50_000, 4_000_000, 60_000, 50_000},
		{"above the maximum", Config{}, 800_000, 50_000, 4_000_000, 9_000_000, 4_000_000},
		{"configured", Config{VideoBitrate: 300_000, MinVideoBitrate: 100_000, MaxVideoBitrate: 500_000},
			300_000, 100_000, 500_000, 240_000, 200_000},
		{"initial outside the bounds", Config{VideoBitrate: 2_000_000, MaxVideoBitrate: 1_000_000},
			1_000_000, 50_000, 1_000_000, 2_000_000, 1_000_000},
		{"maximum below the minimum", Config{MinVideoBitrate: 300_000, MaxVideoBitrate: 200_000},
			300_000, 300_000, 300_000, 100_000, 300_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			initial, lo, hi := videoBitrates(tc.cfg)
			if initial != tc.initial || lo != tc.lo || hi != tc.hi {
				t.Fatalf("videoBitrates = %d, %d, %d; want %d, %d, %d", initial, lo, hi, tc.initial, tc.lo, tc.hi)
			}
			if got := videoTarget(tc.estimate, AudioBitrate, lo, hi); got != tc.wantTarget {
				t.Fatalf("videoTarget(%d) = %d, want %d", tc.estimate, got, tc.wantTarget)
			}
		})
	}
}
