package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// testPKI is a CA and a client certificate it issued.
type testPKI struct {
	ca, client *x509.Certificate
	clientKey  *ecdsa.PrivateKey
	caPEM      []byte
}

func newPKI(t *testing.T, subject pkix.Name) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	must(t, err)
	ca, err := x509.ParseCertificate(caDER)
	must(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(30 * time.Minute).Truncate(time.Second),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	must(t, err)
	client, err := x509.ParseCertificate(der)
	must(t, err)
	return testPKI{ca: ca, client: client, clientKey: key,
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
}

func TestClientCertPrincipal(t *testing.T) {
	pki := newPKI(t, pkix.Name{CommonName: "alert-engine", Organization: []string{"Acme"}})
	pool := x509.NewCertPool()
	pool.AddCert(pki.ca)
	chains, err := pki.client.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	must(t, err)
	verified := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{pki.client}, VerifiedChains: chains}
	unverified := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{pki.client}}
	dn := "CN=alert-engine,O=Acme"

	tests := []struct {
		name    string
		state   *tls.ConnectionState
		mapping map[string]string
		ok      bool
		scopes  string
	}{
		{"by CN", verified, map[string]string{"alert-engine": "system/Observation.rs"}, true, "system/Observation.rs"},
		{"by DN", verified, map[string]string{dn: "system/Subscription.cruds"}, true, "system/Subscription.cruds"},
		{"DN wins over CN", verified, map[string]string{dn: "system/*.rs", "alert-engine": "system/*.cruds"}, true, "system/*.rs"},
		{"not mapped", verified, map[string]string{"someone-else": "system/*.cruds"}, false, ""},
		{"unverified chain", unverified, map[string]string{"alert-engine": "system/*.cruds"}, false, ""},
		{"no TLS", nil, map[string]string{"alert-engine": "system/*.cruds"}, false, ""},
		{"no mapping", verified, nil, false, ""},
	}
	for _, tt := range tests {
		p, ok := ClientCertPrincipal(tt.state, tt.mapping)
		if ok != tt.ok {
			t.Errorf("ClientCertPrincipal(%s) ok = %v, want %v", tt.name, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if p.Kind != KindSystem || p.Method != MethodMTLS || p.Subject != dn || p.ClientID != "alert-engine" ||
			p.Scopes.String() != tt.scopes || !p.Expires.Equal(pki.client.NotAfter) {
			t.Errorf("ClientCertPrincipal(%s) = %+v, want system principal %q with scopes %q", tt.name, p, dn, tt.scopes)
		}
	}
}

// TestMutualTLSMiddleware runs a real TLS handshake on loopback: the
// server verifies the client certificate against --tls-client-ca and the
// Middleware turns it into a system principal.
func TestMutualTLSMiddleware(t *testing.T) {
	pki := newPKI(t, pkix.Name{CommonName: "alert-engine"})
	pool, err := LoadClientCAs(writeFile(t, "ca.pem", pki.caPEM))
	must(t, err)
	noToken := authFunc(func(_ context.Context, tok string) (Principal, error) { return Principal{}, ErrMissingToken })
	h := Middleware(noToken, MiddlewareOptions{ClientCerts: map[string]string{"alert-engine": "system/Subscription.cruds"}})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := PrincipalFrom(r.Context())
			if !ok || !p.Scopes.IsAdmin() || p.Method != MethodMTLS {
				http.Error(w, "wrong principal", 500)
			}
		}))
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()

	get := func(withCert bool) int {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		defer tr.CloseIdleConnections()
		if withCert {
			tr.TLSClientConfig.Certificates = []tls.Certificate{{Certificate: [][]byte{pki.client.Raw}, PrivateKey: pki.clientKey}}
		}
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/fhir/Subscription")
		must(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(true); got != 200 {
		t.Errorf("with client certificate: status %d, want 200", got)
	}
	if got := get(false); got != 401 {
		t.Errorf("without client certificate: status %d, want 401", got)
	}
}

func TestLoadClientCAsErrors(t *testing.T) {
	if _, err := LoadClientCAs(writeFile(t, "x.pem", []byte("not pem"))); err == nil {
		t.Error("LoadClientCAs(not pem) succeeded")
	}
	if _, err := LoadClientCAs("/nonexistent/ca.pem"); err == nil {
		t.Error("LoadClientCAs(missing) succeeded")
	}
}

func TestParseTrustedProxies(t *testing.T) {
	good := []string{"", "10.0.0.0/8", "10.0.0.1, 192.168.0.0/16", " ::1 , fd00::/8,", "::ffff:10.1.2.3"}
	for _, s := range good {
		if _, err := ParseTrustedProxies(s); err != nil {
			t.Errorf("ParseTrustedProxies(%q) = %v, want success", s, err)
		}
	}
	bad := []string{"10.0.0.0/33", "proxy.example", "10.0.0.1:80", "1.2.3"}
	for _, s := range bad {
		if _, err := ParseTrustedProxies(s); err == nil {
			t.Errorf("ParseTrustedProxies(%q) succeeded, want error", s)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	tp, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7")
	must(t, err)
	tests := []struct {
		name                  string
		remote                string
		tls                   bool
		proto, host, xff      string
		scheme, wantHost, cip string
	}{
		{"direct plain", "203.0.113.5:4000", false, "", "", "", "http", "fhir.example", "203.0.113.5"},
		{"direct TLS", "203.0.113.5:4000", true, "", "", "", "https", "fhir.example", "203.0.113.5"},
		{"untrusted sender forging headers", "203.0.113.5:4000", false, "https", "evil.example", "1.1.1.1", "http", "fhir.example", "203.0.113.5"},
		{"trusted proxy", "10.1.2.3:5000", false, "https", "public.example", "198.51.100.9", "https", "public.example", "198.51.100.9"},
		{"trusted single IP", "192.0.2.7:5000", false, "https", "public.example:8443", "198.51.100.9", "https", "public.example:8443", "198.51.100.9"},
		{"trusted, first of several values", "10.1.2.3:5000", false, "https, http", "a.example, b.example", "", "https", "a.example", "10.1.2.3"},
		{"trusted, proto http over TLS hop", "10.1.2.3:5000", true, "http", "", "", "http", "fhir.example", "10.1.2.3"},
		{"trusted, junk proto ignored", "10.1.2.3:5000", false, "gopher", "", "", "http", "fhir.example", "10.1.2.3"},
		{"trusted, invalid host ignored", "10.1.2.3:5000", false, "", "evil.example/path", "", "http", "fhir.example", "10.1.2.3"},
		{"trusted, host with userinfo ignored", "10.1.2.3:5000", false, "", "user@evil.example", "", "http", "fhir.example", "10.1.2.3"},
		{"xff: client spoofs left part", "10.1.2.3:5000", false, "", "", "6.6.6.6, 198.51.100.9, 10.9.9.9", "http", "fhir.example", "198.51.100.9"},
		{"xff: garbage stops the walk", "10.1.2.3:5000", false, "", "", "198.51.100.9, junk, 10.9.9.9", "http", "fhir.example", "10.9.9.9"},
		{"ipv4-mapped remote", "[::ffff:10.1.2.3]:5000", false, "https", "", "", "https", "fhir.example", "10.1.2.3"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "http://fhir.example/ws", nil)
		r.RemoteAddr = tt.remote
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		} else {
			r.TLS = nil
		}
		for k, v := range map[string]string{"X-Forwarded-Proto": tt.proto, "X-Forwarded-Host": tt.host, "X-Forwarded-For": tt.xff} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		if got := tp.Scheme(r); got != tt.scheme {
			t.Errorf("%s: Scheme = %q, want %q", tt.name, got, tt.scheme)
		}
		if got := tp.Host(r); got != tt.wantHost {
			t.Errorf("%s: Host = %q, want %q", tt.name, got, tt.wantHost)
		}
		if got := tp.ClientIP(r); got != tt.cip {
			t.Errorf("%s: ClientIP = %q, want %q", tt.name, got, tt.cip)
		}
	}
	// The zero value trusts nobody.
	r := httptest.NewRequest("GET", "http://fhir.example/", nil)
	r.RemoteAddr = "10.1.2.3:5000"
	r.Header.Set("X-Forwarded-Proto", "https")
	if got := (TrustedProxies{}).Scheme(r); got != "http" {
		t.Errorf("TrustedProxies{}.Scheme = %q, want http", got)
	}
}

func TestValidHost(t *testing.T) {
	tests := map[string]bool{
		"example.org": true, "example.org:8443": true, "127.0.0.1:80": true, "[::1]:8080": true, "a_b.example": true,
		"": false, "example.org:": false, "example.org:x": false, "exa mple.org": false, "a/b": false,
		"user@host": false, "host:80:90": false, "[::1": false, "[::1]": true, "::1": false, "[1.2.3.4]": false,
		"example.org:123456": false, "[::1]x": false,
	}
	for h, want := range tests {
		if got := validHost(h); got != want {
			t.Errorf("validHost(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestCheckNoneAllowed(t *testing.T) {
	tests := []struct {
		addr     string
		insecure bool
		ok       bool
	}{
		{"127.0.0.1:8080", false, true},
		{"127.9.9.9:8080", false, true},
		{"[::1]:8080", false, true},
		{"localhost:8080", false, true},
		{"LOCALHOST:8080", false, true},
		{"127.0.0.1", false, true},
		{":8080", false, false},
		{"0.0.0.0:8080", false, false},
		{"[::]:8080", false, false},
		{"192.168.1.10:8080", false, false},
		{"fhir.example:8080", false, false},
		{"localhost.evil.example:8080", false, false},
		{":8080", true, true},
		{"0.0.0.0:8080", true, true},
	}
	for _, tt := range tests {
		err := CheckNoneAllowed(tt.addr, tt.insecure)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInsecureListen)) {
			t.Errorf("CheckNoneAllowed(%q, %v) = %v, want ok=%v", tt.addr, tt.insecure, err, tt.ok)
		}
	}
}
