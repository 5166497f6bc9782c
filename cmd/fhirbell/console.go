package main

import (
	_ "embed"
	"net/http"
)

// consoleHTML is the web console: one self-contained page that lists the
// Subscriptions, creates one, and shows its live notifications over a
// WebSocket opened from a $websocket-ticket URL (the flow a browser app
// must use). It uses only the public API, so it works in every auth mode
// once given an access token.
//
//go:embed console/index.html
var consoleHTML []byte

// consoleStats is what the console's header shows.
type consoleStats struct {
	Sockets  int `json:"sockets"`
	Bindings int `json:"bindings"`
	Topics   int `json:"topics"`
}

// consoleHandler serves the page at GET /.
func consoleHandler(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The page runs only its own inline script and talks only to this
	// server (fetch and WebSocket).
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.Write(consoleHTML)
}
