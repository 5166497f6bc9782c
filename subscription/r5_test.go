package subscription

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/fhirtest"
)

// r5Full is an R5 Subscription with every element the translation maps.
const r5Full = `{"resourceType":"Subscription","id":"r5-1","status":"requested",
 "identifier":[{"system":"urn:x","value":"s-1"}],"name":"ward feed",
 "topic":"https://fhirbell.dev/fhir/SubscriptionTopic/Observation-changed",
 "contact":[{"system":"email","value":"ops@example.org"}],"end":"2031-01-01T00:00:00Z",
 "managingEntity":{"reference":"Organization/o1"},"reason":"R5 test",
 "filterBy":[{"resourceType":"Observation","filterParameter":"code","value":"http://loinc.org|8867-4"},
  {"resourceType":"Observation","filterParameter":"value-quantity","comparator":"gt","value":"100"},
  {"resourceType":"Observation","filterParameter":"status","modifier":"not","value":"cancelled"}],
 "channelType":{"system":"http://terminology.hl7.org/CodeSystem/subscription-channel-type","code":"rest-hook"},
 "endpoint":"https://hooks.example.org/r5","parameter":[{"name":"Authorization","value":"Bearer abc"}],
 "heartbeatPeriod":60,"timeout":30,"contentType":"application/fhir+json","content":"id-only","maxCount":20}`

func TestSubscriptionFromR5(t *testing.T) {
	topics := testTopics(t)
	stored, paths, err := SubscriptionFromR5([]byte(r5Full))
	if err != nil {
		t.Fatalf("SubscriptionFromR5: %v", err)
	}
	fhirtest.MustValidR4(t, stored)
	sub, err := ParseSubscription(stored, topics, now)
	if err != nil {
		t.Fatalf("the stored form does not parse: %v (R5 path %s)\n%s", err, paths.Error(err), stored)
	}
	want := Subscription{
		Kind: KindTopic, TopicURL: ChangedTopic("Observation"), ChannelType: ChannelRestHook,
		Endpoint: "https://hooks.example.org/r5", Version: fhir.R5, VersionAsked: true, Content: ContentIDOnly,
		HeartbeatPeriod: 60 * time.Second, HeartbeatSet: true, Timeout: 30 * time.Second, MaxCount: 20,
		Headers: []Header{{Name: "Authorization", Value: "Bearer abc"}}, Reason: "R5 test",
	}
	got := Subscription{
		Kind: sub.Kind, TopicURL: sub.TopicURL, ChannelType: sub.ChannelType, Endpoint: sub.Endpoint,
		Version: sub.Version, VersionAsked: sub.VersionAsked, Content: sub.Content, HeartbeatPeriod: sub.HeartbeatPeriod,
		HeartbeatSet: sub.HeartbeatSet, Timeout: sub.Timeout, MaxCount: sub.MaxCount, Headers: sub.Headers, Reason: sub.Reason,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed stored form:\n got %+v\nwant %+v", got, want)
	}
	if fs := strings.Join(sub.FilterStrings(), " "); fs != "Observation.code=http://loinc.org|8867-4 Observation.value-quantity=gt100 Observation.status:not=cancelled" {
		t.Errorf("filters %s", fs)
	}
	// The filters mean what they say: a matching Observation fires, one
	// below the threshold does not.
	obs := func(v int) []byte {
		return []byte(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":` + itoa(v) + `}}`)
	}
	for v, want := range map[int]bool{120: true, 80: false} {
		if ok, err := sub.Matches(InteractionCreate, nil, obs(v), topics); err != nil || ok != want {
			t.Errorf("value %d: matches %v (%v), want %v", v, ok, err, want)
		}
	}

	back, err := SubscriptionToR5(stored)
	if err != nil {
		t.Fatal(err)
	}
	if err := fhirtest.ValidateR5Subscription(back); err != nil {
		t.Fatalf("R5 form: %v\n%s", err, back)
	}
	var in, out map[string]any
	_ = json.Unmarshal([]byte(r5Full), &in)
	_ = json.Unmarshal(back, &out)
	if !reflect.DeepEqual(normalizeR5(in), normalizeR5(out)) {
		t.Errorf("round trip changed the Subscription:\n in  %v\n out %v", normalizeR5(in), normalizeR5(out))
	}
}

// normalizeR5 drops the order of filterBy members (a map) so that two
// decodings compare equal.
func normalizeR5(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestSubscriptionFromR5Defaults(t *testing.T) {
	for _, tc := range []struct {
		name, extra    string
		content, ctype string
		version        fhir.Version
		heartbeatAsked bool
	}{
		{"no contentType, no content: empty", ``, ContentEmpty, "application/fhir+json", fhir.R5, false},
		{"contentType only: full-resource", `,"contentType":"application/fhir+json"`, ContentFullResource, "application/fhir+json", fhir.R5, false},
		{"a version named is kept", `,"contentType":"application/fhir+json; fhirVersion=4.3","content":"id-only"`, ContentIDOnly, "application/fhir+json; fhirVersion=4.3", fhir.R4B, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"resourceType":"Subscription","status":"active","topic":"` + ChangedTopic("Patient") + `",
			 "channelType":{"code":"websocket"}` + tc.extra + `}`
			stored, _, err := SubscriptionFromR5([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			sub := mustSubscription(t, stored, testTopics(t))
			if sub.Content != tc.content || sub.Version != tc.version || sub.HeartbeatSet != tc.heartbeatAsked || sub.ChannelType != ChannelWebsocket {
				t.Errorf("content %s version %s heartbeat %v channel %s", sub.Content, sub.Version, sub.HeartbeatSet, sub.ChannelType)
			}
			back, err := SubscriptionToR5(stored)
			if err != nil {
				t.Fatal(err)
			}
			fhirtest.MustValidR4(t, stored)
			if err := fhirtest.ValidateR5Subscription(back); err != nil {
				t.Fatalf("%v\n%s", err, back)
			}
			var out struct{ Content, ContentType string }
			_ = json.Unmarshal(back, &out)
			if out.Content != tc.content || out.ContentType != tc.ctype {
				t.Errorf("R5 form says content %q contentType %q, want %q %q", out.Content, out.ContentType, tc.content, tc.ctype)
			}
		})
	}
}

// TestSubscriptionFromR5Invalid: every refusal, from the translation or from
// ParseSubscription on the stored form, names the R5 element.
func TestSubscriptionFromR5Invalid(t *testing.T) {
	base := func(extra string) string {
		return `{"resourceType":"Subscription","status":"active","topic":"` + ChangedTopic("Observation") + `",
		 "channelType":{"system":"http://terminology.hl7.org/CodeSystem/subscription-channel-type","code":"websocket"}` + extra + `}`
	}
	for _, tc := range []struct {
		name, body, path, code string
	}{
		{"R4 body", `{"resourceType":"Subscription","status":"active","criteria":"Observation","channel":{"type":"websocket"}}`, "Subscription.criteria", fhir.IssueInvalid},
		{"unknown element", base(`,"colour":"red"`), "Subscription.colour", fhir.IssueInvalid},
		{"no topic", `{"resourceType":"Subscription","status":"active","channelType":{"code":"websocket"}}`, "Subscription.topic", fhir.IssueRequired},
		{"unknown topic", strings.Replace(base(``), "Observation-changed", "Nothing-changed", 1), "Subscription.topic", fhir.IssueNotSupported},
		{"no channelType", `{"resourceType":"Subscription","status":"active","topic":"` + ChangedTopic("Observation") + `"}`, "Subscription.channelType", fhir.IssueRequired},
		{"email channel", strings.Replace(base(``), `"code":"websocket"`, `"code":"email"`, 1), "Subscription.channelType", fhir.IssueNotSupported},
		{"custom channel system", strings.Replace(base(``), "http://terminology.hl7.org/CodeSystem/subscription-channel-type", "urn:custom", 1), "Subscription.channelType", fhir.IssueNotSupported},
		{"filter the topic does not offer", base(`,"filterBy":[{"resourceType":"Observation","filterParameter":"no-such","value":"1"}]`), "Subscription.filterBy[0]", fhir.IssueNotSupported},
		{"filter without value", base(`,"filterBy":[{"filterParameter":"code"}]`), "Subscription.filterBy[0].value", fhir.IssueRequired},
		{"comparator and modifier", base(`,"filterBy":[{"resourceType":"Observation","filterParameter":"date","comparator":"gt","modifier":"missing","value":"2020"}]`), "Subscription.filterBy[0]", fhir.IssueInvalid},
		{"comparator on a token", base(`,"filterBy":[{"resourceType":"Observation","filterParameter":"code","comparator":"gt","value":"1"}]`), "Subscription.filterBy[0].comparator", fhir.IssueNotSupported},
		{"unknown comparator", base(`,"filterBy":[{"resourceType":"Observation","filterParameter":"date","comparator":"gtx","value":"2020"}]`), "Subscription.filterBy[0].comparator", fhir.IssueInvalid},
		{"second filter bad", base(`,"filterBy":[{"filterParameter":"code","value":"1"},{"resourceType":"Observation","filterParameter":"nope","value":"1"}]`), "Subscription.filterBy[1]", fhir.IssueNotSupported},
		{"zero heartbeat", base(`,"heartbeatPeriod":0`), "Subscription.heartbeatPeriod", fhir.IssueInvalid},
		{"heartbeat a string", base(`,"heartbeatPeriod":"60"`), "Subscription.heartbeatPeriod", fhir.IssueInvalid},
		{"zero maxCount", base(`,"maxCount":0`), "Subscription.maxCount", fhir.IssueInvalid},
		{"XML payload", base(`,"contentType":"application/fhir+xml"`), "Subscription.contentType", fhir.IssueNotSupported},
		{"fhirVersion not spoken", base(`,"contentType":"application/fhir+json; fhirVersion=3.0"`), "Subscription.contentType", fhir.IssueNotSupported},
		{"unknown content", base(`,"content":"everything"`), "Subscription.content", fhir.IssueInvalid},
		{"rest-hook without endpoint", strings.Replace(base(``), `"code":"websocket"`, `"code":"rest-hook"`, 1), "Subscription.endpoint", ""},
		{"bad parameter", strings.Replace(base(`,"endpoint":"https://h.example/x","parameter":[{"name":"Host","value":"x"}]`), `"code":"websocket"`, `"code":"rest-hook"`, 1), "Subscription.parameter[0]", ""},
		{"bad status", strings.Replace(base(``), `"active"`, `"sleeping"`, 1), "Subscription.status", fhir.IssueInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stored, paths, err := SubscriptionFromR5([]byte(tc.body))
			if err == nil {
				_, err = ParseSubscription(stored, testTopics(t), now)
				if err == nil {
					err = Validate("Subscription", stored)
				}
				err = paths.Error(err)
			}
			var ve *fhir.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a validation error, got %v", err)
			}
			if ve.Path != tc.path && !strings.HasPrefix(ve.Path, tc.path+".") {
				t.Errorf("path %q, want %q (%v)", ve.Path, tc.path, err)
			}
			if tc.code != "" && ve.IssueCode() != tc.code {
				t.Errorf("code %q, want %q (%v)", ve.IssueCode(), tc.code, err)
			}
		})
	}
}

// TestSubscriptionToR5 covers stored forms R4 clients write: a criteria
// Subscription (no R5 topic), typeless and search-URL filters.
func TestSubscriptionToR5(t *testing.T) {
	for _, tc := range []struct {
		name, stored string
		check        func(t *testing.T, m map[string]any)
	}{
		{"criteria", string(readTestdata(t, "subscription-criteria.json")), func(t *testing.T, m map[string]any) {
			if m["topic"] != nil {
				t.Errorf("a criteria Subscription has no R5 topic, got %v", m["topic"])
			}
			if !strings.Contains(mustString(m), ExtCriteria) {
				t.Errorf("criteria not carried: %v", m)
			}
		}},
		{"backport E8", string(readTestdata(t, "subscription-backport-e8.json")), func(t *testing.T, m map[string]any) {
			if m["topic"] == nil || m["filterBy"] == nil || m["heartbeatPeriod"] == nil || m["content"] != "id-only" {
				t.Errorf("R5 form misses elements: %v", m)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := SubscriptionToR5([]byte(tc.stored))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if tc.name != "criteria" {
				if err := fhirtest.ValidateR5Subscription(b); err != nil {
					t.Fatalf("%v\n%s", err, b)
				}
			}
			tc.check(t, m)
		})
	}
	got := filtersToR5("Encounter?patient=Patient/1&status=in-progress")
	want := []map[string]string{{"resourceType": "Encounter", "filterParameter": "patient", "value": "Patient/1"},
		{"resourceType": "Encounter", "filterParameter": "status", "value": "in-progress"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("search-URL filter: %v", got)
	}
	if got := filtersToR5("patient=Patient/1"); len(got) != 1 || got[0]["resourceType"] != "" {
		t.Errorf("typeless filter: %v", got)
	}
}

func mustString(v any) string { b, _ := json.Marshal(v); return string(b) }

// FuzzSubscriptionFromR5: any input is translated or refused with a
// validation error, and what is translated has an R5 form again; the
// cross-version check refuses with a validation error or not at all.
func FuzzSubscriptionFromR5(f *testing.F) {
	f.Add([]byte(r5Full))
	f.Add([]byte(`{"resourceType":"Subscription","topic":"x","channelType":{"code":"websocket"},"_topic":{"extension":[{"url":"u","valueString":"v"}]}}`))
	f.Add([]byte(`{"resourceType":"Subscription","filterBy":[{"filterParameter":"a","value":"b&c=d"}],"topic":"http://t","channelType":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := rejectCrossVersion(b); err != nil {
			if _, ok := fhir.AsValidation(err); !ok {
				t.Fatalf("cross-version check: not a validation error: %v", err)
			}
		}
		stored, paths, err := SubscriptionFromR5(b)
		if err != nil {
			if _, ok := fhir.AsValidation(err); !ok {
				t.Fatalf("not a validation error: %v", err)
			}
			return
		}
		if _, err := SubscriptionToR5(stored); err != nil {
			t.Fatalf("stored form %s has no R5 form: %v", stored, err)
		}
		_ = paths.Error(fhir.Invalid("Subscription.channel.extension[0].valueUnsignedInt", "x"))
	})
}

// TestRejectCrossVersion: a cross-version extension anywhere in an R4
// Subscription is refused, naming where it is; the Backport IG's own
// extensions and others are not.
func TestRejectCrossVersion(t *testing.T) {
	for _, tc := range []struct{ body, path string }{
		{`{"resourceType":"Subscription","_criteria":{"extension":[{"url":"http://hl7.org/fhir/5.0/subscriptions-backport/StructureDefinition/backport-filter-criteria","valueString":"x"}]}}`, "Subscription._criteria.extension[0]"},
		{`{"resourceType":"Subscription","extension":[{"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-Subscription.topic","valueCanonical":"x"}]}`, "Subscription.extension[0]"},
		{`{"resourceType":"Subscription","channel":{"extension":[{"url":"u"},{"url":"http://hl7.org/fhir/4.3/StructureDefinition/extension-Subscription.timeout"}]}}`, "Subscription.channel.extension[1]"},
		{`{"resourceType":"Subscription","channel":{"modifierExtension":[{"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-x"}]}}`, "Subscription.channel.modifierExtension[0]"},
		{string(readTestdata(t, "subscription-backport-e8.json")), ""},
		{`{"resourceType":"Subscription","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"x"},{"url":"` + r5Element + `name","valueString":"n"}]}`, ""},
	} {
		err := rejectCrossVersion([]byte(tc.body))
		var ve *fhir.ValidationError
		switch {
		case tc.path == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.body, err)
		case tc.path != "" && (!errors.As(err, &ve) || ve.Path != tc.path || ve.IssueCode() != fhir.IssueNotSupported):
			t.Errorf("%s: got %v, want not-supported at %s", tc.body, err, tc.path)
		}
	}
}
