package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/voipd/voipd/internal/journal"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd"
	"github.com/voipd/voipd/roomd/lkgate"
)

// fileConfig is roomd's TOML config file. Keys are camelCase like the rest
// of the project's configs.
type fileConfig struct {
	Listen          string      `toml:"listen"`
	Dev             bool        `toml:"dev"`
	MaxMembers      int         `toml:"maxMembers"`
	TimestampWindow duration    `toml:"timestampWindow"`
	ResumeGrace     duration    `toml:"resumeGrace"` // a dropped member's seat is kept this long
	UDPPort         int         `toml:"udpPort"`
	PublicIPs       []string    `toml:"publicIPs"`
	TLSCert         string      `toml:"tlsCert"`
	TLSKey          string      `toml:"tlsKey"`
	LogLevel        string      `toml:"logLevel"`
	Pprof           string      `toml:"pprof"`         // loopback host:port for net/http/pprof
	MetricsListen   string      `toml:"metricsListen"` // loopback host:port for Prometheus' /metrics
	Apps            []fileApp   `toml:"apps"`
	ICEServers      []iceServer `toml:"iceServers"`

	// Token rooms (roomd.Config.RTC*).
	RTCMaxMembers    int      `toml:"rtcMaxMembers"`
	RTCMaxPublishers int      `toml:"rtcMaxPublishers"`
	RTCTokenWarning  duration `toml:"rtcTokenWarning"`

	// Gateway mode (gateway.go).
	LiveKit liveKitConfig `toml:"livekit"`

	// Abuse limits (roomd.Config's of the same names; negative turns the
	// per-address ones off).
	HandshakeTimeout     duration `toml:"handshakeTimeout"`
	JoinRate             float64  `toml:"joinRate"`
	JoinBurst            int      `toml:"joinBurst"`
	MaxPendingPerAddress int      `toml:"maxPendingPerAddress"`
}

type fileApp struct {
	ID         string `toml:"id"`
	Secret     string `toml:"secret"`
	SecretFile string `toml:"secretFile"`
}

type iceServer struct {
	URLs       []string `toml:"urls"`
	Username   string   `toml:"username"`
	Credential string   `toml:"credential"`
}

// duration reads "300s", "5m" and the like.
type duration time.Duration

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = duration(v)
	return err
}

const defaultListen = ":8080"

// flags are the command line of `roomd` and `roomd sign`.
type flags struct {
	fs         *flag.FlagSet
	config     string
	listen     string
	appID      string
	appSecret  string
	secretFile string
	dev        bool
	udpPort    int
	publicIPs  string
	tlsCert    string
	tlsKey     string
	logLevel   string
	pprof      string // the profiler's address, from -pprof or the file, after load
	metrics    string // the metrics address, from -metrics-listen or the file, after load

	handshakeTimeout time.Duration
	joinRate         float64
	joinBurst        int
	maxPending       int

	gateway   gatewayFlags
	gatewayTo *lkgate.Config // gateway mode's settings after load; nil: none
}

func newFlags(name string, stderr io.Writer) *flags {
	f := &flags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.fs.SetOutput(stderr)
	f.fs.StringVar(&f.config, "config", "", "TOML config file")
	f.fs.StringVar(&f.appID, "app-id", "", "app id (added to the config's apps)")
	f.fs.StringVar(&f.appSecret, "app-secret", "", "app secret (visible in ps: prefer -app-secret-file or $ROOMD_APP_SECRET)")
	f.fs.StringVar(&f.secretFile, "app-secret-file", "", "file holding the app secret (mode 0600)")
	return f
}

func (f *flags) addServeFlags() {
	f.fs.StringVar(&f.listen, "listen", "", "TCP address for HTTP/WebSocket (default "+defaultListen+")")
	f.fs.BoolVar(&f.dev, "dev", false, "serve /dev/sign for trying the browser client (never in production)")
	f.fs.IntVar(&f.udpPort, "udp-port", 0, "the one UDP port for all media (0 picks one)")
	f.fs.StringVar(&f.publicIPs, "public-ip", "", "comma-separated public addresses to announce (1:1 NAT)")
	f.fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate: serve https/wss")
	f.fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key for -tls-cert")
	f.fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (default info)")
	f.fs.StringVar(&f.pprof, "pprof", "", "serve net/http/pprof on this loopback host:port")
	f.fs.StringVar(&f.metrics, "metrics-listen", "", "serve Prometheus metrics at http://ADDR/metrics on this loopback host:port (default off)")
	f.fs.DurationVar(&f.handshakeTimeout, "handshake-timeout", 0,
		"close a connection without its request headers, or a WebSocket without its first message, after this (default 10s)")
	f.fs.Float64Var(&f.joinRate, "join-rate", 0, "joins a second per address after the burst (default 5; negative: no limit)")
	f.fs.IntVar(&f.joinBurst, "join-burst", 0, "joins at once per address (default 20)")
	f.fs.IntVar(&f.maxPending, "max-pending-per-address", 0,
		"WebSockets per address that have not sent their first message yet (default 32; negative: no limit)")
	f.addGatewayFlags()
}

// load builds the server config: the file (if any), then the flags that
// were set, then the environment for the secret.
func (f *flags) load(getenv func(string) string, logOut io.Writer) (roomd.Config, error) {
	var fc fileConfig
	if f.config != "" {
		if err := readConfigFile(f.config, &fc); err != nil {
			return roomd.Config{}, err
		}
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["listen"] {
		fc.Listen = f.listen
	}
	if set["dev"] {
		fc.Dev = f.dev
	}
	if set["udp-port"] {
		fc.UDPPort = f.udpPort
	}
	if set["public-ip"] {
		fc.PublicIPs = strings.Split(f.publicIPs, ",")
	}
	if set["tls-cert"] {
		fc.TLSCert = f.tlsCert
	}
	if set["tls-key"] {
		fc.TLSKey = f.tlsKey
	}
	if set["log-level"] {
		fc.LogLevel = f.logLevel
	}
	if !set["pprof"] {
		f.pprof = fc.Pprof
	}
	if !set["metrics-listen"] {
		f.metrics = fc.MetricsListen
	}
	f.limitFlags(set, &fc)
	gw, err := f.gatewayConfig(set, &fc.LiveKit, getenv)
	if err != nil {
		return roomd.Config{}, err
	}
	f.gatewayTo = gw
	if fc.Listen == "" {
		fc.Listen = defaultListen
	}
	cfg := roomd.Config{
		Listen:          fc.Listen,
		Dev:             fc.Dev,
		MaxMembers:      fc.MaxMembers,
		TimestampWindow: time.Duration(fc.TimestampWindow),
		ResumeGrace:     time.Duration(fc.ResumeGrace),
		UDPPort:         fc.UDPPort,
		PublicIPs:       fc.PublicIPs,
		TLSCert:         fc.TLSCert,
		TLSKey:          fc.TLSKey,

		RTCMaxMembers:    fc.RTCMaxMembers,
		RTCMaxPublishers: fc.RTCMaxPublishers,
		RTCTokenWarning:  time.Duration(fc.RTCTokenWarning),

		HandshakeTimeout:     time.Duration(fc.HandshakeTimeout),
		JoinRate:             fc.JoinRate,
		JoinBurst:            fc.JoinBurst,
		MaxPendingPerAddress: fc.MaxPendingPerAddress,
	}
	var level slog.Level
	if fc.LogLevel != "" {
		if err := level.UnmarshalText([]byte(fc.LogLevel)); err != nil {
			return roomd.Config{}, fmt.Errorf("logLevel %q: want debug, info, warn or error", fc.LogLevel)
		}
	}
	cfg.Logger = journal.Logger(logOut, journal.Socket, "roomd", level)
	for _, is := range fc.ICEServers {
		cfg.ICEServers = append(cfg.ICEServers, proto.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	var fileApps []roomd.App
	for i, a := range fc.Apps {
		secret := a.Secret
		switch {
		case a.Secret != "" && a.SecretFile != "":
			return roomd.Config{}, fmt.Errorf("apps[%d]: set secret or secretFile, not both", i)
		case a.SecretFile != "":
			s, err := readSecretFile(a.SecretFile)
			if err != nil {
				return roomd.Config{}, fmt.Errorf("apps[%d].secretFile: %w", i, err)
			}
			secret = s
		}
		fileApps = append(fileApps, roomd.App{ID: a.ID, Secret: secret})
	}
	if f.appID == "" {
		if f.appSecret != "" || f.secretFile != "" {
			return roomd.Config{}, errors.New("-app-secret and -app-secret-file need -app-id")
		}
		cfg.Apps = fileApps
	} else {
		// The command line's app comes first (it is the one /dev/sign and
		// `roomd sign` use) and replaces a file app of the same id; with no
		// secret on the command line, the file's app of that id is chosen.
		secret, err := f.flagSecret(getenv)
		for _, a := range fileApps {
			if a.ID == f.appID && err != nil {
				secret, err = a.Secret, nil
			}
		}
		if err != nil {
			return roomd.Config{}, err
		}
		cfg.Apps = append(cfg.Apps, roomd.App{ID: f.appID, Secret: secret})
		for _, a := range fileApps {
			if a.ID != f.appID {
				cfg.Apps = append(cfg.Apps, a)
			}
		}
	}
	if len(cfg.Apps) == 0 {
		return roomd.Config{}, errors.New("no app: give -app-id with a secret, or [[apps]] in -config")
	}
	return cfg, nil
}

// limitFlags puts the abuse limits given on the command line over the
// file's.
func (f *flags) limitFlags(set map[string]bool, fc *fileConfig) {
	if set["handshake-timeout"] {
		fc.HandshakeTimeout = duration(f.handshakeTimeout)
	}
	if set["join-rate"] {
		fc.JoinRate = f.joinRate
	}
	if set["join-burst"] {
		fc.JoinBurst = f.joinBurst
	}
	if set["max-pending-per-address"] {
		fc.MaxPendingPerAddress = f.maxPending
	}
}

// flagSecret is the command line app's secret: -app-secret, else
// -app-secret-file, else $ROOMD_APP_SECRET.
func (f *flags) flagSecret(getenv func(string) string) (string, error) {
	switch {
	case f.appSecret != "" && f.secretFile != "":
		return "", errors.New("give -app-secret or -app-secret-file, not both")
	case f.appSecret != "":
		return f.appSecret, nil
	case f.secretFile != "":
		return readSecretFile(f.secretFile)
	case getenv("ROOMD_APP_SECRET") != "":
		return getenv("ROOMD_APP_SECRET"), nil
	}
	return "", errors.New("-app-id needs a secret: -app-secret-file, $ROOMD_APP_SECRET or -app-secret")
}

// readConfigFile decodes path strictly: an unknown key is an error naming
// it. A file holding a secret must not be readable by group or others.
func readConfigFile(path string, fc *fileConfig) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := toml.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(fc); err != nil {
		var sme *toml.StrictMissingError
		if errors.As(err, &sme) {
			var keys []string
			for _, e := range sme.Errors {
				keys = append(keys, strings.Join(e.Key(), "."))
			}
			return fmt.Errorf("config %s: unknown key %s", path, strings.Join(keys, ", "))
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return fmt.Errorf("config %s:%d:%d: %s (key %s)", path, row, col, de.Error(), strings.Join(de.Key(), "."))
		}
		return fmt.Errorf("config %s: %w", path, err)
	}
	holdsSecret := fc.LiveKit.APISecret != ""
	for _, a := range fc.Apps {
		holdsSecret = holdsSecret || a.Secret != ""
	}
	if holdsSecret {
		return checkPrivate(path)
	}
	return nil
}

// readSecretFile reads a secret (surrounding whitespace trimmed) from a
// file that only its owner may read.
func readSecretFile(path string) (string, error) {
	if err := checkPrivate(path); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return s, nil
}

func checkPrivate(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if mode := st.Mode().Perm(); mode&0o077 != 0 {
		return fmt.Errorf("%s holds a secret but is accessible by group or others (mode %04o): chmod 600 %s",
			path, mode, path)
	}
	return nil
}
