package main

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The price of a wakeup on this machine, the anchor beside the voice
// call's context switches (issue 19): internal/bench/anchor/wakeup.c, a
// thread that does nothing else woken every 20 ms by a timer, then by a
// pipe written from the other CPU, and its CPU time per wakeup. voipbench
// voice runs it (-wakeup, built by scripts/bench.sh) on the CPU voipd runs
// on, each round for as long as a call's window.

// wakeCost is the price of a wakeup alone, µs of a thread's CPU, by what
// woke it; byPipe is 0 where there is no second CPU to write from.
type wakeCost struct{ byTimer, byPipe float64 }

// wakeupChild runs the anchor program for d on the CPU voipd runs on
// (-client-cpu) and reads its prices.
func wakeupChild(program string, d time.Duration) (wakeCost, error) {
	argv := []string{program, strconv.Itoa(max(1, int(d.Seconds())))}
	if *clientCPU != "" {
		argv = append([]string{"taskset", "-c", *clientCPU}, argv...)
	}
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		return wakeCost{}, fmt.Errorf("%s: %w", program, err)
	}
	w, err := parseWakeupLine(string(out))
	if err != nil {
		return wakeCost{}, err
	}
	progress("a wakeup alone: %.1f µs of CPU by a timer, %.1f µs by a pipe from the other CPU", w.byTimer, w.byPipe)
	return w, nil
}

// parseWakeupLine reads the anchor's line: "wakeup", the
// timer's price in µs (above 0) and the pipe's (0 without a second CPU).
func parseWakeupLine(out string) (wakeCost, error) {
	f := strings.Fields(strings.TrimSpace(out))
	if len(f) != 3 || f[0] != "wakeup" {
		return wakeCost{}, fmt.Errorf("the wakeup anchor said %q", out)
	}
	timer, err1 := strconv.ParseFloat(f[1], 64)
	pipe, err2 := strconv.ParseFloat(f[2], 64)
	if err1 != nil || err2 != nil || !(timer > 0) || !(pipe >= 0) {
		return wakeCost{}, fmt.Errorf("the wakeup anchor said %q", out)
	}
	return wakeCost{byTimer: timer, byPipe: pipe}, nil
}
