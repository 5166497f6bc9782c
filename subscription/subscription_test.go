package subscription

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
)

var now = time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC)

// testTopics is the built-in topics plus the example topics of testdata.
func testTopics(tb testing.TB) *Topics {
	tb.Helper()
	s := NewTopics(BuiltinTopics()...)
	s.Add(mustTopicFile(tb, "topic-encounter-start-example.json"))
	s.Add(mustTopicFile(tb, "topic-encounter-complete-fhirpath.json"))
	// A topic on two types, to exercise filters without a type.
	s.Add(mustTopic(tb, `{"resourceType":"SubscriptionTopic","url":"http://x.org/clinical","resourceTrigger":[
		{"resource":"Observation"},{"resource":"Condition"},{"resource":"Patient"}],
		"canFilterBy":[{"filterParameter":"patient"},{"resource":"Observation","filterParameter":"code","modifier":["not"]},
		{"resource":"Patient","filterParameter":"_id"}]}`))
	return s
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustSubscription(tb testing.TB, body []byte, topics TopicSet) *Subscription {
	tb.Helper()
	s, err := ParseSubscription(body, topics, now)
	if err != nil {
		tb.Fatalf("ParseSubscription: %v", err)
	}
	return s
}

func TestParseSubscriptionStyles(t *testing.T) {
	topics := testTopics(t)

	t.Run("backport E8", func(t *testing.T) {
		s := mustSubscription(t, readTestdata(t, "subscription-backport-e8.json"), topics)
		if s.ID != "sub-r4-ws-7" || s.Kind != KindTopic || s.TopicURL != "http://example.org/fhir/SubscriptionTopic/encounter-start" {
			t.Errorf("ID, Kind, TopicURL = %q, %v, %q", s.ID, s.Kind, s.TopicURL)
		}
		if s.Status != StatusActive || s.Reason != "Ward dashboard live feed" {
			t.Errorf("Status, Reason = %q, %q", s.Status, s.Reason)
		}
		if got := s.FilterStrings(); !slices.Equal(got, []string{"Encounter.patient=Patient/p-77"}) {
			t.Errorf("filters = %v", got)
		}
		if s.Filters[0].Query == nil || s.Filters[0].Query.Type != "Encounter" {
			t.Errorf("filter query = %+v", s.Filters[0].Query)
		}
		if s.ChannelType != "websocket" || s.Payload != "application/fhir+json" || s.Content != ContentIDOnly {
			t.Errorf("channel = %q, %q, %q", s.ChannelType, s.Payload, s.Content)
		}
		if s.HeartbeatPeriod != 60*time.Second || s.Timeout != 30*time.Second || s.MaxCount != 20 {
			t.Errorf("heartbeat, timeout, maxCount = %v, %v, %d", s.HeartbeatPeriod, s.Timeout, s.MaxCount)
		}
		if got := s.ResourceTypes(topics); !slices.Equal(got, []string{"Encounter"}) {
			t.Errorf("ResourceTypes = %v", got)
		}
		if got := s.Pins("Encounter"); !slices.Equal(got, []search.Pin{{Param: "patient", Value: "Patient/p-77"}}) {
			t.Errorf("Pins(Encounter) = %v", got)
		}
	})

	t.Run("legacy criteria", func(t *testing.T) {
		s := mustSubscription(t, readTestdata(t, "subscription-criteria.json"), topics)
		if s.Kind != KindCriteria || s.Query == nil || s.Query.Type != "Observation" || s.TopicURL != "" || len(s.Filters) != 0 {
			t.Errorf("Kind, Query, TopicURL, Filters = %v, %+v, %q, %v", s.Kind, s.Query, s.TopicURL, s.Filters)
		}
		if s.Status != StatusActive || s.Content != ContentFullResource || s.Payload != "" {
			t.Errorf("Status, Content, Payload = %q, %q, %q", s.Status, s.Content, s.Payload)
		}
		if s.HeartbeatPeriod != DefaultHeartbeatPeriod || s.Timeout != DefaultTimeout || s.MaxCount != DefaultMaxCount {
			t.Errorf("defaults = %v, %v, %d", s.HeartbeatPeriod, s.Timeout, s.MaxCount)
		}
		if got := s.ResourceTypes(topics); !slices.Equal(got, []string{"Observation"}) {
			t.Errorf("ResourceTypes = %v", got)
		}
		pins := s.Pins("Observation")
		slices.SortFunc(pins, func(a, b search.Pin) int { return strings.Compare(a.Param, b.Param) })
		if want := []search.Pin{{Param: "code", Value: "http://loinc.org|8867-4"}, {Param: "subject", Value: "Patient/123"}}; !slices.Equal(pins, want) {
			t.Errorf("Pins = %v, want %v", pins, want)
		}
		if got := s.Pins("Patient"); len(got) != 0 {
			t.Errorf("Pins(Patient) = %v, want none", got)
		}
	})

	t.Run("medplum", func(t *testing.T) {
		s := mustSubscription(t, readTestdata(t, "subscription-medplum.json"), topics)
		if s.Kind != KindCriteria || s.Query.Type != "Observation" || s.Status != StatusActive || s.Reason != "Watch observations" {
			t.Errorf("got %+v", s)
		}
		if got := s.Pins("Observation"); len(got) != 0 {
			t.Errorf("Pins = %v, want none", got)
		}
	})

	t.Run("topic defaults", func(t *testing.T) {
		s := mustSubscription(t, []byte(`{"resourceType":"Subscription","status":"requested","criteria":"`+ChangedTopic("Observation")+`","channel":{"type":"websocket"}}`), topics)
		if s.Content != ContentEmpty || len(s.Filters) != 0 {
			t.Errorf("Content, Filters = %q, %v; want empty content (no payload), no filters", s.Content, s.Filters)
		}
		s = mustSubscription(t, []byte(`{"resourceType":"Subscription","status":"requested","criteria":"`+ChangedTopic("Observation")+`","channel":{"type":"websocket","payload":"application/fhir+json; fhirVersion=4.0.1"}}`), topics)
		if s.Content != ContentFullResource {
			t.Errorf("Content = %q, want full-resource (payload without content extension)", s.Content)
		}
	})
}

// sub builds a Subscription body from members (JSON object members
// without braces) and a channel.
func sub(members string) []byte {
	return []byte(`{"resourceType":"Subscription",` + members + `}`)
}

const (
	okChannel = `"channel":{"type":"websocket"}`
	encStart  = `"criteria":"http://example.org/fhir/SubscriptionTopic/encounter-start"`
	filterExt = `http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria`
	hbExt     = `http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period`
	mcExt     = `http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-max-count`
	toExt     = `http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-timeout`
	pcExt     = `http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content`
)

func filters(values ...string) string {
	var exts []string
	for _, v := range values {
		b, _ := json.Marshal(v)
		exts = append(exts, `{"url":"`+filterExt+`","valueString":`+string(b)+`}`)
	}
	return `"_criteria":{"extension":[` + strings.Join(exts, ",") + `]}`
}

func TestParseSubscriptionInvalid(t *testing.T) {
	topics := testTopics(t)
	const st = `"status":"requested",`
	tests := []struct {
		name string
		body []byte
		path string
		code string
	}{
		{"not json", []byte(`{"resourceType":"Subscription",`), "", "invalid"},
		{"missing resourceType", []byte(`{"status":"active","criteria":"Observation",` + okChannel + `}`), "resourceType", "required"},
		{"unknown resourceType", []byte(`{"resourceType":"Subscripton","status":"active","criteria":"Observation",` + okChannel + `}`), "resourceType", "not-supported"},
		{"other resourceType", []byte(`{"resourceType":"Patient","status":"active"}`), "resourceType", "invalid"},
		{"missing status", sub(`"criteria":"Observation",` + okChannel), "Subscription.status", "required"},
		{"unknown status", sub(`"status":"entered-in-error","criteria":"Observation",` + okChannel), "Subscription.status", "invalid"},
		{"status not a string", sub(`"status":1,"criteria":"Observation",` + okChannel), "Subscription.status", "invalid"},
		{"bad end", sub(st + `"end":"2031-01-01","criteria":"Observation",` + okChannel), "Subscription.end", "invalid"},
		{"missing criteria", sub(st + okChannel), "Subscription.criteria", "required"},
		{"R5 shape (E1)", sub(`"status":"active","topic":"http://example.org/fhir/SubscriptionTopic/encounter-start","filterBy":[{"resourceType":"Encounter","filterParameter":"patient","value":"Patient/p-77"}],"channelType":{"code":"websocket"},"content":"id-only"`), "Subscription.criteria", "required"},
		{"criteria does not parse", sub(st + `"criteria":"Observation?colour=red",` + okChannel), "Subscription.criteria", "not-supported"},
		{"criteria unknown type", sub(st + `"criteria":"Observaton?code=1",` + okChannel), "Subscription.criteria", "not-supported"},
		{"criteria bad value", sub(st + `"criteria":"Observation?date=yesterday",` + okChannel), "Subscription.criteria", "invalid"},
		{"unknown topic", sub(st + `"criteria":"http://example.org/fhir/SubscriptionTopic/nope",` + okChannel), "Subscription.criteria", "not-supported"},
		{"filter on criteria subscription", sub(st + `"criteria":"Observation",` + filters("code=1") + `,` + okChannel), "Subscription._criteria.extension[0]", "invalid"},
		{"filter param not in canFilterBy", sub(st + encStart + `,` + filters("patient=Patient/1", "status=finished") + `,` + okChannel), "Subscription._criteria.extension[1]", "not-supported"},
		{"filter on a type the topic lacks", sub(st + encStart + `,` + filters("Observation?patient=Patient/1") + `,` + okChannel), "Subscription._criteria.extension[0]", "not-supported"},
		{"filter modifier not allowed", sub(st + encStart + `,` + filters("class:text=inpatient") + `,` + okChannel), "Subscription._criteria.extension[0]", "not-supported"},
		{"filter not param=value", sub(st + encStart + `,` + filters("patient") + `,` + okChannel), "Subscription._criteria.extension[0]", "invalid"},
		{"filter empty", sub(st + encStart + `,` + filters(" ") + `,` + okChannel), "Subscription._criteria.extension[0]", "invalid"},
		{"filter bad escape", sub(st + encStart + `,` + filters("patient=Patient%2") + `,` + okChannel), "Subscription._criteria.extension[0]", "invalid"},
		{"filter unknown url type", sub(st + encStart + `,` + filters("Encountr?patient=Patient/1") + `,` + okChannel), "Subscription._criteria.extension[0]", "invalid"},
		{"filter bad value", sub(st + `"criteria":"` + ChangedTopic("Observation") + `",` + filters("date=yesterday") + `,` + okChannel), "Subscription._criteria.extension[0]", "invalid"},
		{"filter valueCode", sub(st + encStart + `,"_criteria":{"extension":[{"url":"` + filterExt + `","valueCode":"patient=Patient/1"}]},` + okChannel), "Subscription._criteria.extension[0]", "invalid"},
		{"extension without url", sub(st + encStart + `,"_criteria":{"extension":[{"valueString":"patient=Patient/1"}]},` + okChannel), "Subscription._criteria.extension[0].url", "required"},
		{"missing channel", sub(st + `"criteria":"Observation"`), "Subscription.channel", "required"},
		{"missing channel type", sub(st + `"criteria":"Observation","channel":{}`), "Subscription.channel.type", "required"},
		{"rest-hook without endpoint", sub(st + `"criteria":"Observation","channel":{"type":"rest-hook"}`), "Subscription.channel.endpoint", "required"},
		{"rest-hook relative endpoint", sub(st + `"criteria":"Observation","channel":{"type":"rest-hook","endpoint":"/hook"}`), "Subscription.channel.endpoint", "invalid"},
		{"rest-hook ftp endpoint", sub(st + `"criteria":"Observation","channel":{"type":"rest-hook","endpoint":"ftp://x.org/hook"}`), "Subscription.channel.endpoint", "invalid"},
		{"rest-hook endpoint credentials", sub(st + `"criteria":"Observation","channel":{"type":"rest-hook","endpoint":"https://u:p@x.org/hook"}`), "Subscription.channel.endpoint", "invalid"},
		{"rest-hook endpoint fragment", sub(st + `"criteria":"Observation","channel":{"type":"rest-hook","endpoint":"https://x.org/hook#a"}`), "Subscription.channel.endpoint", "invalid"},
		{"rest-hook header without colon", sub(st + `"criteria":"Observation","channel":{"type":"rest-hook","endpoint":"https://x.org/hook","header":["Bearer x"]}`), "Subscription.channel.header[0]", "invalid"},
		{"rest-hook header injection", sub(st + `"criteria":"Observation","channel":{"type":"rest-hook","endpoint":"https://x.org/hook","header":["A: b","X-A: b\r\nHost: evil"]}`), "Subscription.channel.header[1]", "invalid"},
		{"rest-hook reserved header", sub(st + `"criteria":"Observation","channel":{"type":"rest-hook","endpoint":"https://x.org/hook","header":["content-type: text/plain"]}`), "Subscription.channel.header[0]", "invalid"},
		{"rest-hook header not strings", sub(st + `"criteria":"Observation","channel":{"type":"rest-hook","endpoint":"https://x.org/hook","header":[1]}`), "Subscription.channel.header[0]", "invalid"},
		{"rest-hook empty secret", sub(st + `"criteria":"Observation","extension":[{"url":"` + ExtSecret + `","valueString":""}],"channel":{"type":"rest-hook","endpoint":"https://x.org/hook"}`), "Subscription.extension[0]", "invalid"},
		{"email", sub(st + `"criteria":"Observation","channel":{"type":"email"}`), "Subscription.channel.type", "not-supported"},
		{"custom channel", sub(st + `"criteria":"Observation","channel":{"type":"websocket","_type":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-channel-type","valueCoding":{"code":"zulip"}}]}}`), "Subscription.channel._type.extension[0]", "not-supported"},
		{"xml payload", sub(st + `"criteria":"Observation","channel":{"type":"websocket","payload":"application/fhir+xml"}`), "Subscription.channel.payload", "not-supported"},
		{"fhirVersion 3.0", sub(st + `"criteria":"Observation","channel":{"type":"websocket","payload":"application/fhir+json; fhirVersion=3.0"}`), "Subscription.channel.payload", "not-supported"},
		{"fhirVersion 6.0", sub(st + `"criteria":"Observation","channel":{"type":"websocket","payload":"application/fhir+json;fhirVersion=6.0"}`), "Subscription.channel.payload", "not-supported"},
		{"fhirVersion 4.30", sub(st + `"criteria":"Observation","channel":{"type":"websocket","payload":"application/fhir+json;fhirVersion=4.30"}`), "Subscription.channel.payload", "not-supported"},
		{"malformed MIME", sub(st + `"criteria":"Observation","channel":{"type":"websocket","payload":"application/fhir+json; ="}`), "Subscription.channel.payload", "invalid"},
		{"unknown content", sub(st + `"criteria":"Observation","channel":{"type":"websocket","payload":"application/fhir+json","_payload":{"extension":[{"url":"` + pcExt + `","valueCode":"everything"}]}}`), "Subscription.channel._payload.extension[0].valueCode", "invalid"},
		{"content as string", sub(st + `"criteria":"Observation","channel":{"type":"websocket","payload":"application/fhir+json","_payload":{"extension":[{"url":"http://x.org/other","valueString":"x"},{"url":"` + pcExt + `","valueString":"id-only"}]}}`), "Subscription.channel._payload.extension[1]", "invalid"},
		{"_payload.extension not an array", sub(st + `"criteria":"Observation","channel":{"type":"websocket","_payload":{"extension":{}}}`), "Subscription.channel._payload.extension", "invalid"},
		{"negative heartbeat", sub(st + `"criteria":"Observation","channel":{"type":"websocket","extension":[{"url":"` + hbExt + `","valueUnsignedInt":-5}]}`), "Subscription.channel.extension[0].valueUnsignedInt", "invalid"},
		{"zero heartbeat", sub(st + `"criteria":"Observation","channel":{"type":"websocket","extension":[{"url":"` + hbExt + `","valueUnsignedInt":0}]}`), "Subscription.channel.extension[0].valueUnsignedInt", "invalid"},
		{"heartbeat as string", sub(st + `"criteria":"Observation","channel":{"type":"websocket","extension":[{"url":"` + hbExt + `","valueString":"60"}]}`), "Subscription.channel.extension[0]", "invalid"},
		{"heartbeat fractional", sub(st + `"criteria":"Observation","channel":{"type":"websocket","extension":[{"url":"` + hbExt + `","valueUnsignedInt":1.5}]}`), "Subscription.channel.extension[0].valueUnsignedInt", "invalid"},
		{"heartbeat twice", sub(st + `"criteria":"Observation","channel":{"type":"websocket","extension":[{"url":"` + hbExt + `","valueUnsignedInt":5},{"url":"` + hbExt + `","valueUnsignedInt":6}]}`), "Subscription.channel.extension[1]", "invalid"},
		{"timeout without value", sub(st + `"criteria":"Observation","channel":{"type":"websocket","extension":[{"url":"` + toExt + `"}]}`), "Subscription.channel.extension[0]", "required"},
		{"max-count zero", sub(st + `"criteria":"Observation","channel":{"type":"websocket","extension":[{"url":"` + mcExt + `","valuePositiveInt":0}]}`), "Subscription.channel.extension[0].valuePositiveInt", "invalid"},
		{"max-count unsignedInt", sub(st + `"criteria":"Observation","channel":{"type":"websocket","extension":[{"url":"` + mcExt + `","valueUnsignedInt":10}]}`), "Subscription.channel.extension[0]", "invalid"},
		{"modifier extension", sub(st + `"criteria":"Observation","modifierExtension":[{"url":"http://x.org/m","valueBoolean":true}],` + okChannel), "Subscription.modifierExtension[0]", "not-supported"},
		{"channel modifier extension", sub(st + `"criteria":"Observation","channel":{"type":"websocket","modifierExtension":[{"url":"http://x.org/m","valueBoolean":true}]}`), "Subscription.channel.modifierExtension[0]", "not-supported"},
	}
	for _, tt := range tests {
		_, err := ParseSubscription(tt.body, topics, now)
		wantValidation(t, tt.name, err, tt.path, tt.code)
	}
}

// TestParseSubscriptionVersion: channel.payload's fhirVersion chooses the
// wire version of the notifications; without one the subscription asks none
// (R4, unless the socket asks).
func TestParseSubscriptionVersion(t *testing.T) {
	topics := testTopics(t)
	now := time.Now()
	for _, tt := range []struct {
		payload string
		want    fhir.Version
		asked   bool
	}{
		{"", fhir.R4, false},
		{"application/fhir+json", fhir.R4, false},
		{"application/fhir+json; fhirVersion=4.0", fhir.R4, true},
		{"application/fhir+json; fhirVersion=4.0.1", fhir.R4, true},
		{"application/fhir+json; fhirVersion=4.3", fhir.R4B, true},
		{"application/fhir+json;fhirVersion=4.3.0", fhir.R4B, true},
		{"application/fhir+json; fhirVersion=5.0", fhir.R5, true},
		{"application/fhir+json; FHIRVERSION=5.0.0", fhir.R5, true},
	} {
		ch := `"channel":{"type":"websocket"}`
		if tt.payload != "" {
			ch = `"channel":{"type":"websocket","payload":"` + tt.payload + `"}`
		}
		s, err := ParseSubscription(sub(`"status":"active","criteria":"Observation",`+ch), topics, now)
		if err != nil {
			t.Fatalf("%q: %v", tt.payload, err)
		}
		if s.Version != tt.want || s.VersionAsked != tt.asked {
			t.Errorf("%q: version %v asked %v, want %v %v", tt.payload, s.Version, s.VersionAsked, tt.want, tt.asked)
		}
	}
}

func TestParseSubscriptionAccepts(t *testing.T) {
	topics := testTopics(t)
	tests := []struct {
		name    string
		body    []byte
		filters []string // FilterStrings
	}{
		{"fhirVersion 4.0", sub(`"status":"active","criteria":"Observation","channel":{"type":"websocket","payload":"application/fhir+json; fhirVersion=4.0"}`), nil},
		{"application/json", sub(`"status":"active","criteria":"Observation","channel":{"type":"websocket","payload":"application/json"}`), nil},
		{"leading slash criteria", sub(`"status":"active","criteria":"/Observation?status=final",` + okChannel), nil},
		{"unknown extensions kept", sub(`"status":"active","criteria":"Observation","channel":{"type":"websocket","extension":[{"url":"http://x.org/e","valueString":"x"}]},"extension":[{"url":"http://x.org/f","valueInteger":1}]`), nil},
		{"bare filter", sub(`"status":"active",` + encStart + `,` + filters("patient=Patient/p-77") + `,` + okChannel), []string{"Encounter.patient=Patient/p-77"}},
		{"dotted filter", sub(`"status":"active",` + encStart + `,` + filters("Encounter.patient=Patient/p-77") + `,` + okChannel), []string{"Encounter.patient=Patient/p-77"}},
		{"dotted filter with modifier", sub(`"status":"active",` + encStart + `,` + filters("Encounter.class:not=EMER") + `,` + okChannel), []string{"Encounter.class:not=EMER"}},
		{"two params in one string", sub(`"status":"active",` + encStart + `,` + filters("Encounter?patient=Patient/p-77&class=IMP") + `,` + okChannel), []string{"Encounter.patient=Patient/p-77", "Encounter.class=IMP"}},
		{"escaped value", sub(`"status":"active",` + encStart + `,` + filters("patient=Patient%2Fp-77") + `,` + okChannel), []string{"Encounter.patient=Patient/p-77"}},
		{"untyped filter on several types", sub(`"status":"active","criteria":"http://x.org/clinical",` + filters("patient=Patient/1", "Observation.code=1234-5") + `,` + okChannel),
			[]string{"Observation.patient=Patient/1", "Condition.patient=Patient/1", "Observation.code=1234-5"}},
		{"versioned topic canonical", sub(`"status":"active","criteria":"http://example.org/fhir/SubscriptionTopic/encounter-start|1.0",` + okChannel), nil},
	}
	for _, tt := range tests {
		s, err := ParseSubscription(tt.body, topics, now)
		if err != nil {
			t.Errorf("%s: ParseSubscription: %v", tt.name, err)
			continue
		}
		got := s.FilterStrings()
		slices.Sort(got)
		want := slices.Clone(tt.filters)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: filters = %v, want %v", tt.name, got, want)
		}
	}
}

func TestSubscriptionStatus(t *testing.T) {
	tests := []struct {
		name      string
		members   string
		status    string
		errorText string
	}{
		{"requested becomes active", `"status":"requested"`, StatusActive, ""},
		{"active stays active", `"status":"active"`, StatusActive, ""},
		{"off stays off", `"status":"off"`, StatusOff, ""},
		{"error stays error with its text", `"status":"error","error":"no socket"`, StatusError, "no socket"},
		{"reactivation clears error", `"status":"requested","error":"no socket"`, StatusActive, ""},
		{"off drops error", `"status":"off","error":"no socket"`, StatusOff, ""},
		{"end in the future", `"status":"requested","end":"2031-01-01T00:00:00Z"`, StatusActive, ""},
		{"end in the past", `"status":"requested","end":"2020-12-31T12:00:00Z"`, StatusOff, ""},
		{"end now", `"status":"active","end":"2026-03-02T09:15:00Z"`, StatusOff, ""},
		{"end with offset and fraction", `"status":"active","end":"2026-03-02T10:15:00.5+01:00"`, StatusActive, ""},
	}
	for _, tt := range tests {
		s, err := ParseSubscription(sub(tt.members+`,"criteria":"Observation",`+okChannel), nil, now)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if s.Status != tt.status || s.Error != tt.errorText {
			t.Errorf("%s: Status, Error = %q, %q, want %q, %q", tt.name, s.Status, s.Error, tt.status, tt.errorText)
		}
	}
}

func TestActivatedBody(t *testing.T) {
	body := []byte(`{"resourceType":"Subscription","id":"s1","status":"requested","error":"old","reason":"r","criteria":"Observation","channel":{"type":"websocket"},"extension":[{"url":"http://x.org/e","valueString":"kept"}]}`)
	s := mustSubscription(t, body, nil)
	got, err := ActivatedBody(body, s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"resourceType":"Subscription","id":"s1","status":"active","reason":"r","criteria":"Observation","channel":{"type":"websocket"},"extension":[{"url":"http://x.org/e","valueString":"kept"}]}`
	if string(got) != want {
		t.Errorf("ActivatedBody =\n%s\nwant\n%s", got, want)
	}

	got, err = WithStatus(got, StatusError, "socket write timed out")
	if err != nil {
		t.Fatal(err)
	}
	if s2 := mustSubscription(t, got, nil); s2.Status != StatusError || s2.Error != "socket write timed out" {
		t.Errorf("after WithStatus: Status, Error = %q, %q", s2.Status, s2.Error)
	}
	if _, err := WithStatus([]byte(`[1]`), StatusOff, ""); err == nil {
		t.Error("WithStatus on a non-object did not fail")
	}
}

func obs(code, patient string) []byte {
	return []byte(`{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"` + code + `"}]},"subject":{"reference":"Patient/` + patient + `"}}`)
}

func TestMatches(t *testing.T) {
	topics := testTopics(t)
	legacy := mustSubscription(t, readTestdata(t, "subscription-criteria.json"), topics)
	medplum := mustSubscription(t, readTestdata(t, "subscription-medplum.json"), topics)
	e8 := mustSubscription(t, readTestdata(t, "subscription-backport-e8.json"), topics)
	changed := mustSubscription(t, sub(`"status":"active","criteria":"`+ChangedTopic("Observation")+`",`+filters("code=http://loinc.org|8867-4")+`,`+okChannel), topics)
	multi := mustSubscription(t, sub(`"status":"active","criteria":"http://x.org/clinical",`+filters("patient=Patient/123", "Patient._id=123")+`,`+okChannel), topics)
	cond := []byte(`{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/123"}}`)

	tests := []struct {
		name              string
		sub               *Subscription
		interaction       string
		previous, current []byte
		want              bool
	}{
		{"legacy create match", legacy, "create", nil, obs("8867-4", "123"), true},
		{"legacy update match", legacy, "update", obs("1-1", "123"), obs("8867-4", "123"), true},
		{"legacy other code", legacy, "create", nil, obs("1-1", "123"), false},
		{"legacy other patient", legacy, "create", nil, obs("8867-4", "124"), false},
		{"legacy other type", legacy, "create", nil, enc("in-progress"), false},
		{"legacy delete does not fire", legacy, "delete", obs("8867-4", "123"), nil, false},
		{"medplum any observation", medplum, "update", obs("1-1", "9"), obs("2-2", "9"), true},
		{"medplum not a patient", medplum, "create", nil, []byte(`{"resourceType":"Patient","id":"p"}`), false},
		{"E8 start of p-77", e8, "update", enc("planned"), enc("in-progress"), true},
		{"E8 start of another patient", e8, "update", encOf("planned", "p-78"), encOf("in-progress", "p-78"), false},
		{"E8 p-77 without transition", e8, "update", enc("in-progress"), enc("in-progress"), false},
		{"E8 create in-progress", e8, "create", nil, enc("in-progress"), true},
		{"changed topic delete of matching focus", changed, "delete", obs("8867-4", "1"), nil, true},
		{"changed topic delete of other focus", changed, "delete", obs("1-1", "1"), nil, false},
		{"changed topic update", changed, "update", obs("8867-4", "1"), obs("8867-4", "1"), true},
		{"multi-type: observation of 123", multi, "create", nil, obs("1-1", "123"), true},
		{"multi-type: observation of 9", multi, "create", nil, obs("1-1", "9"), false},
		{"multi-type: condition of 123", multi, "create", nil, cond, true},
		{"multi-type: patient 123", multi, "update", []byte(`{"resourceType":"Patient","id":"123"}`), []byte(`{"resourceType":"Patient","id":"123","active":true}`), true},
		{"multi-type: patient 9", multi, "update", []byte(`{"resourceType":"Patient","id":"9"}`), []byte(`{"resourceType":"Patient","id":"9"}`), false},
	}
	for _, tt := range tests {
		got, err := tt.sub.Matches(tt.interaction, tt.previous, tt.current, topics)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Matches(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}

	if got := multi.ResourceTypes(topics); !slices.Equal(got, []string{"Condition", "Observation", "Patient"}) {
		t.Errorf("ResourceTypes = %v", got)
	}
	if got := multi.Pins("Patient"); !slices.Equal(got, []search.Pin{{Param: "_id", Value: "123"}}) {
		t.Errorf("Pins(Patient) = %v", got)
	}

	// A topic removed after the subscription was accepted.
	empty := NewTopics()
	if _, err := e8.Matches("create", nil, enc("in-progress"), empty); !errors.Is(err, ErrUnknownTopic) {
		t.Errorf("Matches with the topic gone: err = %v, want ErrUnknownTopic", err)
	}
	if got := e8.ResourceTypes(empty); len(got) != 0 {
		t.Errorf("ResourceTypes with the topic gone = %v, want none", got)
	}
}

func FuzzParseSubscription(f *testing.F) {
	files, _ := filepath.Glob("testdata/subscription-*.json")
	for _, name := range files {
		f.Add(readTestdata(f, filepath.Base(name)))
	}
	f.Add(sub(`"status":"active",` + encStart + `,` + filters("Encounter?patient=Patient/p-77&class:not=EMER") + `,"channel":{"type":"websocket","payload":"application/fhir+json; fhirVersion=4.0","extension":[{"url":"` + hbExt + `","valueUnsignedInt":5}]}`))
	topics := testTopics(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := ParseSubscription(body, topics, now)
		if err != nil {
			var ve *fhir.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error is %T, not a validation error: %v", err, err)
			}
			return
		}
		if s.MaxCount < 1 || s.HeartbeatPeriod <= 0 || s.Timeout <= 0 {
			t.Fatalf("accepted inconsistent subscription %+v", s)
		}
		switch s.ChannelType {
		case ChannelWebsocket:
		case ChannelRestHook:
			if _, err := ParseEndpoint(s.Endpoint); err != nil {
				t.Fatalf("accepted rest-hook endpoint %q: %v", s.Endpoint, err)
			}
		default:
			t.Fatalf("accepted channel %q", s.ChannelType)
		}
		switch s.Status {
		case StatusActive, StatusError, StatusOff:
		case StatusRequested:
			if s.ChannelType != ChannelRestHook {
				t.Fatalf("stored status requested on a %s subscription", s.ChannelType)
			}
		default:
			t.Fatalf("stored status %q", s.Status)
		}
		if _, err := ActivatedBody(body, s); err != nil {
			t.Fatalf("ActivatedBody of an accepted body: %v", err)
		}
		_, _ = s.Matches("create", nil, obs("8867-4", "123"), topics)
	})
}
