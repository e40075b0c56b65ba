//go:build race

package display

// raceEnabled: under the race detector sync.Pool drops a random share of
// Puts on purpose, so pion's pooled packets are allocated afresh and
// whole-process allocation counts mean nothing.
const raceEnabled = true
