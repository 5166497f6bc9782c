package fhir

import (
	"encoding/json"
	"testing"
	"time"
)

func TestWireResource(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"already wire: returned as is", `{"resourceType":"Patient","id":"p","x":1}`, `{"resourceType":"Patient","id":"p","x":1}`},
		{"jsonb order and separators",
			`{"id": "p1", "meta": {"versionId": "1"}, "name": [{"family": "Chalmers"}], "gender": "male", "resourceType": "Patient"}`,
			`{"resourceType":"Patient","id":"p1","meta":{"versionId":"1"},"name":[{"family":"Chalmers"}],"gender":"male"}`},
		{"sorted map: only the lead moves", `{"code":{"text":"c"},"extension":[],"id":"b","meta":{},"resourceType":"Basic"}`,
			`{"resourceType":"Basic","id":"b","meta":{},"code":{"text":"c"},"extension":[]}`},
		{"no id or meta", `{"active":true,"resourceType":"Patient"}`, `{"resourceType":"Patient","active":true}`},
		{"ampersand kept as sent", `{"url":"a?b=1&c=2","resourceType":"Endpoint"}`, `{"resourceType":"Endpoint","url":"a?b=1&c=2"}`},
		{"not an object", `[1,2]`, `[1,2]`},
		{"not JSON", `{"resourceType"`, `{"resourceType"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(WireResource([]byte(tt.in))); got != tt.want {
				t.Fatalf("WireResource(%s) =\n%s\nwant\n%s", tt.in, got, tt.want)
			}
		})
	}
}

func TestMarshalNoHTMLEscape(t *testing.T) {
	v := struct {
		URL string          `json:"url"`
		Raw json.RawMessage `json:"raw"`
	}{"http://x/fhir/Patient?a=1&b=<2>", json.RawMessage(`{ "u" : "p?q=1&r=2" }`)}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"url":"http://x/fhir/Patient?a=1&b=<2>","raw":{"u":"p?q=1&r=2"}}`
	if string(got) != want {
		t.Fatalf("Marshal = %s, want %s", got, want)
	}
}

func TestStampLeadOrder(t *testing.T) {
	r, err := ParseResource([]byte(`{"gender":"male","meta":{"source":"s"},"id":"x","resourceType":"Patient","active":true}`))
	if err != nil {
		t.Fatal(err)
	}
	got := string(r.Stamp("x", 2, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	want := `{"resourceType":"Patient","id":"x","meta":{"source":"s","versionId":"2","lastUpdated":"2026-01-01T00:00:00.000Z"},"gender":"male","active":true}`
	if got != want {
		t.Fatalf("Stamp =\n%s\nwant\n%s", got, want)
	}
	if string(WireResource([]byte(got))) != got {
		t.Fatal("a stamped body is not in the wire layout")
	}
}
