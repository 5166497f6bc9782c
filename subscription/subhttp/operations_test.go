package subhttp

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/fhir/fhirtest"
	"github.com/fhirbell/fhirbell/subscription"
)

const wsCriteriaSub = `{"resourceType":"Subscription","status":"requested","reason":"test",
 "criteria":"Observation?code=http://loinc.org|8867-4",
 "channel":{"type":"websocket","payload":"application/fhir+json"}}`

func topicSub(content string) string {
	return `{"resourceType":"Subscription","status":"requested","reason":"test",
 "criteria":"` + subscription.ChangedTopic("Observation") + `",
 "channel":{"type":"websocket","payload":"application/fhir+json",
  "_payload":{"extension":[{"url":"` + subscription.ExtPayloadContent + `","valueCode":"` + content + `"}]}}}`
}

func hr(code string) string {
	return `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"` + code + `"}]}}`
}

// paramValues returns the values of the named parameter of a Parameters
// response, whatever their value[x].
func paramValues(p map[string]any, name string) []string {
	var out []string
	for _, par := range list(p, "parameter") {
		if str(par, "name") != name {
			continue
		}
		for k, v := range par.(map[string]any) {
			if strings.HasPrefix(k, "value") {
				out = append(out, fmt.Sprint(v))
			}
		}
	}
	return out
}

// statusParam returns the value of a parameter of a status Parameters.
func statusParam(status any, name string) string {
	for _, par := range list(status, "parameter") {
		if str(par, "name") == name {
			for k, v := range par.(map[string]any) {
				if strings.HasPrefix(k, "value") {
					if m, ok := v.(map[string]any); ok {
						return fmt.Sprint(m["reference"])
					}
					return fmt.Sprint(v)
				}
			}
		}
	}
	return ""
}

func TestWebsocketSubscriptionCreateLinksTicket(t *testing.T) {
	s := newTestServer(t, Config{})
	res := s.mustDo(t, 201, "POST", "/fhir/Subscription", wsCriteriaSub)
	id := str(res.body, "id")
	if str(res.body, "status") != "active" {
		t.Errorf("created subscription status = %q, want active", str(res.body, "status"))
	}
	want := fmt.Sprintf(`<%s/fhir/Subscription/%s/$websocket-ticket>; rel="websocket-ticket"`, s.URL, id)
	if got := res.header.Get("Link"); got != want {
		t.Fatalf("Link = %q, want %q", got, want)
	}
	if res := s.mustDo(t, 201, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`); res.header.Get("Link") != "" {
		t.Errorf("a Patient create has a Link header")
	}
}

func TestStatusAndEventsOperations(t *testing.T) {
	s := newTestServer(t, Config{})
	id := str(s.mustDo(t, 201, "POST", "/fhir/Subscription", topicSub("id-only")).body, "id")
	other := str(s.mustDo(t, 201, "POST", "/fhir/Subscription", wsCriteriaSub).body, "id")
	var obsIDs []string
	for _, code := range []string{"8867-4", "1234-5", "8867-4"} {
		obsIDs = append(obsIDs, str(s.mustDo(t, 201, "POST", "/fhir/Observation", hr(code)).body, "id"))
	}

	st := s.mustDo(t, 200, "GET", "/fhir/Subscription/"+id+"/$status", "")
	if err := fhirtest.ValidateStatusBundle(st.raw); err != nil {
		t.Fatalf("$status bundle invalid: %v\n%s", err, st.raw)
	}
	status := get(st.body, "entry", 0, "resource")
	if got := statusParam(status, "events-since-subscription-start"); got != "3" {
		t.Errorf("events-since-subscription-start = %s, want 3", got)
	}
	if got := statusParam(status, "topic"); got != subscription.ChangedTopic("Observation") {
		t.Errorf("topic = %s", got)
	}

	// Type level: several ids, and the status filter.
	both := s.mustDo(t, 200, "GET", "/fhir/Subscription/$status?id="+id+","+other, "")
	if n := len(list(both.body, "entry")); n != 2 {
		t.Fatalf("type-level $status has %d entries, want 2", n)
	}
	if got := statusParam(get(both.body, "entry", 1, "resource"), "events-since-subscription-start"); got != "2" {
		t.Errorf("criteria subscription counted %s events, want 2", got)
	}
	none := s.mustDo(t, 200, "GET", "/fhir/Subscription/$status?status=off", "")
	if n := len(list(none.body, "entry")); n != 0 {
		t.Errorf("status=off matched %d subscriptions", n)
	}
	all := s.mustDo(t, 200, "POST", "/fhir/Subscription/$status", `{"resourceType":"Parameters","parameter":[{"name":"status","valueCode":"active"}]}`)
	if n := len(list(all.body, "entry")); n != 2 {
		t.Errorf("POST $status status=active has %d entries, want 2", n)
	}

	ev := s.mustDo(t, 200, "GET", "/fhir/Subscription/"+id+"/$events?eventsSinceNumber=2&eventsUntilNumber=3", "")
	fhirtest.MustValidContent(t, ev.raw, "id-only")
	if got := statusParam(get(ev.body, "entry", 0, "resource"), "type"); got != "query-event" {
		t.Errorf("$events type = %s", got)
	}
	entries := list(ev.body, "entry")
	if len(entries) != 3 || !strings.HasSuffix(str(entries[1], "fullUrl"), "/Observation/"+obsIDs[1]) {
		t.Fatalf("$events entries = %v", entries)
	}

	full := s.mustDo(t, 200, "GET", "/fhir/Subscription/"+id+"/$events?content=full-resource", "")
	fhirtest.MustValidContent(t, full.raw, "full-resource")
	if got := str(full.body, "entry", 3, "resource", "id"); got != obsIDs[2] {
		t.Errorf("full-resource $events third resource id = %q, want %q", got, obsIDs[2])
	}

	empty := s.mustDo(t, 200, "GET", "/fhir/Subscription/"+id+"/$events?eventsSinceNumber=10", "")
	fhirtest.MustValidNotification(t, empty.raw)
	if got := statusParam(get(empty.body, "entry", 0, "resource"), "type"); got != "query-status" {
		t.Errorf("empty $events type = %s, want query-status", got)
	}
}

func TestOperationErrors(t *testing.T) {
	s := newTestServer(t, Config{})
	id := str(s.mustDo(t, 201, "POST", "/fhir/Subscription", wsCriteriaSub).body, "id")
	offID := str(s.mustDo(t, 201, "POST", "/fhir/Subscription", strings.Replace(wsCriteriaSub, `"requested"`, `"off"`, 1)).body, "id")
	tests := []struct {
		name, method, path, body string
		status                   int
		code, diag               string
	}{
		{"unknown subscription status", "GET", "/fhir/Subscription/nope/$status", "", 404, "not-found", "Subscription/nope"},
		{"unknown parameter", "GET", "/fhir/Subscription/" + id + "/$events?since=1", "", 400, "not-supported", `unknown parameter "since"`},
		{"bad since", "GET", "/fhir/Subscription/" + id + "/$events?eventsSinceNumber=x", "", 400, "invalid", "eventsSinceNumber"},
		{"zero since", "GET", "/fhir/Subscription/" + id + "/$events?eventsSinceNumber=0", "", 400, "invalid", "positive"},
		{"until below since", "GET", "/fhir/Subscription/" + id + "/$events?eventsSinceNumber=5&eventsUntilNumber=2", "", 400, "invalid", "below"},
		{"bad content", "GET", "/fhir/Subscription/" + id + "/$events?content=everything", "", 400, "invalid", "everything"},
		{"token without id", "GET", "/fhir/Subscription/$get-ws-binding-token", "", 400, "required", "at least one"},
		{"token for unknown", "GET", "/fhir/Subscription/$get-ws-binding-token?id=" + id + ",ghost", "", 404, "not-found", "ghost"},
		{"token for inactive", "GET", "/fhir/Subscription/" + offID + "/$get-ws-binding-token", "", 400, "business-rule", "not active"},
		{"ticket for unknown", "POST", "/fhir/Subscription/ghost/$websocket-ticket", "", 404, "not-found", "ghost"},
		{"body not Parameters", "POST", "/fhir/Subscription/" + id + "/$events", `{"resourceType":"Patient"}`, 400, "invalid", "Parameters"},
		{"bad id", "GET", "/fhir/Subscription/a$b/$status", "", 400, "invalid", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.mustDo(t, tt.status, tt.method, tt.path, tt.body)
			if got := str(res.body, "issue", 0, "code"); got != tt.code {
				t.Errorf("issue code = %q, want %q (%s)", got, tt.code, res.raw)
			}
			if !strings.Contains(str(res.body, "issue", 0, "diagnostics"), tt.diag) {
				t.Errorf("diagnostics = %q, want it to mention %q", str(res.body, "issue", 0, "diagnostics"), tt.diag)
			}
		})
	}
}

func TestBindingTokenAndTicket(t *testing.T) {
	s := newTestServer(t, Config{})
	a := str(s.mustDo(t, 201, "POST", "/fhir/Subscription", wsCriteriaSub).body, "id")
	b := str(s.mustDo(t, 201, "POST", "/fhir/Subscription", topicSub("empty")).body, "id")

	tok := s.mustDo(t, 200, "POST", "/fhir/Subscription/$get-ws-binding-token",
		`{"resourceType":"Parameters","parameter":[{"name":"id","valueId":"`+a+`"},{"name":"id","valueId":"`+b+`"}]}`)
	if cc := tok.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	secret := paramValues(tok.body, "token")
	subs := paramValues(tok.body, "subscription")
	slices.Sort(subs)
	want := []string{a, b}
	slices.Sort(want)
	if len(secret) != 1 || len(secret[0]) < 40 || !slices.Equal(subs, want) {
		t.Fatalf("token response = %s", tok.raw)
	}
	if got := paramValues(tok.body, "websocket-url"); len(got) != 1 || got[0] != "ws"+strings.TrimPrefix(s.URL, "http")+"/ws" {
		t.Errorf("websocket-url = %v", got)
	}
	if exp := paramValues(tok.body, "expiration"); len(exp) != 1 {
		t.Errorf("expiration = %v", exp)
	}
	g, err := s.svc.RedeemToken(t.Context(), subscription.KindBindingToken, secret[0], nil)
	if err != nil || !slices.Equal(g.SubscriptionIDs, want) {
		t.Fatalf("RedeemToken = %+v, %v", g, err)
	}

	tic := s.mustDo(t, 200, "GET", "/fhir/Subscription/"+a+"/$websocket-ticket", "")
	wsURL := paramValues(tic.body, "websocket-url")
	if len(wsURL) != 1 {
		t.Fatalf("ticket response = %s", tic.raw)
	}
	u, err := url.Parse(wsURL[0])
	if err != nil || u.Scheme != "ws" || !strings.HasPrefix(u.Path, "/ws/") {
		t.Fatalf("websocket-url = %q", wsURL[0])
	}
	ticket := strings.TrimPrefix(u.Path, "/ws/")
	if _, err := s.svc.RedeemToken(t.Context(), subscription.KindTicket, ticket, nil); err != nil {
		t.Fatalf("redeem ticket: %v", err)
	}
	if _, err := s.svc.RedeemToken(t.Context(), subscription.KindTicket, ticket, nil); err == nil {
		t.Fatal("a ticket was redeemed twice")
	}
}

func TestMetadataAdvertisesSubscriptions(t *testing.T) {
	s := newTestServer(t, Config{})
	md := s.mustDo(t, 200, "GET", "/fhir/metadata", "")
	var sub any
	for _, r := range list(md.body, "rest", 0, "resource") {
		if str(r, "type") == "Subscription" {
			sub = r
		}
	}
	var ops []string
	for _, op := range list(sub, "operation") {
		ops = append(ops, str(op, "name"))
	}
	for _, want := range []string{"status", "events", "get-ws-binding-token", "websocket-ticket"} {
		if !slices.Contains(ops, want) {
			t.Errorf("operations %v lack %s", ops, want)
		}
	}
	var topics []string
	for _, ext := range list(sub, "extension") {
		if str(ext, "url") == topicCanonicalExt {
			topics = append(topics, str(ext, "valueCanonical"))
		}
	}
	if !slices.Contains(topics, subscription.EncounterStartTopic) || !slices.Contains(topics, subscription.ChangedTopic("Observation")) {
		t.Errorf("advertised topics = %v", topics)
	}
	if got := str(md.body, "rest", 0, "extension", 0, "valueUri"); got != "ws"+strings.TrimPrefix(s.URL, "http")+"/ws" {
		t.Errorf("websocket extension = %q", got)
	}
	// A new topic shows up in the (cached) statement.
	s.mustDo(t, 201, "POST", "/fhir/SubscriptionTopic", `{"resourceType":"SubscriptionTopic","url":"http://example.org/t","status":"active","resourceTrigger":[{"resource":"Task"}]}`)
	md = s.mustDo(t, 200, "GET", "/fhir/metadata", "")
	if !strings.Contains(string(md.raw), "http://example.org/t") {
		t.Error("new topic missing from metadata")
	}
	fhirtest.MustValidR4(t, md.raw)
}
