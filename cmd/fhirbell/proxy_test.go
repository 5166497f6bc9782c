package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// TestPublicBaseThroughTrustedProxy runs fhirbell behind a TLS-terminating
// reverse proxy named in --trusted-proxies (no --base-url), and checks that
// every URL the server hands out names the proxy, scheme and host: a REST
// Location and search link, the websocket-ticket Link,
// $get-ws-binding-token's and $websocket-ticket's websocket-url, and the
// fullUrl of a notification delivered on a socket opened through the
// proxy. The hub and the REST API ask one owner (endpoint.Base); before it
// the notifications said http://<internal address>.
func TestPublicBaseThroughTrustedProxy(t *testing.T) {
	srv := mustRunServe(t, nil, "--trusted-proxies", "127.0.0.1")
	backend, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewTLSServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(backend) // Host becomes the internal address
		pr.SetXForwarded() // X-Forwarded-Host: the public host; X-Forwarded-Proto: https
	}})
	t.Cleanup(front.Close)
	public := front.URL                                                   // https://127.0.0.1:<proxy port>
	publicWS := "wss://" + strings.TrimPrefix(public, "https://") + "/ws" // where sockets are served
	client := front.Client()

	call := func(method, path, body string) (*http.Response, map[string]any) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, public+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/fhir+json")
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: %d %q", method, path, res.StatusCode, raw)
		}
		if res.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
		}
		return res, m
	}
	param := func(m map[string]any, name string) string {
		t.Helper()
		for _, p := range m["parameter"].([]any) {
			if p := p.(map[string]any); p["name"] == name {
				return p["valueUrl"].(string)
			}
		}
		t.Fatalf("no parameter %s in %v", name, m)
		return ""
	}

	res, sub := call("POST", "/fhir/Subscription", clusterSub)
	id := sub["id"].(string)
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, public+"/fhir/Subscription/"+id+"/_history/") {
		t.Errorf("Location = %q, want it under %s/fhir", loc, public)
	}
	if link, want := res.Header.Get("Link"), "<"+public+"/fhir/Subscription/"+id+"/$websocket-ticket>"; !strings.HasPrefix(link, want) {
		t.Errorf("Link = %q, want %s…", link, want)
	}
	_, search := call("GET", "/fhir/Subscription?_count=1", "")
	if self := search["link"].([]any)[0].(map[string]any)["url"].(string); !strings.HasPrefix(self, public+"/fhir/Subscription?") {
		t.Errorf("search link = %q, want it under %s/fhir", self, public)
	}
	_, tok := call("GET", "/fhir/Subscription/"+id+"/$get-ws-binding-token", "")
	if got := param(tok, "websocket-url"); got != publicWS {
		t.Errorf("$get-ws-binding-token websocket-url = %q, want %q", got, publicWS)
	}
	_, tic := call("GET", "/fhir/Subscription/"+id+"/$websocket-ticket", "")
	ticket := param(tic, "websocket-url")
	if !strings.HasPrefix(ticket, publicWS+"/") {
		t.Fatalf("$websocket-ticket websocket-url = %q, want it under %s/", hideTicket(ticket), publicWS)
	}

	dialer := websocket.Dialer{TLSClientConfig: client.Transport.(*http.Transport).TLSClientConfig}
	conn, _, err := dialer.DialContext(t.Context(), ticket, nil)
	if err != nil {
		t.Fatalf("dial the ticket URL through the proxy: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	expectHandshake(t, conn)
	_, obs := call("POST", "/fhir/Observation", clusterObs)
	for {
		data, err := readFrame(conn)
		if err != nil {
			t.Fatalf("waiting for the notification: %v", err)
		}
		if parseFrame(t, data).Type != "event-notification" {
			continue
		}
		var b struct {
			Entry []struct {
				FullURL string `json:"fullUrl"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(data, &b); err != nil || len(b.Entry) < 2 {
			t.Fatalf("notification without a focus entry: %s", data)
		}
		if got, want := b.Entry[1].FullURL, public+"/fhir/Observation/"+obs["id"].(string); got != want {
			t.Errorf("notification fullUrl = %q, want %q (the URL the REST API gives)", got, want)
		}
		return
	}
}
