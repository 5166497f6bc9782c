package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIssuer   = "https://idp.example"
	testAudience = "https://fhir.example/fhir"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// claims returns valid claims at testNow, with overrides applied (a nil
// value deletes the claim).
func claims(over map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss":       testIssuer,
		"aud":       testAudience,
		"sub":       "user-1",
		"client_id": "app-1",
		"exp":       testNow.Add(5 * time.Minute).Unix(),
		"iat":       testNow.Add(-time.Minute).Unix(),
		"nbf":       testNow.Add(-time.Minute).Unix(),
		"scope":     "openid patient/Observation.rs",
		"patient":   "p-1",
		"fhirUser":  "Patient/p-1",
	}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func newTestJWT(tb testing.TB, cfg JWTConfig) *JWT {
	tb.Helper()
	if cfg.Audiences == nil {
		cfg.Audiences = []string{testAudience}
	}
	if cfg.Issuer == "" {
		cfg.Issuer = testIssuer
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	if cfg.HTTPClient == nil && cfg.JWKSURL != "" {
		cfg.HTTPClient = testClient(tb)
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = time.Hour
	}
	if cfg.UnknownKIDInterval == 0 {
		cfg.UnknownKIDInterval = time.Hour
	}
	j, err := NewJWT(cfg)
	if err != nil {
		tb.Fatalf("NewJWT: %v", err)
	}
	tb.Cleanup(func() { _ = j.Close() })
	return j
}

// hs256 signs header.claims with HMAC-SHA256 keyed by key: the
// algorithm-confusion attack, using the server's public key as secret.
func hs256(tb testing.TB, kid string, c jwt.MapClaims, key []byte) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	must(tb, err)
	return s
}

func TestJWTAuthenticate(t *testing.T) {
	rs, _, ec, ed, other := keys(t)
	srv := newJWKSServer(t, rs, ec, ed)
	j := newTestJWT(t, JWTConfig{JWKSURL: srv.URL})

	pubDER, err := x509.MarshalPKIXPublicKey(rs.public())
	must(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	must(t, err)
	valid := mint(t, rs, claims(nil), false)
	parts := strings.Split(valid, ".")

	tests := []struct {
		name   string
		token  string
		reason string // "" = valid
	}{
		{"valid RS256", valid, ""},
		{"valid ES256", mint(t, ec, claims(nil), false), ""},
		{"valid EdDSA", mint(t, ed, claims(nil), false), ""},
		{"valid without kid", mint(t, rs, claims(nil), true), ""},
		{"aud array containing ours", mint(t, rs, claims(map[string]any{"aud": []string{"other", testAudience}}), false), ""},
		{"expired within leeway", mint(t, rs, claims(map[string]any{"exp": testNow.Add(-20 * time.Second).Unix()}), false), ""},
		{"nbf within leeway", mint(t, rs, claims(map[string]any{"nbf": testNow.Add(20 * time.Second).Unix()}), false), ""},
		{"expired", mint(t, rs, claims(map[string]any{"exp": testNow.Add(-time.Minute).Unix()}), false), "token expired"},
		{"not yet valid", mint(t, rs, claims(map[string]any{"nbf": testNow.Add(5 * time.Minute).Unix()}), false), "token not yet valid"},
		{"issued in the future", mint(t, rs, claims(map[string]any{"iat": testNow.Add(5 * time.Minute).Unix()}), false), "token issued in the future"},
		{"no exp", mint(t, rs, claims(map[string]any{"exp": nil}), false), "required claim missing"},
		{"wrong audience", mint(t, rs, claims(map[string]any{"aud": "https://other.example"}), false), "wrong audience"},
		{"no audience", mint(t, rs, claims(map[string]any{"aud": nil}), false), "required claim missing"},
		{"wrong issuer", mint(t, rs, claims(map[string]any{"iss": "https://evil.example"}), false), "wrong issuer"},
		{"no issuer", mint(t, rs, claims(map[string]any{"iss": nil}), false), "required claim missing"},
		{"no sub", mint(t, rs, claims(map[string]any{"sub": nil}), false), "required claim missing"},
		{"empty sub", mint(t, rs, claims(map[string]any{"sub": " "}), false), "required claim missing"},
		{"bad signature", mint(t, other, claims(nil), false), "invalid signature or algorithm not allowed"},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + parts[2], "invalid signature or algorithm not allowed"},
		{"alg none", noneTok, "invalid signature or algorithm not allowed"},
		{"HS256 keyed with the public key PEM", hs256(t, rs.kid, claims(nil), pubPEM), "invalid signature or algorithm not allowed"},
		{"HS256 keyed with the public key DER", hs256(t, rs.kid, claims(nil), pubDER), "invalid signature or algorithm not allowed"},
		{"RS256 header on an EC key", mint(t, testKey{ec.kid, jwt.SigningMethodRS256, rs.priv}, claims(nil), false), "unknown signing key"},
		{"malformed", "not-a-jwt", "malformed token"},
		{"two segments", parts[0] + "." + parts[1], "malformed token"},
		{"scope claim of the wrong type", mint(t, rs, claims(map[string]any{"scope": 42}), false), "malformed token"},
		{"too large", strings.Repeat("a", maxTokenLen+1), "token too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := j.Authenticate(t.Context(), tt.token)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Authenticate(%s) = %v, want success", tt.name, err)
				}
				if p.Subject != "user-1" || p.Method != MethodJWT {
					t.Errorf("Authenticate(%s) = %+v, want subject user-1 via jwt", tt.name, p)
				}
				return
			}
			if !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("Authenticate(%s) = %+v, %v, want ErrUnauthenticated", tt.name, p, err)
			}
			if want := "unauthenticated: " + tt.reason; err.Error() != want {
				t.Errorf("Authenticate(%s) error = %q, want %q", tt.name, err, want)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("Authenticate(%s) error %q contains the token", tt.name, err)
			}
		})
	}
	if _, err := j.Authenticate(t.Context(), ""); !errors.Is(err, ErrMissingToken) {
		t.Errorf(`Authenticate("") = %v, want ErrMissingToken`, err)
	}
}

func TestJWTClaims(t *testing.T) {
	rs, _, _, _, _ := keys(t)
	j := newTestJWT(t, JWTConfig{JWKSFile: writeFile(t, "jwks.json", jwksJSON(t, rs))})
	tests := []struct {
		name string
		over map[string]any
		want Principal
	}{
		{"smart patient app", nil, Principal{
			Kind: KindUser, Method: MethodJWT, Issuer: testIssuer, Subject: "user-1", ClientID: "app-1",
			Scopes: ParseScopes("openid patient/Observation.rs"), Patient: "p-1", FHIRUser: "Patient/p-1",
			Expires: time.Unix(testNow.Add(5*time.Minute).Unix(), 0).Add(DefaultLeeway), // accepted until exp + leeway
		}},
		{"backend client, scp array, azp", map[string]any{
			"client_id": nil, "azp": "engine", "scope": nil, "scp": []string{"system/Subscription.cruds", "system/*.rs"},
			"patient": nil, "fhirUser": nil, "sub": "engine",
		}, Principal{
			Kind: KindSystem, Method: MethodJWT, Issuer: testIssuer, Subject: "engine", ClientID: "engine",
			Scopes:  ParseScopes("system/Subscription.cruds system/*.rs"),
			Expires: time.Unix(testNow.Add(5*time.Minute).Unix(), 0).Add(DefaultLeeway), // accepted until exp + leeway
		}},
		{"scope as array, cid", map[string]any{
			"client_id": nil, "cid": "okta-app", "scope": []string{"user/*.read"}, "patient": nil, "fhirUser": nil,
		}, Principal{
			Kind: KindUser, Method: MethodJWT, Issuer: testIssuer, Subject: "user-1", ClientID: "okta-app",
			Scopes:  ParseScopes("user/*.read"),
			Expires: time.Unix(testNow.Add(5*time.Minute).Unix(), 0).Add(DefaultLeeway), // accepted until exp + leeway
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := j.Authenticate(t.Context(), mint(t, rs, claims(tt.over), false))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, tt.want) {
				t.Errorf("Authenticate(%s) =\n%+v\nwant\n%+v", tt.name, p, tt.want)
			}
		})
	}
}

func TestJWTLeewayConfigurable(t *testing.T) {
	rs, _, _, _, _ := keys(t)
	j := newTestJWT(t, JWTConfig{JWKSFile: writeFile(t, "jwks.json", jwksJSON(t, rs)), Leeway: 2 * time.Minute})
	tok := mint(t, rs, claims(map[string]any{"exp": testNow.Add(-90 * time.Second).Unix()}), false)
	p, err := j.Authenticate(t.Context(), tok)
	if err != nil {
		t.Errorf("Authenticate(expired 90 s ago, leeway 2 min) = %v, want success", err)
	}
	// The principal lasts as long as the token is accepted, so a socket
	// it opens is not closed as expired at once.
	if p.Expired(testNow) || !p.Expires.Equal(time.Unix(testNow.Add(30*time.Second).Unix(), 0)) {
		t.Errorf("Expires = %v, want exp + leeway = %v", p.Expires, testNow.Add(30*time.Second))
	}
}

func TestJWTAlgorithmAllowList(t *testing.T) {
	rs, _, ec, _, _ := keys(t)
	j := newTestJWT(t, JWTConfig{JWKSFile: writeFile(t, "jwks.json", jwksJSON(t, rs, ec)), Algorithms: []string{"ES256"}})
	if _, err := j.Authenticate(t.Context(), mint(t, ec, claims(nil), false)); err != nil {
		t.Errorf("ES256 with ES256 allowed: %v", err)
	}
	if _, err := j.Authenticate(t.Context(), mint(t, rs, claims(nil), false)); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("RS256 with only ES256 allowed = %v, want ErrUnauthenticated", err)
	}
}

func TestJWTKeyRotation(t *testing.T) {
	rs, rs2, _, _, _ := keys(t)
	srv := newJWKSServer(t, rs)
	j := newTestJWT(t, JWTConfig{JWKSURL: srv.URL})
	if got := srv.fetches.Load(); got != 1 {
		t.Fatalf("fetches after NewJWT = %d, want 1", got)
	}
	if _, err := j.Authenticate(t.Context(), mint(t, rs, claims(nil), false)); err != nil {
		t.Fatalf("old key: %v", err)
	}
	if got := srv.fetches.Load(); got != 1 {
		t.Errorf("fetches after a known kid = %d, want 1", got)
	}

	// The identity provider rotates: the new kid is unknown to us until we
	// refresh, which the unknown kid triggers.
	srv.serve(t, http.StatusOK, rs2)
	if _, err := j.Authenticate(t.Context(), mint(t, rs2, claims(nil), false)); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	if got := srv.fetches.Load(); got != 2 {
		t.Errorf("fetches after rotation = %d, want 2", got)
	}
	// The refresh replaced the set: the retired key is gone.
	if _, err := j.Authenticate(t.Context(), mint(t, rs, claims(nil), false)); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("retired key = %v, want ErrUnauthenticated", err)
	}

	// Made-up kids cannot make us hammer the JWKS endpoint: the refresh
	// budget is spent, so these fail without a fetch.
	for i := range 10 {
		bogus := testKey{kid: "bogus-" + string(rune('a'+i)), method: rs.method, priv: rs.priv}
		if _, err := j.Authenticate(t.Context(), mint(t, bogus, claims(nil), false)); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("unknown kid %d = %v, want ErrUnauthenticated", i, err)
		}
	}
	if got := srv.fetches.Load(); got > 2 {
		t.Errorf("fetches after 10 unknown kids = %d, want 2 (rate-limited)", got)
	}
	// Known keys keep working meanwhile.
	if _, err := j.Authenticate(t.Context(), mint(t, rs2, claims(nil), false)); err != nil {
		t.Errorf("current key while throttled: %v", err)
	}
}

func TestJWTFromFile(t *testing.T) {
	rs, rs2, _, _, _ := keys(t)
	j := newTestJWT(t, JWTConfig{JWKSFile: writeFile(t, "jwks.json", jwksJSON(t, rs))})
	if _, err := j.Authenticate(t.Context(), mint(t, rs, claims(nil), false)); err != nil {
		t.Errorf("file key: %v", err)
	}
	if _, err := j.Authenticate(t.Context(), mint(t, rs2, claims(nil), false)); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("key not in file = %v, want ErrUnauthenticated", err)
	}
}

func TestNewJWTErrors(t *testing.T) {
	rs, _, _, _, _ := keys(t)
	good := writeFile(t, "jwks.json", jwksJSON(t, rs))
	empty := writeFile(t, "empty.json", []byte(`{"keys":[]}`))
	junk := writeFile(t, "junk.json", []byte(`not json`))
	down := newJWKSServer(t, rs)
	down.serve(t, http.StatusInternalServerError, rs)
	tests := []struct {
		name string
		cfg  JWTConfig
		want string
	}{
		{"neither source", JWTConfig{Audiences: []string{"a"}}, "exactly one"},
		{"both sources", JWTConfig{JWKSURL: "https://idp.example/jwks", JWKSFile: good, Audiences: []string{"a"}}, "exactly one"},
		{"no audience", JWTConfig{JWKSFile: good}, "audience"},
		{"empty audience", JWTConfig{JWKSFile: good, Audiences: []string{""}}, "audience"},
		{"HS256 allowed", JWTConfig{JWKSFile: good, Audiences: []string{"a"}, Algorithms: []string{"RS256", "HS256"}}, `"HS256" is not allowed`},
		{"none allowed", JWTConfig{JWKSFile: good, Audiences: []string{"a"}, Algorithms: []string{"none"}}, `"none" is not allowed`},
		{"negative leeway", JWTConfig{JWKSFile: good, Audiences: []string{"a"}, Leeway: -time.Second}, "negative leeway"},
		{"plain http off loopback", JWTConfig{JWKSURL: "http://idp.example/jwks", Audiences: []string{"a"}}, "loopback"},
		{"ftp", JWTConfig{JWKSURL: "ftp://idp.example/jwks", Audiences: []string{"a"}}, "unsupported scheme"},
		{"relative url", JWTConfig{JWKSURL: "/jwks", Audiences: []string{"a"}}, "absolute"},
		{"missing file", JWTConfig{JWKSFile: good + ".missing", Audiences: []string{"a"}}, "read jwks file"},
		{"junk file", JWTConfig{JWKSFile: junk, Audiences: []string{"a"}}, "parse jwks file"},
		{"no keys", JWTConfig{JWKSFile: empty, Audiences: []string{"a"}}, "no usable key"},
		{"endpoint failing", JWTConfig{JWKSURL: down.URL, Audiences: []string{"a"}, HTTPClient: testClient(t)}, "fetch jwks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := NewJWT(tt.cfg)
			if err == nil {
				_ = j.Close()
				t.Fatalf("NewJWT(%s) succeeded, want error containing %q", tt.name, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewJWT(%s) = %v, want error containing %q", tt.name, err, tt.want)
			}
		})
	}
}

// TestNoTokenInLogsOrErrors runs every failure path with a logger
// attached and checks that neither the log nor any error mentions the
// token or any of its segments.
func TestNoTokenInLogsOrErrors(t *testing.T) {
	rs, rs2, _, _, other := keys(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newJWKSServer(t, rs)
	j := newTestJWT(t, JWTConfig{JWKSURL: srv.URL, Logger: logger})
	srv.serve(t, http.StatusBadGateway, rs) // the unknown-kid refresh below fails and is logged

	tokens := []string{
		mint(t, rs, claims(map[string]any{"exp": testNow.Add(-time.Hour).Unix()}), false),
		mint(t, rs, claims(map[string]any{"aud": "x"}), false),
		mint(t, other, claims(nil), false),
		mint(t, rs2, claims(nil), false), // unknown kid → refresh → logged failure
		hs256(t, rs.kid, claims(nil), []byte("secret")),
		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
		"opaque-token-value-123",
	}
	var errs []string
	for _, tok := range tokens {
		if _, err := j.Authenticate(t.Context(), tok); err == nil {
			t.Fatalf("token %d unexpectedly valid", len(errs))
		} else {
			errs = append(errs, err.Error(), Challenge("", err))
		}
	}
	// Introspection failures too.
	in := newTestIntrospection(t, newIntrospectionServer(t, nil).URL, nil)
	for _, tok := range tokens {
		if _, err := in.Authenticate(t.Context(), tok); err != nil {
			errs = append(errs, err.Error(), Challenge("", err))
		}
	}
	if !strings.Contains(logs.String(), "jwks refresh failed") {
		t.Errorf("log = %q, want the refresh failure", logs.String())
	}
	haystack := logs.String() + "\n" + strings.Join(errs, "\n")
	for _, tok := range tokens {
		for _, seg := range append([]string{tok}, strings.Split(tok, ".")...) {
			if len(seg) >= 8 && strings.Contains(haystack, seg) {
				t.Errorf("token material %q appears in logs or errors:\n%s", seg, haystack)
			}
		}
	}
}

// Sanity check of the hs256 helper: it must produce a token that a
// verifier keyed with the same bytes accepts, or the confusion tests
// above would pass for the wrong reason.
func TestHS256HelperIsReal(t *testing.T) {
	tok := hs256(t, "k", claims(nil), []byte("key"))
	parts := strings.Split(tok, ".")
	mac := hmac.New(sha256.New, []byte("key"))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if got := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)); got != parts[2] {
		t.Fatalf("hs256 helper signature %q, want %q", parts[2], got)
	}
}
