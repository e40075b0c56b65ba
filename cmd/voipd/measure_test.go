package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/metrics"
)

// Two voipd processes in a call through roomd on loopback: the test reports
// (it does not judge: the machine is shared) the join time and each
// process's CPU and RSS over the call, and checks the call carried audio.
func TestMeasureTwoMemberCall(t *testing.T) {
	for _, roomType := range []string{"voice", "video"} {
		t.Run(roomType, func(t *testing.T) { measureCall(t, roomType) })
	}
}

func measureCall(t *testing.T, roomType string) {
	srv, secret := testRoomd(t, nil)
	var procs []*proc
	var ctls []*ctl
	for _, id := range []string{"m-a", "m-b"} {
		// m-a serves metrics (scraped during the call), m-b not: their
		// RSS side by side is what metrics cost.
		extra := ""
		if id == "m-a" {
			extra = "[metrics]\nlisten = \"127.0.0.1:0\"\n"
		}
		p := startProc(t, identityConfig(id, secret, wsURL(srv.URL()))+fmt.Sprintf(`[audio]
backend = "null"
capture = "tone:440"
playback = "null"
[video]
camera = "pattern:%s"
%s`, id, extra), nil)
		procs = append(procs, p)
		ctls = append(ctls, dialCtl(t, p.socket))
	}
	idleRSS := rssKiB(t, procs[0].cmd.Process.Pid)

	// Join time: request to result, repeated.
	var joins []time.Duration
	nodes := []*node{{openid: "m-a", secret: secret}, {openid: "m-b", secret: secret}}
	join := func(n *node) map[string]any {
		p := n.joinParams("measure")
		p["roomType"] = roomType
		return p
	}
	for i := 0; i < 10; i++ {
		t0 := time.Now()
		ctls[0].mustOK("joinVoIPChat", join(nodes[0]))
		joins = append(joins, time.Since(t0))
		ctls[0].mustOK("exitVoIPChat", nil)
	}
	slices.Sort(joins)
	ctls[0].mustOK("joinVoIPChat", join(nodes[0]))
	ctls[1].mustOK("joinVoIPChat", join(nodes[1]))

	time.Sleep(time.Second) // settle
	const window = 5 * time.Second
	cpu0 := []float64{cpuSeconds(t, procs[0].cmd.Process.Pid), cpuSeconds(t, procs[1].cmd.Process.Pid)}
	time.Sleep(window)
	murl := regexp.MustCompile(`msg=metrics url=(\S+)`).FindStringSubmatch(procs[0].out.String())
	if murl == nil {
		t.Fatalf("m-a logged no metrics URL:\n%s", procs[0].out.String())
	}
	f, err := metrics.Scrape(murl[1])
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Value("voipd_packets_sent_total", "kind", "audio"); v == 0 {
		t.Errorf("m-a's metrics show no audio sent in the call")
	}
	for i, p := range procs {
		used := cpuSeconds(t, p.cmd.Process.Pid) - cpu0[i]
		on := map[bool]string{true: "metrics on, scraped", false: "metrics off"}[i == 0]
		t.Logf("voipd %s (%s) in a two-member %s call: CPU %.1f%% of a core, RSS %d KiB", nodes[i].openid, on, roomType, 100*used/window.Seconds(), rssKiB(t, p.cmd.Process.Pid))
	}
	t.Logf("idle voipd RSS: %d KiB; join on loopback over %d joins: p50 %v, max %v", idleRSS, len(joins), joins[len(joins)/2], joins[len(joins)-1])
	stats := ctls[1].mustOK("getStats", nil)
	in, _ := stats["inbound"].([]any)
	if len(in) == 0 || in[0].(map[string]any)["framesDecoded"].(float64) < 100 {
		t.Fatalf("the measured call carried no audio: %v", stats)
	}
	if roomType == "video" && !videoInboundOK(t, &node{ctl: ctls[1]}, "m-a") {
		t.Fatalf("the measured video call carried no video: %v", stats)
	}
	for _, x := range in {
		// voipd hands members' pictures to nobody, so it decodes none.
		if m := x.(map[string]any); m["kind"] == "video" && (m["framesDecoded"].(float64) != 0 || m["frameWidth"].(float64) != 640) {
			t.Fatalf("voipd's inbound video: %v, want framesDecoded 0 and the size from keyframes", m)
		}
	}
	for _, p := range procs {
		p.term(10 * time.Second)
	}
}

// cpuSeconds is utime+stime of a process, from /proc/PID/stat.
func cpuSeconds(t testing.TB, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

func rssKiB(t testing.TB, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	return 0
}
