package main

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/proto"
)

// TestWhatClientsSee holds the answers a kiosk's UI reads to their shapes,
// over the socket: status has its stats outside a room, and every stream's
// bytes in one (video too); speakers is a list while muted; listDevices
// lists the synthetic devices status shows in use, and camerasUnsupported
// "" (Linux has a camera backend).
func TestWhatClientsSee(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	a := startNode(t, "shape-a", url, secret, 440, func(c *config.Config) { c.Video.Camera = "pattern" })
	b := startNode(t, "shape-b", url, secret, 1000, nil)

	idle := a.ctl.mustOK("status", nil)
	stats, ok := idle["stats"].(map[string]any)
	if !ok || stats["bytesSent"] != 0.0 || idle["room"] != nil {
		t.Fatalf("idle status: stats %v, room %v; want zero stats and a null room", idle["stats"], idle["room"])
	}
	devs := a.ctl.mustOK("listDevices", nil)
	capture := devs["capture"].([]any)[0].(map[string]any)
	camera := devs["cameras"].([]any)[0].(map[string]any)
	if capture["id"] != "tone:440" || capture["synthetic"] != true || camera["id"] != "pattern" || camera["synthetic"] != true {
		t.Fatalf("listDevices leads with %v and %v; want the configured tone and pattern, synthetic", capture, camera)
	}
	if why, ok := devs["camerasUnsupported"]; !ok || why != "" {
		t.Fatalf("listDevices' camerasUnsupported = %v (present %v), want \"\"", why, ok)
	}

	a.ctl.mustOK("joinVoIPChat", videoParams(a, "shapes"))
	b.ctl.mustOK("joinVoIPChat", videoParams(b, "shapes"))
	var audioSent, videoSent float64
	eventually(t, 20*time.Second, "audio and video sent", func() bool {
		audioSent, videoSent = 0, 0
		for _, o := range a.ctl.mustOK("getStats", nil)["outbound"].([]any) {
			o := o.(map[string]any)
			switch o["kind"] {
			case "audio":
				audioSent = o["bytesSent"].(float64)
			case "video":
				videoSent = o["bytesSent"].(float64)
			}
		}
		return audioSent > 0 && videoSent > 0
	})
	st := a.ctl.mustOK("status", nil)
	if sent := st["stats"].(map[string]any)["bytesSent"].(float64); sent < audioSent+videoSent {
		t.Fatalf("status.stats.bytesSent %v, but getStats had sent %v of audio and %v of video before", sent, audioSent, videoSent)
	}
	// (The test's camera system names its pattern camera after the node.)
	if cam := st["devices"].(map[string]any)["camera"].(map[string]any); !strings.HasPrefix(cam["id"].(string), "pattern") || cam["synthetic"] != true {
		t.Fatalf("status' camera %v", cam)
	}
	a.ctl.mustOK("updateVoIPChatMuteConfig", map[string]any{"muteConfig": map[string]any{"muteMicrophone": true}})
	eventually(t, 10*time.Second, "speakers while muted", func() bool {
		room := a.ctl.mustOK("status", nil)["room"].(map[string]any)
		sp, isList := room["speakers"].([]any)
		if !isList {
			t.Fatalf("status.room.speakers while muted is %v, not a list", room["speakers"])
		}
		for _, s := range sp {
			if s == "shape-a" {
				return false // still held from before the mute
			}
		}
		return true
	})
}

// TestVideoRoomLinkSaysVideo: joined to a video room on the embedded room
// server, voipd logs a browser link to that room that joins it with video.
func TestVideoRoomLinkSaysVideo(t *testing.T) {
	cfg := config.Default()
	cfg.Identity.AppID = testApp
	cfg.Embedded.Listen = "127.0.0.1:0"
	cfg.Embedded.AppSecret = randomHex(16)
	cfg.Identity.SessionKey = proto.SessionKey(cfg.Embedded.AppSecret, cfg.Identity.OpenID)
	cfg.Control.Socket = shortDir(t) + "/c.sock"
	cfg.Display.Listen = ""
	cfg.Audio.Capture, cfg.Audio.Playback = "tone:440", "null"
	cfg.Video.Camera = "pattern"
	cfg.Video.Width, cfg.Video.Height = 320, 240
	logs := &syncBuf{}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *instance, 1)
	done := make(chan error, 1)
	go func() {
		done <- runWithLogger(ctx, cfg, options{audio: &testAudio{freq: 440}, cameras: &testCameras{name: "link"}, started: func(in *instance) { started <- in }},
			slog.New(slog.NewTextHandler(logs, nil)))
	}()
	defer func() { cancel(); <-done }()
	var in *instance
	select {
	case in = <-started:
	case err := <-done:
		t.Fatalf("voipd did not start: %v", err)
	}
	n := &node{openid: cfg.Identity.OpenID, secret: cfg.Embedded.AppSecret}
	dialCtl(t, in.socket).mustOK("joinVoIPChat", videoParams(n, "hall"))
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, "browser client for this room") {
			continue
		}
		i := strings.Index(line, "url=")
		u, err := url.Parse(strings.Trim(strings.Fields(line[i+4:])[0], `"`))
		if err != nil {
			t.Fatal(err)
		}
		if q := u.Query(); q.Get("groupId") != "hall" || q.Get("roomType") != "video" || q.Get("autojoin") != "1" {
			t.Fatalf("the room's link %s does not join hall with video", u)
		}
		return
	}
	t.Fatalf("no link to the room in the log:\n%s", logs.String())
}
