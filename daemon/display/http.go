package display

import (
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"

	"github.com/voipd/voipd/web"
)

// indexHTML is the page at /, for a person checking the device. The
// <voip-room> element it loads is shared with roomd's browser client
// (package web).
//
//go:embed web/index.html
var indexHTML []byte

// maxOfferBytes bounds an SDP offer; a browser's single-video offer is
// about 5 KiB.
const maxOfferBytes = 64 << 10

// handler routes the display's endpoints behind the loopback guard.
func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whep/{source}", s.handleOffer)
	mux.HandleFunc("DELETE /whep/{source}/{session}", s.handleDelete)
	mux.HandleFunc("GET /sources", s.handleSources)
	mux.HandleFunc("GET /voip-room.js", serveFile(web.VoipRoomJS(), "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /{$}", serveFile(indexHTML, "text/html; charset=utf-8"))
	return guard(mux)
}

// guard keeps the endpoint to this machine's own pages.
//
// Host must name loopback, so a web page that rebinds its DNS name to
// 127.0.0.1 cannot reach the camera through the browser (DNS rebinding).
//
// CORS: the kiosk UI usually comes from another loopback origin (its own
// server, another port) and must call the endpoint and load
// voip-room.js as a module, so any http(s) origin whose host is loopback
// is allowed, and nothing else: a page from the network, or an opaque
// "null" origin (a sandboxed frame, a file:// page), gets 403, since the
// answer would hand it the camera's picture. Location is exposed so a
// cross-origin page can end its session.
func guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !isLoopbackHost(host) {
			http.Error(w, "display: the Host is not a loopback address", http.StatusForbidden)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			if !isLoopbackOrigin(origin) {
				http.Error(w, "display: only pages on this machine's loopback may use the display", http.StatusForbidden)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "Location")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Content-Type")
				h.Set("Access-Control-Max-Age", "600")
				if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
					h.Set("Access-Control-Allow-Private-Network", "true")
				}
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// isLoopbackOrigin reports whether an Origin header names an http(s) page
// served from this machine's loopback.
func isLoopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return isLoopbackHost(u.Hostname())
}

// handleOffer answers POST /whep/{source}: the WHEP offer/answer exchange.
func (s *Server) handleOffer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("source")
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/sdp" {
		http.Error(w, "display: the offer must be Content-Type application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	src := s.lookup(id)
	if src == nil {
		http.Error(w, "display: no source "+quote(id), http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOfferBytes))
	if err != nil {
		http.Error(w, "display: reading the offer: "+err.Error(), http.StatusBadRequest)
		return
	}
	v, answer, err := s.answer(r.Context(), src, string(body))
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, errBadOffer) {
			code = http.StatusBadRequest
		}
		s.log.Warn("offer refused", "source", id, "err", err)
		http.Error(w, "display: "+err.Error(), code)
		return
	}
	if !s.addSession(v) {
		v.close()
		http.Error(w, "display: no source "+quote(id), http.StatusNotFound)
		return
	}
	s.log.Info("session started", "source", id, "session", v.id)
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/whep/"+url.PathEscape(id)+"/"+v.id)
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, answer)
}

// handleDelete ends a session: DELETE on the Location an offer returned.
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	v := s.session(r.PathValue("source"), r.PathValue("session"))
	if v == nil {
		http.Error(w, "display: no such session", http.StatusNotFound)
		return
	}
	s.endSession(v, "deleted")
	w.WriteHeader(http.StatusOK)
}

// handleSources lists the source names, for the overview page.
func (s *Server) handleSources(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(s.Sources())
}

// serveFile serves one embedded file, b, which it never changes. no-cache:
// the file changes with the daemon's version, and revalidating on loopback
// costs nothing.
func serveFile(b []byte, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	}
}

// quote quotes a source name for an error message, bounded so a long
// name does not flood a log.
func quote(id string) string {
	if len(id) > 64 {
		id = id[:64] + "…"
	}
	b, _ := json.Marshal(id)
	return string(b)
}
