package fhir_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/fhirtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	testBase  = "https://fhir.example.com/r4"
	testSub   = testBase + "/Subscription/sub-r4-ws-7"
	testTopic = "http://example.org/fhir/SubscriptionTopic/encounter-start"
)

var (
	testNow  = time.Date(2026, 3, 2, 9, 16, 30, 0, time.UTC)
	testAuth = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
)

const encounterJSON = `{
  "resourceType": "Encounter", "id": "enc-901", "status": "in-progress",
  "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
  "subject": {"reference": "Patient/p-77"}
}`

// twoEvents is a batch of two events: an update of an Encounter with its
// Patient as context, and the deletion of an Observation.
func twoEvents() []fhir.NotificationEvent {
	return []fhir.NotificationEvent{
		{
			Number:            4,
			Timestamp:         time.Date(2026, 3, 2, 9, 16, 29, 0, time.UTC),
			Focus:             &fhir.Reference{Reference: "Encounter/enc-901"},
			AdditionalContext: []fhir.Reference{{Reference: "Patient/p-77"}},
			Method:            "PUT",
			Resource:          json.RawMessage(encounterJSON),
		},
		{
			Number:    5,
			Timestamp: time.Date(2026, 3, 2, 9, 16, 29, 500_000_000, time.UTC),
			Focus:     &fhir.Reference{Reference: testBase + "/Observation/obs-3"},
			Method:    "DELETE",
		},
	}
}

func eventStatus() fhir.Status {
	return fhir.Status{Subscription: testSub, Topic: testTopic, Status: "active", Type: fhir.NotifyEvent, EventsSinceStart: 5, Events: twoEvents()}
}

// notificationCases are the golden notification Bundles.
var notificationCases = []struct {
	name    string
	st      fhir.Status
	content string
}{
	{"handshake", fhir.Status{Subscription: testSub, Topic: testTopic, Status: "active", Type: fhir.NotifyHandshake}, fhir.ContentIDOnly},
	{"heartbeat", fhir.Status{
		Subscription: testSub, Topic: testTopic, Status: "active", Type: fhir.NotifyHeartbeat, EventsSinceStart: 5,
		Extensions: []fhir.Extension{fhir.AuthExpires(testAuth)},
	}, fhir.ContentIDOnly},
	{"event-empty", eventStatus(), fhir.ContentEmpty},
	{"event-id-only", eventStatus(), fhir.ContentIDOnly},
	{"event-full-resource", eventStatus(), fhir.ContentFullResource},
	{"query-status", fhir.Status{
		Subscription: testSub, Topic: testTopic, Status: "active", Type: fhir.NotifyQueryStatus, EventsSinceStart: 5,
		Extensions: []fhir.Extension{fhir.AuthExpires(testAuth)},
	}, fhir.ContentIDOnly},
	{"query-event", fhir.Status{
		Subscription: testSub, Topic: testTopic, Status: "active", Type: fhir.NotifyQueryEvent, EventsSinceStart: 9,
		Events: []fhir.NotificationEvent{{
			Number: 2, Timestamp: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC),
			Focus: &fhir.Reference{Reference: "Encounter/enc-901"}, Method: "POST",
			Resource: json.RawMessage(encounterJSON),
		}},
	}, fhir.ContentFullResource},
	{"error", fhir.Status{
		Subscription: testSub, Topic: testTopic, Status: "error", Type: fhir.NotifyQueryStatus, EventsSinceStart: 3,
		Errors: []fhir.CodeableConcept{{Coding: []fhir.Coding{{System: fhir.SubscriptionErrorSystem, Code: "no-response", Display: "No Response"}}}},
	}, fhir.ContentIDOnly},
}

func TestBackportNotificationGolden(t *testing.T) {
	for _, tc := range notificationCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fhir.BackportNotification(tc.st, tc.content, testBase, "bundle-"+tc.name, testNow)
			if err != nil {
				t.Fatalf("BackportNotification: %v", err)
			}
			fhirtest.MustValidContent(t, got, tc.content)
			compareGolden(t, "notification-"+tc.name+".json", got)
		})
	}
}

func TestStatusBundleGolden(t *testing.T) {
	statuses := []fhir.Status{
		{Subscription: testSub, Topic: testTopic, Status: "active", EventsSinceStart: 5},
		{
			Subscription: "Subscription/sub-r4-hook-2", Topic: testTopic, Status: "error", Type: fhir.NotifyQueryStatus, EventsSinceStart: 12,
			Errors: []fhir.CodeableConcept{{Coding: []fhir.Coding{{System: fhir.SubscriptionErrorSystem, Code: "no-response"}}, Text: "endpoint did not answer"}},
		},
	}
	got, err := fhir.StatusBundle(statuses, testBase, "status-1", testNow)
	if err != nil {
		t.Fatalf("StatusBundle: %v", err)
	}
	if err := fhirtest.ValidateStatusBundle(got); err != nil {
		t.Fatalf("ValidateStatusBundle: %v\n%s", err, got)
	}
	compareGolden(t, "status-searchset.json", got)
	if statuses[0].Type != "" {
		t.Errorf("StatusBundle changed the caller's Status.Type to %q", statuses[0].Type)
	}
}

// compareGolden compares got, indented, with testdata/notifications/name,
// or rewrites the file under -update.
func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, got)
	}
	buf.WriteByte('\n')
	file := filepath.Join("testdata", "notifications", name)
	if *update {
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from the output (run with -update to accept):\n got: %s\nwant: %s", file, buf.Bytes(), want)
	}
}

func TestBackportNotificationIsDeterministic(t *testing.T) {
	a, err := fhir.BackportNotification(eventStatus(), fhir.ContentIDOnly, testBase, "same", testNow)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := fhir.BackportNotification(eventStatus(), fhir.ContentIDOnly, testBase+"/", "same", testNow)
	if !bytes.Equal(a, b) {
		t.Errorf("same arguments gave different bundles:\n%s\n%s", a, b)
	}
	c, _ := fhir.BackportNotification(eventStatus(), fhir.ContentIDOnly, testBase, "other", testNow)
	if statusFullURL(t, a) == statusFullURL(t, c) {
		t.Errorf("bundles %q and %q share status fullUrl %s", "same", "other", statusFullURL(t, a))
	}
}

func TestBackportNotificationRandomID(t *testing.T) {
	a, err := fhir.BackportNotification(eventStatus(), fhir.ContentEmpty, testBase, "", testNow)
	if err != nil {
		t.Fatal(err)
	}
	fhirtest.MustValidContent(t, a, fhir.ContentEmpty)
	b, _ := fhir.BackportNotification(eventStatus(), fhir.ContentEmpty, testBase, "", testNow)
	var ba, bb struct{ ID string }
	if err := json.Unmarshal(a, &ba); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &bb); err != nil {
		t.Fatal(err)
	}
	if ba.ID == "" || ba.ID == bb.ID {
		t.Errorf("ids for an empty id argument = %q and %q, want two distinct UUIDs", ba.ID, bb.ID)
	}
}

func statusFullURL(t *testing.T, b []byte) string {
	t.Helper()
	var bundle struct{ Entry []struct{ FullURL string } }
	if err := json.Unmarshal(b, &bundle); err != nil || len(bundle.Entry) == 0 {
		t.Fatalf("decode bundle: %v\n%s", err, b)
	}
	return bundle.Entry[0].FullURL
}

func TestBackportNotificationAppendReusesBuffer(t *testing.T) {
	buf := []byte("prefix")
	out, err := fhir.AppendBackportNotification(buf, eventStatus(), fhir.ContentIDOnly, testBase, "b1", testNow)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fhir.BackportNotification(eventStatus(), fhir.ContentIDOnly, testBase, "b1", testNow)
	if got := string(out); got != "prefix"+string(want) {
		t.Errorf("AppendBackportNotification(%q, …) = %s, want prefix then %s", buf, got, want)
	}
	bad := eventStatus()
	bad.Events[0].Resource = json.RawMessage(`{"resourceType":`)
	out, err = fhir.AppendBackportNotification([]byte("prefix"), bad, fhir.ContentFullResource, testBase, "b1", testNow)
	if err == nil || string(out) != "prefix" {
		t.Errorf("AppendBackportNotification with a broken resource = %q, %v; want %q and an error", out, err, "prefix")
	}
}

func TestBackportNotificationErrors(t *testing.T) {
	mod := func(f func(*fhir.Status)) fhir.Status {
		st := eventStatus()
		f(&st)
		return st
	}
	tests := []struct {
		name    string
		st      fhir.Status
		content string
		base    string
		id      string
		want    string // a substring of the error
	}{
		{"unknown content", eventStatus(), "full", testBase, "b", "unknown content"},
		{"relative base", eventStatus(), fhir.ContentIDOnly, "/r4", "b", "base"},
		{"invalid id", eventStatus(), fhir.ContentIDOnly, testBase, "no spaces", "invalid bundle id"},
		{"no subscription", mod(func(s *fhir.Status) { s.Subscription = "" }), fhir.ContentIDOnly, testBase, "b", "missing subscription"},
		{"R5-only status", mod(func(s *fhir.Status) { s.Status = "entered-in-error" }), fhir.ContentIDOnly, testBase, "b", "unknown subscription status"},
		{"unknown type", mod(func(s *fhir.Status) { s.Type = "query-events" }), fhir.ContentIDOnly, testBase, "b", "unknown notification type"},
		{"event without events", mod(func(s *fhir.Status) { s.Events = nil }), fhir.ContentIDOnly, testBase, "b", "without events"},
		{"query-event without events", mod(func(s *fhir.Status) { s.Type = fhir.NotifyQueryEvent; s.Events = nil }), fhir.ContentEmpty, testBase, "b", "without events"},
		{"event number above count", mod(func(s *fhir.Status) { s.EventsSinceStart = 4 }), fhir.ContentIDOnly, testBase, "b", "outside 1..4"},
		{"event number zero", mod(func(s *fhir.Status) { s.Events[0].Number = 0 }), fhir.ContentIDOnly, testBase, "b", "outside"},
		{"negative count", mod(func(s *fhir.Status) { s.Type = fhir.NotifyHeartbeat; s.Events = nil; s.EventsSinceStart = -1 }), fhir.ContentIDOnly, testBase, "b", "negative"},
		{"id-only without focus", mod(func(s *fhir.Status) { s.Events[1].Focus = nil }), fhir.ContentIDOnly, testBase, "b", "no focus"},
		{"unknown method", mod(func(s *fhir.Status) { s.Events[0].Method = "MERGE" }), fhir.ContentIDOnly, testBase, "b", "unknown method"},
		{"extension without value", mod(func(s *fhir.Status) { s.Extensions = []fhir.Extension{{URL: fhir.AuthExpiresURL}} }), fhir.ContentIDOnly, testBase, "b", "exactly one value"},
		{"resource not JSON", mod(func(s *fhir.Status) { s.Events[0].Resource = json.RawMessage(`{"a":`) }), fhir.ContentFullResource, testBase, "b", "resource"},
		{"resource not object", mod(func(s *fhir.Status) { s.Events[0].Resource = json.RawMessage(` [1] `) }), fhir.ContentFullResource, testBase, "b", "not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fhir.BackportNotification(tc.st, tc.content, tc.base, tc.id, testNow)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("BackportNotification(%s) = %s, %v; want error containing %q", tc.name, got, err, tc.want)
			}
		})
	}
	if _, err := fhir.BackportNotification(eventStatus(), fhir.ContentIDOnly, testBase, "b", time.Time{}); err == nil {
		t.Errorf("BackportNotification with zero time: nil error, want one")
	}
}

func TestStatusBundleErrors(t *testing.T) {
	tests := []struct {
		name     string
		statuses []fhir.Status
		base, id string
		want     string
	}{
		{"wrong type", []fhir.Status{{Subscription: testSub, Status: "active", Type: fhir.NotifyHeartbeat}}, testBase, "s", "want \"query-status\""},
		{"no status", []fhir.Status{{Subscription: testSub}}, testBase, "s", "unknown subscription status"},
		{"bad base", nil, "fhir.example.com", "s", "base"},
		{"bad id", nil, testBase, "a/b", "invalid bundle id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fhir.StatusBundle(tc.statuses, tc.base, tc.id, testNow)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("StatusBundle(%s) = %s, %v; want error containing %q", tc.name, got, err, tc.want)
			}
		})
	}
}

func TestStatusBundleEmpty(t *testing.T) {
	got, err := fhir.StatusBundle(nil, testBase, "none", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := fhirtest.ValidateStatusBundle(got); err != nil {
		t.Errorf("ValidateStatusBundle(%s) = %v", got, err)
	}
	if !bytes.Contains(got, []byte(`"total":0`)) || bytes.Contains(got, []byte(`"entry"`)) {
		t.Errorf("StatusBundle(nil) = %s, want total 0 and no entry", got)
	}
}

func TestBackportNotificationReferences(t *testing.T) {
	st := eventStatus()
	st.Events = []fhir.NotificationEvent{
		{Number: 1, Focus: &fhir.Reference{Reference: "https://other.example.org/fhir/Patient/x"}, Method: "PUT", Resource: json.RawMessage(`{"resourceType":"Patient","id":"x"}`)},
		{Number: 2, Focus: &fhir.Reference{Reference: "Patient/p1/_history/3", Type: "Patient"}, Method: "POST", Resource: json.RawMessage(`{"resourceType":"Patient","id":"p1"}`)},
		{Number: 3, Focus: &fhir.Reference{Reference: "Patient/p1"}, Method: "", Resource: json.RawMessage(`{"resourceType":"Patient","id":"p1"}`)},
	}
	b, err := fhir.BackportNotification(st, fhir.ContentFullResource, testBase, "refs", testNow)
	if err != nil {
		t.Fatal(err)
	}
	fhirtest.MustValidContent(t, b, fhir.ContentFullResource)
	var bundle struct {
		Entry []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
			Request  struct{ Method, URL string }
			Response struct{ Status string }
		}
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	type entry struct{ fullURL, method, url, status string }
	var got []entry
	for _, e := range bundle.Entry[1:] {
		got = append(got, entry{e.FullURL, e.Request.Method, e.Request.URL, e.Response.Status})
	}
	// The foreign focus gets no entry; the versioned one an unversioned
	// fullUrl; POST goes to the type; no method means GET.
	want := []entry{
		{testBase + "/Patient/p1", "POST", "Patient", "201"},
		{testBase + "/Patient/p1", "GET", "Patient/p1", "200"},
	}
	if len(got) != len(want) {
		t.Fatalf("entries after the status = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry[%d] = %v, want %v", i+1, got[i], want[i])
		}
	}
	for _, frag := range []string{
		`"valueReference":{"reference":"https://other.example.org/fhir/Patient/x"}`,
		`"valueReference":{"reference":"` + testBase + `/Patient/p1/_history/3","type":"Patient"}`,
	} {
		if !bytes.Contains(b, []byte(frag)) {
			t.Errorf("bundle lacks %s:\n%s", frag, b)
		}
	}
}

func TestValidContent(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{{"empty", true}, {"id-only", true}, {"full-resource", true}, {"", false}, {"full", false}, {"ID-ONLY", false}} {
		if got := fhir.ValidContent(tc.in); got != tc.want {
			t.Errorf("ValidContent(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestValidNotificationType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{{"handshake", true}, {"heartbeat", true}, {"event-notification", true}, {"query-status", true}, {"query-event", true}, {"query-events", false}, {"", false}} {
		if got := fhir.ValidNotificationType(tc.in); got != tc.want {
			t.Errorf("ValidNotificationType(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestAuthExpires(t *testing.T) {
	got := fhir.AuthExpires(time.Date(2026, 3, 2, 11, 0, 0, 0, time.FixedZone("CET", 3600)))
	want := fhir.Extension{URL: fhir.AuthExpiresURL, ValueInstant: "2026-03-02T10:00:00.000Z"}
	if got != want {
		t.Errorf("AuthExpires(11:00 CET) = %+v, want %+v", got, want)
	}
}

// FuzzBackportNotification feeds arbitrary strings (as clients may put in a
// topic or reference) to the builder: the output must be JSON that gives the
// strings back.
func FuzzBackportNotification(f *testing.F) {
	f.Add(testTopic, "Encounter/enc-901", "display")
	f.Add("a\"b\\c\n\t\x01", "Patient/\u2028x", "<&>")
	f.Add("\xff\xfe", "urn:uuid:1", "\u00e9\U0001F600")
	f.Fuzz(func(t *testing.T, topic, ref, text string) {
		st := eventStatus()
		st.Topic = topic
		st.Events[0].Focus = &fhir.Reference{Reference: ref}
		st.Errors = []fhir.CodeableConcept{{Text: text}}
		if ref == "" {
			return // a focus is required
		}
		b, err := fhir.BackportNotification(st, fhir.ContentFullResource, testBase, "fuzz", testNow)
		if err != nil {
			t.Fatalf("BackportNotification: %v", err)
		}
		var bundle struct {
			Entry []struct {
				Resource struct {
					Parameter []struct {
						Name                 string
						ValueCanonical       string
						ValueCodeableConcept struct{ Text string }
					}
				}
			}
		}
		if err := json.Unmarshal(b, &bundle); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, b)
		}
		var gotTopic, gotText string
		for _, p := range bundle.Entry[0].Resource.Parameter {
			switch p.Name {
			case "topic":
				gotTopic = p.ValueCanonical
			case "error":
				gotText = p.ValueCodeableConcept.Text
			}
		}
		if want := validUTF8(topic); topic != "" && gotTopic != want {
			t.Errorf("topic %q came back as %q, want %q", topic, gotTopic, want)
		}
		if want := validUTF8(text); text != "" && gotText != want {
			t.Errorf("error text %q came back as %q, want %q", text, gotText, want)
		}
	})
}

// validUTF8 replaces each invalid byte with U+FFFD, as JSON encoding does.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for an invalid byte
		i += size
	}
	return b.String()
}

// TestNotificationResourceInWireLayout: a full-resource event logged in
// another layout (an event row from before bodies kept their text) goes
// out with resourceType, id and meta first, compact.
func TestNotificationResourceInWireLayout(t *testing.T) {
	st := eventStatus()
	st.Events = st.Events[:1]
	st.Events[0].Resource = json.RawMessage(`{"id": "enc-901", "meta": {"versionId": "2"}, "class": {"code": "IMP"}, "status": "in-progress", "resourceType": "Encounter"}`)
	out, err := fhir.BackportNotification(st, fhir.ContentFullResource, testBase, "b1", testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := `"resource":{"resourceType":"Encounter","id":"enc-901","meta":{"versionId":"2"},"class":{"code":"IMP"},"status":"in-progress"}`
	if !strings.Contains(string(out), want) {
		t.Errorf("notification\n%s\nlacks\n%s", out, want)
	}
}
