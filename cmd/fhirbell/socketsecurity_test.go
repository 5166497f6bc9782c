package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/fhirbell/fhirbell/fhir"
)

// The regression tests of issue 14 that are about sockets, end to end: the
// server in auth mode jwt (or introspect), real tokens, real clients.

// paramString returns the valueString or valueUrl of the Parameters
// parameter name in body.
func paramString(t *testing.T, body map[string]any, name string) string {
	t.Helper()
	params, _ := body["parameter"].([]any)
	for _, p := range params {
		m, _ := p.(map[string]any)
		if m["name"] != name {
			continue
		}
		for _, k := range []string{"valueString", "valueUrl"} {
			if v, ok := m[k].(string); ok {
				return v
			}
		}
	}
	t.Fatalf("no parameter %s in %v", name, body)
	return ""
}

// dialSock dials a socket URL with the given headers, failing t unless it
// upgrades.
func dialSock(t *testing.T, url string, header http.Header) *websocket.Conn {
	t.Helper()
	c, res, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, res)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dialStatus dials url and returns the HTTP status of the answer (101 when
// it upgraded).
func dialStatus(t *testing.T, url string, header http.Header) int {
	t.Helper()
	c, res, err := websocket.DefaultDialer.Dial(url, header)
	if err == nil {
		c.Close()
		return http.StatusSwitchingProtocols
	}
	if res == nil {
		t.Fatalf("dial: %v", err)
	}
	res.Body.Close()
	return res.StatusCode
}

// closeCode reads until the socket closes and returns its close code.
func closeCode(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	for {
		_, _, err := c.ReadMessage()
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		if err != nil {
			t.Fatalf("waiting for the close: %v", err)
		}
	}
}

const obsSub = `{"resourceType":"Subscription","status":"requested","criteria":"Observation","channel":{"type":"websocket","payload":"application/fhir+json"}}`

// TestTicketsAndBindingTokens (issue 14, item 7): a ticket presented with
// another principal's bearer token is refused and stays usable by its
// owner; a binding token presented as a ticket is not used up; a binding
// token is reusable until it expires, on as many sockets as its principal
// may open (each counts against the per-principal cap).
func TestTicketsAndBindingTokens(t *testing.T) {
	s, is := authServer(t, "--max-sockets-per-principal", "2")
	ws := "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
	scopes := "user/Subscription.cruds user/Observation.rs"
	alice := is.token(t, "alice", scopes, "", time.Hour)
	bob := is.token(t, "bob", scopes, "", time.Hour)
	admin := bearer(is.token(t, "ops", "system/*.cruds", "", time.Hour))
	created := do(t, "POST", s.URL+"/fhir/Subscription", obsSub, bearer(alice)...)
	wantStatus(t, created, 201)
	id := created.Body["id"].(string)

	tic := do(t, "GET", s.URL+"/fhir/Subscription/"+id+"/$websocket-ticket", "", bearer(alice)...)
	wantStatus(t, tic, 200)
	ticketURL := paramString(t, tic.Body, "websocket-url")
	ticketURL = ws + ticketURL[strings.LastIndex(ticketURL, "/ws")+len("/ws"):]
	if got := dialStatus(t, ticketURL, http.Header{"Authorization": {"Bearer " + bob}}); got != http.StatusForbidden {
		t.Fatalf("alice's ticket with bob's token: HTTP %d, want 403", got)
	}
	c := dialSock(t, ticketURL, http.Header{"Authorization": {"Bearer " + alice}})
	nextSockFrame(t, c, fhir.NotifyHandshake)
	c.Close()
	if got := dialStatus(t, ticketURL, nil); got != http.StatusNotFound {
		t.Fatalf("a used ticket: HTTP %d, want 404", got)
	}

	tok := do(t, "GET", s.URL+"/fhir/Subscription/"+id+"/$get-ws-binding-token", "", bearer(alice)...)
	wantStatus(t, tok, 200)
	secret := paramString(t, tok.Body, "token")
	if got := dialStatus(t, ws+"/"+secret, nil); got != http.StatusNotFound {
		t.Fatalf("a binding token as a ticket: HTTP %d, want 404", got)
	}
	// Reusable on several anonymous sockets; each is alice's.
	var socks []*websocket.Conn
	for range 2 {
		c := dialSock(t, ws, nil)
		c.WriteMessage(websocket.TextMessage, []byte("bind-with-token "+secret))
		nextSockFrame(t, c, fhir.NotifyHandshake)
		socks = append(socks, c)
	}
	wantStatus(t, do(t, "POST", s.URL+"/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"hr"}}`, admin...), 201)
	for i, c := range socks {
		if got := nextSockFrame(t, c, fhir.NotifyEvent); got.numbers() != "1" {
			t.Fatalf("socket %d: events %v, want 1", i, got.Events)
		}
	}
	third := dialSock(t, ws, nil)
	third.WriteMessage(websocket.TextMessage, []byte("bind-with-token "+secret))
	f, err := readSockFrame(t, third, 10*time.Second)
	if err != nil || !strings.Contains(f.raw, `"too-costly"`) {
		t.Fatalf("a third socket of alice's: %v %s, want a too-costly OperationOutcome", err, f.raw)
	}
	if code := closeCode(t, third); code != websocket.ClosePolicyViolation {
		t.Fatalf("a third socket of alice's closed with %d, want 1008", code)
	}
}
