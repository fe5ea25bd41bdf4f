package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// uiFiles holds the web UI: web/ui/index.html and the files it loads,
// which it names under /ui/.
//
//go:embed all:ui
var uiFiles embed.FS

// routeUI serves the UI: / is index.html, /ui/<file> a file of web/ui. A
// path under /ui/ without a file extension that names no file answers
// index.html too, so the UI may use such paths for its own views.
func (s *Server) routeUI() error {
	ui, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		return err
	}
	files := http.StripPrefix("/ui/", http.FileServerFS(ui))
	index := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, ui, "index.html")
	}
	s.mux.HandleFunc("GET /{$}", index)
	s.mux.HandleFunc("GET /ui/{file...}", func(w http.ResponseWriter, r *http.Request) {
		name := path.Clean(r.PathValue("file"))
		if _, err := fs.Stat(ui, name); err != nil && path.Ext(name) == "" && !strings.HasPrefix(name, ".") {
			index(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
	return nil
}
