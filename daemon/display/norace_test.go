//go:build !race

package display

// raceEnabled: see race_test.go.
const raceEnabled = false
