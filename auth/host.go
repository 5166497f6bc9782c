package auth

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// HostPolicy is the DNS-rebinding defence (FHIRBELL_ALLOWED_HOSTS): a
// request is served only when the host it was sent to (the Host header, or
// a trusted proxy's X-Forwarded-Host) is one the server answers to.
//
// A page on evil.example can make its own name resolve to 127.0.0.1 after
// the browser loaded it; its requests are then same-origin for the browser,
// reach a developer's local server and carry "Host: evil.example". With
// auth mode none every such request is an admin's, and the Origin check of
// WebSocket upgrades does not help, because Origin and Host agree. Only
// the name gives the attack away. IP literals are always allowed: the
// attack needs a name the attacker controls (Jupyter's rule).
type HostPolicy struct {
	// Allowed lists host names, lower case, without ports. "*" allows
	// every host (the check is off). An empty list also allows every host.
	Allowed []string
	// Proxies says whose X-Forwarded-Host to believe.
	Proxies TrustedProxies
}

// LoopbackHosts are the names a loopback-only server answers to by
// default.
var LoopbackHosts = []string{"localhost", "localhost.localdomain", "ip6-localhost"}

// ParseHosts parses a comma-separated host list ("fhir.example.org,
// localhost", or "*"); ports are not part of an entry.
func ParseHosts(list string) ([]string, error) {
	var out []string
	for item := range strings.SplitSeq(list, ",") {
		item = strings.ToLower(strings.TrimSpace(item))
		if item == "" {
			continue
		}
		if item != "*" && (strings.ContainsAny(item, ":/@[] ") || !validHost(item)) {
			return nil, fmt.Errorf("allowed host %q: want a host name without scheme or port, or *", item)
		}
		if !slices.Contains(out, item) {
			out = append(out, item)
		}
	}
	return out, nil
}

// Allows reports whether r was sent to an allowed host.
func (p HostPolicy) Allows(r *http.Request) bool {
	if len(p.Allowed) == 0 || slices.Contains(p.Allowed, "*") {
		return true
	}
	host := p.Proxies.Host(r)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false // HTTP/1.1 requires Host; a request without one names nothing we serve
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return slices.Contains(p.Allowed, host)
}
