// Package web is Attune's browser UI: a search page and a segment browser
// over the HTTP API, as static files embedded in the binary. It has no build
// step and no third-party code: plain HTML, CSS and modern JavaScript, with
// charts drawn as inline SVG.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var files embed.FS

// Static is the UI's files, index.html at the root.
var Static, _ = fs.Sub(files, "static")

// Handler serves the UI. Unknown paths get index.html's 404 from the file
// server; the UI itself lives at /.
func Handler() http.Handler {
	fsrv := http.FileServerFS(Static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		// Assets change with the binary; revalidate rather than cache stale UI.
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}
