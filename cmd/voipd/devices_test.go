package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/hw/audio/alsatest"
	"github.com/voipd/voipd/hw/audio/pulsetest"
	"github.com/voipd/voipd/proto"
)

// The -2 chain for real: an ALSA PCM that answers open() with -EBUSY →
// libasound → miniaudio → malgo → hw (ErrBusy) → daemon (-2) → the socket
// and voipctl. The plugin turns busy and free again with a lock file.
func TestCaptureBusyThroughALSA(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	plugin := alsatest.Build(t)
	openid := "alsa-door"
	p := startProc(t, fmt.Sprintf(`
[identity]
appId = %q
openid = %q
sessionKey = %q
[room]
url = %q
[audio]
backend = "alsa"
capture = %q
playback = %q
`, testApp, openid, proto.SessionKey(secret, openid), wsURL(srv.URL()), plugin.PCM, plugin.PCM), plugin.Env())

	join := func() (string, string, int) {
		signed, errOut, code := voipctl(t, "-config", p.cfg, "sign", "-groupId", "door")
		if code != 0 {
			t.Fatalf("voipctl sign: exit %d: %s", code, errOut)
		}
		params := strings.TrimSuffix(signed, "}") + `,"groupId":"door"}`
		return voipctl(t, "-socket", p.socket, "joinVoIPChat", params)
	}

	if err := plugin.SetBusy(true); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := join()
	if code != 1 || !strings.HasPrefix(errOut, "-2 joinVoIPChat:fail") {
		t.Fatalf("busy capture: voipctl exit %d, stdout %q, stderr %q; want exit 1 and \"-2 joinVoIPChat:fail ...\"", code, out, errOut)
	}
	// The same over raw JSON lines, with the reason.
	c := dialCtl(t, p.socket)
	n := &node{openid: openid, secret: secret}
	c.mustFail("joinVoIPChat", n.joinParams("door"), -2, "busy")

	for _, tc := range []struct {
		set    func(bool) error
		reason string
	}{{plugin.SetAbsent, "absent"}, {plugin.SetDenied, "permission"}} {
		plugin.SetBusy(false)
		tc.set(true)
		c.mustFail("joinVoIPChat", n.joinParams("door"), -1000, tc.reason)
		tc.set(false)
	}

	// Free again: the same device joins, and status shows the real device.
	if err := plugin.SetBusy(false); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = join()
	if code != 0 {
		t.Fatalf("free capture: voipctl exit %d: %s", code, errOut)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil || res["errMsg"] != "joinVoIPChat:ok" {
		t.Fatalf("join result %q: %v", out, err)
	}
	st := c.mustOK("status", nil)
	capture := st["devices"].(map[string]any)["capture"].(map[string]any)
	if capture["backend"] != "alsa" || capture["synthetic"] != false || capture["state"] != "open" {
		t.Fatalf("status capture = %v", capture)
	}
	c.mustOK("exitVoIPChat", nil)
	p.term(10 * time.Second)
}

// The real malgo capture path: PulseAudio (a null sink fed by module-sine at
// 440 Hz), captured from the sink's monitor by a voipd process through
// malgo's PulseAudio backend; the far side, an in-process daemon, hears 440 Hz.
func TestPulseCaptureReachesFarSide(t *testing.T) {
	pulse := pulsetest.Start(t, 440)
	srv, secret := testRoomd(t, nil)
	openid := "pulse-door"
	p := startProc(t, fmt.Sprintf(`
[identity]
appId = %q
openid = %q
sessionKey = %q
[room]
url = %q
[audio]
backend = "pulse"
capture = %q
playback = %q
`, testApp, openid, proto.SessionKey(secret, openid), wsURL(srv.URL()), pulse.MonitorSource(), pulse.Sink()), pulse.Env())
	c := dialCtl(t, p.socket)
	n := &node{openid: openid, secret: secret}
	far := startNode(t, "far", wsURL(srv.URL()), secret, 1000, nil)

	c.mustOK("joinVoIPChat", n.joinParams("pulse"))
	far.ctl.mustOK("joinVoIPChat", far.joinParams("pulse"))
	// PulseAudio's first capture callback can take 1–2 s.
	eventually(t, 20*time.Second, "the far side hears PulseAudio's 440 Hz sine", func() bool {
		return far.audio.heard(440, 1000) > 20
	})
	st := c.mustOK("status", nil)
	capture := st["devices"].(map[string]any)["capture"].(map[string]any)
	if capture["backend"] != "pulse" || capture["synthetic"] != false {
		t.Fatalf("status capture = %v", capture)
	}
	cb, ok := capture["callbacks"].(map[string]any)
	if !ok || cb["count"].(float64) == 0 {
		t.Fatalf("status reports no callback lateness for the malgo capture: %v", capture)
	}
	if _, ok := capture["dropped"].(float64); !ok {
		t.Fatalf("status reports no drop count for the malgo capture: %v", capture)
	}
	t.Logf("PulseAudio capture callbacks: %v, dropped %v", cb, capture["dropped"])
	// And the far side's audio arrives at the pulse daemon.
	eventually(t, 10*time.Second, "the pulse daemon receives the far side", func() bool {
		stats := c.mustOK("getStats", nil)
		in, _ := stats["inbound"].([]any)
		return len(in) == 1 && in[0].(map[string]any)["framesDecoded"].(float64) > 10
	})
	p.term(10 * time.Second)
}
