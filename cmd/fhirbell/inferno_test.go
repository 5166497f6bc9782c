package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/fhirtest"
	"github.com/fhirbell/fhirbell/resthook/resthooktest"
)

// The Inferno Subscriptions test kit's R4 server suite
// (subscriptions_r5_backport_r4_server), one subtest per Inferno test id,
// each asserting what that test asserts (docs/inferno.md maps them). The
// server is the real one; the receiver stands where Inferno's notification
// listener does; the Subscriptions are the kit's preset, with a topic of
// the same URL created here.

// infernoTopic is the preset's topic, as a SubscriptionTopic fhirbell
// serves: an Encounter created or updated, filterable by patient, with the
// patient as additional context.
const infernoTopic = "https://inferno.healthit.gov/suites/custom/subscriptions_r5_backport_r4_client/topics/patient-admission"

const infernoToken = "SAMPLE_TOKEN"

// infernoSub is the kit's preset Subscription for one content level, with
// what the kit itself changes before sending (endpoint, payload,
// Authorization header), an end in the future (the preset's 2020 end would
// have fhirbell store it off, as end means), and, when heartbeat > 0, a
// heartbeat period.
func infernoSub(endpoint, content string, heartbeat int) map[string]any {
	exts := []any{
		map[string]any{"url": toURL, "valueUnsignedInt": 60},
		map[string]any{"url": mcURL, "valuePositiveInt": 20},
	}
	if heartbeat > 0 {
		exts = append(exts, map[string]any{"url": hbURL, "valueUnsignedInt": heartbeat})
	}
	return map[string]any{
		"resourceType": "Subscription",
		"meta":         map[string]any{"profile": []string{"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription"}},
		"status":       "requested",
		"end":          time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
		"reason":       "R4 Topic-Based Workflow Subscription for Patient Admission",
		"criteria":     infernoTopic,
		"_criteria": map[string]any{"extension": []any{map[string]any{
			"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria", "valueString": "Encounter.patient=Patient/123"}}},
		"channel": map[string]any{
			"extension": exts,
			"type":      "rest-hook",
			"header":    []string{"Authorization: Bearer " + infernoToken},
			"endpoint":  endpoint,
			"payload":   "application/fhir+json",
			"_payload": map[string]any{"extension": []any{map[string]any{
				"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content", "valueCode": content}}},
		},
	}
}

func mustJSONText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// clone deep-copies a JSON object.
func clone(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(mustJSONText(t, m)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestInfernoBackportR4Server(t *testing.T) {
	rcv := resthooktest.MustNew(t)
	srv := mustRunServe(t, map[string]string{"FHIRBELL_REST_HOOK_ALLOW": "127.0.0.1/8"})
	base := srv.URL + "/fhir"
	wantStatus(t, do(t, "POST", base+"/SubscriptionTopic", `{"resourceType":"SubscriptionTopic","url":"`+infernoTopic+`","status":"active",
	 "resourceTrigger":[{"resource":"Encounter","supportedInteraction":["create","update"]}],
	 "canFilterBy":[{"resource":"Encounter","filterParameter":"patient"}],
	 "notificationShape":[{"resource":"Encounter","include":["Encounter:patient"]}]}`), http.StatusCreated)
	wantStatus(t, do(t, "PUT", base+"/Patient/123", `{"resourceType":"Patient","id":"123"}`), http.StatusCreated)

	// The workflow group, once per content level (the kit's three presets),
	// one of them with a heartbeat period.
	type created struct {
		id, content string
		sent        map[string]any // what was POSTed
		body        map[string]any // the 201 body
		heartbeat   bool
	}
	var subs []created
	t.Run("subscriptions_r4_server_interaction", func(t *testing.T) {
		for _, content := range []string{fhir.ContentEmpty, fhir.ContentIDOnly, fhir.ContentFullResource} {
			hb := 0
			if content == fhir.ContentIDOnly {
				hb = 1
			}
			sent := infernoSub(rcv.URL, content, hb)
			// subscriptions_r4_server_subscription_conformance checks the
			// tester's input, not the server: a rest-hook channel, a topic
			// URL in criteria, valid R4; the preset passes.
			fhirtest.MustValidR4(t, []byte(mustJSONText(t, sent)))
			r := do(t, "POST", base+"/Subscription", mustJSONText(t, sent))
			// subscriptions_r4_server_notification_delivery: send_subscription asserts 201.
			wantStatus(t, r, http.StatusCreated)
			subs = append(subs, created{id: r.Body["id"].(string), content: content, sent: sent, body: r.Body, heartbeat: hb > 0})
		}
	})
	if len(subs) != 3 {
		t.FailNow()
	}
	t.Run("subscriptions_r4_server_creation_response_conformance", func(t *testing.T) {
		for _, s := range subs {
			ch := s.body["channel"].(map[string]any)
			if ch["type"] != "rest-hook" || s.body["status"] != "requested" {
				t.Errorf("Subscription/%s: channel.type %v, status %v; want rest-hook and requested", s.id, ch["type"], s.body["status"])
			}
		}
	})

	// Every subscription is handshaken; then an Encounter of Patient/123
	// fires all three, and one of another patient fires none.
	rcv.Wait(t, 20*time.Second, "three handshakes", func(all []resthooktest.Received) bool {
		return resthooktest.Count(all, fhir.NotifyHandshake) >= 3
	})
	wantStatus(t, do(t, "POST", base+"/Encounter", `{"resourceType":"Encounter","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},"subject":{"reference":"Patient/999"}}`), http.StatusCreated)
	enc := do(t, "POST", base+"/Encounter", `{"resourceType":"Encounter","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},"subject":{"reference":"Patient/123"}}`)
	wantStatus(t, enc, http.StatusCreated)
	all := rcv.Wait(t, 20*time.Second, "an event-notification for each subscription and a heartbeat", func(all []resthooktest.Received) bool {
		return len(resthooktest.Acked(all)) >= 3 && resthooktest.Count(all, fhir.NotifyHeartbeat) >= 1
	})
	// tagged is the kit's tagging: notification type and subscription id
	// read from the status Parameters.
	tagged := func(typ, id string) []resthooktest.Received {
		var out []resthooktest.Received
		for _, rec := range all {
			if rec.Summary.Type == typ && (id == "" || rec.Summary.SubscriptionID() == id) {
				out = append(out, rec)
			}
		}
		return out
	}

	t.Run("subscriptions_r4_server_notification_presence", func(t *testing.T) {
		for _, s := range subs {
			if len(tagged(fhir.NotifyHandshake, s.id))+len(tagged(fhir.NotifyEvent, s.id)) == 0 {
				t.Errorf("no notifications for Subscription/%s", s.id)
			}
		}
	})
	t.Run("subscriptions_r4_server_notification_conformance", func(t *testing.T) {
		for _, s := range subs {
			evs := tagged(fhir.NotifyEvent, s.id)
			if len(evs) == 0 {
				t.Fatalf("no event-notification for Subscription/%s", s.id)
			}
			for _, rec := range evs {
				infernoNotification(t, rec.Body, fhir.NotifyEvent, s.id, "active")
				infernoHeaders(t, rec.Header, s.body)
			}
			if events := tagged(fhir.NotifyEvent, s.id)[0].Summary.Events; !slices.Equal(events, []int64{1}) {
				t.Errorf("Subscription/%s: events %v, want [1] (the other patient's Encounter does not match)", s.id, events)
			}
		}
	})
	t.Run("subscriptions_r4_server_handshake_conformance", func(t *testing.T) {
		for _, s := range subs {
			hs := tagged(fhir.NotifyHandshake, s.id)
			if len(hs) == 0 {
				t.Errorf("no handshake for rest-hook Subscription/%s", s.id)
			}
			for _, rec := range hs {
				infernoNotification(t, rec.Body, fhir.NotifyHandshake, s.id, "requested")
			}
		}
	})
	t.Run("subscriptions_r4_server_heartbeat_conformance", func(t *testing.T) {
		for _, s := range subs {
			hbs := tagged(fhir.NotifyHeartbeat, s.id)
			if !s.heartbeat && len(hbs) > 0 {
				t.Errorf("Subscription/%s has no heartbeat period but was sent a heartbeat", s.id)
			}
			if s.heartbeat && len(hbs) == 0 {
				t.Errorf("Subscription/%s asked for heartbeats and got none", s.id)
			}
			for _, rec := range hbs {
				infernoNotification(t, rec.Body, fhir.NotifyHeartbeat, s.id, "")
			}
		}
	})
	for _, s := range subs {
		id := map[string]string{fhir.ContentEmpty: "subscriptions_r4_server_empty_conformance",
			fhir.ContentIDOnly: "subscriptions_r4_server_id_only_conformance", fhir.ContentFullResource: "subscriptions_r4_server_full_resource_conformance"}[s.content]
		t.Run(id, func(t *testing.T) {
			for _, rec := range tagged(fhir.NotifyEvent, s.id) {
				infernoContent(t, rec.Body, s.content)
				fhirtest.MustValidContent(t, rec.Body, s.content)
			}
		})
	}
	t.Run("subscriptions_r4_server_status_invocation", func(t *testing.T) {
		r := do(t, "GET", base+"/Subscription/"+subs[0].id+"/$status", "")
		wantStatus(t, r, http.StatusOK)
		if r.Body["resourceType"] != "Bundle" || r.Body["type"] != "searchset" {
			t.Fatalf("$status is not a searchset Bundle: %s", r.Raw)
		}
		fhirtest.MustValidR4(t, r.Raw)
		if err := fhirtest.ValidateStatusBundle(r.Raw); err != nil {
			t.Fatalf("$status: %v", err)
		}
		found := false
		for _, e := range objs(r.Body["entry"]) {
			res, _ := e["resource"].(map[string]any)
			if res["resourceType"] != "Parameters" {
				continue
			}
			if ref, _ := param(res, "subscription")["valueReference"].(map[string]any); ref != nil {
				if s, _ := ref["reference"].(string); s[strings.LastIndex(s, "/")+1:] == subs[0].id {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("no status Parameters for Subscription/%s in %s", subs[0].id, r.Raw)
		}
	})
	t.Run("subscriptions_r4_server_cs_conformance", func(t *testing.T) {
		r := do(t, "GET", base+"/metadata", "")
		wantStatus(t, r, http.StatusOK)
		if r.Body["resourceType"] != "CapabilityStatement" {
			t.Fatalf("metadata: %s", r.Raw)
		}
		fhirtest.MustValidR4(t, r.Raw)
		sub := csSubscription(t, r.Body)
		profiles, _ := sub["supportedProfile"].([]any)
		if !slices.Contains(profiles, any("http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription")) {
			t.Errorf("Subscription supportedProfile %v lacks backport-subscription", profiles)
		}
	})
	t.Run("subscriptions_r4_server_topic_discovery", func(t *testing.T) {
		sub := csSubscription(t, do(t, "GET", base+"/metadata", "").Body)
		var topics []string
		for _, e := range objs(sub["extension"]) {
			if e["url"] == "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical" {
				topics = append(topics, e["valueCanonical"].(string))
			}
		}
		if len(topics) == 0 {
			t.Fatal("no capabilitystatement-subscriptiontopic-canonical on the Subscription resource")
		}
		for _, s := range subs {
			if !slices.Contains(topics, s.body["criteria"].(string)) {
				t.Errorf("topic %v of Subscription/%s is not advertised", s.body["criteria"], s.id)
			}
		}
	})

	// The rejection group: each unsupported value is refused (non-201) or
	// altered in the 201 body, which is the kit's pass condition; fhirbell
	// refuses every one, with an OperationOutcome.
	preset := infernoSub(rcv.URL, fhir.ContentFullResource, 0)
	reject := func(t *testing.T, sub map[string]any, altered func(got map[string]any) bool) {
		t.Helper()
		r := do(t, "POST", base+"/Subscription", mustJSONText(t, sub))
		if r.Status == http.StatusCreated {
			if altered != nil && altered(r.Body) {
				return
			}
			t.Fatalf("accepted as sent: %s", r.Raw)
		}
		if r.Body["resourceType"] != "OperationOutcome" || r.Status != http.StatusBadRequest {
			t.Errorf("refused with %d, want 400 with an OperationOutcome: %s", r.Status, r.Raw)
		}
	}
	channel := func(s map[string]any) map[string]any { return s["channel"].(map[string]any) }
	t.Run("subscriptions_r4_server_reject_subscription_cross_version_extension", func(t *testing.T) {
		s := clone(t, preset)
		s["_criteria"] = map[string]any{"extension": []any{map[string]any{
			"url": "http://hl7.org/fhir/5.0/subscriptions-backport/StructureDefinition/backport-filter-criteria", "valueString": "Encounter.patient=Patient/123"}}}
		reject(t, s, nil) // this test passes on a non-201 only
		s = clone(t, preset)
		s["extension"] = []any{map[string]any{"url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-Subscription.heartbeatPeriod", "valueUnsignedInt": 5}}
		reject(t, s, nil)
	})
	t.Run("subscriptions_r4_server_reject_subscription_topic", func(t *testing.T) {
		s := clone(t, preset)
		s["criteria"] = "http://example.org/fhir/SubscriptionTopic/not-a-topic"
		reject(t, s, func(got map[string]any) bool { return got["criteria"] != s["criteria"] })
	})
	t.Run("subscriptions_r4_server_reject_subscription_filter", func(t *testing.T) {
		for _, f := range []string{"Encounter.class=IMP", "Observation.code=1234-5", "Encounter.patient:nope=Patient/1", "not a filter"} {
			s := clone(t, preset)
			v := map[string]any{"extension": []any{map[string]any{
				"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria", "valueString": f}}}
			s["_criteria"] = v
			reject(t, s, func(got map[string]any) bool { return mustJSONText(t, got["_criteria"]) != mustJSONText(t, v) })
		}
	})
	t.Run("subscriptions_r4_server_reject_subscription_channel_type", func(t *testing.T) {
		for _, typ := range []string{"email", "sms", "message", "carrier-pigeon"} {
			s := clone(t, preset)
			channel(s)["type"] = typ
			reject(t, s, func(got map[string]any) bool { return channel(got)["type"] != typ })
		}
	})
	t.Run("subscriptions_r4_server_reject_subscription_channel_endpoint", func(t *testing.T) {
		for _, ep := range []string{"ftp://example.org/hook", "not a url", "/relative/hook", "http://10.0.0.1/hook", "http://169.254.169.254/latest"} {
			s := clone(t, preset)
			channel(s)["endpoint"] = ep
			reject(t, s, func(got map[string]any) bool { return channel(got)["endpoint"] != ep })
		}
	})
	t.Run("subscriptions_r4_server_reject_subscription_payload_type", func(t *testing.T) {
		for _, p := range []string{"application/fhir+xml", "text/plain", "application/fhir+json; fhirVersion=3.0", "not/a mime"} {
			s := clone(t, preset)
			channel(s)["payload"] = p
			reject(t, s, func(got map[string]any) bool { return channel(got)["payload"] != p })
		}
	})
	t.Run("subscriptions_r4_server_reject_subscription_channel_payload_combo", func(t *testing.T) {
		for _, c := range []struct{ channel, payload string }{{"websocket", "application/fhir+xml"}, {"email", "application/fhir+json"}, {"rest-hook", "text/html"}} {
			s := clone(t, preset)
			channel(s)["type"], channel(s)["payload"] = c.channel, c.payload
			reject(t, s, func(got map[string]any) bool {
				return channel(got)["type"] != c.channel || channel(got)["payload"] != c.payload
			})
		}
	})
}

func objs(v any) []map[string]any {
	arr, _ := v.([]any)
	var out []map[string]any
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// param returns the parameter (or part) named name.
func param(res map[string]any, name string) map[string]any {
	for _, p := range objs(res["parameter"]) {
		if p["name"] == name {
			return p
		}
	}
	return nil
}

func partsNamed(p map[string]any, name string) []map[string]any {
	var out []map[string]any
	for _, q := range objs(p["part"]) {
		if q["name"] == name {
			out = append(out, q)
		}
	}
	return out
}

func allParams(res map[string]any, name string) []map[string]any {
	var out []map[string]any
	for _, p := range objs(res["parameter"]) {
		if p["name"] == name {
			out = append(out, p)
		}
	}
	return out
}

// csSubscription returns rest[mode=server].resource[type=Subscription].
func csSubscription(t *testing.T, cs map[string]any) map[string]any {
	t.Helper()
	for _, rest := range objs(cs["rest"]) {
		if rest["mode"] != "server" {
			continue
		}
		for _, res := range objs(rest["resource"]) {
			if res["type"] == "Subscription" {
				return res
			}
		}
		t.Fatal("no Subscription in rest[mode=server].resource")
	}
	t.Fatal("no rest with mode server")
	return nil
}

// infernoNotification is the kit's notification_verification: a history
// Bundle; every entry with request and response; the first entry's request
// a $status call of the subscription; a backport-subscription-status-r4
// Parameters of the notification type and, when given, status.
func infernoNotification(t *testing.T, body []byte, typ, subID, status string) {
	t.Helper()
	if err := fhirtest.ValidateBackportNotification(body); err != nil {
		t.Errorf("%s: %v\n%s", typ, err, body)
	}
	var b map[string]any
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	if b["type"] != "history" {
		t.Errorf("%s: Bundle.type %v, want history", typ, b["type"])
	}
	entries := objs(b["entry"])
	if len(entries) == 0 {
		t.Fatalf("%s: no entries", typ)
	}
	for i, e := range entries {
		if e["request"] == nil || e["response"] == nil {
			t.Errorf("%s: entry %d lacks request or response", typ, i+1)
		}
	}
	if u, _ := entries[0]["request"].(map[string]any)["url"].(string); !strings.HasSuffix(u, "Subscription/"+subID+"/$status") {
		t.Errorf("%s: the status entry's request.url %q is not Subscription/%s/$status", typ, u, subID)
	}
	res, _ := entries[0]["resource"].(map[string]any)
	if res["resourceType"] != "Parameters" {
		t.Fatalf("%s: first entry is %v, want Parameters", typ, res["resourceType"])
	}
	if got := param(res, "type")["valueCode"]; got != typ {
		t.Errorf("type %v, want %s", got, typ)
	}
	if got := param(res, "status")["valueCode"]; status != "" && got != status {
		t.Errorf("%s: status %v, want %s", typ, got, status)
	}
}

// infernoHeaders is the kit's notification_header_verification: the
// Content-Type starts with channel.payload, and every channel.header is
// sent with its value.
func infernoHeaders(t *testing.T, h http.Header, sub map[string]any) {
	t.Helper()
	ch := sub["channel"].(map[string]any)
	if p, _ := ch["payload"].(string); p != "" && !strings.HasPrefix(h.Get("Content-Type"), p) {
		t.Errorf("Content-Type %q does not start with the payload %q", h.Get("Content-Type"), p)
	}
	hdrs, _ := ch["header"].([]any)
	for _, x := range hdrs {
		name, value, _ := strings.Cut(x.(string), ": ")
		if got := h.Get(name); got != value {
			t.Errorf("header %s = %q, want %q", name, got, value)
		}
	}
}

// infernoContent is the kit's empty / id-only / full-resource event
// verification.
func infernoContent(t *testing.T, body []byte, content string) {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	entries := objs(b["entry"])
	status := entries[0]["resource"].(map[string]any)
	events := allParams(status, "notification-event")
	rest := entries[1:]
	topic := param(status, "topic")
	switch content {
	case fhir.ContentEmpty:
		if topic != nil {
			t.Error("empty: topic SHOULD NOT be present")
		}
		if len(rest) > 0 {
			t.Errorf("empty: %d entries besides the status", len(rest))
		}
		if len(events) == 0 {
			t.Error("empty: no notification-event")
		}
		for _, ev := range events {
			if len(partsNamed(ev, "focus"))+len(partsNamed(ev, "additional-context")) > 0 {
				t.Error("empty: a notification-event references a resource")
			}
		}
	case fhir.ContentIDOnly:
		if len(events) == 0 {
			t.Error("id-only: no notification-event")
		}
		for _, ev := range events {
			if len(partsNamed(ev, "focus")) == 0 {
				t.Error("id-only: a notification-event has no focus")
			}
		}
		for i, e := range rest {
			if e["resource"] != nil {
				t.Errorf("id-only: entry %d has a resource", i+2)
			}
			if s, _ := e["fullUrl"].(string); s == "" {
				t.Errorf("id-only: entry %d has no fullUrl", i+2)
			}
		}
	case fhir.ContentFullResource:
		if topic == nil {
			t.Error("full-resource: topic SHOULD be present")
		}
		if len(events) == 0 {
			t.Error("full-resource: no notification-event")
		}
		// bundle_entry_reference_valid?: a urn matches a fullUrl, anything
		// else must contain the Type/id of an entry's resource.
		inBundle := func(ref string) bool {
			for _, e := range rest {
				if strings.HasPrefix(ref, "urn:") {
					if e["fullUrl"] == ref {
						return true
					}
					continue
				}
				res, _ := e["resource"].(map[string]any)
				if res != nil && strings.Contains(ref, fmt.Sprint(res["resourceType"], "/", res["id"])) {
					return true
				}
			}
			return false
		}
		for _, ev := range events {
			focus := partsNamed(ev, "focus")
			if len(focus) == 0 {
				t.Error("full-resource: a notification-event has no focus")
				continue
			}
			ref := focus[0]["valueReference"].(map[string]any)["reference"].(string)
			if !inBundle(ref) {
				t.Errorf("full-resource: no entry for the focus %s", ref)
			}
			for _, ac := range partsNamed(ev, "additional-context") {
				if ref := ac["valueReference"].(map[string]any)["reference"].(string); !inBundle(ref) {
					t.Errorf("full-resource: no entry for the additional context %s", ref)
				}
			}
		}
		for i, e := range rest {
			if e["resource"] != nil {
				fhirtest.MustValidR4(t, []byte(mustJSONText(t, e["resource"])))
			} else {
				t.Logf("entry %d has no resource", i+2)
			}
		}
	}
}
