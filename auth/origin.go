package auth

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// OriginPolicy decides which browser origins may open WebSockets and make
// cross-origin calls to the FHIR API (FHIRBELL_ALLOWED_ORIGINS).
//
// There is no "*": every allowed origin is listed. An upgrade from any
// other origin is how Cross-Site WebSocket Hijacking starts (a page that
// got hold of a ticket URL, or a cookie-authenticated proxy in front of
// us), and the CORS answer is echoed per origin with Vary: Origin.
// fhirbell authenticates with bearer tokens, never cookies; allowed origins
// still get Access-Control-Allow-Credentials: true, because the Medplum SDK
// sends every request to its server with credentials "include", which a
// browser refuses without it. It grants nothing beyond the listed origins
// (never "*"), and the only ambient credential fhirbell honours, a TLS
// client certificate, is one the operator chose to trust those origins
// with.
type OriginPolicy struct {
	// Allowed lists origins as "scheme://host[:port]"; entries are
	// compared case-insensitively with default ports (80, 443) removed.
	// Use ParseOrigins to validate configuration.
	Allowed []string
	// Proxies says whose X-Forwarded-Proto/Host to believe when working
	// out the server's own origin.
	Proxies TrustedProxies
}

// ParseOrigins parses a comma-separated origin list, normalizing each
// entry ("HTTPS://App.Example:443" → "https://app.example"). It rejects
// "*", "null", and anything with a path, query, fragment or userinfo.
func ParseOrigins(list string) ([]string, error) {
	var out []string
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		o, ok := normalizeOrigin(item)
		if !ok {
			return nil, fmt.Errorf("allowed origin %q: want scheme://host[:port]", item)
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}

// normalizeOrigin returns s as "scheme://host[:port]" in lower case with
// the scheme's default port dropped, or false if s is not an http(s)
// origin.
func normalizeOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" ||
		(u.Path != "" && u.Path != "/") || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", false
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n > 65535 {
			return "", false
		}
		if (scheme == "http" && n == 80) || (scheme == "https" && n == 443) {
			port = ""
		} else {
			port = strconv.Itoa(n)
		}
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, true
}

// Allows reports whether origin (an Origin header value) is in the
// allow-list.
func (p OriginPolicy) Allows(origin string) bool {
	o, ok := normalizeOrigin(origin)
	if !ok {
		return false
	}
	for _, a := range p.Allowed {
		if n, ok := normalizeOrigin(a); ok && n == o {
			return true
		}
	}
	return false
}

// self returns the server's own origin as the request saw it.
func (p OriginPolicy) self(r *http.Request) (string, bool) {
	return normalizeOrigin(p.Proxies.Scheme(r) + "://" + p.Proxies.Host(r))
}

// AllowUpgrade reports whether a WebSocket upgrade may proceed: yes
// without an Origin header (native clients send none), yes from the
// server's own origin (scheme and host as the request arrived, through
// trusted proxies), yes from an allowed origin; otherwise, including
// "Origin: null", no, and the caller answers 403.
func (p OriginPolicy) AllowUpgrade(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	o, ok := normalizeOrigin(origin)
	if !ok {
		return false
	}
	if self, ok := p.self(r); ok && self == o {
		return true
	}
	return p.Allows(origin)
}

// CORS headers fhirbell sends to allowed origins.
const (
	corsAllowMethods  = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
	corsAllowHeaders  = "Authorization, Content-Type, Accept, If-Match, If-None-Match, If-None-Exist, If-Modified-Since, Prefer, X-Medplum"
	corsExposeHeaders = "Location, ETag, Link, Content-Location, Last-Modified"
	corsMaxAge        = "600"
)

// CORS wraps the FHIR API. A preflight (OPTIONS with
// Access-Control-Request-Method) from an allowed origin is answered 204
// with Access-Control-Allow-Origin (the origin echoed), -Allow-Methods,
// -Allow-Headers (Authorization, Content-Type, If-Match, Prefer, …) and
// -Max-Age, without reaching next; a preflight from any other origin gets
// 204 with no CORS headers, which the browser treats as a refusal. Other
// requests from an allowed origin get Access-Control-Allow-Origin and
// Access-Control-Expose-Headers (Location, ETag, Link, Content-Location,
// Last-Modified); requests from other origins get no CORS headers. Every
// response to a request with an Origin carries Vary: Origin.
func CORS(p OriginPolicy) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" {
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Add("Vary", "Origin")
			allowed := p.Allows(origin)
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Add("Vary", "Access-Control-Request-Method")
				h.Add("Vary", "Access-Control-Request-Headers")
				if allowed {
					h.Set("Access-Control-Allow-Origin", origin)
					h.Set("Access-Control-Allow-Credentials", "true")
					h.Set("Access-Control-Allow-Methods", corsAllowMethods)
					h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
					h.Set("Access-Control-Max-Age", corsMaxAge)
				}
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if allowed {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Credentials", "true")
				h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
			}
			next.ServeHTTP(w, r)
		})
	}
}
