package auth

import (
	"errors"
	"net/http"
	"strings"
)

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header (RFC 6750 §2.1; the scheme is case-insensitive). It returns false
// when the header is absent, uses another scheme, or the token is empty or
// contains spaces or control characters. Tokens in the query string
// (access_token=) are deliberately not supported: query strings end up in
// access logs.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimLeft(tok, " ")
	if tok == "" || len(tok) > maxTokenLen {
		return "", false
	}
	for i := range len(tok) {
		if c := tok[i]; c <= ' ' || c >= 0x7f {
			return "", false
		}
	}
	return tok, true
}

// Subprotocol is the WebSocket subprotocol fhirbell speaks; the server
// echoes only this value in Sec-WebSocket-Protocol, never a token.
const Subprotocol = "fhirbell"

// BearerSubprotocolPrefix starts the subprotocol entry a browser uses to
// pass an access token on the upgrade, since browsers cannot set an
// Authorization header there: "fhirbell.bearer.<token>".
const BearerSubprotocolPrefix = "fhirbell.bearer."

// SubprotocolToken looks through the Sec-WebSocket-Protocol values of an
// upgrade request. It returns the token of the first
// "fhirbell.bearer.<token>" entry and whether "fhirbell" itself was
// offered. The token is accepted as-is when it is a valid RFC 7230 token
// (which RFC 6455 requires of every subprotocol, and which JWTs and
// base64url strings always are); no other encoding is decoded, and an
// entry with other characters yields no token. A caller must refuse a
// token offered without "fhirbell", since it could then only answer by
// echoing the token entry.
func SubprotocolToken(r *http.Request) (token string, offered bool) {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(h, ",") {
			p = strings.TrimSpace(p)
			switch {
			case p == Subprotocol:
				offered = true
			case token == "" && strings.HasPrefix(p, BearerSubprotocolPrefix):
				t := p[len(BearerSubprotocolPrefix):]
				if t != "" && len(t) <= maxTokenLen && isHTTPToken(t) {
					token = t
				}
			}
		}
	}
	return token, offered
}

// isHTTPToken reports whether s is an RFC 7230 token (1*tchar).
func isHTTPToken(s string) bool {
	for i := range len(s) {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return s != ""
}

// DefaultRealm is the realm of the WWW-Authenticate challenge.
const DefaultRealm = "fhirbell"

// authError is the error of a failed authentication: a sentinel and a
// fixed reason safe to show to the client.
type authError struct {
	kind   error
	reason string
}

func (e *authError) Error() string { return e.kind.Error() + ": " + e.reason }
func (e *authError) Unwrap() error { return e.kind }

// Challenge returns the WWW-Authenticate value for err (RFC 6750 §3):
// `Bearer realm="fhirbell"` when no token was presented (ErrMissingToken),
// with `error="invalid_token"` and a fixed error_description for any other
// ErrUnauthenticated, and with `error="insufficient_scope"` for
// ErrForbidden. It returns "" for other errors. realm defaults to
// DefaultRealm.
func Challenge(realm string, err error) string {
	if realm == "" {
		realm = DefaultRealm
	}
	v := `Bearer realm="` + quoteSafe(realm) + `"`
	switch {
	case errors.Is(err, ErrMissingToken):
		return v
	case errors.Is(err, ErrUnauthenticated):
		v += `, error="invalid_token"`
		var ae *authError
		if errors.As(err, &ae) {
			v += `, error_description="` + quoteSafe(ae.reason) + `"`
		}
		return v
	case errors.Is(err, ErrForbidden):
		return v + `, error="insufficient_scope"`
	}
	return ""
}

// quoteSafe drops the characters a quoted-string cannot hold verbatim.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < ' ' || r >= 0x7f {
			return -1
		}
		return r
	}, s)
}

// StatusFor maps an auth error to its HTTP status: 401 for
// ErrUnauthenticated, 403 for ErrForbidden, 503 for ErrAuthUnavailable,
// 500 for anything else (and 200 for nil).
func StatusFor(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrAuthUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// MiddlewareOptions configures Middleware.
type MiddlewareOptions struct {
	// Realm is the WWW-Authenticate realm; DefaultRealm when empty.
	Realm string
	// SkipPaths are exact URL paths served without authentication and
	// without a Principal (e.g. "/fhir/metadata", "/healthz").
	SkipPaths []string
	// Skip, when set, is asked too: true serves r without authentication.
	Skip func(r *http.Request) bool
	// ClientCerts, when set, lets a request without a bearer token
	// authenticate with a verified mutual-TLS client certificate mapped
	// here (see ClientCertPrincipal). A bearer token, when present, wins.
	ClientCerts map[string]string
	// OnError writes the error response (fhirbell writes an
	// OperationOutcome). Middleware has already set WWW-Authenticate for
	// 401 and Retry-After for 503. When nil, a plain-text body is written.
	// status is StatusFor(err); err carries no token material.
	OnError func(w http.ResponseWriter, r *http.Request, status int, err error)
}

// Middleware authenticates each request with a, from its Authorization:
// Bearer header (an absent header is passed to a as "", which None
// accepts and the others refuse with ErrMissingToken), and serves it with
// the Principal in its context (WithPrincipal). Failures are answered
// through opts.OnError with 401 (plus the RFC 6750 challenge) or 503,
// and the handler is not called. Scope checks (403) are the handlers' job.
func Middleware(a Authenticator, opts MiddlewareOptions) func(http.Handler) http.Handler {
	onError := opts.OnError
	if onError == nil {
		onError = func(w http.ResponseWriter, _ *http.Request, status int, _ error) {
			http.Error(w, http.StatusText(status), status)
		}
	}
	skip := make(map[string]bool, len(opts.SkipPaths))
	for _, p := range opts.SkipPaths {
		skip[p] = true
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if skip[r.URL.Path] || (opts.Skip != nil && opts.Skip(r)) {
				next.ServeHTTP(w, r)
				return
			}
			tok, hasTok := BearerToken(r)
			if !hasTok && opts.ClientCerts != nil {
				if p, ok := ClientCertPrincipal(r.TLS, opts.ClientCerts); ok {
					next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
					return
				}
			}
			if _, none := a.(None); !none && !hasTok && r.Header.Get("Authorization") != "" {
				// Some other scheme, or a malformed Bearer header: the
				// caller did try to authenticate, so say the token is bad.
				writeAuthError(w, r, opts.Realm, unauthenticated("malformed Authorization header"), onError)
				return
			}
			p, err := a.Authenticate(r.Context(), tok)
			if err != nil {
				writeAuthError(w, r, opts.Realm, err, onError)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// writeAuthError sets the challenge or retry headers and calls onError.
func writeAuthError(w http.ResponseWriter, r *http.Request, realm string, err error,
	onError func(http.ResponseWriter, *http.Request, int, error)) {
	status := StatusFor(err)
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		w.Header().Set("WWW-Authenticate", Challenge(realm, err))
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	}
	w.Header().Set("Cache-Control", "no-store")
	onError(w, r, status, err)
}
