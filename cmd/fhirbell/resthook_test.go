package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/fhirtest"
	"github.com/fhirbell/fhirbell/resthook/resthooktest"
)

// The rest-hook end-to-end tests run the real server and a real HTTP
// receiver on loopback (resthooktest), which the server may reach only
// because FHIRBELL_REST_HOOK_ALLOW says so.

const (
	hookToken  = "Bearer e2e-hook-credential"
	hookSecret = "e2e-hmac-secret"
	hbURL      = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period"
	mcURL      = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-max-count"
	toURL      = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-timeout"
)

// restHookSub is a rest-hook Subscription on the LOINC 8867-4
// Observations of clusterObs, with a header, a Medplum secret, max-count
// 2 and, when heartbeat > 0, heartbeats.
func restHookSub(endpoint string, heartbeat int) string {
	exts := fmt.Sprintf(`{"url":%q,"valuePositiveInt":2},{"url":%q,"valueUnsignedInt":2}`, mcURL, toURL)
	if heartbeat > 0 {
		exts += fmt.Sprintf(`,{"url":%q,"valueUnsignedInt":%d}`, hbURL, heartbeat)
	}
	return fmt.Sprintf(`{"resourceType":"Subscription","status":"requested","reason":"rest-hook e2e",
 "extension":[{"url":"https://medplum.com/fhir/StructureDefinition/subscription-secret","valueString":%q}],
 "criteria":"Observation?code=http://loinc.org|8867-4",
 "channel":{"type":"rest-hook","endpoint":%q,"payload":"application/fhir+json",
  "header":["Authorization: %s"],"extension":[%s]}}`, hookSecret, endpoint, hookToken, exts)
}

func createRestHook(t *testing.T, base, body string) string {
	t.Helper()
	r := do(t, "POST", base+"/fhir/Subscription", body)
	wantStatus(t, r, http.StatusCreated)
	if st := r.Body["status"]; st != "requested" {
		t.Fatalf("a new rest-hook subscription is %v, want requested until its handshake", st)
	}
	return r.Body["id"].(string)
}

// hookStatus is a rest-hook subscription's $status, decoded.
type hookStatus struct {
	Status, Error, ErrorCode string
	EventsSinceStart         string
	Ext                      map[string]string // rest-hook-* extensions by their last URL segment
}

func restHookStatus(t *testing.T, base, id string) hookStatus {
	t.Helper()
	r := do(t, "GET", base+"/fhir/Subscription/"+id+"/$status", "")
	wantStatus(t, r, http.StatusOK)
	if err := fhirtest.ValidateStatusBundle(r.Raw); err != nil {
		t.Fatalf("$status bundle: %v\n%s", err, r.Raw)
	}
	var b struct {
		Entry []struct {
			Resource struct {
				Meta struct {
					Extension []struct{ URL, ValueString, ValueInstant string }
				}
				Parameter []struct {
					Name                 string
					ValueCode            string
					ValueString          string
					ValueCodeableConcept struct {
						Coding []struct{ Code string }
						Text   string
					}
				}
			}
		}
	}
	if err := json.Unmarshal(r.Raw, &b); err != nil || len(b.Entry) != 1 {
		t.Fatalf("$status: %v %s", err, r.Raw)
	}
	out := hookStatus{Ext: map[string]string{}}
	res := b.Entry[0].Resource
	for _, e := range res.Meta.Extension {
		out.Ext[e.URL[strings.LastIndex(e.URL, "rest-hook-")+len("rest-hook-"):]] = e.ValueString + e.ValueInstant
	}
	for _, p := range res.Parameter {
		switch p.Name {
		case "status":
			out.Status = p.ValueCode
		case "events-since-subscription-start":
			out.EventsSinceStart = p.ValueString
		case "error":
			out.Error = p.ValueCodeableConcept.Text
			if len(p.ValueCodeableConcept.Coding) > 0 {
				out.ErrorCode = p.ValueCodeableConcept.Coding[0].Code
			}
		}
	}
	return out
}

// waitStatus polls $status until cond holds.
func waitStatus(t *testing.T, base, id, what string, cond func(hookStatus) bool) hookStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := restHookStatus(t, base, id)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("$status of Subscription/%s never became %s; last %+v", id, what, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func wantAcked(t *testing.T, rcv *resthooktest.Receiver, n int64) []resthooktest.Received {
	t.Helper()
	return rcv.Wait(t, 20*time.Second, fmt.Sprintf("events 1..%d", n), func(all []resthooktest.Received) bool {
		return len(resthooktest.Acked(all)) >= int(n)
	})
}

// firstSeen returns nums with repeats after their first occurrence
// dropped (at least once: a receiver deduplicates by number).
func firstSeen(nums []int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, n := range nums {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// TestRestHookEndToEnd: a minimal receiver gets a handshake, then every
// event in order with its number, heartbeats when idle, the headers it
// asked for and a valid signature; $status and /metrics say so, and the
// logs never show the header or the secret.
func TestRestHookEndToEnd(t *testing.T) {
	rcv := resthooktest.MustNew(t)
	srv := mustRunServe(t, map[string]string{"FHIRBELL_REST_HOOK_ALLOW": "127.0.0.1/8"})
	id := createRestHook(t, srv.URL, restHookSub(rcv.URL, 1))

	all := rcv.Wait(t, 10*time.Second, "handshake", func(all []resthooktest.Received) bool {
		return resthooktest.Count(all, fhir.NotifyHandshake) > 0
	})
	hs := all[0]
	if hs.Summary.Type != fhir.NotifyHandshake || hs.Summary.Status != "requested" || hs.Summary.SubscriptionID() != id {
		t.Fatalf("first POST = %+v, want a handshake of Subscription/%s", hs.Summary, id)
	}
	fhirtest.MustValidNotification(t, hs.Body)
	if ct := hs.Header.Get("Content-Type"); ct != "application/fhir+json" {
		t.Errorf("Content-Type = %q, want channel.payload", ct)
	}
	if got := hs.Header.Get("Authorization"); got != hookToken {
		t.Errorf("channel.header not sent: Authorization = %q", got)
	}
	mac := hmac.New(sha256.New, []byte(hookSecret))
	mac.Write(hs.Body)
	if got := hs.Header.Get("X-Signature"); got != hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("X-Signature = %q, want HMAC-SHA256 of the body", got)
	}
	waitStatus(t, srv.URL, id, "active", func(s hookStatus) bool { return s.Status == "active" })
	if r := do(t, "GET", srv.URL+"/fhir/Subscription/"+id, ""); r.Body["status"] != "active" {
		t.Errorf("Subscription.status after the handshake = %v", r.Body["status"])
	}

	for range 5 {
		writeObs(t, srv.URL)
	}
	all = wantAcked(t, rcv, 5)
	if got := resthooktest.Acked(all); !slices.Equal(got, seq(1, 5)) {
		t.Fatalf("acknowledged events = %v, want 1..5 once each, in order", got)
	}
	for _, rec := range all {
		if rec.Summary.Type == fhir.NotifyEvent {
			fhirtest.MustValidContent(t, rec.Body, "full-resource")
			if len(rec.Summary.Events) > 2 {
				t.Errorf("a notification carries %d events; max-count is 2", len(rec.Summary.Events))
			}
		}
	}
	rcv.Wait(t, 10*time.Second, "heartbeat", func(all []resthooktest.Received) bool {
		return resthooktest.Count(all, fhir.NotifyHeartbeat) > 0
	})
	st := waitStatus(t, srv.URL, id, "all acknowledged", func(s hookStatus) bool { return s.Ext["last-event-acknowledged"] == "5" })
	if st.Status != "active" || st.EventsSinceStart != "5" || st.Error != "" || st.Ext["events-delivered"] != "5" || st.Ext["failed-attempts"] != "0" {
		t.Errorf("$status = %+v", st)
	}
	metrics := getText(t, srv.URL+"/metrics")
	for _, want := range []string{
		`fhirbell_rest_hook_posts_total{code="",kind="handshake",result="delivered"} 1`,
		`fhirbell_rest_hook_events_delivered_total 5`,
		`fhirbell_rest_hook_leased_subscriptions 1`,
		`fhirbell_rest_hook_event_latency_seconds_count 5`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if r := do(t, "GET", srv.URL+"/fhir/Subscription/"+id+"/$websocket-ticket", ""); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Raw), "rest-hook") {
		t.Errorf("a ticket for a rest-hook subscription: %d %s", r.Status, r.Raw)
	}
	cs := getText(t, srv.URL+"/fhir/metadata")
	if !strings.Contains(cs, `"url":"https://fhirbell.dev/fhir/StructureDefinition/capabilitystatement-subscription-channel","valueCode":"rest-hook"`) || !strings.Contains(cs, "Channels: rest-hook") {
		t.Error("the CapabilityStatement does not advertise the rest-hook channel")
	}
	for _, secret := range []string{"e2e-hook-credential", hookSecret} {
		if strings.Contains(srv.Logs.String(), secret) {
			t.Errorf("the logs show %q", secret)
		}
	}
}

// TestRestHookFailureThenRecovery: the endpoint fails; deliveries are
// retried with backoff, the subscription goes to error and $status and
// /metrics say why and since when, events keep being numbered; when the
// endpoint recovers every event arrives in order, none missing, and the
// subscription is active again.
func TestRestHookFailureThenRecovery(t *testing.T) {
	rcv := resthooktest.MustNew(t)
	srv := mustRunServe(t, map[string]string{
		"FHIRBELL_REST_HOOK_ALLOW":        "127.0.0.1/8",
		"FHIRBELL_REST_HOOK_ERROR_AFTER":  "300ms",
		"FHIRBELL_REST_HOOK_BACKOFF_BASE": "20ms",
		"FHIRBELL_REST_HOOK_BACKOFF_MAX":  "200ms",
	})
	id := createRestHook(t, srv.URL, restHookSub(rcv.URL, 0))
	waitStatus(t, srv.URL, id, "active", func(s hookStatus) bool { return s.Status == "active" })
	writeObs(t, srv.URL)
	wantAcked(t, rcv, 1)

	rcv.SetStatus(http.StatusServiceUnavailable)
	for range 3 {
		writeObs(t, srv.URL)
	}
	st := waitStatus(t, srv.URL, id, "error", func(s hookStatus) bool { return s.Status == "error" })
	if st.ErrorCode != "error-response" || !strings.Contains(st.Error, "503") || !strings.Contains(st.Error, "failing since") || st.Ext["failing-since"] == "" {
		t.Errorf("$status in error = %+v, want why (503, error-response) and since when", st)
	}
	if st.Ext["last-event-acknowledged"] != "1" {
		t.Errorf("the cursor moved without a 2xx: %+v", st)
	}
	r := do(t, "GET", srv.URL+"/fhir/Subscription/"+id, "")
	if r.Body["status"] != "error" || !strings.Contains(fmt.Sprint(r.Body["error"]), "503") {
		t.Errorf("Subscription in error = %v %v", r.Body["status"], r.Body["error"])
	}
	writeObs(t, srv.URL) // numbered while in error
	waitStatus(t, srv.URL, id, "5 events", func(s hookStatus) bool { return s.EventsSinceStart == "5" })
	if m := getText(t, srv.URL+"/metrics"); !strings.Contains(m, `fhirbell_rest_hook_posts_total{code="error-response",kind="event-notification",result="failed"}`) {
		t.Error("/metrics does not count the failed POSTs")
	}

	rcv.SetStatus(http.StatusOK)
	all := wantAcked(t, rcv, 5)
	if got := resthooktest.Acked(all); !slices.Equal(got, seq(1, 5)) {
		t.Fatalf("acknowledged events = %v, want 1..5 in order with no gap", got)
	}
	st = waitStatus(t, srv.URL, id, "active again", func(s hookStatus) bool { return s.Status == "active" })
	if st.Error != "" || st.Ext["consecutive-failures"] != "0" || st.Ext["failed-attempts"] == "0" {
		t.Errorf("$status after recovery = %+v", st)
	}
}

// TestRestHookHandshakeRefused: an endpoint that refuses the handshake
// puts the subscription in error at once; when it accepts a retry, the
// subscription becomes active.
func TestRestHookHandshakeRefused(t *testing.T) {
	rcv := resthooktest.MustNew(t)
	rcv.SetStatus(http.StatusForbidden)
	srv := mustRunServe(t, map[string]string{
		"FHIRBELL_REST_HOOK_ALLOW":        "127.0.0.1/8",
		"FHIRBELL_REST_HOOK_BACKOFF_BASE": "50ms",
		"FHIRBELL_REST_HOOK_BACKOFF_MAX":  "100ms",
	})
	id := createRestHook(t, srv.URL, restHookSub(rcv.URL, 0))
	st := waitStatus(t, srv.URL, id, "error", func(s hookStatus) bool { return s.Status == "error" })
	if !strings.Contains(st.Error, "403") || st.ErrorCode != "error-response" {
		t.Errorf("$status after a refused handshake = %+v", st)
	}
	writeObs(t, srv.URL)
	rcv.SetStatus(http.StatusNoContent)
	waitStatus(t, srv.URL, id, "active", func(s hookStatus) bool { return s.Status == "active" })
	all := wantAcked(t, rcv, 1)
	if resthooktest.Count(all, fhir.NotifyHandshake) != 1 || !slices.Equal(resthooktest.Acked(all), []int64{1}) {
		t.Errorf("POSTs = %s", resthooktest.Describe(all))
	}
}

// TestRestHookRefusedEndpoints: loopback, private, link-local (metadata)
// endpoints are refused with a 400 unless the allow list admits them.
func TestRestHookRefusedEndpoints(t *testing.T) {
	closed := mustRunServe(t, nil)
	open := mustRunServe(t, map[string]string{"FHIRBELL_REST_HOOK_ALLOW": "127.0.0.1/8"})
	for _, tt := range []struct {
		endpoint string
		openOK   bool
	}{
		{"http://127.0.0.1:9/hook", true},
		{"http://localhost:9/hook", true}, // when it resolves to 127.0.0.1 alone (some hosts add ::1, which 127.0.0.1/8 does not cover)
		{"http://[::1]:9/hook", false},
		{"http://10.0.0.1/hook", false},
		{"http://192.168.1.10/hook", false},
		{"http://169.254.169.254/latest/meta-data/", false},
		{"http://[fd00:ec2::254]/", false},
		{"http://0.0.0.0:9/", false},
	} {
		r := do(t, "POST", closed.URL+"/fhir/Subscription", restHookSub(tt.endpoint, 0))
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Raw), "Subscription.channel.endpoint") {
			t.Errorf("%s without an allow list: %d %s", tt.endpoint, r.Status, r.Raw)
		}
		r = do(t, "POST", open.URL+"/fhir/Subscription", restHookSub(tt.endpoint, 0))
		if strings.Contains(tt.endpoint, "localhost") && hasIPv6Localhost() {
			continue
		}
		if tt.openOK != (r.Status == http.StatusCreated) {
			t.Errorf("%s with 127.0.0.1/8 allowed: %d %s", tt.endpoint, r.Status, r.Raw)
		}
	}
	// Update is checked as create is.
	rcvOK := do(t, "POST", open.URL+"/fhir/Subscription", restHookSub("http://127.0.0.1:9/hook", 0))
	wantStatus(t, rcvOK, http.StatusCreated)
	body := strings.Replace(restHookSub("http://169.254.169.254/", 0), `"resourceType":"Subscription",`, `"resourceType":"Subscription","id":"`+rcvOK.Body["id"].(string)+`",`, 1)
	if r := do(t, "PUT", open.URL+"/fhir/Subscription/"+rcvOK.Body["id"].(string), body); r.Status != http.StatusBadRequest {
		t.Errorf("update to a metadata endpoint: %d %s", r.Status, r.Raw)
	}
}

// hasIPv6Localhost reports whether localhost resolves to ::1 here.
func hasIPv6Localhost() bool {
	addrs, _ := net.LookupHost("localhost")
	return slices.Contains(addrs, "::1")
}
