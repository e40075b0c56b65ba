//go:build race

package roomd

// raceEnabled: under the race detector sync.Pool drops a random share of
// Puts on purpose, so pion's pooled packets are allocated afresh and a
// whole-process allocation count per packet means nothing (the project's
// own path is held to zero by TestForwardAllocatesNothing either way).
const raceEnabled = true
