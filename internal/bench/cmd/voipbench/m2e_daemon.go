package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/voipd/voipd/internal/bench"
	"github.com/voipd/voipd/proto"
)

// m2eSetup is one configuration the mouth-to-ear measurement runs: the
// [audio] keys it sets beside the click devices, and the budget figures
// that follow from them.
type m2eSetup struct {
	name        string // column heading
	frameMs     int    // audio.frameMs
	jitterMinMs int    // audio.jitterMinMs
}

// m2eConfig is a voipd configuration whose microphone is a click source
// and whose speaker is a click detector (hw/synth), logging to files in dir.
func m2eConfig(dir, openid string, rm *room, s m2eSetup) string {
	return fmt.Sprintf(`[identity]
appId = %q
openid = %q
sessionKey = %q
[room]
url = %q
[control]
socket = %q
[display]
listen = ""
[audio]
backend = "null"
capture = "click:%s"
playback = "detect:%s"
frameMs = %d
jitterMinMs = %d
[log]
level = "warn"
`, appID, openid, proto.SessionKey(rm.secret, openid), rm.ws, filepath.Join(dir, openid, "control.sock"),
		filepath.Join(dir, openid, "clicks.log"), filepath.Join(dir, openid, "heard.log"), s.frameMs, s.jitterMinMs)
}

// m2eResult is one configuration's measurement.
type m2eResult struct {
	sent, heard int       // clicks sent by both members, onsets heard
	delays      []float64 // ms, each heard onset after its click
	delivery    []float64 // ms, a click's first sample → its frame handed to voipd
}

// runM2E runs two voipd processes (bin/voipd) with setup s in one voice
// room of rm for d, each sending clicks to the other, and matches what
// each heard with what the other sent.
func runM2E(rm *room, s m2eSetup, d time.Duration) (m2eResult, error) {
	var r m2eResult
	dir, err := os.MkdirTemp("", "voipbench-m2e-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	ids := []string{"mouth", "ear"}
	var cs []*ctl
	var ps []*proc
	defer func() {
		for _, c := range cs {
			c.close()
		}
		for _, p := range ps {
			p.stop()
		}
	}()
	for _, id := range ids {
		p, err := startVoipd(dir, id, m2eConfig(dir, id, rm, s))
		if err != nil {
			return r, err
		}
		ps = append(ps, p)
		c, err := p.waitSocket(10 * time.Second)
		if err != nil {
			return r, err
		}
		cs = append(cs, c)
	}
	group := fmt.Sprintf("m2e-%s", randomHex(4))
	for i, id := range ids {
		if _, err := cs[i].call("joinVoIPChat", rm.joinParams(id, group, "voice")); err != nil {
			return r, fmt.Errorf("%s joins: %w", id, err)
		}
	}
	time.Sleep(d)
	for _, c := range cs {
		c.call("exitVoIPChat", nil)
	}
	for i, id := range ids {
		mine, err := bench.ReadClickLog(filepath.Join(dir, id, "clicks.log"), filepath.Join(dir, id, "heard.log"))
		if err != nil {
			return r, err
		}
		other, err := bench.ReadClickLog(filepath.Join(dir, ids[1-i], "clicks.log"))
		if err != nil {
			return r, err
		}
		r.sent += len(other.Sent)
		r.heard += len(mine.Heard)
		r.delays = append(r.delays, bench.Millis(bench.MatchClicks(other.Sent, mine.Heard, time.Second))...)
		for j := range mine.Sent {
			r.delivery = append(r.delivery, float64(mine.Delivered[j].Sub(mine.Sent[j]))/float64(time.Millisecond))
		}
	}
	return r, nil
}
