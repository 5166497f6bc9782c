package fhir

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseResource(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantType string
		wantID   string
		wantPath string // "" with wantErr means the error has no path
		wantErr  string // substring of the error; empty means success
	}{
		{name: "patient", body: `{"resourceType":"Patient","id":"p1"}`, wantType: "Patient", wantID: "p1"},
		{name: "no id", body: `{"resourceType":"Observation","status":"final"}`, wantType: "Observation"},
		{name: "subscription topic", body: `{"resourceType":"SubscriptionTopic","url":"x"}`, wantType: "SubscriptionTopic"},
		{name: "whitespace", body: " \n{\"resourceType\" : \"Patient\"}\n ", wantType: "Patient"},
		{name: "empty", body: ``, wantErr: "not valid JSON"},
		{name: "truncated", body: `{"resourceType":"Patient"`, wantErr: "not valid JSON"},
		{name: "array", body: `[{"resourceType":"Patient"}]`, wantErr: "must be a JSON object"},
		{name: "string", body: `"Patient"`, wantErr: "must be a JSON object"},
		{name: "trailing data", body: `{"resourceType":"Patient"}{}`, wantErr: "data after"},
		{name: "duplicate key", body: `{"resourceType":"Patient","id":"a","id":"b"}`, wantPath: "id", wantErr: "duplicate"},
		{name: "no resourceType", body: `{"id":"a"}`, wantPath: "resourceType", wantErr: "missing"},
		{name: "resourceType number", body: `{"resourceType":7}`, wantPath: "resourceType", wantErr: "missing or not a string"},
		{name: "unknown type", body: `{"resourceType":"Patients"}`, wantPath: "resourceType", wantErr: `unknown resource type "Patients"`},
		{name: "abstract type", body: `{"resourceType":"DomainResource"}`, wantPath: "resourceType", wantErr: "unknown resource type"},
		{name: "bad id chars", body: `{"resourceType":"Patient","id":"a b"}`, wantPath: "id", wantErr: "not a valid id"},
		{name: "id too long", body: `{"resourceType":"Patient","id":"` + strings.Repeat("a", 65) + `"}`, wantPath: "id", wantErr: "not a valid id"},
		{name: "id number", body: `{"resourceType":"Patient","id":5}`, wantPath: "id", wantErr: "not a valid id"},
		{name: "meta not object", body: `{"resourceType":"Patient","meta":[]}`, wantPath: "meta", wantErr: "JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResource([]byte(tt.body))
			if tt.wantErr != "" {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("ParseResource(%q) error = %v, want a *ValidationError", tt.body, err)
				}
				if !strings.Contains(ve.Msg, tt.wantErr) || ve.Path != tt.wantPath {
					t.Fatalf("ParseResource(%q) = %q at %q, want %q at %q", tt.body, ve.Msg, ve.Path, tt.wantErr, tt.wantPath)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseResource(%q) error = %v", tt.body, err)
			}
			if r.Type != tt.wantType || r.ID != tt.wantID {
				t.Fatalf("ParseResource(%q) = %s/%s, want %s/%s", tt.body, r.Type, r.ID, tt.wantType, tt.wantID)
			}
		})
	}
}

func TestStampKeepsOrderAndMeta(t *testing.T) {
	r, err := ParseResource([]byte(`{"status":"final","resourceType":"Observation","meta":{"tag":[{"code":"x"}],"versionId":"9"},"code":{"text":"t"}}`))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 9, 16, 29, 123456789, time.FixedZone("x", 3600))
	got := string(r.Stamp("o1", 3, at))
	want := `{"resourceType":"Observation","id":"o1","meta":{"tag":[{"code":"x"}],"versionId":"3","lastUpdated":"2026-03-02T08:16:29.123Z"},"status":"final","code":{"text":"t"}}`
	if got != want {
		t.Fatalf("Stamp =\n%s\nwant\n%s", got, want)
	}
	if r.ID != "o1" {
		t.Fatalf("ID = %q, want o1", r.ID)
	}
}

func TestStampAddsMetaAfterID(t *testing.T) {
	r, err := ParseResource([]byte(`{"resourceType":"Patient","id":"old","active":true}`))
	if err != nil {
		t.Fatal(err)
	}
	got := string(r.Stamp("new", 1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	want := `{"resourceType":"Patient","id":"new","meta":{"versionId":"1","lastUpdated":"2026-01-01T00:00:00.000Z"},"active":true}`
	if got != want {
		t.Fatalf("Stamp = %s, want %s", got, want)
	}
}

func TestResourceTypes(t *testing.T) {
	types := ResourceTypes()
	// The R4 4.0.1 resource-types value set has 148 codes; the abstract
	// Resource and DomainResource are excluded and fhirbell adds
	// SubscriptionTopic.
	if len(types) != 147 {
		t.Fatalf("len(ResourceTypes()) = %d, want 147", len(types))
	}
	for _, name := range []string{"Patient", "Observation", "Subscription", "SubscriptionTopic", "Bundle", "Parameters"} {
		if !IsResourceType(name) {
			t.Errorf("IsResourceType(%q) = false, want true", name)
		}
	}
	for _, name := range []string{"", "Resource", "DomainResource", "patient", "Bot"} {
		if IsResourceType(name) {
			t.Errorf("IsResourceType(%q) = true, want false", name)
		}
	}
}

func FuzzParseResource(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient","id":"p1","name":[{"family":"X"}]}`,
		`{"resourceType":"Observation","meta":{"versionId":"1"}}`,
		`[]`, `{`, `{"resourceType":"Foo"}`, `{"a":1,"a":2}`,
		// What Postgres refuses (SQLSTATE 22P05, 22021, 22003): issue 14.
		`{"resourceType":"Patient","name":[{"family":"\ud800"}]}`,
		"{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"\xff\"}]}",
		`{"resourceType":"Observation","valueQuantity":{"value":1e999999}}`,
		`{"resourceType":"Patient","name":[{"family":"\u0000"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseResource(b)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ParseResource error %T %v, want *ValidationError", err, err)
			}
			return
		}
		out := r.Stamp("x", 1, time.Unix(0, 0))
		if !utf8.Valid(out) || CheckText(out) != nil {
			t.Fatalf("accepted %q, which a store cannot hold", b)
		}
		if !json.Valid(out) {
			t.Fatalf("Stamp produced invalid JSON %q from %q", out, b)
		}
		if _, err := ParseResource(out); err != nil {
			t.Fatalf("re-parse of stamped %q: %v", out, err)
		}
	})
}

func TestParseObjectRefusesWhatStoresCannotHold(t *testing.T) {
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"lone high surrogate", `{"a":"\ud800"}`, false},
		{"lone high surrogate at end", `{"a":"x\ud83d"}`, false},
		{"high surrogate then non-low", `{"a":"\ud83d\u0041"}`, false},
		{"lone low surrogate", `{"a":"\udc00"}`, false},
		{"surrogate pair", `{"a":"\ud83d\ude00"}`, true},
		{"surrogate in a key", `{"\ud800":1}`, false},
		{"raw 0xff", "{\"a\":\"\xff\"}", false},
		{"truncated UTF-8", "{\"a\":\"\xc3\"}", false},
		{"valid UTF-8", `{"a":"é€😀"}`, true},
		{"NUL escape", `{"a":"\u0000"}`, false},
		{"escape control", `{"a":"\u001b"}`, false},
		{"tab CR LF", `{"a":"\t\r\n\u0009\u000A\u000d"}`, true},
		{"escaped backslash before u", `{"a":"\\ud800"}`, true},
		{"huge exponent", `{"a":1e999999}`, false},
		{"huge negative exponent", `{"a":1e-999999}`, false},
		{"zero huge exponent", `{"a":0e-999999}`, false},
		{"exponent at the bound", `{"a":1E+1000}`, true},
		{"exponent past the bound", `{"a":1E+1001}`, false},
		{"long number", `{"a":1.` + strings.Repeat("0", MaxNumberLen) + `}`, false},
		{"number in an array", `{"a":[1,2.5,-3e2]}`, true},
		{"digits inside a string", `{"a":"1e999999"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseObject([]byte(tt.body))
			if tt.ok && err != nil {
				t.Fatalf("ParseObject(%q) = %v, want ok", tt.body, err)
			}
			if !tt.ok {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("ParseObject(%q) = %v, want a *ValidationError", tt.body, err)
				}
			}
		})
	}
}
