// Package janus measures roomd's forwarding cost side by side with Janus
// VideoRoom's: one publisher (Opus 50 packets/s and ~800 kbit/s of VP8 at
// 30 frames/s) forwarded to N subscribers, for several N, on loopback.
//
// The load generator (cmd loadgen below this directory) speaks both
// protocols: roomd's WebSocket signalling through package room, Janus's
// HTTP long-poll API with its own pion peers (janusapi.go, janusleg.go).
// Subscribers' sinks count packets without decoding them (pion decrypts
// SRTP, on the generator's core). For each N the server's CPU is read from
// /proc/PID/stat (utime+stime) over a fixed window; this file holds that
// reading, the Point a window yields and the straight-line fit that
// extrapolates the N at 80 % of one core. report.go prints the markdown;
// run.sh starts the servers pinned to core 1 and the generator on core 0.
package janus

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// StreamsPerSubscriber is what each subscriber receives: the publisher's
// audio and its video.
const StreamsPerSubscriber = 2

// ParseStatTicks returns utime+stime (clock ticks, the whole thread group)
// from the contents of /proc/PID/stat. The command name, in parentheses,
// may hold spaces and parentheses itself, so fields are counted from the
// last ')'.
func ParseStatTicks(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("stat: no ')' after the command name")
	}
	// After ')' come fields 3 (state) onwards; utime and stime are
	// fields 14 and 15 of proc(5).
	f := strings.Fields(string(stat[i+1:]))
	const utime, stime = 14 - 3, 15 - 3
	if len(f) <= stime {
		return 0, fmt.Errorf("stat: %d fields after the command name, want more than %d", len(f), stime)
	}
	u, err := strconv.ParseUint(f[utime], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat: utime %q: %w", f[utime], err)
	}
	s, err := strconv.ParseUint(f[stime], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat: stime %q: %w", f[stime], err)
	}
	return u + s, nil
}

// ReadCPUTicks reads utime+stime of process pid (0: this process).
func ReadCPUTicks(pid int) (uint64, error) {
	path := "/proc/self/stat"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return ParseStatTicks(b)
}

// ClockTicks is USER_HZ, the unit of /proc/PID/stat's times: getconf's
// answer, or 100 (what Linux uses on every common architecture).
func ClockTicks() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
			return v
		}
	}
	return 100
}

// Point is one measured window: a server forwarding one publisher to N
// subscribers.
type Point struct {
	Server      string  `json:"server"`
	N           int     `json:"n"`
	Seconds     float64 `json:"seconds"`     // the window's wall time
	ServerCPU   float64 `json:"serverCPU"`   // server CPU seconds per second (1 = one core)
	GenCPU      float64 `json:"genCPU"`      // the load generator's, likewise
	Sent        uint64  `json:"sent"`        // packets the publisher sent in the window
	Received    uint64  `json:"received"`    // packets all sinks received in the window
	SetupSecond float64 `json:"setupSecond"` // time to join everyone and see media flow
}

// Streams is the forwarded streams: N subscribers × (audio + video).
func (p Point) Streams() int { return p.N * StreamsPerSubscriber }

// MicrosPerStream is the server's CPU per forwarded stream, in µs of CPU
// per second of wall time.
func (p Point) MicrosPerStream() float64 {
	if p.N <= 0 {
		return 0
	}
	return p.ServerCPU * 1e6 / float64(p.Streams())
}

// Delivered is the share of what the sinks should have received (every
// packet sent, N times) that they did receive.
func (p Point) Delivered() float64 {
	want := float64(p.Sent) * float64(p.N)
	if want == 0 {
		return 0
	}
	return float64(p.Received) / want
}

// Fit is the least-squares line CPU = Fixed + PerSubscriber × N through a
// server's points.
type Fit struct {
	Fixed, PerSubscriber float64 // in cores
	OK                   bool    // at least two distinct N and a rising line
}

// FitPoints fits the line through ps.
func FitPoints(ps []Point) Fit {
	var n, sx, sy, sxx, sxy float64
	for _, p := range ps {
		x, y := float64(p.N), p.ServerCPU
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	d := n*sxx - sx*sx
	if n < 2 || d == 0 {
		return Fit{}
	}
	b := (n*sxy - sx*sy) / d
	a := (sy - b*sx) / n
	return Fit{Fixed: a, PerSubscriber: b, OK: b > 0}
}

// NAt is the N (subscribers) at which the line reaches load cores.
func (f Fit) NAt(load float64) float64 {
	if !f.OK {
		return math.NaN()
	}
	return (load - f.Fixed) / f.PerSubscriber
}

// MicrosPerStream is the marginal CPU of one more forwarded stream, in µs
// per second.
func (f Fit) MicrosPerStream() float64 {
	if !f.OK {
		return math.NaN()
	}
	return f.PerSubscriber * 1e6 / StreamsPerSubscriber
}

// StreamsPerCore is how many streams one core forwards at the marginal
// cost (the fixed cost left out), the figure mediasoup publishes.
func (f Fit) StreamsPerCore() float64 {
	if !f.OK {
		return math.NaN()
	}
	return StreamsPerSubscriber / f.PerSubscriber
}
