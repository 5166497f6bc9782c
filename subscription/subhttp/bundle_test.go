package subhttp

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/fhir/fhirtest"
)

func TestTransactionResolvesURNs(t *testing.T) {
	s := newTestServer(t, Config{})
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/old", `{"resourceType":"Patient","id":"old"}`)
	r := s.mustDo(t, http.StatusOK, "POST", "/fhir", `{
	  "resourceType": "Bundle", "type": "transaction",
	  "entry": [
	    {"fullUrl": "urn:uuid:0c9a4c7e-1111-4d2a-9a53-3c2c2d4f0001",
	     "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "hr"},
	                  "subject": {"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"},
	                  "performer": [{"reference": "Patient/old"}, {"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}],
	                  "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}]},
	     "request": {"method": "POST", "url": "Observation"}},
	    {"fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
	     "resource": {"resourceType": "Patient", "name": [{"family": "Urn"}],
	                  "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">a &amp; b</div>"}},
	     "request": {"method": "POST", "url": "Patient"}},
	    {"resource": {"resourceType": "Patient", "id": "old", "active": true},
	     "request": {"method": "PUT", "url": "Patient/old", "ifMatch": "W/\"1\""}},
	    {"request": {"method": "GET", "url": "Patient/old"}}
	  ]}`)
	if err := fhirtest.ValidateR4(r.raw); err != nil {
		t.Errorf("response is not valid R4: %v\n%s", err, r.raw)
	}
	if str(r.body, "type") != "transaction-response" {
		t.Fatalf("type = %q, want transaction-response", str(r.body, "type"))
	}
	entries := list(r.body, "entry")
	if len(entries) != 4 {
		t.Fatalf("%d response entries, want 4", len(entries))
	}
	wantStatus := []string{"201 Created", "201 Created", "200 OK", "200 OK"}
	for i, e := range entries {
		if got := str(e, "response", "status"); got != wantStatus[i] {
			t.Errorf("entry[%d].response.status = %q, want %q", i, got, wantStatus[i])
		}
	}
	obsLoc, patLoc := str(entries[0], "response", "location"), str(entries[1], "response", "location")
	if !strings.HasPrefix(obsLoc, "Observation/") || !strings.HasPrefix(patLoc, "Patient/") {
		t.Fatalf("locations %q and %q, want Observation/… and Patient/…", obsLoc, patLoc)
	}
	patRef := strings.TrimSuffix(patLoc, "/_history/1")
	if got := str(entries[3], "resource", "active"); get(entries[3], "resource", "active") != true {
		t.Errorf("GET after PUT in the same transaction saw active = %v, want true (%s)", got, r.raw)
	}

	obs := s.mustDo(t, http.StatusOK, "GET", "/fhir/"+strings.TrimSuffix(obsLoc, "/_history/1"), "")
	if got := str(obs.body, "subject", "reference"); got != patRef {
		t.Errorf("subject.reference = %q, want %q", got, patRef)
	}
	if got := str(obs.body, "performer", 1, "reference"); got != patRef {
		t.Errorf("performer[1].reference = %q, want %q", got, patRef)
	}
	if got := str(obs.body, "performer", 0, "reference"); got != "Patient/old" {
		t.Errorf("performer[0].reference = %q, want Patient/old unchanged", got)
	}
	if got := str(obs.body, "identifier", 0, "value"); got != "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a" {
		t.Errorf("identifier.value = %q, want the urn kept: only references are rewritten", got)
	}
	pat := s.mustDo(t, http.StatusOK, "GET", "/fhir/"+patRef, "")
	if got := str(pat.body, "text", "div"); !strings.Contains(got, "a &amp; b") {
		t.Errorf("narrative = %q, want it unchanged", got)
	}
}

func TestTransactionAllOrNothing(t *testing.T) {
	tests := []struct {
		name       string
		entries    string
		wantStatus int
		wantExpr   string
		wantDiag   string
	}{
		{
			name: "stale ifMatch in the second entry",
			entries: `{"resource":{"resourceType":"Patient","id":"t1"},"request":{"method":"PUT","url":"Patient/t1"}},
			  {"fullUrl":"urn:uuid:a","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
			  {"resource":{"resourceType":"Patient","id":"t2"},"request":{"method":"PUT","url":"Patient/t2","ifMatch":"W/\"5\""}}`,
			wantStatus: 412, wantExpr: "Bundle.entry[2]", wantDiag: "does not exist",
		},
		{
			name: "delete of an unknown resource",
			entries: `{"resource":{"resourceType":"Patient","id":"t1"},"request":{"method":"PUT","url":"Patient/t1"}},
			  {"request":{"method":"DELETE","url":"Patient/nobody"}}`,
			wantStatus: 404, wantExpr: "Bundle.entry[1]", wantDiag: "Patient/nobody",
		},
		{
			name: "read of an unknown resource",
			entries: `{"resource":{"resourceType":"Patient","id":"t1"},"request":{"method":"PUT","url":"Patient/t1"}},
			  {"request":{"method":"GET","url":"Patient/nobody"}}`,
			wantStatus: 404, wantExpr: "Bundle.entry[1]", wantDiag: "Patient/nobody",
		},
		{
			name: "unresolved urn reference",
			entries: `{"resource":{"resourceType":"Patient","id":"t1"},"request":{"method":"PUT","url":"Patient/t1"}},
			  {"resource":{"resourceType":"Observation","status":"final","code":{},"subject":{"reference":"urn:uuid:missing"}},"request":{"method":"POST","url":"Observation"}}`,
			wantStatus: 400, wantExpr: "Bundle.entry[1].resource.subject.reference", wantDiag: "urn:uuid:missing",
		},
		{
			name: "invalid resource",
			entries: `{"resource":{"resourceType":"Patient","id":"t1"},"request":{"method":"PUT","url":"Patient/t1"}},
			  {"resource":{"resourceType":"Nope"},"request":{"method":"POST","url":"Patient"}}`,
			wantStatus: 400, wantExpr: "Bundle.entry[1].resource.resourceType", wantDiag: `unknown resource type "Nope"`,
		},
		{
			name:       "type mismatch",
			entries:    `{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Observation"}}`,
			wantStatus: 400, wantExpr: "Bundle.entry[0].resource.resourceType", wantDiag: "does not match",
		},
		{
			name:       "id mismatch",
			entries:    `{"resource":{"resourceType":"Patient","id":"x"},"request":{"method":"PUT","url":"Patient/t1"}}`,
			wantStatus: 400, wantExpr: "Bundle.entry[0].resource.id", wantDiag: `"x" does not match the URL id "t1"`,
		},
		{
			name:       "unknown type in url",
			entries:    `{"request":{"method":"DELETE","url":"Foo/1"}}`,
			wantStatus: 404, wantExpr: "Bundle.entry[0].request.url", wantDiag: `unknown resource type "Foo"`,
		},
		{
			name:       "missing request",
			entries:    `{"resource":{"resourceType":"Patient"}}`,
			wantStatus: 400, wantExpr: "Bundle.entry[0].request", wantDiag: "missing",
		},
		{
			name:       "missing resource",
			entries:    `{"request":{"method":"POST","url":"Patient"}}`,
			wantStatus: 400, wantExpr: "Bundle.entry[0].resource", wantDiag: "needs a resource",
		},
		{
			name:       "unsupported method",
			entries:    `{"request":{"method":"HEAD","url":"Patient/1"}}`,
			wantStatus: 400, wantExpr: "Bundle.entry[0].request.method", wantDiag: "HEAD",
		},
		{
			name:       "search in a transaction",
			entries:    `{"request":{"method":"GET","url":"Patient?name=x"}}`,
			wantStatus: 400, wantExpr: "Bundle.entry[0].request.url", wantDiag: "batch",
		},
		{
			name:       "conditional create without a search parameter",
			entries:    `{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient","ifNoneExist":"_count=1"}}`,
			wantStatus: 400, wantExpr: "Bundle.entry[0].request.ifNoneExist", wantDiag: "no search parameter",
		},
		{
			name:       "bad ifMatch",
			entries:    `{"resource":{"resourceType":"Patient","id":"t1"},"request":{"method":"PUT","url":"Patient/t1","ifMatch":"1"}}`,
			wantStatus: 400, wantExpr: "Bundle.entry[0].request.ifMatch", wantDiag: "ETag",
		},
		{
			name: "same resource written twice",
			entries: `{"resource":{"resourceType":"Patient","id":"t1"},"request":{"method":"PUT","url":"Patient/t1"}},
			  {"request":{"method":"DELETE","url":"Patient/t1"}}`,
			wantStatus: 400, wantExpr: "Bundle.entry[1].request.url", wantDiag: "Bundle.entry[0]",
		},
		{
			name:       "foreign absolute url",
			entries:    `{"request":{"method":"GET","url":"http://elsewhere.example/fhir/Patient/1"}}`,
			wantStatus: 400, wantExpr: "Bundle.entry[0].request.url", wantDiag: "not on this server",
		},
		{
			name:       "invalid Subscription",
			entries:    `{"resource":{"resourceType":"Subscription","status":"requested","reason":"r","channel":{"type":"websocket"}},"request":{"method":"POST","url":"Subscription"}}`,
			wantStatus: 400, wantExpr: "Bundle.entry[0].resource.criteria", wantDiag: "Bundle.entry[0].resource.criteria",
		},
		{
			name:       "entry not an object",
			entries:    `42`,
			wantStatus: 400, wantExpr: "", wantDiag: "Bundle.entry[0]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, Config{})
			r := s.do(t, "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[`+tt.entries+`]}`)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d\n%s", r.status, tt.wantStatus, r.raw)
			}
			if str(r.body, "resourceType") != "OperationOutcome" {
				t.Fatalf("body = %s, want an OperationOutcome", r.raw)
			}
			if got := str(r.body, "issue", 0, "expression", 0); tt.wantExpr != "" && got != tt.wantExpr {
				t.Errorf("expression = %q, want %q", got, tt.wantExpr)
			}
			if got := str(r.body, "issue", 0, "diagnostics"); !strings.Contains(got, tt.wantDiag) {
				t.Errorf("diagnostics = %q, want it to contain %q", got, tt.wantDiag)
			}
			// Nothing was persisted.
			s.mustDo(t, http.StatusNotFound, "GET", "/fhir/Patient/t1", "")
			if r := s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient?_count=0", ""); get(r.body, "total") != 0.0 {
				t.Errorf("Patient total = %v after a failed transaction, want 0", get(r.body, "total"))
			}
		})
	}
}

func TestBatch(t *testing.T) {
	s := newTestServer(t, Config{})
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/b1", `{"resourceType":"Patient","id":"b1","gender":"male"}`)
	r := s.mustDo(t, http.StatusOK, "POST", "/fhir", `{
	  "resourceType": "Bundle", "type": "batch",
	  "entry": [
	    {"resource": {"resourceType": "Patient", "gender": "female"}, "request": {"method": "POST", "url": "Patient"}},
	    {"request": {"method": "GET", "url": "Patient/missing"}},
	    {"resource": {"resourceType": "Patient", "id": "zz"}, "request": {"method": "PUT", "url": "Patient/b1"}},
	    {"request": {"method": "GET", "url": "Patient?gender=female"}},
	    {"request": {"method": "GET", "url": "Patient?nonsense=1"}},
	    {"request": {"method": "GET", "url": "/Patient/b1"}},
	    {"request": {"method": "GET", "url": "Patient/b1/_history"}},
	    {"request": {"method": "GET", "url": "Patient/b1/_history/1"}},
	    {"request": {"method": "DELETE", "url": "Patient/b1"}},
	    {"request": {"method": "DELETE", "url": "Patient/b1"}, "resource": 7}
	  ]}`, "Prefer", "return=representation")
	if err := fhirtest.ValidateR4(r.raw); err != nil {
		t.Errorf("response is not valid R4: %v\n%s", err, r.raw)
	}
	if str(r.body, "type") != "batch-response" {
		t.Fatalf("type = %q, want batch-response", str(r.body, "type"))
	}
	entries := list(r.body, "entry")
	want := []struct {
		status  string
		outcome string // substring of the outcome's diagnostics; "" means no outcome
	}{
		{"201 Created", ""},
		{"404 Not Found", "Patient/missing"},
		{"400 Bad Request", `body id "zz" does not match the URL id "b1"`},
		{"200 OK", ""},
		{"400 Bad Request", "nonsense"},
		{"200 OK", ""},
		{"200 OK", ""},
		{"200 OK", ""},
		{"200 OK", "deleted Patient/b1"},
		{"400 Bad Request", "Bundle.entry[9].resource"},
	}
	if len(entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(entries), len(want))
	}
	for i, w := range want {
		e := entries[i]
		if got := str(e, "response", "status"); got != w.status {
			t.Errorf("entry[%d].response.status = %q, want %q", i, got, w.status)
		}
		diag := str(e, "response", "outcome", "issue", 0, "diagnostics")
		if w.outcome != "" && !strings.Contains(diag, w.outcome) {
			t.Errorf("entry[%d] outcome = %q, want it to contain %q", i, diag, w.outcome)
		}
	}
	if str(entries[0], "resource", "gender") != "female" {
		t.Errorf("entry[0] has no representation although Prefer asked for it: %v", entries[0])
	}
	if got := get(entries[3], "resource", "total"); got != 1.0 {
		t.Errorf("search entry total = %v, want 1 (the female patient created by entry 0)", got)
	}
	if got := str(entries[6], "resource", "type"); got != "history" {
		t.Errorf("history entry resource type = %q, want history", got)
	}
	// The failed entries changed nothing; the good ones stuck.
	s.mustDo(t, http.StatusGone, "GET", "/fhir/Patient/b1", "")
	s.mustDo(t, http.StatusOK, "GET", "/fhir/"+strings.TrimSuffix(str(entries[0], "response", "location"), "/_history/1"), "")
}

func TestBundleEntryLimit(t *testing.T) {
	s := newTestServer(t, Config{MaxBundleEntries: 2})
	entry := `{"request":{"method":"GET","url":"Patient/x"}}`
	r := s.mustDo(t, http.StatusRequestEntityTooLarge, "POST", "/fhir",
		`{"resourceType":"Bundle","type":"batch","entry":[`+entry+","+entry+","+entry+`]}`)
	if got := str(r.body, "issue", 0, "diagnostics"); !strings.Contains(got, "3 entries") || !strings.Contains(got, "at most 2") {
		t.Errorf("diagnostics = %q, want the count and the limit", got)
	}
	// An empty transaction is fine.
	r = s.mustDo(t, http.StatusOK, "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction"}`)
	if str(r.body, "type") != "transaction-response" || len(list(r.body, "entry")) != 0 {
		t.Errorf("empty transaction = %s", r.raw)
	}
}
