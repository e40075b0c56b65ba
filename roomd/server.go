// Package roomd is the room server: WebSocket signalling (package proto),
// join authentication with WeChat-style signatures, and a small SFU that
// forwards each member's Opus RTP to every other member of its room, and in
// video rooms its VP8 RTP to the members subscribed to it, without
// re-encoding (keyframe requests go back to the publisher). All media of all peer connections shares one UDP port (pion's
// ICE UDP mux), so a deployment opens one TCP and one UDP port.
//
// The browser client in roomd/web is embedded and served at /, with the
// <voip-room> element it shares with the daemon's local display (package
// web) at /voip-room.js.
package roomd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/internal/rawudp"
	"github.com/voipd/voipd/proto"
)

// App is one application roomd serves: members of an app sign their joins
// with session keys derived from its secret.
type App struct {
	ID, Secret string
}

// Config configures a Server. Zero values take the documented defaults.
type Config struct {
	Listen          string            // TCP address of HTTP/WebSocket, e.g. "127.0.0.1:0"
	Apps            []App             // at least one
	Dev             bool              // serve GET /dev/sign for the browser client
	MaxMembers      int               // group room size, default 10 (WeChat's limit)
	TimestampWindow time.Duration     // accepted clock skew of timeStamp, default 300s
	UDPPort         int               // the one UDP port for all media; 0 picks one
	PublicIPs       []string          // 1:1 NAT addresses announced as host candidates
	ICEServers      []proto.ICEServer // handed to clients in joined
	TLSCert, TLSKey string            // PEM files; when set, serve https/wss
	MaxRingTimeout  time.Duration     // cap on a call's ring timeout, default 60s
	CallTicketTTL   time.Duration     // life of an accepted call's room tickets, default 30s
	// ResumeGrace is how long a group room member's seat is kept after its
	// connection dropped, for it to come back with its resume ticket
	// (default 60 s: longer than a router's reboot); ResumeTTL is a
	// ticket's life (default 12 h: a call longer than that needs a new
	// join after a drop).
	ResumeGrace, ResumeTTL time.Duration
	// MediaTimeout: a member's media connection counts as failed after
	// this long without a packet from it (default 30 s, pion's); its
	// grace starts then (media.go).
	MediaTimeout time.Duration
	Logger       *slog.Logger

	// Abuse limits (limit.go). HandshakeTimeout bounds both an HTTP
	// request's headers (a connection that never completes its upgrade)
	// and, after the upgrade, a WebSocket's first message (default 10 s).
	// Per remote address (an IPv6 /64), JoinRate joins a second after a
	// burst of JoinBurst (default 5 and 20) and MaxPendingPerAddress
	// WebSockets that have not sent their first message (default 32);
	// beyond, HTTP 429. A negative JoinRate or MaxPendingPerAddress turns
	// that limit off. Loopback peers (roomd's own host: a reverse proxy,
	// the embedded server's daemon) are not limited.
	HandshakeTimeout     time.Duration
	JoinRate             float64
	JoinBurst            int
	MaxPendingPerAddress int

	// Gateway, when set, puts roomd in gateway mode (gateway.go): joins
	// are verified here and sent on to the engine behind it (LiveKit:
	// package roomd/lkgate), whose nonce store every gateway shares; no
	// media is forwarded here.
	Gateway Gateway

	// Token rooms (rtc.go).
	RTCMaxMembers    int           // token room size, default 50 (Volcengine's)
	RTCMaxPublishers int           // publisher slots per token room, default 30 (capped by RTCMaxMembers)
	RTCTokenWarning  time.Duration // tokenExpiring this long before a token expires, default 30s
}

const (
	defaultMaxMembers = 10
	defaultWindow     = 300 * time.Second

	idleTimeout = time.Minute
	// maxHeaderBytes: roomd's requests carry a few small headers; net/http's
	// default (1 MB) would let each connection make it buffer that much.
	maxHeaderBytes = 64 << 10
)

// Server is a running (or ready to run) roomd.
type Server struct {
	cfg  Config
	log  *slog.Logger
	auth *authority

	listVer  atomic.Uint64 // member lists' versions, taken under mu (roster.go)
	limits   *addrLimiter  // per-address limits on new connections (limit.go)
	refusals *refusalLog   // refusals, logged at most once per interval
	counters counters      // for metrics (metrics.go)

	listener net.Listener
	httpSrv  *http.Server
	udpMux   ice.UDPMux
	udpPort  int
	api      *webrtc.API
	scheme   string

	mu       sync.Mutex
	rooms    map[string]*room     // key: appID + "\x00" + groupId
	gone     seatsGone            // seats given up: their tickets are refused (resume.go)
	conns    map[*member]struct{} // every open WebSocket, joined or not
	calls    *callRegistry        // two-party calls (call.go)
	rtcRooms map[string]*rtcRoom  // token rooms (rtc.go), key rtcKey; made on first use
	closing  bool
	handlers sync.WaitGroup // one per WebSocket handler
}

// New validates cfg and returns a Server that is not yet listening.
func New(cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		return nil, errors.New("roomd: Config.Listen is empty")
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return nil, fmt.Errorf("roomd: Config.Listen %q: %w", cfg.Listen, err)
	}
	if len(cfg.Apps) == 0 {
		return nil, errors.New("roomd: Config.Apps is empty: at least one app is needed")
	}
	seen := map[string]bool{}
	for i, a := range cfg.Apps {
		switch {
		case a.ID == "":
			return nil, fmt.Errorf("roomd: Config.Apps[%d].ID is empty", i)
		case a.Secret == "":
			return nil, fmt.Errorf("roomd: Config.Apps[%d].Secret is empty", i)
		case seen[a.ID]:
			return nil, fmt.Errorf("roomd: Config.Apps[%d].ID %q is listed twice", i, a.ID)
		}
		seen[a.ID] = true
	}
	if cfg.MaxMembers < 0 {
		return nil, fmt.Errorf("roomd: Config.MaxMembers %d is negative", cfg.MaxMembers)
	}
	if cfg.MaxMembers == 0 {
		cfg.MaxMembers = defaultMaxMembers
	}
	if cfg.TimestampWindow < 0 {
		return nil, fmt.Errorf("roomd: Config.TimestampWindow %v is negative", cfg.TimestampWindow)
	}
	if cfg.TimestampWindow == 0 {
		cfg.TimestampWindow = defaultWindow
	}
	if cfg.UDPPort < 0 || cfg.UDPPort > 65535 {
		return nil, fmt.Errorf("roomd: Config.UDPPort %d is out of range", cfg.UDPPort)
	}
	for i, ip := range cfg.PublicIPs {
		if net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("roomd: Config.PublicIPs[%d] %q is not an IP address", i, ip)
		}
	}
	for i, is := range cfg.ICEServers {
		if len(is.URLs) == 0 {
			return nil, fmt.Errorf("roomd: Config.ICEServers[%d].URLs is empty", i)
		}
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("roomd: Config.TLSCert and Config.TLSKey must be set together")
	}
	if err := callDefaults(&cfg); err != nil {
		return nil, err
	}
	if err := resumeDefaults(&cfg); err != nil {
		return nil, err
	}
	if err := rtcDefaults(&cfg); err != nil {
		return nil, err
	}
	if err := limitDefaults(&cfg); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	var nonces nonceStore = newMemNonces()
	if cfg.Gateway != nil {
		nonces = cfg.Gateway // shared by the fleet's gateways
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		auth:     newAuthority(cfg.Apps, cfg.TimestampWindow, nonces),
		limits:   newAddrLimiter(&cfg),
		refusals: newRefusalLog(cfg.Logger, refusalLogEvery),
		rooms:    map[string]*room{},
		gone:     seatsGone{},
		conns:    map[*member]struct{}{},
		calls:    newCallRegistry(),
		scheme:   "http",
	}
	s.refusals.counted = s.counters.refused
	if cfg.TLSCert != "" {
		s.scheme = "https"
	}
	return s, nil
}

// Start binds the TCP listener and the UDP media port and serves until Close.
// It returns once both are bound; ctx bounds only the start itself.
func (s *Server) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var tlsCfg *tls.Config
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("roomd: loading Config.TLSCert/TLSKey: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("roomd: listen %s: %w", s.cfg.Listen, err)
	}
	s.listener = ln
	if s.cfg.Gateway == nil { // a gateway forwards no media: no UDP port
		host, _, _ := net.SplitHostPort(s.cfg.Listen)
		mux, port, err := listenUDPMux(host, s.cfg.UDPPort)
		if err != nil {
			ln.Close()
			return err
		}
		api, err := newAPI(mux, s.cfg.PublicIPs, s.cfg.MediaTimeout)
		if err != nil {
			ln.Close()
			mux.Close()
			return err
		}
		s.udpMux, s.udpPort, s.api = mux, port, api
	}
	s.httpSrv = &http.Server{
		Handler: s.Handler(),
		// A connection that never completes its request (or its TLS
		// handshake: net/http bounds it by this too) holds a goroutine
		// and buffers; after the upgrade HandshakeTimeout bounds the
		// WebSocket's first message (member.go).
		ReadHeaderTimeout: s.cfg.HandshakeTimeout,
		// Keep-alive connections of the browser client's page: without
		// a bound an idle one stays open for good.
		IdleTimeout:    idleTimeout,
		MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	go func() {
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	s.log.Info("roomd listening", "url", s.URL(), "udpPort", s.udpPort, "gateway", s.cfg.Gateway != nil)
	return nil
}

// Addr is the TCP host:port actually bound (after Start).
func (s *Server) Addr() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// UDPPort is the UDP media port actually bound (after Start); 0 in
// gateway mode.
func (s *Server) UDPPort() int { return s.udpPort }

// URL is the base URL clients use, e.g. "http://127.0.0.1:8443"; the
// signalling endpoint is URL with ws(s) and path /ws.
func (s *Server) URL() string {
	return s.scheme + "://" + s.Addr()
}

// Close tells every member the server is shutting down (error reason
// "shutdown"), closes all peer connections, the listeners and the UDP port,
// and waits for the connection goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	// Members still joining are told too: they would otherwise hold Close
	// up until their join deadline.
	all := make([]*member, 0, len(s.conns))
	for m := range s.conns {
		all = append(all, m)
	}
	s.mu.Unlock()
	for _, m := range all {
		m.fail(proto.ReasonShutdown, "the room server is shutting down")
	}
	var err error
	if s.httpSrv != nil {
		// Close (not Shutdown): hijacked WebSockets are ours to end, done above.
		err = s.httpSrv.Close()
	}
	s.handlers.Wait()
	s.refusals.close()
	if s.udpMux != nil {
		if cerr := s.udpMux.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// listenUDPMux binds the single media port. A specific host address gets one
// socket (UDPMuxDefault); an unspecified one a socket per interface address
// on the same port (MultiUDPMux), so replies leave from the address the
// candidate names.
func listenUDPMux(host string, port int) (ice.UDPMux, int, error) {
	ip := net.ParseIP(host)
	if ip != nil && !ip.IsUnspecified() {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
		if err != nil {
			return nil, 0, fmt.Errorf("roomd: listen UDP %s: %w", net.JoinHostPort(host, strconv.Itoa(port)), err)
		}
		port := conn.LocalAddr().(*net.UDPAddr).Port
		// An IPv4 socket reads and writes without a system call the
		// runtime sees (internal/rawudp): forwarding a packet then wakes no
		// sysmon.
		raw, err := rawudp.Wrap(conn)
		if err != nil {
			conn.Close()
			return nil, 0, fmt.Errorf("roomd: UDP socket: %w", err)
		}
		if raw != nil {
			return webrtc.NewICEUDPMux(nil, raw), port, nil
		}
		return webrtc.NewICEUDPMux(nil, conn), port, nil
	}
	if port == 0 {
		// MultiUDPMux binds every address to the same fixed port: pick a
		// free one first.
		probe, err := net.ListenUDP("udp4", &net.UDPAddr{})
		if err != nil {
			return nil, 0, fmt.Errorf("roomd: pick a UDP port: %w", err)
		}
		port = probe.LocalAddr().(*net.UDPAddr).Port
		probe.Close()
	}
	n, err := rawudp.New()
	if err != nil {
		return nil, 0, fmt.Errorf("roomd: network interfaces: %w", err)
	}
	mux, err := ice.NewMultiUDPMuxFromPort(port, ice.UDPMuxFromPortWithLoopback(),
		ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4), ice.UDPMuxFromPortWithNet(n))
	if err != nil {
		return nil, 0, fmt.Errorf("roomd: listen UDP port %d: %w", port, err)
	}
	return mux, port, nil
}
