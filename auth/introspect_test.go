package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	introClientID = "fhirbell rs" // a space checks the form-encoding of Basic credentials
	introSecret   = "s3cr:t&x"
)

// introspectionServer is an RFC 7662 endpoint on loopback answering from
// a table and counting calls per token.
type introspectionServer struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]map[string]any // token → response; absent → inactive
	calls   map[string]int
	status  atomic.Int64 // non-zero: answer this status
	raw     atomic.Pointer[string]
}

func newIntrospectionServer(tb testing.TB, answers map[string]map[string]any) *introspectionServer {
	tb.Helper()
	s := &introspectionServer{answers: answers, calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		if r.Method != http.MethodPost || !ok || id != introClientID || secret != introSecret ||
			r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("token_type_hint") != "access_token" {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		tok := r.PostForm.Get("token")
		s.mu.Lock()
		s.calls[tok]++
		ans, found := s.answers[tok]
		s.mu.Unlock()
		if st := s.status.Load(); st != 0 {
			w.WriteHeader(int(st))
			return
		}
		if raw := s.raw.Load(); raw != nil {
			_, _ = w.Write([]byte(*raw))
			return
		}
		if !found {
			ans = map[string]any{"active": false}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ans)
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *introspectionServer) callsFor(tok string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[tok]
}

func (s *introspectionServer) set(tok string, ans map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[tok] = ans
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestIntrospection(tb testing.TB, u string, mod func(*IntrospectionConfig)) *Introspection {
	tb.Helper()
	cfg := IntrospectionConfig{
		URL: u, ClientID: introClientID, ClientSecret: introSecret, HTTPClient: testClient(tb),
		Now: func() time.Time { return testNow },
	}
	if mod != nil {
		mod(&cfg)
	}
	in, err := NewIntrospection(cfg)
	if err != nil {
		tb.Fatalf("NewIntrospection: %v", err)
	}
	return in
}

func active(over map[string]any) map[string]any {
	a := map[string]any{
		"active": true, "scope": "launch/patient patient/Observation.rs", "client_id": "app-1", "sub": "user-1",
		"exp": testNow.Add(time.Hour).Unix(), "iss": testIssuer, "aud": testAudience,
		"patient": "p-1", "fhirUser": "Patient/p-1", "token_type": "Bearer",
	}
	for k, v := range over {
		if v == nil {
			delete(a, k)
		} else {
			a[k] = v
		}
	}
	return a
}

func TestIntrospectionAuthenticate(t *testing.T) {
	srv := newIntrospectionServer(t, map[string]map[string]any{
		"good":          active(nil),
		"system":        active(map[string]any{"scope": "system/Subscription.cruds", "patient": nil, "fhirUser": nil, "sub": "engine"}),
		"aud-array":     active(map[string]any{"aud": []string{"x", testAudience}}),
		"no-aud":        active(map[string]any{"aud": nil}),
		"wrong-aud":     active(map[string]any{"aud": "https://other.example"}),
		"wrong-iss":     active(map[string]any{"iss": "https://evil.example"}),
		"expired":       active(map[string]any{"exp": testNow.Add(-DefaultLeeway - time.Second).Unix()}),
		"leeway":        active(map[string]any{"exp": testNow.Add(-20 * time.Second).Unix()}),
		"no-exp":        active(map[string]any{"exp": nil}),
		"inactive-flag": {"active": false, "sub": "user-1"},
		"no-sub":        active(map[string]any{"sub": nil}),
	})
	in := newTestIntrospection(t, srv.URL, func(c *IntrospectionConfig) {
		c.Issuer = testIssuer
		c.Audiences = []string{testAudience}
	})
	tests := []struct {
		token  string
		reason string // "" = valid
		kind   Kind
	}{
		{"good", "", KindUser},
		{"system", "", KindSystem},
		{"aud-array", "", KindUser},
		{"no-aud", "", KindUser},
		{"no-exp", "", KindUser},
		{"leeway", "", KindUser}, // exp 20 s ago: within the leeway, as for a JWT
		{"wrong-aud", "wrong audience", 0},
		{"wrong-iss", "wrong issuer", 0},
		{"expired", "token expired", 0},
		{"inactive-flag", "token inactive", 0},
		{"no-sub", "required claim missing", 0},
		{"unknown", "token inactive", 0},
	}
	for _, tt := range tests {
		p, err := in.Authenticate(t.Context(), tt.token)
		if tt.reason != "" {
			if !errors.Is(err, ErrUnauthenticated) || err.Error() != "unauthenticated: "+tt.reason {
				t.Errorf("Authenticate(%q) = %v, want ErrUnauthenticated with reason %q", tt.token, err, tt.reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("Authenticate(%q) = %v, want success", tt.token, err)
			continue
		}
		if p.Kind != tt.kind || p.Method != MethodIntrospect || p.ClientID != "app-1" || p.Issuer != testIssuer {
			t.Errorf("Authenticate(%q) = %+v, want kind %v via introspection", tt.token, p, tt.kind)
		}
	}
	p, _ := in.Authenticate(t.Context(), "good")
	if p.Subject != "user-1" || p.Patient != "p-1" || p.FHIRUser != "Patient/p-1" ||
		!p.Scopes.Allows("patient", "Observation", 'r') || !p.Expires.Equal(testNow.Add(time.Hour+DefaultLeeway)) {
		t.Errorf("Authenticate(good) = %+v", p)
	}
	if p, _ := in.Authenticate(t.Context(), "no-exp"); !p.Expires.IsZero() {
		t.Errorf("Authenticate(no-exp).Expires = %v, want zero", p.Expires)
	}
	if _, err := in.Authenticate(t.Context(), ""); !errors.Is(err, ErrMissingToken) {
		t.Errorf(`Authenticate("") = %v, want ErrMissingToken`, err)
	}
}

func TestIntrospectionCache(t *testing.T) {
	clock := &fakeClock{t: testNow}
	srv := newIntrospectionServer(t, map[string]map[string]any{
		"long":  active(map[string]any{"exp": testNow.Add(time.Hour).Unix()}),
		"short": active(map[string]any{"exp": testNow.Add(10 * time.Second).Unix()}),
	})
	in := newTestIntrospection(t, srv.URL, func(c *IntrospectionConfig) { c.Now = clock.Now })
	auth := func(tok string) error {
		_, err := in.Authenticate(t.Context(), tok)
		return err
	}
	type step struct {
		advance time.Duration
		token   string
		wantErr error
		calls   int // calls for the token so far
	}
	steps := []step{
		{0, "long", nil, 1},
		{0, "long", nil, 1},                // cached
		{0, "short", nil, 1},               // first call
		{9 * time.Second, "short", nil, 1}, // +9 s: still cached, exp (+10 s) not reached
		{0, "long", nil, 1},
		{0, "nope", ErrUnauthenticated, 1}, // inactive, cached until +14 s
		{0, "nope", ErrUnauthenticated, 1},
		{2 * time.Second, "short", nil, 1}, // +11 s: past exp but within the leeway, still cached
		{0, "nope", ErrUnauthenticated, 1}, // +11 s: negative answer still cached
		{50 * time.Second, "long", nil, 2}, // +61 s: the 60 s cap forces a new call
		{0, "long", nil, 2},
		{0, "short", ErrUnauthenticated, 2}, // +61 s: the entry died at exp + leeway (+40 s); asked again, expired
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		err := auth(s.token)
		if !errors.Is(err, s.wantErr) && !(err == nil && s.wantErr == nil) {
			t.Fatalf("step %d: Authenticate(%q) at %v = %v, want %v", i, s.token, clock.Now().Sub(testNow), err, s.wantErr)
		}
		if got := srv.callsFor(s.token); got != s.calls {
			t.Errorf("step %d: calls for %q at +%v = %d, want %d", i, s.token, clock.Now().Sub(testNow), got, s.calls)
		}
	}
	clock.Advance(5 * time.Second)
	_ = auth("nope")
	if got := srv.callsFor("nope"); got != 2 {
		t.Errorf("calls for %q after the negative TTL = %d, want 2", "nope", got)
	}
}

func TestIntrospectionRevocationVisibleWithinTTL(t *testing.T) {
	clock := &fakeClock{t: testNow}
	srv := newIntrospectionServer(t, map[string]map[string]any{"tok": active(nil)})
	in := newTestIntrospection(t, srv.URL, func(c *IntrospectionConfig) { c.Now = clock.Now; c.CacheTTL = 20 * time.Second })
	if _, err := in.Authenticate(t.Context(), "tok"); err != nil {
		t.Fatal(err)
	}
	srv.set("tok", map[string]any{"active": false})
	clock.Advance(19 * time.Second)
	if _, err := in.Authenticate(t.Context(), "tok"); err != nil {
		t.Errorf("at +19 s (cached) = %v, want success", err)
	}
	clock.Advance(time.Second)
	if _, err := in.Authenticate(t.Context(), "tok"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("at +20 s after revocation = %v, want ErrUnauthenticated", err)
	}
}

func TestIntrospectionCacheBound(t *testing.T) {
	srv := newIntrospectionServer(t, map[string]map[string]any{"a": active(nil), "b": active(nil), "c": active(nil)})
	in := newTestIntrospection(t, srv.URL, func(c *IntrospectionConfig) { c.CacheSize = 2 })
	for _, tok := range []string{"a", "b", "a", "c", "a", "b"} {
		if _, err := in.Authenticate(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	// a stayed recently used; b was the least recently used when c came.
	for tok, want := range map[string]int{"a": 1, "b": 2, "c": 1} {
		if got := srv.callsFor(tok); got != want {
			t.Errorf("calls for %q = %d, want %d", tok, got, want)
		}
	}
	if n := in.cacheLen(); n != 2 {
		t.Errorf("cache holds %d answers, want 2", n)
	}
}

func TestIntrospectionUnavailable(t *testing.T) {
	srv := newIntrospectionServer(t, map[string]map[string]any{"tok": active(nil)})
	in := newTestIntrospection(t, srv.URL, nil)

	srv.status.Store(http.StatusInternalServerError)
	for range 2 {
		if _, err := in.Authenticate(t.Context(), "tok"); !errors.Is(err, ErrAuthUnavailable) || StatusFor(err) != 503 {
			t.Errorf("endpoint 500: Authenticate = %v, want ErrAuthUnavailable (503)", err)
		}
	}
	if got := srv.callsFor("tok"); got != 2 {
		t.Errorf("calls after two failures = %d, want 2 (failures are not cached)", got)
	}
	srv.status.Store(0)
	junk := `{"active": tru`
	srv.raw.Store(&junk)
	if _, err := in.Authenticate(t.Context(), "tok"); !errors.Is(err, ErrAuthUnavailable) {
		t.Errorf("garbage answer: Authenticate = %v, want ErrAuthUnavailable", err)
	}
	srv.raw.Store(nil)
	if _, err := in.Authenticate(t.Context(), "tok"); err != nil {
		t.Errorf("after recovery: Authenticate = %v, want success", err)
	}

	// Wrong client credentials: the endpoint answers 401, which is our
	// misconfiguration, not the caller's bad token.
	bad := newTestIntrospection(t, srv.URL, func(c *IntrospectionConfig) { c.ClientSecret = "wrong" })
	if _, err := bad.Authenticate(t.Context(), "tok2"); !errors.Is(err, ErrAuthUnavailable) {
		t.Errorf("wrong client secret: Authenticate = %v, want ErrAuthUnavailable", err)
	}

	// Endpoint down altogether.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	down := newTestIntrospection(t, deadURL, nil)
	_, err := down.Authenticate(t.Context(), "tok")
	if !errors.Is(err, ErrAuthUnavailable) || errors.Is(err, ErrUnauthenticated) {
		t.Errorf("endpoint down: Authenticate = %v, want ErrAuthUnavailable only", err)
	}
	if strings.Contains(err.Error(), "tok") {
		t.Errorf("endpoint down: error %q mentions the token", err)
	}
}

func TestIntrospectionTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	in := newTestIntrospection(t, slow.URL, func(c *IntrospectionConfig) {
		c.HTTPClient = testClient(t)
		c.HTTPClient.Timeout = 50 * time.Millisecond
	})
	_, err := in.Authenticate(t.Context(), "tok")
	if !errors.Is(err, ErrAuthUnavailable) || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("slow endpoint: Authenticate = %v, want ErrAuthUnavailable (timeout)", err)
	}
}

func TestNewIntrospectionErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  IntrospectionConfig
		want string
	}{
		{"relative", IntrospectionConfig{URL: "/introspect", ClientID: "x"}, "absolute"},
		{"plain http off loopback", IntrospectionConfig{URL: "http://idp.example/introspect", ClientID: "x"}, "loopback"},
		{"no client id", IntrospectionConfig{URL: "https://idp.example/introspect"}, "client id"},
	}
	for _, tt := range tests {
		if _, err := NewIntrospection(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewIntrospection(%s) = %v, want error containing %q", tt.name, err, tt.want)
		}
	}
	for _, u := range []string{"https://idp.example/introspect", "http://127.0.0.1:9/x", "http://[::1]:9/x", "http://localhost/x"} {
		if _, err := NewIntrospection(IntrospectionConfig{URL: u, ClientID: "x"}); err != nil {
			t.Errorf("NewIntrospection(%q) = %v, want success", u, err)
		}
	}
}
