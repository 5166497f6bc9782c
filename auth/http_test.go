package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header []string
		tok    string
		ok     bool
	}{
		{nil, "", false},
		{[]string{"Bearer abc.def.ghi"}, "abc.def.ghi", true},
		{[]string{"bearer abc"}, "abc", true},
		{[]string{"BEARER abc"}, "abc", true},
		{[]string{"Bearer   abc"}, "abc", true},
		{[]string{"Bearer abc+/=="}, "abc+/==", true},
		{[]string{"Bearer "}, "", false},
		{[]string{"Bearer"}, "", false},
		{[]string{"Basic dXNlcjpwYXNz"}, "", false},
		{[]string{"Bearerabc"}, "", false},
		{[]string{"Bearer abc def"}, "", false},
		{[]string{"Bearer abc\tdef"}, "", false},
		{[]string{"Bearer abc\x7f"}, "", false},
		{[]string{"Bearer " + strings.Repeat("a", maxTokenLen+1)}, "", false},
		{[]string{"Bearer first", "Bearer second"}, "first", true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/fhir/Patient", nil)
		for _, h := range tt.header {
			r.Header.Add("Authorization", h)
		}
		tok, ok := BearerToken(r)
		if tok != tt.tok || ok != tt.ok {
			t.Errorf("BearerToken(%q) = %q, %v, want %q, %v", tt.header, tok, ok, tt.tok, tt.ok)
		}
	}
}

func TestSubprotocolToken(t *testing.T) {
	jwtLike := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_"
	tests := []struct {
		headers []string
		tok     string
		offered bool
	}{
		{nil, "", false},
		{[]string{"fhirbell"}, "", true},
		{[]string{"fhirbell, fhirbell.bearer." + jwtLike}, jwtLike, true},
		{[]string{"fhirbell.bearer." + jwtLike + ",fhirbell"}, jwtLike, true},
		{[]string{"fhirbell", "fhirbell.bearer." + jwtLike}, jwtLike, true},
		{[]string{"fhirbell.bearer." + jwtLike}, jwtLike, false},
		{[]string{"fhirbell.bearer.a, fhirbell.bearer.b, fhirbell"}, "a", true},
		{[]string{"fhirbell.bearer., fhirbell"}, "", true},
		{[]string{"fhirbell.bearer.abc/def=, fhirbell"}, "", true}, // not RFC 7230 tokens
		{[]string{"fhirbell.bearer.a\"b, fhirbell"}, "", true},
		{[]string{"other, FHIRBELL"}, "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/ws", nil)
		for _, h := range tt.headers {
			r.Header.Add("Sec-WebSocket-Protocol", h)
		}
		tok, offered := SubprotocolToken(r)
		if tok != tt.tok || offered != tt.offered {
			t.Errorf("SubprotocolToken(%q) = %q, %v, want %q, %v", tt.headers, tok, offered, tt.tok, tt.offered)
		}
	}
}

func TestChallengeAndStatus(t *testing.T) {
	tests := []struct {
		realm     string
		err       error
		challenge string
		status    int
	}{
		{"", ErrMissingToken, `Bearer realm="fhirbell"`, 401},
		{"", fmt.Errorf("wrapped: %w", ErrMissingToken), `Bearer realm="fhirbell"`, 401},
		{"", unauthenticated("token expired"), `Bearer realm="fhirbell", error="invalid_token", error_description="token expired"`, 401},
		{"", ErrUnauthenticated, `Bearer realm="fhirbell", error="invalid_token"`, 401},
		{"x\"y", ErrForbidden, `Bearer realm="xy", error="insufficient_scope"`, 403},
		{"", ErrAuthUnavailable, "", 503},
		{"", errors.New("boom"), "", 500},
		{"", nil, "", 200},
	}
	for _, tt := range tests {
		if got := Challenge(tt.realm, tt.err); got != tt.challenge {
			t.Errorf("Challenge(%q, %v) = %q, want %q", tt.realm, tt.err, got, tt.challenge)
		}
		if got := StatusFor(tt.err); got != tt.status {
			t.Errorf("StatusFor(%v) = %d, want %d", tt.err, got, tt.status)
		}
	}
}

// authFunc adapts a function to Authenticator.
type authFunc func(ctx context.Context, bearer string) (Principal, error)

func (f authFunc) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	return f(ctx, bearer)
}

func TestMiddleware(t *testing.T) {
	fake := authFunc(func(_ context.Context, tok string) (Principal, error) {
		switch tok {
		case "":
			return Principal{}, ErrMissingToken
		case "good":
			return Principal{Kind: KindUser, Subject: "alice"}, nil
		case "down":
			return Principal{}, fmt.Errorf("%w: introspection timeout", ErrAuthUnavailable)
		}
		return Principal{}, unauthenticated("token expired")
	})
	tests := []struct {
		name      string
		auth      Authenticator
		path      string
		header    string
		status    int
		challenge string
		subject   string // "-" = no principal expected
	}{
		{"no token", fake, "/fhir/Patient", "", 401, `Bearer realm="fhirbell"`, ""},
		{"bad token", fake, "/fhir/Patient", "Bearer bad", 401, `Bearer realm="fhirbell", error="invalid_token", error_description="token expired"`, ""},
		{"other scheme", fake, "/fhir/Patient", "Basic dXNlcjpwYXNz", 401, `Bearer realm="fhirbell", error="invalid_token", error_description="malformed Authorization header"`, ""},
		{"good token", fake, "/fhir/Patient", "Bearer good", 200, "", "alice"},
		{"server down", fake, "/fhir/Patient", "Bearer down", 503, "", ""},
		{"skipped path", fake, "/fhir/metadata", "", 200, "", "-"},
		{"skipped by func", fake, "/healthz", "Bearer bad", 200, "", "-"},
		{"mode none without token", None{}, "/fhir/Patient", "", 200, "", "anonymous"},
		{"mode none with junk header", None{}, "/fhir/Patient", "Basic x", 200, "", "anonymous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotStatus int
			var gotErr error
			mw := Middleware(tt.auth, MiddlewareOptions{
				SkipPaths: []string{"/fhir/metadata"},
				Skip:      func(r *http.Request) bool { return r.URL.Path == "/healthz" },
				OnError: func(w http.ResponseWriter, r *http.Request, status int, err error) {
					gotStatus, gotErr = status, err
					w.WriteHeader(status)
				},
			})
			var subject = "(handler not called)"
			h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if p, ok := PrincipalFrom(r.Context()); ok {
					subject = p.Subject
				} else {
					subject = "-"
				}
			}))
			r := httptest.NewRequest("GET", tt.path, nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d", w.Code, tt.status)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
			if tt.status >= 400 {
				if gotStatus != tt.status || gotErr == nil {
					t.Errorf("OnError got %d, %v, want %d and an error", gotStatus, gotErr, tt.status)
				}
				if subject != "(handler not called)" {
					t.Errorf("handler ran on a %d", tt.status)
				}
				if tt.status == 503 && w.Header().Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
				return
			}
			if subject != tt.subject {
				t.Errorf("principal subject = %q, want %q", subject, tt.subject)
			}
		})
	}
}

func TestMiddlewareDefaultOnError(t *testing.T) {
	h := Middleware(authFunc(func(context.Context, string) (Principal, error) { return Principal{}, ErrMissingToken }),
		MiddlewareOptions{})(http.NotFoundHandler())
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/fhir/Patient", nil))
	if w.Code != 401 || !strings.Contains(w.Body.String(), "Unauthorized") || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("default error response = %d %q %v", w.Code, w.Body.String(), w.Header())
	}
}
