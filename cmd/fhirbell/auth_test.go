package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
)

// issuer mints RS256 access tokens whose keys the server reads from a JWKS
// file, as a SMART authorization server would publish them.
type issuer struct {
	key  *rsa.PrivateKey
	kid  string
	iss  string
	aud  string
	file string
}

func newIssuer(t *testing.T, aud string) *issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &issuer{key: key, kid: "k1", iss: "https://auth.test", aud: aud, file: filepath.Join(t.TempDir(), "jwks.json")}
	jwks := map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "kid": is.kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
	}}}
	b, _ := json.Marshal(jwks)
	if err := os.WriteFile(is.file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return is
}

// token mints a token for sub with scope (and the patient claim when set),
// valid for ttl (negative: already expired).
func (is *issuer) token(t *testing.T, sub, scope, patient string, ttl time.Duration, mutate ...func(jwt.MapClaims)) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{"iss": is.iss, "aud": is.aud, "sub": sub, "client_id": "app-" + sub, "scope": scope,
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(ttl).Unix()}
	if patient != "" {
		claims["patient"] = patient
	}
	for _, m := range mutate {
		m(claims)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = is.kid
	s, err := tok.SignedString(is.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// authServer runs fhirbell in auth mode jwt; the audience is the FHIR base
// under a fixed public base URL, as behind a proxy.
func authServer(t *testing.T, extra ...string) (*testServer, *issuer) {
	t.Helper()
	is := newIssuer(t, "http://fhir.test/fhir")
	args := append([]string{"--auth", "jwt", "--jwks-file", is.file, "--issuer", is.iss,
		"--audience", is.aud, "--log-level", "debug", "--allowed-origins", "https://app.test"}, extra...)
	return mustRunServe(t, nil, args...), is
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func TestAuthJWTRejects(t *testing.T) {
	s, is := authServer(t)
	// Discovery stays public, and says how to authenticate.
	md := do(t, "GET", s.URL+"/fhir/metadata", "")
	wantStatus(t, md, 200)
	if !strings.Contains(string(md.Raw), `"code":"SMART-on-FHIR"`) || !strings.Contains(string(md.Raw), `"cors":true`) {
		t.Errorf("metadata does not describe the security: %.400s", md.Raw)
	}

	tests := []struct {
		name      string
		token     string
		challenge string
	}{
		{"missing", "", `Bearer realm="fhirbell"`},
		{"expired", is.token(t, "u1", "user/*.rs", "", -time.Hour), `error="invalid_token"`},
		{"wrong audience", is.token(t, "u1", "user/*.rs", "", time.Hour, func(c jwt.MapClaims) { c["aud"] = "http://other/fhir" }), `error="invalid_token"`},
		{"wrong issuer", is.token(t, "u1", "user/*.rs", "", time.Hour, func(c jwt.MapClaims) { c["iss"] = "https://evil.test" }), `error="invalid_token"`},
		{"bad signature", is.token(t, "u1", "user/*.rs", "", time.Hour) + "x", `error="invalid_token"`},
		{"not a bearer", "", `Bearer realm="fhirbell"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.token != "" {
				hdr = bearer(tt.token)
			}
			if tt.name == "not a bearer" {
				hdr = []string{"Authorization", "Basic dTpw"}
			}
			res := do(t, "GET", s.URL+"/fhir/Patient", "", hdr...)
			wantStatus(t, res, 401)
			if res.Body["resourceType"] != "OperationOutcome" {
				t.Errorf("401 body = %s", res.Raw)
			}
			if got := res.Header.Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) {
				t.Errorf("WWW-Authenticate = %q, want it to contain %q", got, tt.challenge)
			}
		})
	}
}

func TestAuthScopesAndCompartment(t *testing.T) {
	s, is := authServer(t)
	admin := bearer(is.token(t, "ops", "system/*.cruds", "", time.Hour))
	p1 := bearer(is.token(t, "pat1", "launch/patient patient/Observation.rs patient/Patient.r", "p1", time.Hour))

	for _, id := range []string{"p1", "p2"} {
		wantStatus(t, do(t, "PUT", s.URL+"/fhir/Patient/"+id, `{"resourceType":"Patient","id":"`+id+`"}`, admin...), 201)
	}
	obs := map[string]string{}
	for _, pat := range []string{"p1", "p2"} {
		res := do(t, "POST", s.URL+"/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/`+pat+`"}}`, admin...)
		wantStatus(t, res, 201)
		obs[pat] = res.Body["id"].(string)
	}

	wantStatus(t, do(t, "GET", s.URL+"/fhir/Observation/"+obs["p1"], "", p1...), 200)
	// Another patient's resource does not exist for p1: 404, as a missing
	// id (no existence oracle).
	wantStatus(t, do(t, "GET", s.URL+"/fhir/Observation/"+obs["p2"], "", p1...), 404)
	found := do(t, "GET", s.URL+"/fhir/Observation", "", p1...)
	if total, _ := found.Body["total"].(float64); total != 1 {
		t.Fatalf("patient search sees %v observations, want only p1's: %s", found.Body["total"], found.Raw)
	}
	wantStatus(t, do(t, "GET", s.URL+"/fhir/Patient/p2", "", p1...), 404)
	// A type the scopes do not cover at all is 403: that says nothing of
	// any id.
	denied := do(t, "GET", s.URL+"/fhir/Encounter", "", p1...)
	wantStatus(t, denied, 403)
	if !strings.Contains(denied.Header.Get("WWW-Authenticate"), "insufficient_scope") {
		t.Errorf("403 challenge = %q", denied.Header.Get("WWW-Authenticate"))
	}
	wantStatus(t, do(t, "POST", s.URL+"/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}`, p1...), 403)
	// A transaction is held to the same rules, entry by entry.
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}}]}`
	wantStatus(t, do(t, "POST", s.URL+"/fhir", tx, p1...), 403)
}

func TestAuthSubscriptionOwnership(t *testing.T) {
	s, is := authServer(t)
	admin := bearer(is.token(t, "ops", "system/*.cruds", "", time.Hour))
	alice := bearer(is.token(t, "alice", "user/Subscription.cruds user/Observation.rs", "", time.Hour))
	bob := bearer(is.token(t, "bob", "user/Subscription.cruds user/Observation.rs", "", time.Hour))
	pat := bearer(is.token(t, "pat1", "patient/Subscription.cruds patient/Observation.rs", "p1", time.Hour))

	sub := `{"resourceType":"Subscription","status":"requested","reason":"r","criteria":"Observation","channel":{"type":"websocket","payload":"application/fhir+json"}}`
	created := do(t, "POST", s.URL+"/fhir/Subscription", sub, alice...)
	wantStatus(t, created, 201)
	id := created.Body["id"].(string)
	if !strings.Contains(string(created.Raw), `"subject","valueString":"alice"`) {
		t.Errorf("owner not recorded: %s", created.Raw)
	}
	// A client cannot claim to be someone else.
	forged := strings.Replace(sub, `"status"`, `"meta":{"extension":[{"url":"https://fhirbell.dev/fhir/StructureDefinition/subscription-owner","extension":[{"url":"subject","valueString":"alice"}]}]},"status"`, 1)
	bobs := do(t, "POST", s.URL+"/fhir/Subscription", forged, bob...)
	wantStatus(t, bobs, 201)
	if !strings.Contains(string(bobs.Raw), `"valueString":"bob"`) || strings.Contains(string(bobs.Raw), `"valueString":"alice"`) {
		t.Errorf("forged owner kept: %s", bobs.Raw)
	}

	for _, path := range []string{"/fhir/Subscription/" + id, "/fhir/Subscription/" + id + "/$status", "/fhir/Subscription/" + id + "/$websocket-ticket", "/fhir/Subscription/" + id + "/$get-ws-binding-token"} {
		wantStatus(t, do(t, "GET", s.URL+path, "", bob...), 404) // alice's does not exist for bob
		wantStatus(t, do(t, "GET", s.URL+path, "", alice...), 200)
		wantStatus(t, do(t, "GET", s.URL+path, "", admin...), 200)
	}
	wantStatus(t, do(t, "DELETE", s.URL+"/fhir/Subscription/"+id, "", bob...), 403)
	list := do(t, "GET", s.URL+"/fhir/Subscription", "", bob...)
	if total, _ := list.Body["total"].(float64); total != 1 {
		t.Errorf("bob sees %v subscriptions, want only his own", list.Body["total"])
	}
	// Creating a subscription needs read access to what it notifies.
	noRead := bearer(is.token(t, "carol", "user/Subscription.cruds", "", time.Hour))
	wantStatus(t, do(t, "POST", s.URL+"/fhir/Subscription", sub, noRead...), 403)

	// A patient app's subscription is notified only of its compartment, and
	// its numbering has no gap where another patient's events were.
	ps := do(t, "POST", s.URL+"/fhir/Subscription", sub, pat...)
	wantStatus(t, ps, 201)
	pid := ps.Body["id"].(string)
	for _, p := range []string{"p2", "p1", "p2", "p1"} {
		wantStatus(t, do(t, "POST", s.URL+"/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/`+p+`"}}`, admin...), 201)
	}
	ev := do(t, "GET", s.URL+"/fhir/Subscription/"+pid+"/$events", "", pat...)
	wantStatus(t, ev, 200)
	raw := string(ev.Raw)
	if !strings.Contains(raw, `"name":"events-since-subscription-start","valueString":"2"`) || strings.Count(raw, `"name":"event-number"`) != 2 {
		t.Errorf("patient subscription events = %s", raw)
	}
	alices := do(t, "GET", s.URL+"/fhir/Subscription/"+id+"/$status", "", alice...)
	if !strings.Contains(string(alices.Raw), `"name":"events-since-subscription-start","valueString":"4"`) {
		t.Errorf("user subscription status = %s", alices.Raw)
	}

	// Tokens never reach the logs.
	for _, h := range [][]string{admin, alice, bob, pat} {
		if strings.Contains(s.Logs.String(), strings.TrimPrefix(h[1], "Bearer ")) {
			t.Fatal("an access token appears in the logs")
		}
	}
}

func TestCORSAndOrigin(t *testing.T) {
	s, is := authServer(t)
	pre := do(t, "OPTIONS", s.URL+"/fhir/Subscription/x/$websocket-ticket", "",
		"Origin", "https://app.test", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization")
	if pre.Status != 204 || pre.Header.Get("Access-Control-Allow-Origin") != "https://app.test" ||
		!strings.Contains(strings.ToLower(pre.Header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("preflight = %d %v", pre.Status, pre.Header)
	}
	tok := bearer(is.token(t, "alice", "user/*.cruds", "", time.Hour))
	got := do(t, "GET", s.URL+"/fhir/Patient", "", append(tok, "Origin", "https://app.test")...)
	for _, h := range []string{"Location", "ETag", "Link"} {
		if !strings.Contains(got.Header.Get("Access-Control-Expose-Headers"), h) {
			t.Errorf("Expose-Headers %q lacks %s", got.Header.Get("Access-Control-Expose-Headers"), h)
		}
	}
	other := do(t, "GET", s.URL+"/fhir/Patient", "", append(tok, "Origin", "https://evil.test")...)
	if other.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a foreign origin got CORS headers")
	}

	// Cross-site WebSocket hijacking: an upgrade from a foreign origin is 403.
	u := "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
	_, res, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {"https://evil.test"}})
	if err == nil || res == nil || res.StatusCode != 403 {
		t.Fatalf("foreign-origin upgrade: %v, %v", res, err)
	}
	c, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {"https://app.test"}})
	if err != nil {
		t.Fatalf("allowed-origin upgrade: %v", err)
	}
	c.Close()
}

func TestAuthNoneOnlyOnLoopback(t *testing.T) {
	err := run(t.Context(), []string{"serve", "--addr", "0.0.0.0:0"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "insecure") {
		t.Fatalf("auth none on 0.0.0.0 = %v, want a refusal naming --insecure-no-auth", err)
	}
}

// pki is a throwaway CA with a server and a client certificate.
type pki struct {
	dir                   string
	caFile                string
	serverCert, serverKey string
	clientTLS             tls.Certificate
	pool                  *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fhirbell test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &pki{dir: dir, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	writePEM := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p.caFile = writePEM("ca.pem", "CERTIFICATE", caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	sDER, sKey := issue(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	p.serverCert = writePEM("server.pem", "CERTIFICATE", sDER)
	skb, _ := x509.MarshalECPrivateKey(sKey)
	p.serverKey = writePEM("server-key.pem", "EC PRIVATE KEY", skb)
	cDER, cKey := issue(3, "backend", x509.ExtKeyUsageClientAuth, nil)
	p.clientTLS = tls.Certificate{Certificate: [][]byte{cDER}, PrivateKey: cKey}
	return p
}

func TestTLSAndMutualTLS(t *testing.T) {
	p := newPKI(t)
	is := newIssuer(t, "http://fhir.test/fhir")
	s := mustRunServe(t, nil, "--auth", "jwt", "--jwks-file", is.file, "--issuer", is.iss, "--audience", is.aud,
		"--tls-cert", p.serverCert, "--tls-key", p.serverKey, "--tls-client-ca", p.caFile,
		"--tls-client-scopes", "backend|system/*.cruds", "--require-tls")
	base := strings.Replace(s.URL, "http://", "https://", 1)
	client := func(cert bool) *http.Client {
		cfg := &tls.Config{RootCAs: p.pool}
		if cert {
			cfg.Certificates = []tls.Certificate{p.clientTLS}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	}
	get := func(c *http.Client, url string) (*http.Response, []byte) {
		t.Helper()
		res, err := c.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	if res, body := get(client(true), base+"/fhir/Patient"); res.StatusCode != 200 {
		t.Fatalf("mTLS system client: %d %s", res.StatusCode, body)
	}
	if res, _ := get(client(false), base+"/fhir/Patient"); res.StatusCode != 401 {
		t.Fatalf("no certificate, no token: %d, want 401", res.StatusCode)
	}
	// Handed-out socket URLs follow the scheme the request came in on.
	created, err := client(true).Post(base+"/fhir/Subscription", "application/fhir+json", strings.NewReader(
		`{"resourceType":"Subscription","status":"requested","criteria":"Observation","channel":{"type":"websocket"}}`))
	if err != nil || created.StatusCode != 201 {
		t.Fatalf("create subscription over mTLS: %v %v", created, err)
	}
	var sub map[string]any
	json.NewDecoder(created.Body).Decode(&sub)
	created.Body.Close()
	_, ticket := get(client(true), base+"/fhir/Subscription/"+sub["id"].(string)+"/$websocket-ticket")
	if !strings.Contains(string(ticket), `"valueUrl":"wss://`) {
		t.Fatalf("ticket over TLS = %s, want a wss:// URL", ticket)
	}
	// The same certificate authenticates a socket: a legacy bind of the
	// client's own subscription works without any token.
	dialer := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{p.clientTLS}}}
	wss := "wss" + strings.TrimPrefix(base, "https") + "/ws"
	c, _, err := dialer.Dial(wss, nil)
	if err != nil {
		t.Fatalf("wss dial with a client certificate: %v", err)
	}
	defer c.Close()
	id := sub["id"].(string)
	c.WriteMessage(websocket.TextMessage, []byte("bind "+id))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "bound "+id {
		t.Fatalf("bind over mTLS: %q, %v", msg, err)
	}
	// Without the certificate the same bind is refused (4003).
	anon := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: p.pool}}
	c2, _, err := anon.Dial(wss, nil)
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	defer c2.Close()
	c2.WriteMessage(websocket.TextMessage, []byte("bind "+id))
	c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c2.ReadMessage(); err != nil {
			if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != 4003 {
				t.Fatalf("anonymous bind over TLS: %v, want close 4003", err)
			}
			break
		}
	}
	// --require-tls: plain HTTP is refused, health checks excepted.
	plain := &http.Client{Timeout: 5 * time.Second}
	if res, err := plain.Get(s.URL + "/fhir/metadata"); err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Fatal("plain HTTP served with --require-tls")
		}
	}
}

// TestAuthIntrospection runs the server in mode introspect against an RFC
// 7662 endpoint on loopback: active tokens work with their scopes, inactive
// ones are refused, the client secret comes from the environment, and
// answers are cached (one call for repeated use of a token).
func TestAuthIntrospection(t *testing.T) {
	var calls atomic.Int32
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != "fhirbell" || p != "s3cret" {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		switch r.PostForm.Get("token") {
		case "good":
			fmt.Fprintf(w, `{"active":true,"sub":"svc","client_id":"svc","scope":"system/*.rs","exp":%d}`, time.Now().Add(time.Hour).Unix())
		default:
			fmt.Fprint(w, `{"active":false}`)
		}
	}))
	t.Cleanup(idp.Close)
	env := map[string]string{"FHIRBELL_INTROSPECTION_CLIENT_SECRET": "s3cret"}
	s := mustRunServe(t, env, "--auth", "introspect", "--introspection-url", idp.URL, "--introspection-client-id", "fhirbell")

	for range 3 {
		wantStatus(t, do(t, "GET", s.URL+"/fhir/Patient", "", bearer("good")...), 200)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("introspection endpoint called %d times for one token, want 1 (cached)", n)
	}
	wantStatus(t, do(t, "GET", s.URL+"/fhir/Patient", "", bearer("revoked")...), 401)
	// Read-only scopes: no writes.
	wantStatus(t, do(t, "POST", s.URL+"/fhir/Patient", `{"resourceType":"Patient"}`, bearer("good")...), 403)
	if strings.Contains(s.Logs.String(), "s3cret") {
		t.Error("the client secret appears in the logs")
	}
}

// TestAuthGranularScopes: SMART v2 granular scopes grant exactly the
// resources their constraints match, for reads, searches and the
// notifications of the subscriptions their holder creates.
func TestAuthGranularScopes(t *testing.T) {
	s, is := authServer(t)
	admin := bearer(is.token(t, "ops", "system/*.cruds", "", time.Hour))
	const cat = "http://terminology.hl7.org/CodeSystem/observation-category"
	labs := bearer(is.token(t, "pat1", "patient/Observation.rs?category="+cat+"|laboratory patient/Subscription.cruds", "p1", time.Hour))
	obs := func(category, patient string) string {
		res := do(t, "POST", s.URL+"/fhir/Observation", `{"resourceType":"Observation","status":"final",
 "category":[{"coding":[{"system":"`+cat+`","code":"`+category+`"}]}],"code":{"text":"x"},"subject":{"reference":"Patient/`+patient+`"}}`, admin...)
		wantStatus(t, res, 201)
		return res.Body["id"].(string)
	}
	sub := do(t, "POST", s.URL+"/fhir/Subscription", `{"resourceType":"Subscription","status":"requested","criteria":"Observation","channel":{"type":"websocket"}}`, labs...)
	wantStatus(t, sub, 201)
	lab, vital, otherLab := obs("laboratory", "p1"), obs("vital-signs", "p1"), obs("laboratory", "p2")

	wantStatus(t, do(t, "GET", s.URL+"/fhir/Observation/"+lab, "", labs...), 200)
	wantStatus(t, do(t, "GET", s.URL+"/fhir/Observation/"+vital, "", labs...), 404)
	wantStatus(t, do(t, "GET", s.URL+"/fhir/Observation/"+otherLab, "", labs...), 404)
	found := do(t, "GET", s.URL+"/fhir/Observation", "", labs...)
	if total, _ := found.Body["total"].(float64); total != 1 {
		t.Fatalf("granular search sees %v observations, want only the p1 lab: %s", found.Body["total"], found.Raw)
	}
	ev := do(t, "GET", s.URL+"/fhir/Subscription/"+sub.Body["id"].(string)+"/$events", "", labs...)
	if !strings.Contains(string(ev.Raw), `"valueString":"1"`) || strings.Count(string(ev.Raw), `"name":"event-number"`) != 1 ||
		!strings.Contains(string(ev.Raw), "/Observation/"+lab) {
		t.Fatalf("granular subscription events = %s, want only the p1 lab", ev.Raw)
	}
}

// TestSubscriptionOnSubscriptionsSeesOnlyOwn: a subscription whose criteria
// is Subscription itself is notified of its owner's Subscriptions only,
// never of another principal's (whose body records that principal's
// scopes).
func TestSubscriptionOnSubscriptionsSeesOnlyOwn(t *testing.T) {
	s, is := authServer(t)
	alice := bearer(is.token(t, "alice", "user/Subscription.cruds user/Observation.rs", "", time.Hour))
	bob := bearer(is.token(t, "bob", "user/Subscription.cruds user/Observation.rs", "", time.Hour))
	watch := do(t, "POST", s.URL+"/fhir/Subscription", `{"resourceType":"Subscription","status":"requested","criteria":"Subscription","channel":{"type":"websocket"}}`, alice...)
	wantStatus(t, watch, 201)
	sub := `{"resourceType":"Subscription","status":"requested","criteria":"Observation","channel":{"type":"websocket"}}`
	wantStatus(t, do(t, "POST", s.URL+"/fhir/Subscription", sub, bob...), 201)
	own := do(t, "POST", s.URL+"/fhir/Subscription", sub, alice...)
	wantStatus(t, own, 201)
	ev := do(t, "GET", s.URL+"/fhir/Subscription/"+watch.Body["id"].(string)+"/$events?content=full-resource", "", alice...)
	raw := string(ev.Raw)
	if strings.Count(raw, `"name":"event-number"`) != 1 || !strings.Contains(raw, "/Subscription/"+own.Body["id"].(string)) || strings.Contains(raw, `"valueString":"bob"`) {
		t.Fatalf("alice's watch on Subscriptions = %s, want only her own", raw)
	}
}
