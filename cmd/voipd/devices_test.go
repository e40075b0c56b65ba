package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/hw/audio/alsatest"
	"github.com/voipd/voipd/hw/audio/pulsetest"
)

// The -2 chain for real: an ALSA PCM that answers open() with -EBUSY →
// libasound → miniaudio → malgo → hw (ErrBusy) → daemon (-2) → the socket
// and voipctl. The plugin turns busy and free again with a lock file.
func TestCaptureBusyThroughALSA(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	plugin := alsatest.Build(t)
	openid := "alsa-door"
	p := startProc(t, identityConfig(openid, secret, wsURL(srv.URL()))+fmt.Sprintf(`[audio]
backend = "alsa"
capture = %q
playback = %q
`, plugin.PCM, plugin.PCM), plugin.Env())

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
	p := startProc(t, identityConfig(openid, secret, wsURL(srv.URL()))+fmt.Sprintf(`[audio]
backend = "pulse"
capture = %q
playback = %q
# These tests are about the devices: the monitor plays a steady 440 Hz tone
# that noise suppression would take for noise (echo_test.go tests the
# processing on this same path).
echoCancellation = false
noiseSuppression = false
autoGainControl = false
`, pulse.MonitorSource(), pulse.Sink()), pulse.Env())
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

// TestAudioDeviceGoneAndBack (issue 14): PulseAudio's sink (and so its
// monitor, the microphone) removed mid-call and added again: voipd says the
// audio device is lost (code 4) and stays in the room, still receiving;
// when the device is back it opens it by itself (code 5) and the far side
// hears it again, without a restart.
func TestAudioDeviceGoneAndBack(t *testing.T) {
	pulse := pulsetest.Start(t, 440)
	srv, secret := testRoomd(t, nil)
	openid := "unplugged"
	p := startProc(t, identityConfig(openid, secret, wsURL(srv.URL()))+fmt.Sprintf(`[audio]
backend = "pulse"
capture = %q
playback = %q
# These tests are about the devices: the monitor plays a steady 440 Hz tone
# that noise suppression would take for noise (echo_test.go tests the
# processing on this same path).
echoCancellation = false
noiseSuppression = false
autoGainControl = false
`, pulse.MonitorSource(), pulse.Sink()), pulse.Env())
	c := dialCtl(t, p.socket)
	c.mustOK("subscribe", map[string]any{"events": []string{"onVoIPChatStateChanged", "onVoIPChatInterrupted"}})
	far := startNode(t, "far", wsURL(srv.URL()), secret, 1000, nil)
	c.mustOK("joinVoIPChat", (&node{openid: openid, secret: secret}).joinParams("plug"))
	far.ctl.mustOK("joinVoIPChat", far.joinParams("plug"))
	eventually(t, 20*time.Second, "the far side hears the sink's 440 Hz", func() bool { return far.audio.heard(440, 1000) > 20 })

	pulse.RemoveSink(t)
	gone := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.waitEvent(ctx, "onVoIPChatStateChanged", func(p map[string]any) bool {
		d, _ := p["data"].(map[string]any)
		return p["code"] == 4.0 && d["device"] == "audio"
	})
	t.Logf("device lost reported %v after the sink went", time.Since(gone).Round(time.Millisecond))
	if st := c.mustOK("status", nil); st["state"] != "inRoom" {
		t.Fatalf("state after the device went: %v", st["state"])
	}
	received := func() float64 {
		for _, in := range c.mustOK("getStats", nil)["inbound"].([]any) {
			if in := in.(map[string]any); in["member"] == "far" {
				return in["packetsReceived"].(float64)
			}
		}
		return 0
	}
	n := received()
	eventually(t, 10*time.Second, "the far side no longer hears the sink", func() bool { return far.audio.heard(440, 1000) < 1 })
	eventually(t, 10*time.Second, "still receiving the far side without a device", func() bool { return received() > n+20 })

	pulse.AddSink(t, 440)
	back := time.Now()
	c.waitEvent(ctx, "onVoIPChatStateChanged", func(p map[string]any) bool {
		d, _ := p["data"].(map[string]any)
		return p["code"] == 5.0 && d["device"] == "audio"
	})
	t.Logf("device back reported %v after the sink returned", time.Since(back).Round(time.Millisecond))
	eventually(t, 20*time.Second, "the far side hears the sink again", func() bool { return far.audio.heard(440, 1000) > 20 })
	t.Logf("far side hears it %v after the sink returned", time.Since(back).Round(time.Millisecond))
	for {
		select {
		case e := <-c.events:
			if e.Method == "onVoIPChatInterrupted" {
				t.Fatalf("interrupted: %v", e.Params)
			}
			continue
		default:
		}
		break
	}
	p.term(10 * time.Second)
}
