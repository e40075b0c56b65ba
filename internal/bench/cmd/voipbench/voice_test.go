package main

import (
	"strings"
	"testing"
	"time"
)

// The report's table: medians over the processes, voipd ÷ baresip, and the
// busiest threads with their usual system call; without baresip, why not.
func TestVoiceReport(t *testing.T) {
	v := []usageRate{
		{name: "voipd a", cpuPercent: 6, switchesPerS: 3000, threads: 10, peakRSSKiB: 20 * 1024},
		{name: "voipd b", cpuPercent: 8, switchesPerS: 3400, threads: 10, peakRSSKiB: 22 * 1024,
			threadsByRate: []threadRate{{"voipd", "futex", 2500}, {"voipd", "clock_nanosleep", 130}}},
	}
	b := []usageRate{{name: "baresip A", cpuPercent: 3.5, switchesPerS: 300, threads: 2, peakRSSKiB: 8 * 1024},
		{name: "baresip B", cpuPercent: 3.5, switchesPerS: 320, threads: 2, peakRSSKiB: 8 * 1024}}
	idle := []usageRate{{cpuPercent: 0, switchesPerS: 0}, {cpuPercent: 0.01, switchesPerS: 1}}
	r := voiceReport(idle, v, b, "", 2, 30*time.Second)
	for _, want := range []string{
		"| CPU, % of a core | 7.00 | 3.50 | 2.00 |",
		"| context switches/s | 3200 | 310 | 10.32 |",
		"| threads | 10 | 2 | 5.00 |",
		"| idle voipd: CPU %, switches/s | 0.005, 0.5 |",
		"voipd (futex) 2500/s, voipd (clock_nanosleep) 130/s",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("the report lacks %q:\n%s", want, r)
		}
	}
	if r := voiceReport(idle, v, nil, "baresip is not installed", 1, time.Second); !strings.Contains(r, "baresip: baresip is not installed.") ||
		!strings.Contains(r, "| CPU, % of a core | 7.00 | NaN | — |") {
		t.Errorf("without baresip:\n%s", r)
	}
}
