package resthook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

func loopbackPolicy(t *testing.T) *Policy {
	t.Helper()
	p, err := ParseAllow("127.0.0.1/8")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func hookSub(endpoint string) *subscription.Subscription {
	return &subscription.Subscription{ID: "s1", ChannelType: subscription.ChannelRestHook, Endpoint: endpoint,
		Payload: "application/fhir+json; fhirVersion=4.0", Timeout: 5 * time.Second,
		Headers: []subscription.Header{{Name: "Authorization", Value: "Bearer t0ken"}, {Name: "X-Tenant", Value: "a"}, {Name: "X-Tenant", Value: "b"}},
		Secret:  "shh"}
}

func wantAttemptError(t *testing.T, err error, code, contains string) {
	t.Helper()
	var ae *attemptError
	if !errors.As(err, &ae) || ae.code != code || !strings.Contains(ae.msg, contains) {
		t.Fatalf("post = %v, want %s mentioning %q", err, code, contains)
	}
}

func TestPostSendsWhatTheSubscriptionSays(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, body = r, must(io.ReadAll(r.Body))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	sub := hookSub(srv.URL + "/in?key=secret-in-query")
	if err := post(t.Context(), newHTTPClient(loopbackPolicy(t), nil), sub, []byte(`{"resourceType":"Bundle"}`), time.Second, 1024); err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodPost || got.URL.RawQuery != "key=secret-in-query" {
		t.Errorf("request %s %s", got.Method, got.URL)
	}
	if ct := got.Header.Get("Content-Type"); ct != sub.Payload {
		t.Errorf("Content-Type = %q, want channel.payload %q", ct, sub.Payload)
	}
	if got.Header.Get("Authorization") != "Bearer t0ken" || strings.Join(got.Header.Values("X-Tenant"), ",") != "a,b" {
		t.Errorf("channel headers = %v", got.Header)
	}
	mac := hmac.New(sha256.New, []byte("shh"))
	mac.Write(body)
	if sig := got.Header.Get("X-Signature"); sig != hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("X-Signature = %q, want the hex HMAC-SHA256 of the body", sig)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestPostFailures(t *testing.T) {
	var redirected atomic.Int32
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/503", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { redirected.Add(1) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat("x", 1<<16)
		for range 1 << 10 { // 64 MiB, if anyone read it all
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock()
	client := newHTTPClient(loopbackPolicy(t), nil)
	send := func(path string, timeout time.Duration) error {
		return post(t.Context(), client, hookSub(srv.URL+path), []byte("{}"), timeout, 1024)
	}
	wantAttemptError(t, send("/503", time.Second), subscription.ErrorResponse, "503")
	wantAttemptError(t, send("/redirect", time.Second), subscription.ErrorResponse, "redirects are not followed")
	if redirected.Load() != 0 {
		t.Error("a redirect was followed")
	}
	wantAttemptError(t, send("/slow", 100*time.Millisecond), subscription.ErrorNoResponse, "no answer within 100ms")
	start := time.Now()
	if err := send("/huge", 10*time.Second); err != nil {
		t.Errorf("a 2xx with a huge body: %v", err)
	}
	t.Logf("a 64 MiB answer cost %s (read up to the cap only)", time.Since(start))

	unblock()
	srv.Close()
	err := send("/503", time.Second)
	wantAttemptError(t, err, subscription.ErrorNoResponse, "cannot connect")
	if strings.Contains(err.Error(), "127.0.0.1") && strings.Contains(err.Error(), "/503") {
		t.Errorf("the error quotes the URL: %v", err)
	}
	noLoopback, _ := ParseAllow("")
	err = post(t.Context(), newHTTPClient(noLoopback, nil), hookSub("http://127.0.0.1:1/x"), nil, time.Second, 1024)
	wantAttemptError(t, err, subscription.ErrorNoResponse, "refused to connect")
}

func TestPostVerifiesCertificates(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	sub := hookSub(srv.URL + "/in")
	err := post(t.Context(), newHTTPClient(loopbackPolicy(t), nil), sub, []byte("{}"), 2*time.Second, 1024)
	wantAttemptError(t, err, subscription.ErrorNoResponse, "certificate")

	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	insecure := &tls.Config{RootCAs: roots, InsecureSkipVerify: true} // the flag is dropped: verification stays on
	if err := post(t.Context(), newHTTPClient(loopbackPolicy(t), insecure), sub, []byte("{}"), 2*time.Second, 1024); err != nil {
		t.Fatalf("with the server's CA trusted: %v", err)
	}
	other := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer other.Close()
	err = post(t.Context(), newHTTPClient(loopbackPolicy(t), &tls.Config{InsecureSkipVerify: true}), hookSub(other.URL), []byte("{}"), 2*time.Second, 1024)
	wantAttemptError(t, err, subscription.ErrorNoResponse, "certificate")
}
