package roomd

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"time"

	"github.com/voipd/voipd/web"
)

// webFS is the browser client, written in roomd/web and embedded so that
// one binary serves everything. Its <voip-room> element is not there: it
// is shared with the daemon's local display (package web).
//
//go:embed web
var webFS embed.FS

// Handler returns roomd's HTTP routes: /ws (signalling), /healthz,
// /dev/sign (only with Config.Dev), /voip-room.js, /vendor/ (gateway mode:
// LiveKit's browser client) and / (the rest of the browser client).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
	})
	if s.cfg.Dev {
		mux.HandleFunc("GET /dev/sign", s.serveDevSign)
	}
	// Gateway mode: LiveKit's browser client, which the page loads when a
	// join goes to LiveKit (web/livekit-link.js).
	if a, ok := s.cfg.Gateway.(interface{ Assets() fs.FS }); ok {
		if vendor, err := newStaticFiles(a.Assets(), nil); err == nil {
			mux.Handle("GET /vendor/", http.StripPrefix("/vendor", vendor))
		} else {
			s.log.Error("the gateway's browser assets cannot be read: /vendor/ answers 404", "err", err)
		}
	}
	// The client and its <voip-room> element, gzipped and with ETags
	// (static.go). The embedded files always read.
	sub, _ := fs.Sub(webFS, "web")
	client, err := newStaticFiles(sub, map[string][]byte{"voip-room.js": web.VoipRoomJS()})
	if err != nil {
		panic("roomd: the embedded browser client cannot be read: " + err.Error())
	}
	mux.Handle("GET /", client)
	return mux
}

// serveDevSign mints a join for the first app, so that the browser client
// can be tried without an operator backend. Never enabled in production:
// anyone who can reach it can join any room.
func (s *Server) serveDevSign(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	openid, groupID := q.Get("openid"), q.Get("groupId")
	switch {
	case openid == "":
		http.Error(w, "openid is missing", http.StatusBadRequest)
		return
	case groupID == "":
		http.Error(w, "groupId is missing", http.StatusBadRequest)
		return
	}
	signed := Sign(s.cfg.Apps[0], openid, groupID, time.Now())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(signed)
}
