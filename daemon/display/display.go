// Package display is the device's local display (README.md, "The local
// display"): it offers each room member's video, and the device's own
// camera, to the kiosk UI on loopback, through a WHEP-style HTTP endpoint
// and the <voip-room> custom element that plays it (voip-room.js in
// package web, shared with roomd's browser client).
//
// Nothing is decoded or re-encoded. The daemon tees the VP8 RTP it already
// has — each member's packets from the room, its own encoder's packets —
// into a Source; every viewer of that Source (one browser PeerConnection)
// gets a copy in its own fixed ring, drained by its own goroutine into a
// pion TrackLocalStaticRTP, which gives the packets the viewer's SSRC and
// payload type. A slow or broken viewer drops and counts, and never blocks
// the producer (STYLE.md, "Media path").
//
// Endpoints, all on a loopback address only:
//
//	POST   /whep/{source}        SDP offer in, 201 + SDP answer + Location out
//	DELETE /whep/{source}/{id}   ends that session
//	GET    /sources              the source names, as a JSON array
//	GET    /voip-room.js         the custom element
//	GET    /                     a page showing every source, for a person
//
// Source names: a member's openid, "self" for the device's front camera,
// "self:back" for its back camera.
//
// The package imports nothing of the project but package web (the element's
// file): it sees the daemon only as a writer of RTP packets and a receiver
// of keyframe requests.
package display

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Config configures a Server.
type Config struct {
	// Listen is the HTTP address: "127.0.0.1:0" (the default when empty)
	// picks a free port. Only loopback addresses are accepted: the
	// endpoint hands out the camera's picture to anyone who asks, so it
	// must never be reachable from the network.
	Listen string
	// Logger receives one line per session and per error; nil → discard.
	Logger *slog.Logger
}

// DefaultListen is the address used when Config.Listen is empty.
const DefaultListen = "127.0.0.1:0"

// Server is the display's HTTP endpoint and its sources.
type Server struct {
	cfg  Config
	log  *slog.Logger
	whep *whep

	mu       sync.Mutex
	sources  map[string]*Source
	sessions map[string]*viewer // by session id
	ln       net.Listener
	http     *http.Server
	closed   bool
}

// New checks cfg and returns a Server that is not yet listening.
func New(cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if err := checkLoopback(cfg.Listen); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w, err := newWHEP()
	if err != nil {
		return nil, err
	}
	return &Server{
		cfg:      cfg,
		log:      log.With("component", "display"),
		whep:     w,
		sources:  map[string]*Source{},
		sessions: map[string]*viewer{},
	}, nil
}

// checkLoopback refuses any listen address whose host is not a loopback
// IP or "localhost"; an empty host (":8080") means every interface.
func checkLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("display.listen %q: %w", addr, err)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("display.listen %q: bad port: %w", addr, err)
	}
	if !isLoopbackHost(host) {
		return fmt.Errorf("display.listen %q: not a loopback address (want 127.0.0.1:PORT, [::1]:PORT or localhost:PORT): the display serves the camera's picture and must not be reachable from the network", addr)
	}
	return nil
}

// isLoopbackHost reports whether host (no port) names this machine's
// loopback.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Start listens and serves in the background until Close or until ctx
// ends. It returns once the listener is open, so URL is valid after it.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("display: start: server closed")
	}
	if s.ln != nil {
		return errors.New("display: start: already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("display: listen on %s (display.listen): %w", s.cfg.Listen, err)
	}
	s.ln = ln
	s.http = &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	context.AfterFunc(ctx, func() { s.Close() })
	s.log.Info("listening", "url", "http://"+ln.Addr().String())
	return nil
}

// URL is the server's base URL ("http://127.0.0.1:PORT"), or "" before
// Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// Close stops the HTTP server and ends every session. Sources stay usable
// as writers (their packets go nowhere).
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv := s.http
	viewers := make([]*viewer, 0, len(s.sessions))
	for _, v := range s.sessions {
		viewers = append(viewers, v)
	}
	s.mu.Unlock()
	var err error
	if srv != nil {
		// Handlers are short (an answer waits for ICE gathering, bounded
		// by gatherTimeout), so a brief grace suffices.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = srv.Shutdown(ctx)
		cancel()
		if err != nil {
			err = errors.Join(err, srv.Close())
		}
	}
	for _, v := range viewers {
		s.endSession(v, "server closed")
	}
	return err
}

// Source returns the source named id, creating it when it does not exist.
// Create a member's source when the member joins (not when its first
// packet arrives), so an element shown at once does not get a 404.
func (s *Server) Source(id string) *Source {
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.sources[id]
	if src == nil {
		src = newSource(id)
		s.sources[id] = src
	}
	return src
}

// RemoveSource forgets the source named id and ends its viewers' sessions
// (their elements see an ended stream). A writer still holding the Source
// may keep writing; nobody receives it. A later Source(id) makes a new one.
func (s *Server) RemoveSource(id string) {
	s.mu.Lock()
	src := s.sources[id]
	delete(s.sources, id)
	s.mu.Unlock()
	if src == nil {
		return
	}
	for _, v := range src.detachAll() {
		s.endSession(v, "source removed")
	}
}

// Sources returns the names of the sources, sorted.
func (s *Server) Sources() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.sources))
	for id := range s.sources {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// lookup returns the source named id, or nil.
func (s *Server) lookup(id string) *Source {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sources[id]
}
