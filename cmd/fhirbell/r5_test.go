package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/fhirtest"
	"github.com/fhirbell/fhirbell/resthook/resthooktest"
	"github.com/fhirbell/fhirbell/subscription"
)

// r5Sub is an R5 websocket Subscription on heart-rate Observations
// (clusterObs matches it), with full-resource content and a 1 s heartbeat.
func r5Sub() string {
	return `{"resourceType":"Subscription","status":"requested","reason":"R5 e2e",
	 "topic":"` + subscription.ChangedTopic("Observation") + `",
	 "filterBy":[{"resourceType":"Observation","filterParameter":"code","value":"http://loinc.org|8867-4"}],
	 "channelType":{"system":"http://terminology.hl7.org/CodeSystem/subscription-channel-type","code":"websocket"},
	 "heartbeatPeriod":1,"contentType":"application/fhir+json","content":"full-resource","maxCount":5}`
}

// TestR5Client is an R5 client end to end: it creates an R5 Subscription
// at /fhir/R5, reads it back as R5 (the store holds the one R4 model, as
// /fhir shows), binds a socket with an R5 binding token, and receives R5
// handshake, event-notification and heartbeat Bundles for an Observation
// written at /fhir, the same event log; $status and $events answer R5
// shapes; bad R5 input is an OperationOutcome naming the R5 element.
func TestR5Client(t *testing.T) {
	srv := mustRunServe(t, nil)
	r5 := srv.URL + "/fhir/R5"

	cs := do(t, "GET", r5+"/metadata", "")
	wantStatus(t, cs, http.StatusOK)
	if cs.Body["fhirVersion"] != "5.0.0" {
		t.Errorf("R5 CapabilityStatement fhirVersion %v", cs.Body["fhirVersion"])
	}
	if r4 := do(t, "GET", srv.URL+"/fhir/metadata", ""); r4.Body["fhirVersion"] != "4.0.1" {
		t.Errorf("R4 CapabilityStatement fhirVersion %v", r4.Body["fhirVersion"])
	}

	created := do(t, "POST", r5+"/Subscription", r5Sub())
	wantStatus(t, created, http.StatusCreated)
	id, _ := created.Body["id"].(string)
	if loc := created.Header.Get("Location"); !strings.HasPrefix(loc, r5+"/Subscription/"+id+"/_history/") {
		t.Errorf("Location %s is not under the R5 endpoint", loc)
	}
	mustR5Subscription(t, created.Raw)
	if created.Body["status"] != "active" || created.Body["topic"] != subscription.ChangedTopic("Observation") || created.Body["criteria"] != nil {
		t.Errorf("created: %s", created.Raw)
	}

	read := do(t, "GET", r5+"/Subscription/"+id, "")
	wantStatus(t, read, http.StatusOK)
	mustR5Subscription(t, read.Raw)
	fb := read.Body["filterBy"].([]any)[0].(map[string]any)
	if fb["filterParameter"] != "code" || fb["value"] != "http://loinc.org|8867-4" || read.Body["maxCount"] != float64(5) || read.Body["heartbeatPeriod"] != float64(1) {
		t.Errorf("read back: %s", read.Raw)
	}
	stored := do(t, "GET", srv.URL+"/fhir/Subscription/"+id, "")
	fhirtest.MustValidR4(t, stored.Raw)
	if stored.Body["criteria"] != subscription.ChangedTopic("Observation") || !strings.Contains(string(stored.Raw), "fhirVersion=5.0") {
		t.Errorf("the R4 endpoint shows another model: %s", stored.Raw)
	}
	found := do(t, "GET", r5+"/Subscription?_id="+id, "")
	entries, _ := found.Body["entry"].([]any)
	if len(entries) != 1 {
		t.Fatalf("search: %s", found.Raw)
	}
	res, _ := json.Marshal(entries[0].(map[string]any)["resource"])
	mustR5Subscription(t, res)
	hist := do(t, "GET", r5+"/Subscription/"+id+"/_history", "")
	res, _ = json.Marshal(hist.Body["entry"].([]any)[0].(map[string]any)["resource"])
	mustR5Subscription(t, res)

	tok := do(t, "POST", r5+"/Subscription/"+id+"/$get-ws-binding-token", "")
	wantStatus(t, tok, http.StatusOK)
	params := map[string]string{}
	for _, p := range tok.Body["parameter"].([]any) {
		p := p.(map[string]any)
		for k, v := range p {
			if strings.HasPrefix(k, "value") {
				params[p["name"].(string)] = fmt.Sprint(v)
			}
		}
	}
	if params["token"] == "" || params["expiration"] == "" || params["subscription"] != id || !strings.HasPrefix(params["websocket-url"], "ws://") {
		t.Fatalf("$get-ws-binding-token: %s", tok.Raw)
	}
	conn := dialWS(t, params["websocket-url"])
	if err := conn.WriteMessage(websocket.TextMessage, []byte("bind-with-token "+params["token"])); err != nil {
		t.Fatal(err)
	}
	hs := readR5(t, conn, fhir.NotifyHandshake)
	if hs.Subscription != r5+"/Subscription/"+id {
		t.Errorf("handshake names %s, want the R5 endpoint's Subscription", hs.Subscription)
	}

	wantStatus(t, do(t, "POST", srv.URL+"/fhir/Observation", strings.Replace(clusterObs, "8867-4", "1234-5", 1)), 201)
	writeObs(t, srv.URL) // through the R4 endpoint: one event log
	ev := readR5(t, conn, fhir.NotifyEvent)
	if len(ev.Events) != 1 || ev.Events[0] != 1 || ev.EventsSinceStart != 1 || len(ev.Focus) != 1 || !strings.HasPrefix(ev.Focus[0], r5+"/Observation/") {
		t.Errorf("event: %+v", ev)
	}
	hb := readR5(t, conn, fhir.NotifyHeartbeat)
	if hb.EventsSinceStart != 1 || len(hb.Events) != 0 {
		t.Errorf("heartbeat: %+v", hb)
	}

	st := do(t, "GET", r5+"/Subscription/"+id+"/$status", "")
	wantStatus(t, st, http.StatusOK)
	if err := fhirtest.ValidateVersionStatusBundle(fhir.R5, st.Raw); err != nil {
		t.Fatalf("$status: %v\n%s", err, st.Raw)
	}
	ss := st.Body["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
	if ss["resourceType"] != "SubscriptionStatus" || ss["eventsSinceSubscriptionStart"] != "1" || ss["status"] != "active" {
		t.Errorf("$status: %s", st.Raw)
	}
	evs := do(t, "GET", r5+"/Subscription/"+id+"/$events?eventsSinceNumber=1", "")
	wantStatus(t, evs, http.StatusOK)
	fhirtest.MustValidVersionContent(t, fhir.R5, evs.Raw, fhir.ContentFullResource)
	if sum, ok := fhir.ReadNotification(evs.Raw); !ok || sum.Type != fhir.NotifyQueryEvent || sum.Version != fhir.R5 || len(sum.Events) != 1 {
		t.Errorf("$events: %+v %s", sum, evs.Raw)
	}
	if r4 := do(t, "GET", srv.URL+"/fhir/Subscription/"+id+"/$status", ""); fhirtest.ValidateStatusBundle(r4.Raw) != nil {
		t.Errorf("the R4 endpoint's $status is not R4: %s", r4.Raw)
	}

	for _, tc := range []struct{ name, body, expr, code string }{
		{"filter the topic does not offer", strings.Replace(r5Sub(), `"filterParameter":"code"`, `"filterParameter":"no-such-param"`, 1), "Subscription.filterBy[0]", fhir.IssueNotSupported},
		{"unknown topic", strings.Replace(r5Sub(), "Observation-changed", "Nothing-changed", 1), "Subscription.topic", fhir.IssueNotSupported},
		{"email channel", strings.Replace(r5Sub(), `"code":"websocket"`, `"code":"email"`, 1), "Subscription.channelType", fhir.IssueNotSupported},
		{"R4 body at the R5 endpoint", `{"resourceType":"Subscription","status":"active","criteria":"Observation","channel":{"type":"websocket"}}`, "Subscription.criteria", fhir.IssueInvalid},
		{"maxCount zero", strings.Replace(r5Sub(), `"maxCount":5`, `"maxCount":0`, 1), "Subscription.maxCount", fhir.IssueInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "POST", r5+"/Subscription", tc.body)
			wantStatus(t, r, http.StatusBadRequest)
			iss := r.Body["issue"].([]any)[0].(map[string]any)
			exprs, _ := iss["expression"].([]any)
			if r.Body["resourceType"] != "OperationOutcome" || iss["code"] != tc.code || len(exprs) == 0 || !strings.HasPrefix(exprs[0].(string), tc.expr) {
				t.Errorf("want %s at %s: %s", tc.code, tc.expr, r.Raw)
			}
		})
	}
	if r := do(t, "POST", r5, `{"resourceType":"Bundle","type":"batch","entry":[{"resource":`+r5Sub()+`,"request":{"method":"POST","url":"Subscription"}}]}`); r.Status != http.StatusBadRequest {
		t.Errorf("a batch with a Subscription at the R5 endpoint: %d %s", r.Status, r.Raw)
	}
}

// TestR5RestHook: an R5 rest-hook Subscription is POSTed R5 Bundles.
func TestR5RestHook(t *testing.T) {
	rcv := resthooktest.MustNew(t)
	srv := mustRunServe(t, map[string]string{"FHIRBELL_REST_HOOK_ALLOW": "127.0.0.1/8"})
	body := strings.Replace(r5Sub(), `"code":"websocket"}`, `"code":"rest-hook"},"endpoint":"`+rcv.URL+`","parameter":[{"name":"Authorization","value":"`+hookToken+`"}]`, 1)
	body = strings.Replace(body, `"heartbeatPeriod":1,`, ``, 1)
	created := do(t, "POST", srv.URL+"/fhir/R5/Subscription", body)
	wantStatus(t, created, http.StatusCreated)
	mustR5Subscription(t, created.Raw)
	id := created.Body["id"].(string)
	rcv.Wait(t, 20*time.Second, "a handshake", func(all []resthooktest.Received) bool {
		return resthooktest.Count(all, fhir.NotifyHandshake) > 0
	})
	writeObs(t, srv.URL)
	all := wantAcked(t, rcv, 1)
	for _, rec := range all {
		if rec.Summary.Version != fhir.R5 {
			t.Errorf("%s POSTed as %s", rec.Summary.Type, rec.Summary.Version)
		}
		if err := fhirtest.ValidateNotification(fhir.R5, rec.Body); err != nil {
			t.Errorf("%s: %v\n%s", rec.Summary.Type, err, rec.Body)
		}
		if rec.Summary.Subscription != srv.URL+"/fhir/R5/Subscription/"+id {
			t.Errorf("%s names %s", rec.Summary.Type, rec.Summary.Subscription)
		}
		if got := rec.Header.Get("Authorization"); got != hookToken {
			t.Errorf("parameter not sent as a header: %q", got)
		}
	}
}

func mustR5Subscription(t *testing.T, b []byte) {
	t.Helper()
	if err := fhirtest.ValidateR5Subscription(b); err != nil {
		t.Fatalf("not an R5 Subscription: %v\n%s", err, b)
	}
}

// readR5 reads frames up to the first of type typ, failing on an
// OperationOutcome; every notification on the way must be a valid R5
// Bundle.
func readR5(t *testing.T, conn *websocket.Conn, typ string) fhir.NotificationSummary {
	t.Helper()
	for {
		data, err := readFrame(conn)
		if err != nil {
			t.Fatalf("waiting for an R5 %s: %v", typ, err)
		}
		sum, ok := fhir.ReadNotification(data)
		if !ok {
			t.Fatalf("waiting for an R5 %s, got %s", typ, data)
		}
		if err := fhirtest.ValidateContent(fhir.R5, data, fhir.ContentFullResource); err != nil {
			t.Fatalf("%s is not a valid R5 full-resource notification: %v\n%s", sum.Type, err, data)
		}
		if sum.Version != fhir.R5 {
			t.Fatalf("%s in version %s", sum.Type, sum.Version)
		}
		if sum.Type == typ {
			if typ == fhir.NotifyEvent && !strings.Contains(string(data), `"resourceType":"Observation"`) {
				t.Errorf("full-resource event without the Observation: %s", data)
			}
			return sum
		}
	}
}
