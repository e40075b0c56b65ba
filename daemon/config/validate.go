package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/voipd/voipd/media/settings"

	"github.com/voipd/voipd/hw"
)

// Validate checks every key and reports all problems at once, each naming
// its key, so an operator fixes a config in one pass.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if c.Identity.AppID == "" {
		bad("identity.appId", "must not be empty")
	}
	if c.Identity.OpenID == "" {
		bad("identity.openid", "must not be empty")
	}
	if c.Identity.SessionKey != "" && c.Identity.SessionKeyFile != "" {
		bad("identity.sessionKeyFile", "set either identity.sessionKey or identity.sessionKeyFile, not both")
	}
	switch {
	case c.Room.URL == "embedded":
	case strings.HasPrefix(c.Room.URL, "ws://"), strings.HasPrefix(c.Room.URL, "wss://"):
		if u, err := url.Parse(c.Room.URL); err != nil || u.Host == "" {
			bad("room.url", "%q is not a ws:// or wss:// URL with a host", c.Room.URL)
		}
	default:
		bad("room.url", "%q must be \"embedded\" or a ws:// or wss:// URL", c.Room.URL)
	}
	for i, s := range c.Room.ICEServers {
		if len(s.URLs) == 0 {
			bad(fmt.Sprintf("room.iceServers[%d].urls", i), "must name at least one stun: or turn: URL")
		}
		for _, u := range s.URLs {
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				bad(fmt.Sprintf("room.iceServers[%d].urls", i), "%q is not a stun:, turn: or turns: URL", u)
			}
		}
	}
	if c.Room.URL == "embedded" {
		if _, _, err := net.SplitHostPort(c.Embedded.Listen); err != nil {
			bad("embedded.listen", "%q is not host:port", c.Embedded.Listen)
		}
		if c.Embedded.AppSecret != "" && c.Embedded.AppSecretFile != "" {
			bad("embedded.appSecretFile", "set either embedded.appSecret or embedded.appSecretFile, not both")
		}
	}
	for _, ip := range c.Embedded.PublicIPs {
		if net.ParseIP(ip) == nil {
			bad("embedded.publicIPs", "%q is not an IP address", ip)
		}
	}
	if c.Control.Socket == "" {
		bad("control.socket", "must not be empty")
	}
	if c.Control.ReservedClients >= c.Control.MaxClients {
		bad("control.reservedClients", "%d leaves no connection for other clients: it must be below control.maxClients (%d)",
			c.Control.ReservedClients, c.Control.MaxClients)
	}
	for key, list := range map[string][]string{"scopes.record": c.Scopes.Record, "scopes.camera": c.Scopes.Camera,
		"control.trusted": c.Control.Trusted} {
		for _, e := range list {
			if err := checkGrant(e); err != nil {
				bad(key, "%v", err)
			}
		}
	}
	if !slices.Contains(hw.AudioBackends, c.Audio.Backend) {
		bad("audio.backend", "%q is not a backend on %s: must be %s", c.Audio.Backend, runtime.GOOS, orList(hw.AudioBackends))
	}
	if c.Audio.Capture == "" {
		bad("audio.capture", "must not be empty (\"default\" picks the backend's default)")
	}
	if _, ok := hw.ParseTone(c.Audio.Capture); !ok && strings.HasPrefix(c.Audio.Capture, hw.TonePrefix) {
		bad("audio.capture", "%q: a tone needs a frequency between 0 and 24000 Hz, like \"tone:440\"", c.Audio.Capture)
	}
	if _, ok := hw.ParseClick(c.Audio.Capture); !ok && strings.HasPrefix(c.Audio.Capture, hw.ClickPrefix) {
		bad("audio.capture", "a click source needs the file it logs to, like \"click:/tmp/clicks.log\"")
	}
	if c.Audio.Playback == "" {
		bad("audio.playback", "must not be empty (\"default\", a device, or \"null\")")
	}
	if _, ok := hw.ParseDetect(c.Audio.Playback); !ok && strings.HasPrefix(c.Audio.Playback, hw.DetectPrefix) {
		bad("audio.playback", "a click detector needs the file it logs to, like \"detect:/tmp/heard.log\"")
	}
	c.checkRanges(bad)
	c.validateMedia(bad)
	if c.Display.Listen != "" {
		host, _, err := net.SplitHostPort(c.Display.Listen)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			bad("display.listen", "%q must be a loopback host:port (the local screen only), or \"\" for none", c.Display.Listen)
		}
	}
	if c.Metrics.Listen != "" {
		host, _, err := net.SplitHostPort(c.Metrics.Listen)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			bad("metrics.listen", "%q must be a loopback host:port (a local agent scrapes and forwards), or \"\" for none", c.Metrics.Listen)
		}
	}
	if c.Call.AutoAnswerDelay >= c.Call.RingTimeout {
		bad("call.autoAnswerDelay", "%v must be below call.ringTimeout (%v)", c.Call.AutoAnswerDelay.D(), c.Call.RingTimeout.D())
	}
	if c.Call.Enable && !c.Call.Allowed {
		bad("call.enable", "calls cannot be enabled while call.allowed is false")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q must be debug, info, warn or error", c.Log.Level)
	}
	return errors.Join(errs...)
}

func checkGrant(e string) error {
	if e == "*" {
		return nil
	}
	kind, val, ok := strings.Cut(e, ":")
	if !ok || val == "" {
		return fmt.Errorf("%q must be \"*\", \"user:NAME\", \"uid:N\", \"group:NAME\" or \"gid:N\"", e)
	}
	switch kind {
	case "user", "group":
		return nil
	case "uid", "gid":
		if _, err := strconv.ParseUint(val, 10, 32); err != nil {
			return fmt.Errorf("%q: %s needs a number", e, kind)
		}
		return nil
	}
	return fmt.Errorf("%q: unknown kind %q (user, uid, group, gid)", e, kind)
}

// validateMedia checks what media's keys need beyond their Ranges: the
// rules between keys and the values a range cannot say. The pipelines
// trust these values.
func (c *Config) validateMedia(bad func(key, format string, a ...any)) {
	a, v := c.Audio, c.Video
	if a.FrameMs != settings.FrameMsShort && a.FrameMs != settings.FrameMsLong {
		bad("audio.frameMs", "%d must be %d or %d", a.FrameMs, settings.FrameMsLong, settings.FrameMsShort)
	}
	if a.JitterMinMs < a.FrameMs {
		bad("audio.jitterMinMs", "%d is below one frame of audio.frameMs (%d)", a.JitterMinMs, a.FrameMs)
	}
	if a.JitterMaxMs < a.JitterMinMs {
		bad("audio.jitterMaxMs", "%d is below audio.jitterMinMs (%d)", a.JitterMaxMs, a.JitterMinMs)
	}
	if v.Width%2 != 0 {
		bad("video.width", "%d must be even (4:2:0 video)", v.Width)
	}
	if v.Height%2 != 0 {
		bad("video.height", "%d must be even (4:2:0 video)", v.Height)
	}
	if v.CPUUsed == 0 {
		bad("video.cpuUsed", "0 is not a realtime speed: -%d..-1 fix it, 1..%d let libvpx adapt", settings.VideoMaxCPUUsed, settings.VideoMaxCPUUsed)
	}
	if v.Camera == "" {
		bad("video.camera", "must not be empty (\"default\", a camera id, or \"pattern\")")
	}
}

// orList is "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
