package roomd

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"time"
)

// web is the browser client, written in roomd/web and embedded so that one
// binary serves everything.
//
//go:embed web
var web embed.FS

// Handler returns roomd's HTTP routes: /ws (signalling), /healthz,
// /dev/sign (only with Config.Dev) and / (the browser client).
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
	sub, err := fs.Sub(web, "web")
	if err == nil { // fs.Sub fails only on a bad pattern, and "web" is not one
		mux.Handle("GET /", http.FileServer(http.FS(sub)))
	}
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
