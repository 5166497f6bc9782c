package endpoint

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

// proxy forwards X-Forwarded-Proto and X-Forwarded-Host as they are, as a
// trusted proxy would (auth.TrustedProxies decides whom to trust).
type proxy struct{}

func (proxy) Scheme(r *http.Request) string {
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		return p
	}
	return "http"
}

func (proxy) Host(r *http.Request) string {
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		return h
	}
	return r.Host
}

func TestBase(t *testing.T) {
	plain := httptest.NewRequest("GET", "http://internal:8080/fhir/Patient", nil)
	overTLS := httptest.NewRequest("GET", "https://internal:8443/fhir/Patient", nil)
	overTLS.TLS = &tls.ConnectionState{}
	forwarded := httptest.NewRequest("GET", "http://internal:8080/fhir/Patient", nil)
	forwarded.Header.Set("X-Forwarded-Proto", "https")
	forwarded.Header.Set("X-Forwarded-Host", "public.example")
	tests := []struct {
		name                 string
		base                 Base
		r                    *http.Request
		server, fhir, socket string
	}{
		{"derived", Base{}, plain, "http://internal:8080", "http://internal:8080/fhir", "ws://internal:8080/ws"},
		{"derived over TLS", Base{}, overTLS, "https://internal:8443", "https://internal:8443/fhir", "wss://internal:8443/ws"},
		{"untrusted headers ignored", Base{}, forwarded, "http://internal:8080", "http://internal:8080/fhir", "ws://internal:8080/ws"},
		{"through a trusted proxy", NewBase("", proxy{}), forwarded, "https://public.example", "https://public.example/fhir", "wss://public.example/ws"},
		{"configured wins", NewBase("https://fhir.example.org/", proxy{}), forwarded, "https://fhir.example.org", "https://fhir.example.org/fhir", "wss://fhir.example.org/ws"},
		{"configured with a prefix", NewBase("http://host/api", nil), plain, "http://host/api", "http://host/api/fhir", "ws://host/api/ws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.base.Server(tt.r); got != tt.server {
				t.Errorf("Server = %q, want %q", got, tt.server)
			}
			if got := tt.base.FHIR(tt.r); got != tt.fhir {
				t.Errorf("FHIR = %q, want %q", got, tt.fhir)
			}
			if got := tt.base.WebSocket(tt.r); got != tt.socket {
				t.Errorf("WebSocket = %q, want %q", got, tt.socket)
			}
		})
	}
}
