package main

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/internal/browsertest"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// writeRingtone writes a 900 Hz WAV (16-bit, mono, 48 kHz) for the test.
func writeRingtone(t *testing.T) string {
	n := 48000
	var b []byte
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(36+2*n))
	b = append(b, "WAVEfmt "...)
	for _, v := range []uint32{16} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint32(b, 48000)
	b = binary.LittleEndian.AppendUint32(b, 96000)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(2*n))
	for i := 0; i < n; i++ {
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(8000*math.Sin(2*math.Pi*900*float64(i)/48000))))
	}
	p := filepath.Join(t.TempDir(), "ring.wav")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A monitor enabled for calls by its config at start rings with its WAV
// ringtone; a device forging the monitor's registration is refused and
// the monitor still gets its calls.
func TestCallEnabledAtStartRingtoneAndForgery(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	wav := writeRingtone(t)
	monitor := startNode(t, "flat", url, secret, monitorHz, func(c *config.Config) {
		c.Call.Enable = true
		c.Call.Ringtone = wav
	})
	monitor.ctl.mustOK("subscribe", map[string]any{"events": []string{"*"}})
	door := startNode(t, "door", url, secret, doorHz, nil)

	// A forger signs with a key that is not the monitor's.
	nonceStr, ts := "forged-nonce", time.Now().Unix()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := room.Register(ctx, room.Config{URL: url, JoinTimeout: 5 * time.Second}, room.PresenceParams{
		AppID: testApp, OpenID: "flat", NonceStr: nonceStr, TimeStamp: ts,
		Signature: proto.Signature(testApp, "1v1:flat", nonceStr, ts, proto.SessionKey("not-the-secret", "flat")),
	}, nopCalls{})
	var re *room.Error
	if err == nil || !asRoomError(err, &re) || re.Reason != "signature" {
		t.Fatalf("a forged registration: %v", err)
	}

	eventually(t, 10*time.Second, "the monitor registered at start", func() bool {
		calls, _ := monitor.ctl.mustOK("status", nil)["calls"].(map[string]any)
		return calls["reachable"] == true
	})
	join := door.ctl.send("join1v1Chat", callParams("door", "flat", "voice"))
	callID := waitInvite(t, monitor)
	eventually(t, 10*time.Second, "the monitor rings its WAV (900 Hz)", func() bool { return monitor.audio.heard(900, 700) > 20 })
	monitor.ctl.mustOK("answer1v1Chat", map[string]any{"callId": callID, "accept": true})
	if a := door.ctl.await(join, 10*time.Second); a.Error != nil {
		t.Fatalf("join1v1Chat: %+v", a.Error)
	}
	monitor.ctl.mustOK("exitVoIPChat", nil)
}

func asRoomError(err error, re **room.Error) bool { return errors.As(err, re) }

type nopCalls struct{}

func (nopCalls) Invited(room.Invite)          {}
func (nopCalls) CallCancelled(string, string) {}
func (nopCalls) PresenceLost(error)           {}

// The door calls a resident's browser: the page rings and answers, audio
// flows both ways, the page hangs up and the door sees on1v1ChatEnded.
func TestCallBrowserAnswers(t *testing.T) {
	door := startNode(t, "door", "embedded", "", doorHz, func(c *config.Config) {
		c.Embedded.Listen = "127.0.0.1:0"
		c.Embedded.Dev = true
		c.Embedded.AppSecret = randomHex(16)
		c.Identity.SessionKey = ""
	})
	door.ctl.mustOK("subscribe", map[string]any{"events": []string{"on1v1ChatEnded"}})
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	page, err := b.Open(ctx, door.in.webURL+"/?openid=resident&enable1v1=1")
	if err != nil {
		t.Fatal(err)
	}
	if err := page.WaitFor(ctx, `window.voipd.registered === true`); err != nil {
		t.Fatal(err)
	}
	var incomingShown bool
	if err := page.Eval(ctx, `getComputedStyle(document.querySelector("#incoming")).display !== "none"`, &incomingShown); err != nil || incomingShown {
		t.Fatalf("the incoming-call box shows with no call ringing (err %v)", err)
	}
	join := door.ctl.send("join1v1Chat", callParams("door", "resident", "voice"))
	if err := page.WaitFor(ctx, `window.voipd.callState === "ringing"`); err != nil {
		t.Fatal(err)
	}
	if err := page.Eval(ctx, `window.voipd.answer(true)`, nil); err != nil {
		t.Fatal(err)
	}
	if a := door.ctl.await(join, 20*time.Second); a.Error != nil {
		t.Fatalf("join1v1Chat: %+v", a.Error)
	}
	if err := page.WaitFor(ctx, `(await window.voipd.stats()).inboundAudio.some(a => a.member === "door" && a.packetsReceived > 0 && a.audioLevel > 0)`); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the door receives the resident", func() bool {
		for _, x := range door.ctl.mustOK("getStats", nil)["inbound"].([]any) {
			if m := x.(map[string]any); m["member"] == "resident" && m["framesDecoded"].(float64) > 0 {
				return true
			}
		}
		return false
	})
	if err := page.Eval(ctx, `window.voipd.hangup()`, nil); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, door, "remote")
}

// A voice call switches to video and back (switch1v1Chat); a call placed
// with disableSwitchVoice stays video.
func TestCallSwitchesVoiceVideo(t *testing.T) {
	door, monitor := callPair(t, nil)
	join := door.ctl.send("join1v1Chat", callParams("door", "flat", "voice"))
	monitor.ctl.mustOK("answer1v1Chat", map[string]any{"callId": waitInvite(t, monitor), "accept": true})
	if a := door.ctl.await(join, 15*time.Second); a.Error != nil {
		t.Fatal(a.Error)
	}
	time.Sleep(500 * time.Millisecond)
	if n, _, _ := monitor.frames.of("door"); len(n) != 0 {
		t.Fatalf("video arrives in a voice call: %d frames", len(n))
	}
	if res := door.ctl.mustOK("switch1v1Chat", map[string]any{"roomType": "video"}); res["roomType"] != "video" {
		t.Fatalf("switch: %v", res)
	}
	eventually(t, 15*time.Second, "the monitor decodes the door's camera", func() bool { n, _, _ := monitor.frames.of("door"); return len(n) > 10 })
	door.ctl.mustOK("switch1v1Chat", map[string]any{"roomType": "voice"})
	time.Sleep(500 * time.Millisecond)
	_, _, last := monitor.frames.of("door")
	time.Sleep(time.Second)
	if _, _, last2 := monitor.frames.of("door"); !last2.Equal(last) {
		t.Fatal("video still arrives after switching back to voice")
	}
	if st := door.ctl.mustOK("status", nil); st["devices"].(map[string]any)["camera"] == nil {
		t.Logf("camera after switching to voice: none reported")
	}
	door.ctl.mustOK("exitVoIPChat", nil)
	waitEnded(t, monitor, "remote")
	eventually(t, 10*time.Second, "the monitor is idle", func() bool { return monitor.ctl.mustOK("status", nil)["state"] == "idle" })

	p := callParams("door", "flat", "video")
	p["disableSwitchVoice"] = true
	join, callID := ringUntilInvited(t, door, monitor, p)
	monitor.ctl.mustOK("answer1v1Chat", map[string]any{"callId": callID, "accept": true})
	if a := door.ctl.await(join, 15*time.Second); a.Error != nil {
		t.Fatal(a.Error)
	}
	door.ctl.mustFail("switch1v1Chat", map[string]any{"roomType": "voice"}, -1000, "disabled")
	door.ctl.mustOK("exitVoIPChat", nil)
}
