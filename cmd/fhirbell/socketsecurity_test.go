package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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

// ticketFor asks for a ticket for subscription id with token and returns
// its socket URL on the test server.
func ticketFor(t *testing.T, s *testServer, id, token string) string {
	t.Helper()
	tic := do(t, "GET", s.URL+"/fhir/Subscription/"+id+"/$websocket-ticket", "", bearer(token)...)
	wantStatus(t, tic, 200)
	u := paramString(t, tic.Body, "websocket-url")
	return "ws" + strings.TrimPrefix(s.URL, "http") + u[strings.LastIndex(u, "/ws"):]
}

// TestSocketDeliveryFollowsTheSocketsToken (issue 14, item 2): a socket is
// authorised by the token its ticket was obtained with, intersected with
// the subscription owner's grant, as REST reads are. A ticket obtained
// with a user/Subscription.cruds-only token binds nothing (a forbidden
// OperationOutcome, never a handshake or an Observation body); one
// obtained with a granular token gets only the events whose focus that
// token may read, and $events shows the same.
func TestSocketDeliveryFollowsTheSocketsToken(t *testing.T) {
	s, is := authServer(t)
	admin := bearer(is.token(t, "ops", "system/*.cruds", "", time.Hour))
	owner := is.token(t, "alice", "user/Subscription.cruds user/Observation.rs", "", time.Hour)
	subOnly := is.token(t, "alice", "user/Subscription.cruds", "", time.Hour)
	labA := is.token(t, "alice", "user/Subscription.cruds user/Observation.rs?code=http://loinc.org|A", "", time.Hour)
	if got := do(t, "GET", s.URL+"/fhir/Observation", "", bearer(subOnly)...); got.Status != 403 {
		t.Fatalf("GET Observation with Subscription scopes only = %d, want 403", got.Status)
	}
	created := do(t, "POST", s.URL+"/fhir/Subscription", obsSub, bearer(owner)...)
	wantStatus(t, created, 201)
	id := created.Body["id"].(string)
	write := func(code string) {
		wantStatus(t, do(t, "POST", s.URL+"/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"`+code+`"}]},"valueString":"secret-`+code+`"}`, admin...), 201)
	}

	c := dialSock(t, ticketFor(t, s, id, subOnly), nil)
	f, err := readSockFrame(t, c, 10*time.Second)
	if err != nil || !strings.Contains(f.raw, `"OperationOutcome"`) || !strings.Contains(f.raw, `"forbidden"`) || !strings.Contains(f.raw, "Observation") {
		t.Fatalf("ticket of a Subscription-only token: %v %s, want a forbidden OperationOutcome naming Observation", err, f.raw)
	}

	g := dialSock(t, ticketFor(t, s, id, labA), nil)
	nextSockFrame(t, g, fhir.NotifyHandshake)
	write("B") // event 1: not for a token that reads code A only
	write("A") // event 2
	ev := nextSockFrame(t, g, fhir.NotifyEvent)
	if ev.numbers() != "2" || strings.Contains(ev.raw, "secret-B") || !strings.Contains(ev.raw, "secret-A") {
		t.Fatalf("granular socket got events %s: %s; want event 2 (code A) only", ev.numbers(), ev.raw)
	}
	for _, tc := range []struct{ token, want, not string }{{labA, "secret-A", "secret-B"}, {subOnly, "", "secret-"}} {
		evs := do(t, "GET", s.URL+"/fhir/Subscription/"+id+"/$events", "", bearer(tc.token)...)
		if strings.Contains(string(evs.Raw), tc.not) || !strings.Contains(string(evs.Raw), tc.want) {
			t.Errorf("$events: %d %s; want %q and no %q", evs.Status, evs.Raw, tc.want, tc.not)
		}
	}
	// The socket whose ticket bound nothing stays authorised by that
	// token: its resume is refused too.
	c.WriteMessage(websocket.TextMessage, []byte("resume "+id+" 0"))
	if f, err := readSockFrame(t, c, 10*time.Second); err != nil || !strings.Contains(f.raw, `"forbidden"`) {
		t.Fatalf("resume on the Subscription-only socket: %v %s, want forbidden", err, f.raw)
	}
}

// TestSocketRenewalNarrows (issue 14, item 4): an in-band renewal with a
// narrower token replaces the socket's authorization: the binding it no
// longer covers ends with a forbidden OperationOutcome, the other stays
// with the new token's auth-expires, and delivery follows the new token.
// The issue's renewal (patient/Observation.r only, no Subscription scope)
// ends every binding instead of extending the broader one.
func TestSocketRenewalNarrows(t *testing.T) {
	s, is := authServer(t)
	ws := "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
	admin := bearer(is.token(t, "ops", "system/*.cruds", "", time.Hour))
	broad := is.token(t, "alice", "user/Subscription.cruds user/Observation.rs user/Condition.rs", "", 10*time.Minute)
	conditions := is.token(t, "alice", "user/Subscription.cruds user/Condition.rs", "", time.Hour)
	issues := is.token(t, "alice", "patient/Observation.r", "p1", time.Hour)
	newSub := func(typ string) string {
		res := do(t, "POST", s.URL+"/fhir/Subscription", strings.Replace(obsSub, `"criteria":"Observation"`, `"criteria":"`+typ+`"`, 1), bearer(broad)...)
		wantStatus(t, res, 201)
		return res.Body["id"].(string)
	}
	obsID, condID := newSub("Observation"), newSub("Condition")

	c := dialSock(t, ws, http.Header{"Authorization": {"Bearer " + broad}})
	for _, id := range []string{obsID, condID} {
		c.WriteMessage(websocket.TextMessage, []byte("resume "+id+" 0"))
		nextSockFrame(t, c, fhir.NotifyHandshake)
	}
	c.WriteMessage(websocket.TextMessage, []byte(reauthFrame(conditions)))
	f, err := readSockFrame(t, c, 10*time.Second)
	if err != nil || !strings.Contains(f.raw, `"forbidden"`) || !strings.Contains(f.raw, obsID) || strings.Contains(f.raw, condID) {
		t.Fatalf("narrowing renewal: %v %s; want a forbidden OperationOutcome for Subscription/%s only", err, f.raw, obsID)
	}
	st := nextSockFrame(t, c, fhir.NotifyQueryStatus)
	if !strings.Contains(st.raw, condID) || !strings.Contains(st.raw, fhir.AuthExpiresURL) {
		t.Fatalf("query-status after the renewal: %s", st.raw)
	}
	wantStatus(t, do(t, "POST", s.URL+"/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"hr"}}`, admin...), 201)
	wantStatus(t, do(t, "POST", s.URL+"/fhir/Condition", `{"resourceType":"Condition","subject":{"reference":"Patient/p1"}}`, admin...), 201)
	ev := nextSockFrame(t, c, fhir.NotifyEvent)
	if !strings.Contains(ev.raw, condID) || strings.Contains(ev.raw, `"Observation"`) {
		t.Fatalf("after the renewal got %s; want the Condition subscription's event only", ev.raw)
	}

	c2 := dialSock(t, ws, http.Header{"Authorization": {"Bearer " + broad}})
	c2.WriteMessage(websocket.TextMessage, []byte("resume "+obsID+" 0"))
	nextSockFrame(t, c2, fhir.NotifyHandshake)
	nextSockFrame(t, c2, fhir.NotifyEvent)
	c2.WriteMessage(websocket.TextMessage, []byte(reauthFrame(issues)))
	if f, err := readSockFrame(t, c2, 10*time.Second); err != nil || !strings.Contains(f.raw, `"forbidden"`) || !strings.Contains(f.raw, obsID) {
		t.Fatalf("renewal without a Subscription scope: %v %s; want the binding ended (forbidden)", err, f.raw)
	}
}

// TestIntrospectedSocketRevoked (issue 14, item 3): in auth mode
// introspect a socket's access token is checked again at the
// introspection cache interval (--introspection-cache, short here), so a
// token revoked at the authorization server ends its socket as an expiry
// does (a final query-status error, close 4001) instead of delivering
// until the token's exp. A token 20 s past its exp is still accepted (the
// JWT leeway) on REST and on the socket its ticket opens (a handshake,
// not an immediate 4001).
func TestIntrospectedSocketRevoked(t *testing.T) {
	var revoked atomic.Bool
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		scope := "user/Subscription.cruds user/Observation.rs"
		switch tok := r.PostForm.Get("token"); {
		case tok == "alice" && !revoked.Load():
			fmt.Fprintf(w, `{"active":true,"sub":"alice","client_id":"app","scope":%q,"exp":%d}`, scope, time.Now().Add(time.Hour).Unix())
		case tok == "late":
			fmt.Fprintf(w, `{"active":true,"sub":"alice","client_id":"app","scope":%q,"exp":%d}`, scope, time.Now().Add(-20*time.Second).Unix())
		case tok == "ops":
			fmt.Fprintf(w, `{"active":true,"sub":"ops","client_id":"ops","scope":"system/*.cruds","exp":%d}`, time.Now().Add(time.Hour).Unix())
		default:
			fmt.Fprint(w, `{"active":false}`)
		}
	}))
	t.Cleanup(idp.Close)
	env := map[string]string{"FHIRBELL_INTROSPECTION_CLIENT_SECRET": "s3cret"}
	s := mustRunServe(t, env, "--auth", "introspect", "--introspection-url", idp.URL, "--introspection-client-id", "fhirbell",
		"--introspection-cache", "500ms")
	ws := "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
	created := do(t, "POST", s.URL+"/fhir/Subscription", obsSub, bearer("alice")...)
	wantStatus(t, created, 201)
	id := created.Body["id"].(string)

	late := dialSock(t, ticketFor(t, s, id, "late"), nil)
	if h := nextSockFrame(t, late, fhir.NotifyHandshake); !strings.Contains(h.raw, fhir.AuthExpiresURL) {
		t.Fatalf("handshake on the late token's ticket: %s", h.raw)
	}

	c := dialSock(t, ws, http.Header{"Authorization": {"Bearer alice"}})
	c.WriteMessage(websocket.TextMessage, []byte("resume "+id+" 0"))
	nextSockFrame(t, c, fhir.NotifyHandshake)
	wantStatus(t, do(t, "POST", s.URL+"/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"hr"}}`, bearer("ops")...), 201)
	nextSockFrame(t, c, fhir.NotifyEvent)
	revoked.Store(true)
	if final := nextSockFrame(t, c, fhir.NotifyQueryStatus); final.Status != "error" {
		t.Fatalf("after revocation: %s, want a query-status error", final.raw)
	}
	if code := closeCode(t, c); code != 4001 {
		t.Fatalf("after revocation the socket closed with %d, want 4001", code)
	}
	wantStatus(t, do(t, "GET", s.URL+"/fhir/Subscription/"+id, "", bearer("alice")...), 401)
	if strings.Contains(s.Logs.String(), "s3cret") {
		t.Error("the client secret appears in the logs")
	}
}
