package endpoint

import (
	"net/http"
	"strings"
)

// Paths under the server base.
const (
	// FHIRPath is where the FHIR API is mounted: the FHIR base URL is the
	// server base followed by FHIRPath.
	FHIRPath = "/fhir"
	// WebSocketPath is the WebSocket endpoint; WebSocketPath+"/{ticket}"
	// takes a ticket from $websocket-ticket.
	WebSocketPath = "/ws"
	// R5FHIRPath is the same FHIR API for R5 clients: Subscriptions are read
	// and written in their R5 form there, and the Subscription operations
	// answer in R5 shapes (see docs/clients.md).
	R5FHIRPath = FHIRPath + "/R5"
)

// Aliases for the Medplum SDK's defaults, served and advertised nowhere
// (every URL fhirbell writes names FHIRPath and WebSocketPath); see
// docs/clients.md.
const (
	// MedplumFHIRPath serves the FHIR API as FHIRPath does: the SDK's
	// default fhirUrlPath is fhir/R4/, and its SubscriptionManager asks
	// for binding tokens there whatever the client's fhirUrlPath.
	MedplumFHIRPath = "/fhir/R4"
	// MedplumWebSocketPath is the WebSocket endpoint as WebSocketPath: the
	// SubscriptionManager connects to <base>/ws/subscriptions-r4 whatever
	// $get-ws-binding-token says. It cannot be a ticket: tickets are 43
	// base64url characters.
	MedplumWebSocketPath = WebSocketPath + "/subscriptions-r4"
	// MedplumMePath is where the SDK reads its session (profile).
	MedplumMePath = "/auth/me"
)

// Base computes the public server base of a request: scheme://host[:port]
// (and the path prefix of URL, if it has one), without FHIRPath and without
// a trailing slash. The zero value derives it from each request: https
// when the connection is TLS, and the Host header.
type Base struct {
	// URL is the configured public base (--base-url), e.g.
	// "https://fhir.example.org". When set it is the answer for every
	// request.
	URL string
	// Proxies, when URL is empty, says which scheme and host a trusted
	// reverse proxy forwarded (auth.TrustedProxies, from
	// --trusted-proxies). Nil trusts nobody.
	Proxies Proxies
}

// Proxies reads the X-Forwarded-Proto and X-Forwarded-Host of a request
// when a trusted proxy sent them, and the connection's scheme and Host
// otherwise. auth.TrustedProxies implements it.
type Proxies interface {
	Scheme(r *http.Request) string // "https" or "http"
	Host(r *http.Request) string   // host[:port]
}

// NewBase returns the Base for a configured URL (empty: derive from each
// request, through proxies, which may be nil).
func NewBase(url string, proxies Proxies) Base {
	return Base{URL: strings.TrimRight(url, "/"), Proxies: proxies}
}

// Server returns the public server base of r, such as
// "https://fhir.example.org".
func (b Base) Server(r *http.Request) string {
	if b.URL != "" {
		return strings.TrimRight(b.URL, "/")
	}
	if b.Proxies != nil {
		return b.Proxies.Scheme(r) + "://" + b.Proxies.Host(r)
	}
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// FHIR returns the FHIR base URL of r, such as
// "https://fhir.example.org/fhir".
func (b Base) FHIR(r *http.Request) string { return b.Server(r) + FHIRPath }

// WebSocket returns the URL of the WebSocket endpoint for r, such as
// "wss://fhir.example.org/ws": wss exactly when the server base is https
// (the connection is TLS, a trusted proxy says so, or URL is https).
func (b Base) WebSocket(r *http.Request) string { return WebSocketURL(b.Server(r)) }

// WebSocketURL returns the WebSocket endpoint under server base base (an
// http or https URL): ws:// or wss:// followed by its host and
// WebSocketPath.
func WebSocketURL(base string) string {
	switch {
	case strings.HasPrefix(base, "https://"):
		base = "wss://" + strings.TrimPrefix(base, "https://")
	case strings.HasPrefix(base, "http://"):
		base = "ws://" + strings.TrimPrefix(base, "http://")
	}
	return base + WebSocketPath
}
