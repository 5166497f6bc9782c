package main

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// consoleFiles is the web console (docs/operations.md, "The console"):
// index.html, app.js and style.css, embedded in the binary and served as
// they are (plain ES modules, no build step). It uses only the public API,
// so it works in every auth mode once given an access token, which it
// keeps in the tab's sessionStorage only.
//
//go:embed console/index.html console/app.js console/style.css
var consoleFiles embed.FS

// consoleStats is what the console's header shows.
type consoleStats struct {
	Sockets  int `json:"sockets"`
	Bindings int `json:"bindings"`
	Topics   int `json:"topics"`
}

// consoleHeaders are the headers of every console file: the page runs only
// its own scripts and styles and talks only to this server (fetch and
// WebSocket).
func consoleHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

// consoleHandler serves the page at GET /.
func consoleHandler(w http.ResponseWriter, r *http.Request) {
	serveConsoleFile(w, "index.html")
}

// consoleAsset serves GET /console/{file}.
func consoleAsset(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/console/")
	if name == "index.html" || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	serveConsoleFile(w, name)
}

var consoleTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

func serveConsoleFile(w http.ResponseWriter, name string) {
	b, err := fs.ReadFile(consoleFiles, "console/"+name)
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	consoleHeaders(w.Header())
	w.Header().Set("Content-Type", consoleTypes[name[strings.LastIndex(name, "."):]])
	w.Write(b)
}
