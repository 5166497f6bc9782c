package subhttp

import (
	"encoding/json"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
)

// bundle.encode must write exactly what fhir.Marshal writes; it only skips
// re-validating the resources.
func TestBundleEncodeIsMarshal(t *testing.T) {
	total := 2
	obs := json.RawMessage(`{"resourceType":"Observation","id":"o1","meta":{"versionId":"1"},"status":"final"}`)
	outcome := json.RawMessage(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid"}]}`)
	meta := &bundleMeta{LastUpdated: "2026-12-04T01:02:03.456Z"}
	cases := map[string]*bundle{
		"no entries": {ResourceType: "Bundle", ID: "b", Meta: meta, Type: "searchset", Total: &total,
			Link: []bundleLink{{Relation: "self", URL: "http://x/fhir/Observation?code=a&_count=2"}}},
		"search page": {ResourceType: "Bundle", ID: "b", Meta: meta, Type: "searchset",
			Link: []bundleLink{{Relation: "self", URL: "http://x/fhir/Observation?a=<b>"}},
			Entry: []bundleEntry{
				{FullURL: "http://x/fhir/Observation/o1", Resource: obs, Search: &entrySearch{Mode: "match"}},
				{FullURL: "http://x/fhir/Patient/p1", Resource: json.RawMessage(`{"resourceType":"Patient","id":"p1"}`), Search: &entrySearch{Mode: "include"}},
			}},
		"odd strings": {ResourceType: "Bundle", Type: "searchset", Entry: []bundleEntry{
			{FullURL: `http://x/fhir/Observation/"q"\` + "\t\u2028é<&>", Resource: obs, Search: &entrySearch{Mode: "m\x00"}},
		}},
		"transaction response": {ResourceType: "Bundle", ID: "t", Type: "transaction-response", Meta: meta, Entry: []bundleEntry{
			{FullURL: "http://x/fhir/Observation/o1", Resource: obs,
				Response: &entryResponse{Status: "201 Created", Location: "Observation/o1/_history/1", Etag: `W/"1"`}},
			{Response: &entryResponse{Status: "400 Bad Request", Outcome: outcome}},
			{Response: &entryResponse{Status: "200 OK"}},
		}},
		"history": {ResourceType: "Bundle", Type: "history", Entry: []bundleEntry{
			{FullURL: "http://x/fhir/Observation/o1", Resource: obs, Request: &entryRequest{Method: "PUT", URL: "Observation/o1"},
				Response: &entryResponse{Status: "200 OK"}},
			{FullURL: "http://x/fhir/Observation/o2", Request: &entryRequest{Method: "DELETE", URL: "Observation/o2"}},
			{},
		}},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) { checkEncode(t, b) })
	}
}

func FuzzBundleEncode(f *testing.F) {
	f.Add("http://x/fhir/Observation/o1", "match", `{"resourceType":"Observation","id":"o1"}`)
	f.Add("\"\\\u2028\xff", "include", `{}`)
	f.Fuzz(func(t *testing.T, fullURL, mode, resource string) {
		if !json.Valid([]byte(resource)) {
			return
		}
		var compact json.RawMessage
		if c, err := fhir.Marshal(json.RawMessage(resource)); err == nil {
			compact = c
		}
		b := &bundle{ResourceType: "Bundle", Type: "searchset", Entry: []bundleEntry{
			{FullURL: fullURL, Resource: compact, Search: &entrySearch{Mode: mode}},
			{FullURL: mode, Response: &entryResponse{Status: fullURL}},
		}}
		checkEncode(t, b)
	})
}

// checkEncode fails t unless b.encode writes what fhir.Marshal writes.
func checkEncode(t *testing.T, b *bundle) {
	t.Helper()
	want, err := fhir.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("encode:\n%q\nfhir.Marshal:\n%q", got, want)
	}
}
