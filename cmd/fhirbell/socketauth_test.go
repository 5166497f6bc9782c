package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
)

// sockFrame is one server message, decoded enough to assert on.
type sockFrame struct {
	raw string
	fhir.NotificationSummary
}

// numbers returns the event numbers as "1,2".
func (f sockFrame) numbers() string {
	s := make([]string, len(f.Events))
	for i, n := range f.Events {
		s[i] = strconv.FormatInt(n, 10)
	}
	return strings.Join(s, ",")
}

func readSockFrame(t *testing.T, c *websocket.Conn, within time.Duration) (sockFrame, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	_, b, err := c.ReadMessage()
	if err != nil {
		return sockFrame{}, err
	}
	n, _ := fhir.ReadNotification(b)
	return sockFrame{raw: string(b), NotificationSummary: n}, nil
}

// nextSockFrame reads frames until one of type typ, skipping heartbeats.
func nextSockFrame(t *testing.T, c *websocket.Conn, typ string) sockFrame {
	t.Helper()
	for {
		f, err := readSockFrame(t, c, 15*time.Second)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if f.Type == typ {
			return f
		}
		if f.Type != fhir.NotifyHeartbeat {
			t.Fatalf("got %q (%s) while waiting for %s", f.Type, f.raw, typ)
		}
	}
}

func reauthFrame(token string) string {
	return `{"resourceType":"Bundle","type":"collection","meta":{"extension":[{"url":"` + fhir.AccessTokenURL + `","valueString":"` + token + `"}]}}`
}

// TestSocketReauthAndExpiry is the seed problem end to end, in auth mode
// jwt with real signed tokens: a socket opened with a short-lived token
// keeps receiving past its expiry after an in-band renewal, and a socket
// that is not renewed gets a final query-status error and close 4001, after
// which resume on a new socket recovers every event, without a gap.
func TestSocketReauthAndExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for tokens to expire")
	}
	s, is := authServer(t)
	wsURL := "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
	admin := bearer(is.token(t, "ops", "system/*.cruds", "", time.Hour))
	scopes := "user/Subscription.cruds user/Observation.rs"
	long := is.token(t, "alice", scopes, "", time.Hour)
	sub := `{"resourceType":"Subscription","status":"requested","criteria":"Observation","channel":{"type":"websocket","payload":"application/fhir+json"}}`
	write := func() {
		wantStatus(t, do(t, "POST", s.URL+"/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"hr"}}`, admin...), 201)
	}
	dial := func(token string) *websocket.Conn {
		c, res, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Authorization": {"Bearer " + token}})
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, res)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	// Renewed in band.
	renewed := do(t, "POST", s.URL+"/fhir/Subscription", sub, bearer(long)...)
	wantStatus(t, renewed, 201)
	rid := renewed.Body["id"].(string)
	tok := do(t, "GET", s.URL+"/fhir/Subscription/"+rid+"/$get-ws-binding-token", "", bearer(long)...)
	wantStatus(t, tok, 200)
	secret := tok.Body["parameter"].([]any)[0].(map[string]any)["valueString"].(string)
	// The server accepts a token until exp plus the 30 s leeway, on
	// REST and sockets alike: a token "5 s from the end" has its exp 25 s
	// in the past.
	nearlyGone := 5*time.Second - auth.DefaultLeeway
	c := dial(is.token(t, "alice", scopes, "", nearlyGone))
	c.WriteMessage(websocket.TextMessage, []byte("bind-with-token "+secret))
	nextSockFrame(t, c, fhir.NotifyHandshake)
	c.WriteMessage(websocket.TextMessage, []byte(reauthFrame(long)))
	if st := nextSockFrame(t, c, fhir.NotifyQueryStatus); st.Status != "active" || !strings.Contains(st.raw, fhir.AuthExpiresURL) {
		t.Fatalf("re-auth answer = %s", st.raw)
	}
	time.Sleep(5500 * time.Millisecond) // past the first token's expiry
	write()
	if got := nextSockFrame(t, c, fhir.NotifyEvent); got.numbers() != "1" {
		t.Fatalf("after renewal: events %v", got.Events)
	}

	// Not renewed: query-status error, 4001, then resume elsewhere.
	lapsed := do(t, "POST", s.URL+"/fhir/Subscription", sub, bearer(long)...)
	lid := lapsed.Body["id"].(string)
	short := is.token(t, "alice", scopes, "", nearlyGone)
	tk := do(t, "GET", s.URL+"/fhir/Subscription/"+lid+"/$get-ws-binding-token", "", bearer(short)...)
	lsecret := tk.Body["parameter"].([]any)[0].(map[string]any)["valueString"].(string)
	c2 := dial(short)
	c2.WriteMessage(websocket.TextMessage, []byte("bind-with-token "+lsecret))
	nextSockFrame(t, c2, fhir.NotifyHandshake)
	write() // event 1 of the lapsed subscription
	nextSockFrame(t, c2, fhir.NotifyEvent)
	final := nextSockFrame(t, c2, fhir.NotifyQueryStatus)
	if final.Status != "error" {
		t.Fatalf("final status = %q, want error: %s", final.Status, final.raw)
	}
	_, err := readSockFrame(t, c2, 5*time.Second)
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != 4001 {
		t.Fatalf("after expiry: %v, want close 4001", err)
	}
	write() // events 2 and 3 happen while nobody listens
	write()
	c3 := dial(long)
	c3.WriteMessage(websocket.TextMessage, []byte("resume "+lid+" 1"))
	var got []string
	for len(got) < 2 {
		f, err := readSockFrame(t, c3, 10*time.Second)
		if err != nil {
			t.Fatalf("resume: %v (got %v)", err, got)
		}
		if n := f.numbers(); n != "" {
			got = append(got, n)
		}
	}
	if strings.Join(got, ",") != "2,3" {
		t.Fatalf("resumed events %v, want 2,3", got)
	}
	for _, secretText := range []string{long, short, secret, lsecret} {
		if strings.Contains(s.Logs.String(), secretText) {
			t.Fatal("a token appears in the logs")
		}
	}
}
