package config

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/voipd/voipd/media/settings"
)

// Range is a numeric key's accepted values, inclusive: Validate checks
// every numeric key against its Range (and the few rules between keys on
// top), and the tests walk the list, so a value the config accepts is one
// voipd starts with and one it refuses is refused at load, naming the key.
type Range struct {
	Key      string // the TOML key, "opus.bitrate"
	Min, Max int64  // a Duration's in nanoseconds; Max Unbounded: no bound
	Unit     string // for messages: " bit/s", " pixels"
}

// Unbounded is a Range's Max for a key with no upper bound.
const Unbounded = math.MaxInt64

// maxRing bounds call.ringTimeout, and so call.autoAnswerDelay.
const maxRing = 5 * time.Minute

// Ranges is every numeric key of Config (int or Duration) with its Range.
// The media keys' limits are media/settings', defined there once.
var Ranges = []Range{
	{Key: "room.joinTimeout", Min: int64(time.Millisecond), Max: int64(5 * time.Minute)},
	{Key: "room.mediaTimeout", Min: int64(time.Second), Max: int64(5 * time.Minute)},
	{Key: "embedded.udpPort", Min: 0, Max: 65535},
	{Key: "embedded.maxMembers", Min: 2, Max: 1000},
	{Key: "embedded.resumeGrace", Min: int64(time.Second), Max: int64(time.Hour)},
	{Key: "control.maxClients", Min: 1, Max: 1024},
	{Key: "control.maxClientsPerUser", Min: 1, Max: 1024},
	{Key: "control.reservedClients", Min: 0, Max: 1023}, // and below control.maxClients
	{Key: "control.lineTimeout", Min: int64(100 * time.Millisecond), Max: int64(10 * time.Minute)},
	{Key: "control.idleTimeout", Min: int64(time.Second), Max: int64(24 * time.Hour)},
	{Key: "audio.frameMs", Min: settings.FrameMsShort, Max: settings.FrameMsLong, Unit: " ms"},
	{Key: "audio.jitterMinMs", Min: settings.FrameMsShort, Max: settings.JitterMaxMs, Unit: " ms"},
	{Key: "audio.jitterMaxMs", Min: settings.FrameMsShort, Max: settings.JitterMaxMs, Unit: " ms"},
	{Key: "opus.bitrate", Min: settings.OpusMinBitrate, Max: settings.OpusMaxBitrate, Unit: " bit/s"},
	{Key: "opus.packetLossPerc", Min: 0, Max: 100, Unit: " %"},
	{Key: "opus.complexity", Min: 0, Max: settings.OpusMaxComplexity},
	{Key: "video.width", Min: settings.VideoMinSize, Max: settings.VideoMaxWidth, Unit: " pixels"},
	{Key: "video.height", Min: settings.VideoMinSize, Max: settings.VideoMaxHeight, Unit: " pixels"},
	{Key: "video.fps", Min: 1, Max: settings.VideoMaxFPS},
	{Key: "video.bitrate", Min: settings.VideoMinBitrate, Max: settings.VideoMaxBitrate, Unit: " bit/s"},
	{Key: "video.cpuUsed", Min: -settings.VideoMaxCPUUsed, Max: settings.VideoMaxCPUUsed},
	{Key: "video.threads", Min: 1, Max: settings.VideoMaxThreads},
	{Key: "call.autoAnswerDelay", Min: 0, Max: int64(maxRing - time.Second)}, // and below call.ringTimeout
	{Key: "call.ringTimeout", Min: int64(time.Second), Max: int64(maxRing)},
	{Key: "runtime.maxProcs", Min: 0, Max: 1024}, // 0: Go's default
	// 0: the inherited slack; above 10 ms a timer could slip past a 10-ms
	// audio frame.
	{Key: "runtime.timerSlack", Min: 0, Max: int64(10 * time.Millisecond)},
}

// format writes n as the key's TOML value would say it.
func (r Range) format(n int64, duration bool) string {
	if duration {
		return time.Duration(n).String()
	}
	return fmt.Sprint(n) + r.Unit
}

// checkRanges reports every numeric key outside its Range.
func (c *Config) checkRanges(bad func(key, format string, a ...any)) {
	for _, r := range Ranges {
		v, duration := c.Number(r.Key)
		switch {
		case v < r.Min && r.Max == Unbounded:
			bad(r.Key, "%s is below %s", r.format(v, duration), r.format(r.Min, duration))
		case v < r.Min || v > r.Max:
			bad(r.Key, "%s is outside %s..%s", r.format(v, duration), r.format(r.Min, duration), r.format(r.Max, duration))
		}
	}
}

var durationType = reflect.TypeFor[Duration]()

// Number returns the numeric key's value (a Duration's in nanoseconds) and
// whether it is a Duration. It panics on a key that is not a numeric key
// of Config: Ranges is checked by a test.
func (c *Config) Number(key string) (v int64, duration bool) {
	f := c.field(key)
	return f.Int(), f.Type() == durationType
}

// SetNumber sets the numeric key (tests walk Ranges with it).
func (c *Config) SetNumber(key string, v int64) { c.field(key).SetInt(v) }

func (c *Config) field(key string) reflect.Value {
	section, name, _ := strings.Cut(key, ".")
	v := reflect.ValueOf(c).Elem()
	for _, part := range []string{section, name} {
		v = byTag(v, part)
	}
	if k := v.Kind(); k != reflect.Int && k != reflect.Int64 {
		panic("config: " + key + " is not a numeric key")
	}
	return v
}

// byTag is the field of struct v whose toml tag is name.
func byTag(v reflect.Value, name string) reflect.Value {
	t := v.Type()
	for i := range t.NumField() {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ","); tag == name {
			return v.Field(i)
		}
	}
	panic("config: no key " + name + " in " + t.Name())
}

// EdgeConfig is Default with the numeric key set to v and the keys that
// must agree with it (the rules between keys) moved along: the config a
// test of a key's edge (Ranges) loads or starts with.
func EdgeConfig(key string, v int64) *Config {
	c := Default()
	c.SetNumber(key, v)
	switch key {
	case "audio.jitterMinMs":
		c.Audio.JitterMaxMs = max(c.Audio.JitterMaxMs, int(v))
		c.Audio.FrameMs = min(c.Audio.FrameMs, int(v))
	case "audio.jitterMaxMs":
		c.Audio.JitterMinMs = min(c.Audio.JitterMinMs, int(v))
		c.Audio.FrameMs = min(c.Audio.FrameMs, int(v))
	case "audio.frameMs":
		c.Audio.JitterMinMs = max(c.Audio.JitterMinMs, int(v))
	case "control.maxClients":
		c.Control.ReservedClients = min(c.Control.ReservedClients, int(v)-1)
	case "control.reservedClients":
		c.Control.MaxClients = max(c.Control.MaxClients, int(v)+1)
	case "call.ringTimeout":
		c.Call.AutoAnswerDelay = min(c.Call.AutoAnswerDelay, Duration(v-1))
	case "call.autoAnswerDelay":
		c.Call.RingTimeout = max(c.Call.RingTimeout, min(Duration(v+int64(time.Second)), Duration(maxRing)))
	}
	return c
}

// EdgeFile is EdgeConfig(key, v) as a config file: its numeric keys that
// differ from Default.
func EdgeFile(key string, v int64) string {
	c := EdgeConfig(key, v)
	var b strings.Builder
	d := Default()
	section := ""
	for _, r := range Ranges {
		v, dur := c.Number(r.Key)
		if dv, _ := d.Number(r.Key); v == dv {
			continue
		}
		sec, name, _ := strings.Cut(r.Key, ".")
		if sec != section {
			fmt.Fprintf(&b, "[%s]\n", sec)
			section = sec
		}
		if dur {
			fmt.Fprintf(&b, "%s = %q\n", name, time.Duration(v).String())
		} else {
			fmt.Fprintf(&b, "%s = %d\n", name, v)
		}
	}
	return b.String()
}
