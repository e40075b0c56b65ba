package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/voipd/voipd/media/settings"

	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/codec/yuv"
	"github.com/voipd/voipd/daemon"
	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/daemon/display"
	"github.com/voipd/voipd/daemon/sdnotify"
	"github.com/voipd/voipd/daemon/session"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/audio"
	"github.com/voipd/voipd/hw/camera"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/internal/journal"
	"github.com/voipd/voipd/internal/metrics"
	"github.com/voipd/voipd/internal/pprofserve"
	"github.com/voipd/voipd/internal/release"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/media/pipeline"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/roomd"
)

// shutdownGrace bounds leaving the room and closing devices on SIGTERM; it
// stays below the unit's TimeoutStopSec (15 s).
const shutdownGrace = 10 * time.Second

// options let tests swap what the config would build.
type options struct {
	audio   hw.AudioSystem  // nil: hw/audio with the configured backend
	cameras hw.CameraSystem // nil: hw/camera (V4L2, and "pattern" cameras)
	onFrame func(member string, img yuv.I420)
	media   media.Factory // nil: media/pipeline's, from the config
	started func(*instance)
}

// instance is a running voipd: what run builds, for tests to reach.
type instance struct {
	daemon  *daemon.Daemon
	control *control.Server
	socket  string
	room    *roomd.Server // the embedded room server, if any
	roomURL string
	webURL  string
	// displayURL is the local screen feed (WHEP + voip-room.js), if on.
	displayURL string
	// metricsURL is where Prometheus scrapes voipd (metrics.listen), if on.
	metricsURL string
	audioSys   hw.AudioSystem
}

// run starts voipd and serves until ctx ends, then shuts down in order:
// answer a pending join (-3), leave the room, close devices, close clients.
func run(ctx context.Context, cfg *config.Config, opt options) error {
	return runWithLogger(ctx, cfg, opt, newLogger(cfg.Log.Level))
}

func runWithLogger(ctx context.Context, cfg *config.Config, opt options, log *slog.Logger) error {
	in, cleanup, err := start(ctx, cfg, opt, log)
	if err != nil {
		return err
	}
	defer cleanup()
	if opt.started != nil {
		opt.started(in)
	}
	<-ctx.Done()
	sdnotify.Stopping()
	log.Info("stopping")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	in.daemon.Shutdown(sctx)
	if err := in.control.Flush(sctx); err != nil {
		log.Warn("flush control answers", "err", err)
	}
	return nil
}

func start(ctx context.Context, cfg *config.Config, opt options, log *slog.Logger) (*instance, func(), error) {
	var closers []func()
	cleanup := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*instance, func(), error) {
		cleanup()
		return nil, nil, err
	}
	in := &instance{}

	in.audioSys = opt.audio
	if in.audioSys == nil {
		sys, err := audio.New(audio.Config{Backend: cfg.Audio.Backend, PeriodMillis: cfg.Audio.FrameMs, Logger: log})
		if err != nil {
			return fail(fmt.Errorf("audio.backend %q: %w", cfg.Audio.Backend, err))
		}
		closers = append(closers, func() { sys.Close() })
		in.audioSys = sys
		log.Info("audio", "backend", sys.Backend(), "capture", cfg.Audio.Capture, "playback", cfg.Audio.Playback)
	}
	if _, tone := hw.ParseTone(cfg.Audio.Capture); tone || cfg.Audio.Capture == hw.VoiceID {
		log.Warn("capture is synthetic, not a microphone (audio.capture)", "capture", cfg.Audio.Capture)
	}
	_, click := hw.ParseClick(cfg.Audio.Capture)
	if _, detect := hw.ParseDetect(cfg.Audio.Playback); click || detect {
		log.Warn("audio is the mouth-to-ear measurement's click source or detector, not a device", "capture", cfg.Audio.Capture, "playback", cfg.Audio.Playback)
	}
	mf := opt.media
	if mf == nil {
		mf = pipeline.NewFactory(cfg.AudioSettings(), cfg.VideoSettings(), log, opt.onFrame)
	}
	cams := opt.cameras
	if cams == nil {
		cams = camera.New(log)
	}
	var disp session.Display
	if cfg.Display.Listen != "" {
		ds, err := display.New(display.Config{Listen: cfg.Display.Listen, Logger: log.With("part", "display")})
		if err != nil {
			return fail(err) // names display.listen
		}
		if err := ds.Start(ctx); err != nil {
			return fail(err)
		}
		closers = append(closers, func() { ds.Close() })
		in.displayURL = ds.URL()
		disp = displayAdapter{ds}
	}

	var roomTLS *tls.Config
	in.roomURL = cfg.Room.URL
	if cfg.Room.URL == "embedded" {
		srv, err := startEmbedded(ctx, cfg, log)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, func() { srv.Close() })
		in.room = srv
		in.roomURL = strings.Replace(srv.URL(), "http", "ws", 1) + "/ws"
		in.webURL = srv.URL()
	} else if cfg.Room.CAFile != "" {
		pem, err := os.ReadFile(cfg.Room.CAFile)
		if err != nil {
			return fail(fmt.Errorf("room.caFile: %w", err))
		}
		pool, _ := x509.SystemCertPool()
		if pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return fail(fmt.Errorf("room.caFile %s: no PEM certificate in it", cfg.Room.CAFile))
		}
		roomTLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}

	var ice []webrtc.ICEServer
	for _, s := range cfg.Room.ICEServers {
		ice = append(ice, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	var ringtone []int16
	if cfg.Call.Ringtone != "" {
		var err error
		if ringtone, err = synth.LoadWAV(cfg.Call.Ringtone); err != nil {
			return fail(fmt.Errorf("call.ringtone: %w", err))
		}
	}
	rel := release.New(log)
	closers = append(closers, rel.Stop)
	// video.bitrate is the most the camera sends: the send-side estimate
	// lowers it under loss or congestion but never raises it above (left
	// alone, the estimate climbs toward 4 Mbit/s on a LAN, costing the
	// encoder CPU and the network bandwidth a kiosk does not need).
	vb := cfg.Video.Bitrate
	rooms := session.Rooms{Config: room.Config{
		URL: in.roomURL, TLS: roomTLS, ICEServers: ice, JoinTimeout: cfg.Room.JoinTimeout.D(), Logger: log,
		MediaTimeout: cfg.Room.MediaTimeout.D(),
		VideoBitrate: vb, MaxVideoBitrate: vb, MinVideoBitrate: settings.VideoMinBitrate,
	}}
	var keeper session.Keeper
	if dir := cmp.Or(cfg.State.Dir, os.Getenv("STATE_DIRECTORY")); dir != "" {
		keeper = session.FileKeeper{Path: filepath.Join(dir, "room.json")}
	}
	in.daemon = daemon.New(daemon.Params{
		Config: cfg, WebURL: in.webURL, Logger: log,
		Session: session.Params{
			Audio: in.audioSys, Cameras: cams, Media: mf, Rooms: rooms, Display: disp, Ringtone: ringtone, Keeper: keeper,
			OnState: func(st session.State) {
				sdnotify.Status(st.String())
				rel.State(st.String())
			},
		},
	})
	in.control = control.NewServer(in.daemon.ControlConfig(log), in.daemon)
	in.daemon.SetEvents(in.control)

	ln, activated, err := sdnotify.Listener()
	if err != nil {
		return fail(fmt.Errorf("socket activation: %w", err))
	}
	in.socket = cfg.Control.Socket
	if !activated {
		ln, err = control.Listen(cfg.Control.Socket, 0o660, cfg.Control.Group)
		if err != nil {
			return fail(fmt.Errorf("control.socket: %w", err))
		}
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := in.control.Serve(context.WithoutCancel(ctx), ln); err != nil {
			log.Error("control socket", "err", err)
		}
	}()
	closers = append(closers, func() {
		in.control.Close()
		ln.Close()
		<-served
	})
	if period, err := sdnotify.Watchdog(ctx); err != nil {
		log.Warn("systemd watchdog", "err", err)
	} else if period > 0 {
		log.Info("systemd watchdog", "every", period)
	}
	if _, err := pprofserve.Start(ctx, cfg.Debug.Pprof, log); err != nil {
		return fail(fmt.Errorf("debug.pprof: %w", err))
	}
	if cfg.Metrics.Listen != "" {
		totals := new(media.Totals) // a factory that counts none (a test's) reports zeros
		if f, ok := mf.(interface{ Totals() *media.Totals }); ok {
			totals = f.Totals()
		}
		reg := metrics.NewRegistry(metrics.NewVoipd(totals, in.daemon.Counters))
		if in.room != nil {
			reg.MustRegister(metrics.NewRoomd(in.room.Metrics))
		}
		url, err := metrics.Serve(ctx, cfg.Metrics.Listen, reg, log)
		if err != nil {
			return fail(fmt.Errorf("metrics.listen: %w", err))
		}
		in.metricsURL = url
	}
	in.daemon.StartCalls(ctx)
	go in.daemon.Rejoin(ctx) // the room voipd was in when it was killed, if one was kept
	sdnotify.Ready()
	sdnotify.Status("idle")
	rel.State("idle")
	log.Info("voipd ready", "socket", in.socket, "room", redactURL(in.roomURL), "openid", cfg.Identity.OpenID)
	if in.webURL != "" {
		log.Info("browser client", "url", in.webURL+"/?groupId=demo&autojoin=1")
	}
	return in, cleanup, nil
}

// startEmbedded runs roomd inside voipd (room.url = "embedded").
func startEmbedded(ctx context.Context, cfg *config.Config, log *slog.Logger) (*roomd.Server, error) {
	secret := cfg.Embedded.AppSecret
	if secret == "" {
		b := make([]byte, 16)
		rand.Read(b)
		secret = hex.EncodeToString(b)
		log.Warn("embedded.appSecret is empty: using a random secret, so only this daemon can sign joins")
	}
	if cfg.Identity.SessionKey == "" {
		cfg.Identity.SessionKey = proto.SessionKey(secret, cfg.Identity.OpenID)
	}
	srv, err := roomd.New(roomd.Config{
		Listen:      cfg.Embedded.Listen,
		Apps:        []roomd.App{{ID: cfg.Identity.AppID, Secret: secret}},
		Dev:         cfg.Embedded.Dev,
		MaxMembers:  cfg.Embedded.MaxMembers,
		ResumeGrace: cfg.Embedded.ResumeGrace.D(),
		UDPPort:     cfg.Embedded.UDPPort,
		PublicIPs:   cfg.Embedded.PublicIPs,
		Logger:      log.With("part", "roomd"),
	})
	if err != nil {
		return nil, fmt.Errorf("[embedded]: %w", err)
	}
	if err := srv.Start(ctx); err != nil {
		return nil, fmt.Errorf("embedded.listen %s: %w", cfg.Embedded.Listen, err)
	}
	return srv, nil
}

// redactURL keeps credentials a URL might carry out of logs.
func redactURL(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "…" + u[i:]
		}
	}
	return u
}

// displayAdapter shows display.Server through the daemon's small interface.
type displayAdapter struct{ s *display.Server }

func (a displayAdapter) Source(id string) session.DisplaySource { return a.s.Source(id) }
func (a displayAdapter) RemoveSource(id string)                 { a.s.RemoveSource(id) }

func newLogger(level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	return journal.Logger(os.Stderr, journal.Socket, "voipd", l)
}
