package subhttp

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/subscription"
)

// patientEvents subscribes to every Patient change (id-only) and returns
// a function that lists the events so far as "METHOD Type/id", in event
// number order.
func patientEvents(t *testing.T, s *testServer) func() []string {
	t.Helper()
	id := str(s.mustDo(t, http.StatusCreated, "POST", "/fhir/Subscription", `{"resourceType":"Subscription","status":"requested","reason":"test",
	  "criteria":"`+subscription.ChangedTopic("Patient")+`",
	  "channel":{"type":"websocket","payload":"application/fhir+json",
	   "_payload":{"extension":[{"url":"`+subscription.ExtPayloadContent+`","valueCode":"id-only"}]}}}`).body, "id")
	return func() []string {
		ev := s.mustDo(t, http.StatusOK, "GET", "/fhir/Subscription/"+id+"/$events", "")
		var out []string
		for _, e := range list(ev.body, "entry")[1:] {
			out = append(out, str(e, "request", "method")+" "+strings.TrimPrefix(str(e, "fullUrl"), s.URL+"/fhir/"))
		}
		return out
	}
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// TestTransactionOrderResponsesAndEvents: a transaction runs DELETE, POST,
// PUT, then GET whatever the entry order; every entry's response carries
// status, etag, lastModified (and location for a create), in entry order;
// each committed write makes exactly one event, in processing order, and
// a conditional create that matched makes none.
func TestTransactionOrderResponsesAndEvents(t *testing.T) {
	s := newTestServer(t, Config{})
	events := patientEvents(t, s)
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/del1", `{"resourceType":"Patient","id":"del1"}`)
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/upd1", `{"resourceType":"Patient","id":"upd1","gender":"female"}`)
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/keep", `{"resourceType":"Patient","id":"keep","identifier":[{"system":"urn:s","value":"k"}]}`)
	before := events()

	r := s.mustDo(t, http.StatusOK, "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
	  {"request":{"method":"GET","url":"Patient/upd1"}},
	  {"resource":{"resourceType":"Patient","id":"upd1","gender":"male"},"request":{"method":"PUT","url":"Patient/upd1"}},
	  {"fullUrl":"urn:uuid:4f7d0f64-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","link":[{"other":{"reference":"Patient/upd1"},"type":"seealso"}]},"request":{"method":"POST","url":"Patient"}},
	  {"request":{"method":"DELETE","url":"Patient/del1"}},
	  {"resource":{"resourceType":"Patient","identifier":[{"system":"urn:s","value":"k"}]},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:s|k"}}
	]}`, "Prefer", "return=representation")
	entries := list(r.body, "entry")
	if len(entries) != 5 {
		t.Fatalf("%d response entries, want 5: %s", len(entries), r.raw)
	}
	if got := str(entries[0], "resource", "gender"); got != "male" {
		t.Errorf("GET entry[0] saw gender %q; the GET runs after the PUT, want male", got)
	}
	newID := str(entries[2], "resource", "id")
	want := []struct{ status, etag, location string }{
		{"200 OK", `W/"2"`, ""},
		{"200 OK", `W/"2"`, ""},
		{"201 Created", `W/"1"`, "Patient/" + newID + "/_history/1"},
		{"200 OK", `W/"2"`, ""},
		{"200 OK", `W/"1"`, ""},
	}
	for i, w := range want {
		e := entries[i]
		if got := str(e, "response", "status"); got != w.status {
			t.Errorf("entry[%d] status %q, want %q", i, got, w.status)
		}
		if got := str(e, "response", "etag"); got != w.etag {
			t.Errorf("entry[%d] etag %q, want %q", i, got, w.etag)
		}
		if got := str(e, "response", "location"); got != w.location {
			t.Errorf("entry[%d] location %q, want %q", i, got, w.location)
		}
		if str(e, "response", "lastModified") == "" {
			t.Errorf("entry[%d] has no lastModified: %v", i, e)
		}
	}
	if got := str(entries[4], "resource", "id"); got != "keep" {
		t.Errorf("the conditional create answered %q, want the match keep", got)
	}
	sameList(t, "events of the transaction", events()[len(before):],
		[]string{"DELETE Patient/del1", "POST Patient/" + newID, "PUT Patient/upd1"})

	// A transaction that fails commits nothing and notifies nothing.
	before = events()
	s.mustDo(t, http.StatusBadRequest, "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
	  {"resource":{"resourceType":"Patient","id":"t1"},"request":{"method":"PUT","url":"Patient/t1"}},
	  {"resource":{"resourceType":"Patient","gender":"banana"},"request":{"method":"POST","url":"Patient"}}]}`)
	s.mustDo(t, http.StatusNotFound, "GET", "/fhir/Patient/t1", "")
	sameList(t, "events of a failed transaction", events()[len(before):], nil)

	// A batch: each entry on its own; the failing one notifies nothing.
	b := s.mustDo(t, http.StatusOK, "POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[
	  {"resource":{"resourceType":"Patient","id":"b1"},"request":{"method":"PUT","url":"Patient/b1"}},
	  {"resource":{"resourceType":"Patient","id":"b2","gender":"banana"},"request":{"method":"PUT","url":"Patient/b2"}},
	  {"request":{"method":"DELETE","url":"Patient/keep"}}]}`)
	be := list(b.body, "entry")
	if len(be) != 3 || str(be[0], "response", "status") != "201 Created" || !strings.HasPrefix(str(be[1], "response", "status"), "400") ||
		str(be[1], "response", "outcome", "resourceType") != "OperationOutcome" || str(be[2], "response", "status") != "200 OK" {
		t.Errorf("batch-response: %s", b.raw)
	}
	sameList(t, "events of the batch", events()[len(before):], []string{"POST Patient/b1", "DELETE Patient/keep"}) // a PUT that creates is a create
}

// TestTransactionURNsEverywhere: a urn:uuid: reference is rewritten
// wherever it is in the resource: extensions (nested too), contained
// resources, backbone elements, and links in the narrative.
func TestTransactionURNsEverywhere(t *testing.T) {
	s := newTestServer(t, Config{})
	const pat = "urn:uuid:6a1b0c9e-1234-4abc-8def-000000000001"
	r := s.mustDo(t, http.StatusOK, "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
	  {"fullUrl":"`+pat+`","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
	  {"fullUrl":"urn:uuid:6a1b0c9e-1234-4abc-8def-000000000002","resource":{"resourceType":"Encounter","status":"finished",
	    "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
	    "text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"`+pat+`\">the patient</a></div>"},
	    "contained":[{"resourceType":"Condition","id":"c1","subject":{"reference":"`+pat+`"}}],
	    "extension":[{"url":"http://example.org/a","valueReference":{"reference":"`+pat+`"}},
	                 {"url":"http://example.org/b","extension":[{"url":"inner","valueReference":{"reference":"`+pat+`"}}]}],
	    "subject":{"reference":"`+pat+`"},
	    "reasonReference":[{"reference":"#c1"}],
	    "participant":[{"individual":{"reference":"Patient/elsewhere"}}],
	    "diagnosis":[{"condition":{"reference":"#c1"},"use":{"text":"x"}}]},
	   "request":{"method":"POST","url":"Encounter"}}]}`)
	entries := list(r.body, "entry")
	patRef := strings.TrimSuffix(str(entries[0], "response", "location"), "/_history/1")
	enc := s.mustDo(t, http.StatusOK, "GET", "/fhir/"+strings.TrimSuffix(str(entries[1], "response", "location"), "/_history/1"), "")
	for _, path := range [][]any{
		{"subject", "reference"},
		{"contained", 0, "subject", "reference"},
		{"extension", 0, "valueReference", "reference"},
		{"extension", 1, "extension", 0, "valueReference", "reference"},
	} {
		if got := str(enc.body, path...); got != patRef {
			t.Errorf("%v = %q, want %q", path, got, patRef)
		}
	}
	if got := str(enc.body, "reasonReference", 0, "reference"); got != "#c1" {
		t.Errorf("a contained reference became %q, want #c1", got)
	}
	if got := str(enc.body, "participant", 0, "individual", "reference"); got != "Patient/elsewhere" {
		t.Errorf("a plain reference became %q", got)
	}
	if div := str(enc.body, "text", "div"); strings.Contains(div, "urn:uuid") || !strings.Contains(div, `href="`+patRef+`"`) {
		t.Errorf("narrative = %q, want the link to %s", div, patRef)
	}
}

// TestTransactionDeleteBeforeConditionalCreate: deletions run before
// creates, so a conditional create whose only match the same transaction
// deletes creates, and a conditional reference to it matches nothing.
func TestTransactionDeleteBeforeConditionalCreate(t *testing.T) {
	s := newTestServer(t, Config{})
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/z", `{"resourceType":"Patient","id":"z","identifier":[{"system":"urn:s","value":"z"}]}`)
	r := s.mustDo(t, http.StatusOK, "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
	  {"resource":{"resourceType":"Patient","identifier":[{"system":"urn:s","value":"z"}]},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:s|z"}},
	  {"request":{"method":"DELETE","url":"Patient/z"}}]}`)
	entries := list(r.body, "entry")
	if st := str(entries[0], "response", "status"); st != "201 Created" || strings.Contains(str(entries[0], "response", "location"), "Patient/z/") {
		t.Errorf("conditional create after the deletion of its match: %s", r.raw)
	}
	s.mustDo(t, http.StatusGone, "GET", "/fhir/Patient/z", "")
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/y", `{"resourceType":"Patient","id":"y","identifier":[{"system":"urn:s","value":"y"}]}`)
	r = s.do(t, "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
	  {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient?identifier=urn:s|y"}},"request":{"method":"POST","url":"Observation"}},
	  {"request":{"method":"DELETE","url":"Patient/y"}}]}`)
	if r.status != http.StatusPreconditionFailed {
		t.Errorf("a conditional reference to what the transaction deletes = %d, want 412\n%s", r.status, r.raw)
	}
	s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient/y", "")
}
