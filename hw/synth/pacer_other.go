//go:build !linux

package synth

func newSleeper(done <-chan struct{}) sleeper { return newTimerSleeper(done) }
