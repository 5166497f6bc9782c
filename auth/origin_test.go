package auth

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseOrigins(t *testing.T) {
	got, err := ParseOrigins(" https://App.Example:443, http://localhost:3000 ,,https://app.example, http://x.example:80/")
	must(t, err)
	want := []string{"https://app.example", "http://localhost:3000", "http://x.example"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseOrigins = %q, want %q", got, want)
	}
	for _, bad := range []string{"*", "null", "app.example", "https://app.example/path", "https://u:p@app.example",
		"https://app.example?x=1", "ftp://app.example", "https://app.example:99999", "https://:443"} {
		if _, err := ParseOrigins(bad); err == nil {
			t.Errorf("ParseOrigins(%q) succeeded, want error", bad)
		}
	}
}

func TestAllowUpgrade(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8")
	must(t, err)
	p := OriginPolicy{Allowed: []string{"https://app.example", "http://localhost:3000"}, Proxies: proxies}
	tests := []struct {
		name    string
		url     string
		tls     bool
		remote  string
		fwd     map[string]string
		origin  string
		allowed bool
	}{
		{"no origin (native client)", "http://fhir.example/ws", false, "", nil, "", true},
		{"listed origin", "http://fhir.example/ws", false, "", nil, "https://app.example", true},
		{"listed origin, other case and default port", "http://fhir.example/ws", false, "", nil, "HTTPS://APP.example:443", true},
		{"listed localhost dev origin", "http://fhir.example/ws", false, "", nil, "http://localhost:3000", true},
		{"other origin", "http://fhir.example/ws", false, "", nil, "https://evil.example", false},
		{"scheme differs from listed", "http://fhir.example/ws", false, "", nil, "http://app.example", false},
		{"port differs from listed", "http://fhir.example/ws", false, "", nil, "http://localhost:3001", false},
		{"null origin", "http://fhir.example/ws", false, "", nil, "null", false},
		{"garbage origin", "http://fhir.example/ws", false, "", nil, "javascript:alert(1)", false},
		{"own origin plain", "http://fhir.example/ws", false, "", nil, "http://fhir.example", true},
		{"own origin TLS", "https://fhir.example/ws", true, "", nil, "https://fhir.example", true},
		{"own host, other scheme", "http://fhir.example/ws", false, "", nil, "https://fhir.example", false},
		{"own origin behind trusted proxy", "http://10.0.0.5:8080/ws", false, "10.0.0.1:1234",
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "fhir.example"}, "https://fhir.example", true},
		{"forged forwarding from untrusted client", "http://fhir.example/ws", false, "203.0.113.1:1234",
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}, "https://evil.example", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.url, nil)
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		} else {
			r.TLS = nil
		}
		if tt.remote != "" {
			r.RemoteAddr = tt.remote
		}
		for k, v := range tt.fwd {
			r.Header.Set(k, v)
		}
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if got := p.AllowUpgrade(r); got != tt.allowed {
			t.Errorf("%s: AllowUpgrade(Origin %q) = %v, want %v", tt.name, tt.origin, got, tt.allowed)
		}
	}
}

func TestCORS(t *testing.T) {
	p := OriginPolicy{Allowed: []string{"https://app.example"}}
	tests := []struct {
		name        string
		method      string
		origin      string
		preflight   bool
		status      int
		allowOrigin string
		expose      bool
		reachedNext bool
	}{
		{"preflight allowed", "OPTIONS", "https://app.example", true, 204, "https://app.example", false, false},
		{"preflight other origin", "OPTIONS", "https://evil.example", true, 204, "", false, false},
		{"actual allowed", "GET", "https://app.example", false, 200, "https://app.example", true, true},
		{"actual allowed, echoes as sent", "POST", "https://APP.example", false, 200, "https://APP.example", true, true},
		{"actual other origin", "GET", "https://evil.example", false, 200, "", false, true},
		{"no origin", "GET", "", false, 200, "", false, true},
		{"plain OPTIONS is not a preflight", "OPTIONS", "https://app.example", false, 200, "https://app.example", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached := false
			h := CORS(p)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
			r := httptest.NewRequest(tt.method, "/fhir/Subscription", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.preflight {
				r.Header.Set("Access-Control-Request-Method", "POST")
				r.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			hd := w.Header()
			if w.Code != tt.status || reached != tt.reachedNext {
				t.Errorf("status %d, next reached %v; want %d, %v", w.Code, reached, tt.status, tt.reachedNext)
			}
			if got := hd.Get("Access-Control-Allow-Origin"); got != tt.allowOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.allowOrigin)
			}
			if got := hd.Get("Access-Control-Expose-Headers"); (got == "Location, ETag, Link, Content-Location, Last-Modified") != tt.expose {
				t.Errorf("Access-Control-Expose-Headers = %q, want exposed=%v", got, tt.expose)
			}
			if tt.preflight && tt.allowOrigin != "" {
				if hd.Get("Access-Control-Allow-Headers") == "" || hd.Get("Access-Control-Allow-Methods") == "" || hd.Get("Access-Control-Max-Age") == "" {
					t.Errorf("preflight headers missing: %v", hd)
				}
			}
			if tt.preflight && tt.allowOrigin == "" && hd.Get("Access-Control-Allow-Methods") != "" {
				t.Errorf("refused preflight carries CORS headers: %v", hd)
			}
			// Credentials (the Medplum SDK's "include") only for the
			// origins echoed, never for others.
			if got, want := hd.Get("Access-Control-Allow-Credentials"), tt.allowOrigin != ""; (got == "true") != want || (got != "" && got != "true") {
				t.Errorf("Access-Control-Allow-Credentials = %q for allowed origin %q", got, tt.allowOrigin)
			}
			if tt.origin != "" && hd.Get("Vary") != "Origin" {
				t.Errorf("Vary = %q, want Origin first", hd.Values("Vary"))
			}
		})
	}
}

func TestCORSPreflightHeaderList(t *testing.T) {
	h := CORS(OriginPolicy{Allowed: []string{"https://app.example"}})(http.NotFoundHandler())
	r := httptest.NewRequest("OPTIONS", "/fhir/Patient", nil)
	r.Header.Set("Origin", "https://app.example")
	r.Header.Set("Access-Control-Request-Method", "PUT")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	allow := w.Header().Get("Access-Control-Allow-Headers")
	for _, want := range []string{"Authorization", "Content-Type", "If-Match", "Prefer"} {
		if !containsToken(allow, want) {
			t.Errorf("Access-Control-Allow-Headers %q lacks %s", allow, want)
		}
	}
}

func containsToken(list, tok string) bool {
	for v := range strings.SplitSeq(list, ",") {
		if strings.TrimSpace(v) == tok {
			return true
		}
	}
	return false
}

func TestHostPolicy(t *testing.T) {
	proxies, _ := ParseTrustedProxies("10.0.0.1")
	p := HostPolicy{Allowed: append([]string{"fhir.example.org"}, LoopbackHosts...), Proxies: proxies}
	tests := []struct {
		host, remote, forwarded string
		want                    bool
	}{
		{"localhost:8080", "127.0.0.1:5", "", true},
		{"LOCALHOST.:8080", "127.0.0.1:5", "", true},
		{"127.0.0.1:8080", "127.0.0.1:5", "", true},
		{"[::1]:8080", "[::1]:5", "", true},
		{"192.0.2.7", "192.0.2.9:5", "", true}, // an IP literal cannot be rebound
		{"fhir.example.org", "192.0.2.9:5", "", true},
		{"evil.example", "127.0.0.1:5", "", false},
		{"evil.example:8080", "127.0.0.1:5", "", false},
		{"localhost.evil.example", "127.0.0.1:5", "", false},
		{"", "127.0.0.1:5", "", false},
		// A trusted proxy's X-Forwarded-Host is what the browser asked for.
		{"backend:8080", "10.0.0.1:5", "fhir.example.org", true},
		{"localhost", "10.0.0.1:5", "evil.example", false},
		// Anyone else's X-Forwarded-Host is ignored.
		{"evil.example", "192.0.2.9:5", "fhir.example.org", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/fhir/metadata", nil)
		r.Host, r.RemoteAddr = tt.host, tt.remote
		if tt.forwarded != "" {
			r.Header.Set("X-Forwarded-Host", tt.forwarded)
		}
		if got := p.Allows(r); got != tt.want {
			t.Errorf("Host %q from %s (X-Forwarded-Host %q): Allows = %v, want %v", tt.host, tt.remote, tt.forwarded, got, tt.want)
		}
	}
	if !(HostPolicy{}).Allows(httptest.NewRequest("GET", "http://evil.example/", nil)) {
		t.Error("the zero HostPolicy refuses a host; it should check nothing")
	}
	if got, err := ParseHosts(" Fhir.Example.org,localhost,*"); err != nil || !slices.Equal(got, []string{"fhir.example.org", "localhost", "*"}) {
		t.Errorf("ParseHosts = %v, %v", got, err)
	}
	for _, bad := range []string{"http://x", "x:80", "a b", "[::1]"} {
		if _, err := ParseHosts(bad); err == nil {
			t.Errorf("ParseHosts(%q) accepted", bad)
		}
	}
}
