package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var assets embed.FS

// Handler serves the pages (/, /runs/ID, /pipelines/NAME all load the same page, whose script
// reads the path) and the files under /assets/. Other paths are 404.
func Handler() http.Handler {
	sub, _ := fs.Sub(assets, "assets")
	files := http.StripPrefix("/assets/", http.FileServerFS(sub))
	index, _ := assets.ReadFile("assets/index.html")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:")
		w.Header().Set("X-Frame-Options", "DENY")
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, "/assets/"):
			files.ServeHTTP(w, r)
		case p == "/" || p == "/runs" || p == "/pipelines" || strings.HasPrefix(p, "/runs/") || strings.HasPrefix(p, "/pipelines/"):
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(index)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error": {"code": "not_found", "message": "no such page"}}` + "\n"))
		}
	})
}
