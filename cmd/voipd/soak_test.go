package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// soakCycles is how many cycles each soak runs: VOIPD_SOAK_CYCLES (make
// soak: 1000), else a short run that still shows growth per cycle.
func soakCycles(t *testing.T) int {
	if s := os.Getenv("VOIPD_SOAK_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 20 {
			t.Fatalf("VOIPD_SOAK_CYCLES=%q: want a number ≥ 20", s)
		}
		return n
	}
	return 40
}

// sample is a process's footprint at one point of a soak.
type sample struct {
	cycle            int
	goroutines, fds  int
	rssKiB, heapKiB  int
	hasRuntimeCounts bool // goroutines and heap come from status (voipd)
}

func (s sample) String() string {
	if !s.hasRuntimeCounts {
		return fmt.Sprintf("%6d  fds %3d  RSS %6d KiB", s.cycle, s.fds, s.rssKiB)
	}
	return fmt.Sprintf("%6d  goroutines %3d  fds %3d  RSS %6d KiB  heap %6d KiB", s.cycle, s.goroutines, s.fds, s.rssKiB, s.heapKiB)
}

// procSample reads pid's descriptors and resident memory.
func procSample(t *testing.T, pid, cycle int) sample {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := sample{cycle: cycle, fds: len(ents)}
	for line := range strings.Lines(string(st)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			s.rssKiB, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return s
}

// daemonSample is procSample of voipd plus its goroutines and live heap
// from status, after the daemon went idle.
func daemonSample(t *testing.T, p *proc, c *ctl, cycle int) sample {
	t.Helper()
	eventually(t, 15*time.Second, "voipd idle", func() bool { return c.mustOK("status", nil)["state"] == "idle" })
	s := procSample(t, p.cmd.Process.Pid, cycle)
	rt := c.mustOK("status", nil)["runtime"].(map[string]any)
	s.goroutines, s.heapKiB, s.hasRuntimeCounts = int(rt["goroutines"].(float64)), int(rt["heapLiveBytes"].(float64))/1024, true
	return s
}

// waitReleaseGC waits, right after a leave, for the garbage collection
// voipd runs 1 s after it becomes idle (internal/release): status' live
// heap is as the last collection marked it, and one during the call would
// count the call's buffers, still live then, as growth.
func waitReleaseGC(t *testing.T, c *ctl) {
	t.Helper()
	cycles := func() float64 { return c.mustOK("status", nil)["runtime"].(map[string]any)["gcCycles"].(float64) }
	before := cycles()
	eventually(t, 10*time.Second, "voipd's collection 1 s after it became idle", func() bool { return cycles() > before })
}

// flat judges a soak's samples: from the first sample after the warm-up
// (a tenth of the cycles: pools, caches and the runtime's own arenas
// filled) to the last, no count grows beyond noise — goroutines by 5,
// descriptors by 4, the live heap and the resident set by a quarter and
// a little (garbage collection leaves either anywhere between two
// collections).
func flat(t *testing.T, what string, samples []sample) {
	t.Helper()
	var b strings.Builder
	for _, s := range samples {
		b.WriteString("\n    " + s.String())
	}
	t.Logf("%s, every %d cycles:%s", what, samples[1].cycle-samples[0].cycle, b.String())
	warm, last := samples[1], samples[len(samples)-1]
	grew := func(name string, from, to, allowed int) {
		if to > from+allowed {
			t.Errorf("%s: %s grew from %d to %d between cycle %d and %d (allowed %d)", what, name, from, to, warm.cycle, last.cycle, allowed)
		}
	}
	grew("descriptors", warm.fds, last.fds, 4)
	grew("resident KiB", warm.rssKiB, last.rssKiB, warm.rssKiB/4+4096)
	if warm.hasRuntimeCounts {
		grew("goroutines", warm.goroutines, last.goroutines, 5)
		grew("live heap KiB", warm.heapKiB, last.heapKiB, warm.heapKiB/4+2048)
	}
}

// TestSoakJoinLeave (issue 16): voipd joins and leaves a voice room, then
// a video room, cycle after cycle; its goroutines, descriptors, resident
// memory and live heap stay flat.
func TestSoakJoinLeave(t *testing.T) {
	n := soakCycles(t)
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	p := startProc(t, fmt.Sprintf(`
[identity]
appId = %q
openid = "soak"
sessionKey = %q
[room]
url = %q
[audio]
backend = "null"
capture = "tone:440"
playback = "null"
[video]
camera = "pattern"
`, testApp, proto.SessionKey(secret, "soak"), url), nil)
	c := dialCtl(t, p.socket)
	c.mustOK("subscribe", map[string]any{"events": []string{"*"}}) // stays connected however long a cycle takes
	me := &node{openid: "soak", secret: secret}
	for _, roomType := range []string{"voice", "video"} {
		var samples []sample
		for i := range n + 1 {
			if i%(n/10) == 0 {
				samples = append(samples, daemonSample(t, p, c, i))
			}
			if i == n {
				break
			}
			params := me.joinParams("soak-" + roomType)
			params["roomType"] = roomType
			c.mustOK("joinVoIPChat", params)
			c.mustOK("exitVoIPChat", nil)
			if (i+1)%(n/10) == 0 {
				waitReleaseGC(t, c)
			}
		}
		flat(t, "voipd in "+roomType+" room join/leave cycles", samples)
	}
}

// TestSoakCalls (issue 16): a door calls a monitor, which answers; the
// door hangs up; cycle after cycle. Both daemons stay flat.
func TestSoakCalls(t *testing.T) {
	n := soakCycles(t)
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	start := func(openid string, hz int) (*proc, *node) {
		p := startProc(t, identityConfig(openid, secret, url)+fmt.Sprintf(`[audio]
backend = "null"
capture = "tone:%d"
playback = "null"
`, hz), nil)
		nd := &node{openid: openid, secret: secret, ctl: dialCtl(t, p.socket)}
		nd.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})
		return p, nd
	}
	pd, door := start("door", doorHz)
	pm, monitor := start("flat", monitorHz)
	monitor.ctl.mustOK("setEnable1v1Chat", map[string]any{"enable": true})
	var doors, monitors []sample
	for i := range n + 1 {
		if i%(n/10) == 0 {
			doors = append(doors, daemonSample(t, pd, door.ctl, i))
			monitors = append(monitors, daemonSample(t, pm, monitor.ctl, i))
		}
		if i == n {
			break
		}
		join, callID := ringUntilInvited(t, door, monitor, callParams("door", "flat", "voice"))
		monitor.ctl.mustOK("answer1v1Chat", map[string]any{"callId": callID, "accept": true})
		if res := door.ctl.await(join, 15*time.Second); res.Error != nil {
			t.Fatalf("cycle %d: join1v1Chat: %+v", i, res.Error)
		}
		door.ctl.mustOK("exitVoIPChat", nil)
		waitEnded(t, door, "local")
		waitEnded(t, monitor, "remote")
		eventually(t, 10*time.Second, "both idle", func() bool {
			return door.ctl.mustOK("status", nil)["state"] == "idle" && monitor.ctl.mustOK("status", nil)["state"] == "idle"
		})
	}
	flat(t, "the door in ring/answer/hang-up cycles", doors)
	flat(t, "the monitor in ring/answer/hang-up cycles", monitors)
}

// TestSoakRoomd (issue 16): members join a roomd process and leave, ten
// per cycle, two at a time in one room; roomd's descriptors and resident
// memory stay flat.
func TestSoakRoomd(t *testing.T) {
	n := soakCycles(t)
	secret := randomHex(16)
	addr := freeAddr(t)
	rp := startRoomdProc(t, addr, secret)
	url := "ws://" + addr + "/ws"
	var samples []sample
	for i := range n + 1 {
		if i%(n/10) == 0 {
			time.Sleep(200 * time.Millisecond) // the last leave's teardown
			samples = append(samples, procSample(t, rp.cmd.Process.Pid, i*10))
		}
		if i == n {
			break
		}
		for j := range 5 {
			var sessions []*room.Session
			for k := range 2 {
				openid := fmt.Sprintf("m%d", k)
				p := signedParams(secret, openid, fmt.Sprintf("soak-%d", j))
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				s, err := room.Join(ctx, room.Config{URL: url}, p, quietMember{})
				cancel()
				if err != nil {
					t.Fatalf("cycle %d: join: %v", i, err)
				}
				sessions = append(sessions, s)
			}
			for _, s := range sessions {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := s.Leave(ctx); err != nil {
					t.Fatalf("cycle %d: leave: %v", i, err)
				}
				cancel()
			}
		}
	}
	flat(t, "roomd with members joining and leaving (per member join)", samples)
}

// signedParams is a voice join of openid into group, signed with the
// session key the app secret derives for it.
func signedParams(secret, openid, group string) room.JoinParams {
	nonce, ts := randomHex(8), time.Now().Unix()
	return room.JoinParams{AppID: testApp, OpenID: openid, GroupID: group, NonceStr: nonce, TimeStamp: ts,
		Signature: proto.Signature(testApp, group, nonce, ts, proto.SessionKey(secret, openid)), RoomType: "voice"}
}

// quietMember is a room.Handler that ignores everything: a soak's members
// only join and leave.
type quietMember struct{}

func (quietMember) MembersChanged([]string)                                     {}
func (quietMember) AudioTrack(string, *webrtc.TrackRemote, *webrtc.RTPReceiver) {}
func (quietMember) TrackEnded(string)                                           {}
func (quietMember) Interrupted(error)                                           {}
