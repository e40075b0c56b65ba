package bench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/voipd/voipd/hw/synth"
)

// The mouth-to-ear measurement runs voipd processes whose microphone is
// hw/synth's click source ("click:PATH": a 5 ms 1 kHz burst after silence,
// every 0.5 s) and whose speaker is its click detector ("detect:PATH").
// Both log CLOCK_MONOTONIC times, which every process on the machine
// shares; ReadClickLog reads those logs and MatchClicks pairs them.

// The click and its detector are hw/synth's, so what voipd sends and what
// the bench's own tests check are the same.
const (
	ClickBurst     = synth.ClickBurst
	ClickAmplitude = synth.ClickAmplitude
)

// Detector finds click onsets; see synth.Detector.
type Detector = synth.Detector

// NewDetector returns hw/synth's click detector.
func NewDetector() *Detector { return synth.NewDetector() }

// WriteClick fills frame with silence and, when click is set, a burst.
func WriteClick(frame []int16, click bool) { synth.WriteClick(frame, click) }

// ClickLog is what a click source and a click detector logged: when each
// click's first sample entered the microphone (Sent), when its frame was
// handed to the daemon (Delivered), and when each detected onset left the
// speaker (Heard), all on CLOCK_MONOTONIC.
type ClickLog struct {
	Sent, Delivered, Heard []time.Time
}

// ReadClickLog reads the event lines of hw/synth's click devices from the
// files at paths (a missing file reads as empty: that side logged nothing).
func ReadClickLog(paths ...string) (ClickLog, error) {
	var l ClickLog
	for _, p := range paths {
		f, err := os.Open(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return l, err
		}
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			fs := strings.Fields(sc.Text())
			ts := make([]time.Time, 0, 2)
			for _, s := range fs[min(1, len(fs)):] {
				ns, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					f.Close()
					return l, fmt.Errorf("%s:%d: %v", p, n, err)
				}
				ts = append(ts, time.Unix(0, ns))
			}
			switch {
			case len(fs) == 3 && fs[0] == "click":
				l.Sent, l.Delivered = append(l.Sent, ts[0]), append(l.Delivered, ts[1])
			case len(fs) == 2 && fs[0] == "heard":
				l.Heard = append(l.Heard, ts[0])
			default:
				f.Close()
				return l, fmt.Errorf("%s:%d: not a click event: %q", p, n, sc.Text())
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return l, err
		}
	}
	return l, nil
}

// MatchClicks pairs each heard onset with the latest click sent before it
// and returns the delays; an onset more than window after its click, or
// with none before it, is left out (a false detection).
func MatchClicks(sent, heard []time.Time, window time.Duration) []time.Duration {
	var out []time.Duration
	for _, h := range heard {
		var best time.Time
		for _, s := range sent {
			if !s.After(h) && s.After(best) {
				best = s
			}
		}
		if !best.IsZero() && h.Sub(best) <= window {
			out = append(out, h.Sub(best))
		}
	}
	return out
}
