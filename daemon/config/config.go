// Package config is voipd's configuration: a value built from defaults, then
// a TOML file decoded strictly (an unknown key or a wrong type is an error
// naming the key and its line), then Validate, which reports every problem at
// once. The repository's config.toml documents every key with its default; a
// test loads it so the documentation cannot go stale.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/voipd/voipd/media/settings"

	"github.com/pelletier/go-toml/v2"

	"github.com/voipd/voipd/proto"
)

// DefaultPath is where voipd and voipctl look for the config file.
const DefaultPath = "/etc/voipd/config.toml"

// Config is the whole configuration. Field names follow the TOML keys.
type Config struct {
	Identity Identity `toml:"identity"`
	Room     Room     `toml:"room"`
	Embedded Embedded `toml:"embedded"`
	Control  Control  `toml:"control"`
	Scopes   Scopes   `toml:"scopes"`
	Audio    Audio    `toml:"audio"`
	Opus     Opus     `toml:"opus"`
	Video    Video    `toml:"video"`
	Display  Display  `toml:"display"`
	Call     Call     `toml:"call"`
	State    State    `toml:"state"`
	Debug    Debug    `toml:"debug"`
	Runtime  Runtime  `toml:"runtime"`
	Log      Log      `toml:"log"`
	Metrics  Metrics  `toml:"metrics"`
}

// Metrics serves Prometheus' text format at http://listen/metrics.
type Metrics struct {
	Listen string `toml:"listen"` // loopback host:port, like "127.0.0.1:9464"; "" off
}

// Identity is this device as a room member.
type Identity struct {
	AppID          string `toml:"appId"`
	OpenID         string `toml:"openid"`
	SessionKey     string `toml:"sessionKey"`
	SessionKeyFile string `toml:"sessionKeyFile"`
}

// Room says where the room server is and how long a join may take.
type Room struct {
	URL         string   `toml:"url"` // "embedded", or ws(s)://host:port/ws
	JoinTimeout Duration `toml:"joinTimeout"`
	// MediaTimeout: the media connection counts as failed after this
	// long without a packet from the room server, and is restarted.
	MediaTimeout Duration    `toml:"mediaTimeout"`
	CAFile       string      `toml:"caFile"` // extra CA for wss:// (a private roomd)
	ICEServers   []ICEServer `toml:"iceServers"`
}

// ICEServer is a STUN or TURN server voipd uses for its peer connection.
type ICEServer struct {
	URLs       []string `toml:"urls"`
	Username   string   `toml:"username"`
	Credential string   `toml:"credential"`
}

// Embedded configures the room server voipd runs itself when room.url is
// "embedded" (a LAN intercom set, or a demo machine).
type Embedded struct {
	Listen        string   `toml:"listen"`
	AppSecret     string   `toml:"appSecret"`
	AppSecretFile string   `toml:"appSecretFile"`
	Dev           bool     `toml:"dev"`
	UDPPort       int      `toml:"udpPort"`
	PublicIPs     []string `toml:"publicIPs"`
	MaxMembers    int      `toml:"maxMembers"`
	// ResumeGrace is how long a member's seat is kept after its connection
	// dropped, for it to come back without a new signature.
	ResumeGrace Duration `toml:"resumeGrace"`
}

// Control is the local control socket.
type Control struct {
	Socket     string `toml:"socket"`
	Group      string `toml:"group"`
	MaxClients int    `toml:"maxClients"`
	// MaxClientsPerUser bounds one peer uid's connections; ReservedClients
	// of MaxClients are kept for root and Trusted (grants as in Scopes).
	MaxClientsPerUser int      `toml:"maxClientsPerUser"`
	ReservedClients   int      `toml:"reservedClients"`
	Trusted           []string `toml:"trusted"`
	// LineTimeout closes a client that began a line and did not end it;
	// IdleTimeout one that sent nothing, has nothing running and is
	// subscribed to nothing.
	LineTimeout Duration `toml:"lineTimeout"`
	IdleTimeout Duration `toml:"idleTimeout"`
}

// Scopes grants scope.record and scope.camera to control clients by their
// peer credentials. Each entry is "*" (everyone who can open the socket),
// "user:NAME", "uid:N", "group:NAME" or "gid:N".
type Scopes struct {
	Record []string `toml:"record"`
	Camera []string `toml:"camera"`
}

// Audio picks the backend and the devices.
type Audio struct {
	Backend     string `toml:"backend"`  // auto | alsa | pulse | null (macOS: auto | coreaudio | null): hw.AudioBackends
	Capture     string `toml:"capture"`  // device name or id, or "tone:440"
	Playback    string `toml:"playback"` // device name or id, or "null"
	FrameMs     int    `toml:"frameMs"`  // 20 | 10: Opus frames and device periods
	JitterMinMs int    `toml:"jitterMinMs"`
	JitterMaxMs int    `toml:"jitterMaxMs"`
	// Hands-free processing of a real microphone (synthetic sources get
	// none): echo cancellation, noise suppression, gain control.
	EchoCancellation bool `toml:"echoCancellation"`
	NoiseSuppression bool `toml:"noiseSuppression"`
	AutoGainControl  bool `toml:"autoGainControl"`
}

// Opus sets the encoder.
type Opus struct {
	Bitrate        int  `toml:"bitrate"`
	FEC            bool `toml:"fec"`
	DTX            bool `toml:"dtx"`
	PacketLossPerc int  `toml:"packetLossPerc"`
	Complexity     int  `toml:"complexity"`
}

// Video sets the camera and the VP8 encoder for video rooms.
type Video struct {
	Camera  string `toml:"camera"` // a device id, or "pattern" for a synthetic camera (the front camera)
	Back    string `toml:"back"`   // the camera for device-position "back"; "" for none
	Width   int    `toml:"width"`
	Height  int    `toml:"height"`
	FPS     int    `toml:"fps"`
	Bitrate int    `toml:"bitrate"` // the most bit/s; the send-side estimate lowers it under loss
	CPUUsed int    `toml:"cpuUsed"` // libvpx realtime speed: -16..-1 fixed, 1..16 adaptive
	Threads int    `toml:"threads"` // libvpx threads
}

// Debug holds switches for diagnosis.
type Debug struct {
	Pprof string `toml:"pprof"` // loopback host:port for net/http/pprof; "" off
}

// Runtime tunes the Go runtime of the voipd process.
type Runtime struct {
	// MaxProcs is GOMAXPROCS: how many threads run Go code at once (the
	// codecs' C calls run beside them). 0 leaves Go's default, one per
	// CPU; the environment's GOMAXPROCS, when set, wins over either.
	MaxProcs int `toml:"maxProcs"`
	// TimerSlack is how late the kernel may fire the process's timers to
	// serve wakeups due close together with one (Linux's timer slack, for
	// every thread). 0 keeps what voipd inherited (a unit's
	// TimerSlackNSec=, else the kernel's 50 µs).
	TimerSlack Duration `toml:"timerSlack"`
}

// Call configures two-party calls (join1v1Chat and the listener side).
type Call struct {
	Allowed         bool     `toml:"allowed"`         // false: the 1v1 methods answer -20000
	Enable          bool     `toml:"enable"`          // reachable for calls from start (setEnable1v1Chat at boot)
	AutoAnswer      bool     `toml:"autoAnswer"`      // pick up by itself, as an intercom monitor
	AutoAnswerDelay Duration `toml:"autoAnswerDelay"` // after ringing this long
	RingTimeout     Duration `toml:"ringTimeout"`     // an unanswered call ends after it (-20011)
	Ringtone        string   `toml:"ringtone"`        // a WAV file (16-bit PCM, mono, 48 kHz); "" a generated tone
}

// Display is the local screen feed: the device's UI shows members' video
// and its own camera with <voip-room> elements fed from here.
type Display struct {
	Listen string `toml:"listen"` // loopback host:port; "" turns the display off
}

// State is where voipd keeps what must outlive its process.
type State struct {
	// Dir holds the group room it is in (with its resume ticket), so that
	// voipd killed mid-call gets back into it when it starts again. ""
	// means $STATE_DIRECTORY when systemd sets it (StateDirectory=),
	// else nothing is kept.
	Dir string `toml:"dir"`
}

// Log sets the log level.
type Log struct {
	Level string `toml:"level"` // debug | info | warn | error
}

// Duration is a time.Duration written as a string ("10s") in TOML.
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (like \"10s\"): %q", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Default returns the documented defaults (config.toml repeats them). The
// media settings' come from package media, which defines them once.
func Default() *Config {
	a, v := settings.DefaultAudio(), settings.DefaultVideo()
	return &Config{
		Identity: Identity{AppID: "wx0000000000000000", OpenID: "door-1"},
		Room:     Room{URL: "embedded", JoinTimeout: Duration(10 * time.Second), MediaTimeout: Duration(30 * time.Second)},
		Embedded: Embedded{Listen: "127.0.0.1:8089", MaxMembers: 10, ResumeGrace: Duration(60 * time.Second)},
		Control: Control{Socket: "/run/voipd/control.sock", MaxClients: 16, MaxClientsPerUser: 8, ReservedClients: 4, Trusted: []string{},
			LineTimeout: Duration(10 * time.Second), IdleTimeout: Duration(time.Minute)},
		Scopes: Scopes{Record: []string{"*"}, Camera: []string{"*"}},
		Audio: Audio{Backend: "auto", Capture: "default", Playback: "default", FrameMs: a.FrameMs, JitterMinMs: a.JitterMinMs, JitterMaxMs: a.JitterMaxMs,
			EchoCancellation: a.EchoCancellation, NoiseSuppression: a.NoiseSuppression, AutoGainControl: a.AutoGainControl},
		Opus:    Opus{Bitrate: a.Bitrate, FEC: a.FEC, DTX: a.DTX, PacketLossPerc: a.PacketLossPerc, Complexity: a.Complexity},
		Video:   Video{Camera: "default", Width: v.Width, Height: v.Height, FPS: v.FPS, Bitrate: v.Bitrate, CPUUsed: v.CPUUsed, Threads: v.Threads},
		Display: Display{Listen: "127.0.0.1:8090"},
		Call:    Call{Allowed: true, AutoAnswerDelay: Duration(2 * time.Second), RingTimeout: Duration(30 * time.Second)},
		Runtime: Runtime{MaxProcs: 1, TimerSlack: Duration(time.Millisecond)},
		Log:     Log{Level: "info"},
	}
}

// AudioSettings is the audio pipelines' part of c ([audio] and [opus]).
func (c *Config) AudioSettings() settings.Audio {
	return settings.Audio{
		Bitrate: c.Opus.Bitrate, FEC: c.Opus.FEC, DTX: c.Opus.DTX,
		PacketLossPerc: c.Opus.PacketLossPerc, Complexity: c.Opus.Complexity,
		FrameMs: c.Audio.FrameMs, JitterMinMs: c.Audio.JitterMinMs, JitterMaxMs: c.Audio.JitterMaxMs,
		EchoCancellation: c.Audio.EchoCancellation, NoiseSuppression: c.Audio.NoiseSuppression,
		AutoGainControl: c.Audio.AutoGainControl,
	}
}

// VideoSettings is the video pipelines' part of c ([video]).
func (c *Config) VideoSettings() settings.Video {
	v := c.Video
	return settings.Video{Width: v.Width, Height: v.Height, FPS: v.FPS, Bitrate: v.Bitrate, CPUUsed: v.CPUUsed, Threads: v.Threads}
}

// Load reads the file at path over the defaults, strictly, then validates.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if c.Identity.SessionKey != "" || c.Embedded.AppSecret != "" {
		if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("config %s holds a secret (identity.sessionKey or embedded.appSecret) and is readable by others (mode %o): chmod 600 it, or move the secret to identity.sessionKeyFile / embedded.appSecretFile", path, st.Mode().Perm())
		}
	}
	if err := c.resolveFiles(path); err != nil {
		return nil, err
	}
	c.deriveSessionKey()
	return c, nil
}

// Parse decodes TOML over the defaults and validates the result.
func Parse(b []byte) (*Config, error) {
	c := Default()
	dec := toml.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, describe(err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// describe turns go-toml's errors into messages that name the key and line.
func describe(err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var msgs []string
		for _, e := range strict.Errors {
			row, _ := e.Position()
			msgs = append(msgs, fmt.Sprintf("line %d: unknown key %q", row, strings.Join(e.Key(), ".")))
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		key := strings.Join(de.Key(), ".")
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if key != "" {
			return fmt.Errorf("line %d: key %q: %s", row, key, msg)
		}
		return fmt.Errorf("line %d: %s", row, msg)
	}
	return err
}

// deriveSessionKey fills identity.sessionKey, when it is empty and voipd runs
// its own room server with a known secret, the way roomd derives it, so
// voipctl sign works with the embedded server without a key to copy around.
func (c *Config) deriveSessionKey() {
	if c.Identity.SessionKey == "" && c.Room.URL == "embedded" && c.Embedded.AppSecret != "" {
		c.Identity.SessionKey = proto.SessionKey(c.Embedded.AppSecret, c.Identity.OpenID)
	}
}

// resolveFiles reads secrets kept in their own files, refusing files that
// others can read: a session key or app secret is a credential.
func (c *Config) resolveFiles(cfgPath string) error {
	read := func(key, path string) (string, error) {
		st, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("config %s: %s: %w", cfgPath, key, err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("config %s: %s: %s is readable by others (mode %o); chmod 600 it", cfgPath, key, path, st.Mode().Perm())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("config %s: %s: %w", cfgPath, key, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	var err error
	if c.Identity.SessionKeyFile != "" {
		if c.Identity.SessionKey, err = read("identity.sessionKeyFile", c.Identity.SessionKeyFile); err != nil {
			return err
		}
	}
	if c.Embedded.AppSecretFile != "" {
		if c.Embedded.AppSecret, err = read("embedded.appSecretFile", c.Embedded.AppSecretFile); err != nil {
			return err
		}
	}
	return nil
}

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
