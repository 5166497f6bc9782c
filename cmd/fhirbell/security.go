package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/endpoint"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription/subhttp"
)

// security is everything built from the authentication and transport
// settings, shared by the REST API and the WebSocket hub.
type security struct {
	authn       auth.Authenticator // never nil; auth.None in mode none
	open        bool               // auth mode none
	origins     auth.OriginPolicy
	hosts       auth.HostPolicy
	proxies     auth.TrustedProxies
	base        endpoint.Base     // the public base: --base-url, else from each request through proxies
	clientCerts map[string]string // mTLS subject → scopes
	tokens      *auth.Limiter     // $get-ws-binding-token and $websocket-ticket
	upgrades    *auth.Limiter     // WebSocket upgrades
	tls         *tls.Config       // nil: plain HTTP
	close       func() error
}

func newSecurity(ctx context.Context, cfg Config, logger *slog.Logger) (*security, error) {
	s := &security{close: func() error { return nil }}
	var err error
	if s.proxies, err = auth.ParseTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted-proxies: %w", err)
	}
	allowed, err := auth.ParseOrigins(cfg.AllowedOrigins)
	if err != nil {
		return nil, fmt.Errorf("allowed-origins: %w", err)
	}
	s.origins = auth.OriginPolicy{Allowed: allowed, Proxies: s.proxies}
	hosts, err := auth.ParseHosts(cfg.AllowedHosts)
	if err != nil {
		return nil, fmt.Errorf("allowed-hosts: %w", err)
	}
	if len(hosts) == 0 && cfg.Auth == "none" {
		// Without authentication the Host name is all that tells a
		// developer's own tools from a rebinding page (auth.HostPolicy).
		hosts = append(hosts, auth.LoopbackHosts...)
		if u, err := url.Parse(cfg.BaseURL); err == nil && u.Hostname() != "" {
			hosts = append(hosts, strings.ToLower(u.Hostname()))
		}
	}
	s.hosts = auth.HostPolicy{Allowed: hosts, Proxies: s.proxies}
	s.base = endpoint.NewBase(cfg.BaseURL, s.proxies)
	if s.clientCerts, err = parseClientScopes(cfg.TLSClientScope); err != nil {
		return nil, err
	}
	s.tokens = auth.NewLimiter(cfg.TokenRate, max(1, int(cfg.TokenRate*2)), auth.DefaultLimiterKeys)
	s.upgrades = auth.NewLimiter(cfg.UpgradeRate, max(1, int(cfg.UpgradeRate*2)), auth.DefaultLimiterKeys)

	switch cfg.Auth {
	case "none":
		if err := auth.CheckNoneAllowed(cfg.Addr, cfg.InsecureNoAuth); err != nil {
			return nil, err
		}
		logger.Warn("AUTHENTICATION IS OFF (--auth none): every client is an admin that may read, change and delete everything; " +
			"use --auth jwt or --auth introspect for anything but local development")
		if cfg.InsecureNoAuth {
			logger.Warn("authentication is off on a non-loopback address (--insecure-no-auth)")
		}
		s.authn, s.open = auth.None{}, true
	case "jwt":
		j, err := auth.NewJWT(auth.JWTConfig{
			JWKSURL: cfg.JWKSURL, JWKSFile: cfg.JWKSFile,
			Issuer: cfg.Issuer, Audiences: []string{cfg.Audience}, Logger: logger,
		})
		if err != nil {
			return nil, fmt.Errorf("auth jwt: %w", err)
		}
		s.authn, s.close = j, j.Close
	case "introspect":
		in, err := auth.NewIntrospection(auth.IntrospectionConfig{
			URL: cfg.IntrospectionURL, ClientID: cfg.IntrospectionClientID, ClientSecret: cfg.IntrospectionClientSecret,
			Issuer: cfg.Issuer, Audiences: nonEmpty(cfg.Audience), CacheTTL: cfg.IntrospectionCache,
		})
		if err != nil {
			return nil, fmt.Errorf("auth introspect: %w", err)
		}
		s.authn = in
	}

	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if cfg.TLSClientCA != "" {
			pool, err := auth.LoadClientCAs(cfg.TLSClientCA)
			if err != nil {
				return nil, fmt.Errorf("tls-client-ca: %w", err)
			}
			// Verify a certificate when one is offered; browsers and bearer
			// clients offer none and authenticate with tokens.
			s.tls.ClientAuth, s.tls.ClientCAs = tls.VerifyClientCertIfGiven, pool
		}
	}
	return s, nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// parseClientScopes reads "subject|scopes;subject|scopes": the subject is a
// certificate's common name or full DN ("CN=ops,O=Acme"), the scopes are
// space-separated. '|' separates them because DNs hold '=' and ','.
func parseClientScopes(s string) (map[string]string, error) {
	m := map[string]string{}
	for pair := range strings.SplitSeq(s, ";") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		subject, scopes, ok := strings.Cut(pair, "|")
		if !ok || strings.TrimSpace(subject) == "" || strings.TrimSpace(scopes) == "" {
			return nil, fmt.Errorf("tls-client-scopes: %q is not subject|scopes", pair)
		}
		m[strings.TrimSpace(subject)] = strings.TrimSpace(scopes)
	}
	return m, nil
}

// issueLimit applies the per-client limit on binding tokens and tickets.
// In mode none (a loopback test bench, where every client is anonymous and
// shares one address) there is no limit: the limits protect an
// authenticated server from its clients, not a bench from itself.
func (s *security) issueLimit(r *http.Request) bool {
	return s.open || s.tokens.Allow(s.clientKey(r))
}

// clientKey identifies a client for rate limits: the principal when there
// is one, else its address.
func (s *security) clientKey(r *http.Request) string {
	if p, ok := auth.PrincipalFrom(r.Context()); ok && p.Kind != auth.KindAnonymous {
		return "sub:" + p.Subject + "/" + p.ClientID
	}
	return "ip:" + s.proxies.ClientIP(r)
}

// authenticate is the /fhir authentication middleware: the CapabilityStatement
// is public (clients discover the server with it), everything else needs a
// principal, whose absence or failure is an OperationOutcome 401 or 503.
func (s *security) authenticate(next http.Handler) http.Handler {
	return auth.Middleware(s.authn, auth.MiddlewareOptions{
		SkipPaths:   []string{endpoint.FHIRPath + "/metadata"},
		ClientCerts: s.clientCerts,
		OnError: func(w http.ResponseWriter, r *http.Request, status int, err error) {
			code, msg := fhir.IssueLogin, "authentication failed"
			switch {
			case errors.Is(err, auth.ErrMissingToken):
				msg = "this server needs an access token: send Authorization: Bearer <token>"
			case errors.Is(err, auth.ErrUnauthenticated):
				msg = "the access token is not valid: " + err.Error()
			case errors.Is(err, auth.ErrAuthUnavailable):
				code, msg = fhir.IssueTransient, "the authorization server is unavailable; retry later"
			}
			writeOutcome(w, status, fhir.NewOutcome(code, msg))
		},
	})(next)
}

// capability tells clients, in the CapabilityStatement, how the server is
// secured: SMART-on-FHIR bearer tokens in the auth modes (mutual TLS too
// when configured), whether CORS is on, or that nothing is required.
func (s *security) capability(cs *subhttp.CapabilityStatement, _ string) {
	if len(cs.Rest) == 0 {
		return
	}
	sec := map[string]any{"cors": len(s.origins.Allowed) > 0}
	switch {
	case s.open:
		sec["description"] = "Authentication is off (auth mode none): every client may do everything."
	default:
		codes := []map[string]any{{"coding": []map[string]string{{
			"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}}}}
		desc := "Send an OAuth 2.0 bearer access token with SMART v1 or v2 scopes (Authorization: Bearer). " +
			"WebSockets authenticate with a $websocket-ticket URL, a $get-ws-binding-token token, " +
			"a Bearer header or the fhirbell.bearer.<token> subprotocol."
		if len(s.clientCerts) > 0 {
			codes = append(codes, map[string]any{"coding": []map[string]string{{
				"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "Certificates"}}})
			desc += " System clients may authenticate with a mutual-TLS client certificate."
		}
		sec["service"], sec["description"] = codes, desc
	}
	b, _ := json.Marshal(sec) // plain values: cannot fail
	cs.Rest[0].Security = b
}

// checkHost refuses a request sent to a host name the server does not
// answer to (auth.HostPolicy), before anything else sees it: REST, the
// WebSocket upgrade, the console.
func (s *security) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hosts.Allows(r) {
			w.Header().Set("Cache-Control", "no-store")
			writeOutcome(w, http.StatusMisdirectedRequest, fhir.NewOutcome(fhir.IssueSecurity,
				"this server does not answer to that host name; list it in --allowed-hosts (FHIRBELL_ALLOWED_HOSTS)"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireTLS refuses plain-HTTP requests (directly, or as a trusted proxy
// reports them) except the health checks, which load balancers probe over
// plain HTTP.
func (s *security) requireTLS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.proxies.Scheme(r) != "https" && r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
			writeOutcome(w, http.StatusForbidden, fhir.NewOutcome(fhir.IssueSecurity, "this server requires TLS: use https:// and wss://"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeOutcome(w http.ResponseWriter, status int, oo *fhir.OperationOutcome) {
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(fhir.MarshalOutcome(oo))
}
