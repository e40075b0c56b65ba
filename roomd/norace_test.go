//go:build !race

package roomd

// raceEnabled: see race_test.go.
const raceEnabled = false
