package subhttp

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/fhir/fhirtest"
)

// TestInteractions walks one resource through every instance interaction;
// each step may use the id and version the earlier steps produced.
func TestInteractions(t *testing.T) {
	s := newTestServer(t, Config{})
	var id string
	steps := []struct {
		name       string
		method     string
		path       string // "{id}" is replaced by the created id
		body       string
		headers    []string
		wantStatus int
		check      func(t *testing.T, r *response)
	}{
		{
			name: "create", method: "POST", path: "/fhir/Patient",
			body:       `{"resourceType":"Patient","id":"client-chosen","name":[{"family":"Chalmers"}]}`,
			wantStatus: http.StatusCreated,
			check: func(t *testing.T, r *response) {
				id = str(r.body, "id")
				if id == "" || id == "client-chosen" {
					t.Fatalf("create: id = %q, want a server-assigned id", id)
				}
				wantLoc := s.URL + "/fhir/Patient/" + id + "/_history/1"
				if got := r.header.Get("Location"); got != wantLoc {
					t.Errorf("Location = %q, want %q", got, wantLoc)
				}
				if got := r.header.Get("ETag"); got != `W/"1"` {
					t.Errorf("ETag = %q, want W/\"1\"", got)
				}
				if r.header.Get("Last-Modified") == "" {
					t.Error("no Last-Modified")
				}
				if got := str(r.body, "meta", "versionId"); got != "1" {
					t.Errorf("meta.versionId = %q, want 1", got)
				}
				if got := str(r.body, "name", 0, "family"); got != "Chalmers" {
					t.Errorf("name[0].family = %q, want Chalmers", got)
				}
			},
		},
		{
			name: "read", method: "GET", path: "/fhir/Patient/{id}", wantStatus: http.StatusOK,
			check: func(t *testing.T, r *response) {
				if got := r.header.Get("ETag"); got != `W/"1"` {
					t.Errorf("ETag = %q, want W/\"1\"", got)
				}
				if r.header.Get("Last-Modified") == "" {
					t.Error("no Last-Modified")
				}
				if str(r.body, "id") != id {
					t.Errorf("id = %q, want %q", str(r.body, "id"), id)
				}
			},
		},
		{
			name: "update with If-Match", method: "PUT", path: "/fhir/Patient/{id}",
			body:       `{"resourceType":"Patient","id":"{id}","active":true}`,
			headers:    []string{"If-Match", `W/"1"`},
			wantStatus: http.StatusOK,
			check: func(t *testing.T, r *response) {
				if got := r.header.Get("ETag"); got != `W/"2"` {
					t.Errorf("ETag = %q, want W/\"2\"", got)
				}
				if r.header.Get("Location") != "" {
					t.Errorf("update (not create) has Location %q", r.header.Get("Location"))
				}
				if get(r.body, "active") != true {
					t.Errorf("active = %v, want true", get(r.body, "active"))
				}
			},
		},
		{
			name: "update with strong If-Match and fhirVersion content type", method: "PUT", path: "/fhir/Patient/{id}",
			body:       `{"resourceType":"Patient","id":"{id}","active":false}`,
			headers:    []string{"If-Match", `"2"`, "Content-Type", "application/fhir+json; fhirVersion=4.0; charset=utf-8"},
			wantStatus: http.StatusOK,
			check: func(t *testing.T, r *response) {
				if got := str(r.body, "meta", "versionId"); got != "3" {
					t.Errorf("meta.versionId = %q, want 3", got)
				}
			},
		},
		{
			name: "vread", method: "GET", path: "/fhir/Patient/{id}/_history/1", wantStatus: http.StatusOK,
			check: func(t *testing.T, r *response) {
				if get(r.body, "active") != nil || str(r.body, "meta", "versionId") != "1" {
					t.Errorf("vread 1 = %s, want the first version", r.raw)
				}
				if got := r.header.Get("ETag"); got != `W/"1"` {
					t.Errorf("ETag = %q, want W/\"1\"", got)
				}
			},
		},
		{
			name: "delete", method: "DELETE", path: "/fhir/Patient/{id}", wantStatus: http.StatusOK,
			check: func(t *testing.T, r *response) {
				if got := r.header.Get("ETag"); got != `W/"4"` {
					t.Errorf("ETag = %q, want W/\"4\"", got)
				}
				if str(r.body, "resourceType") != "OperationOutcome" || str(r.body, "issue", 0, "severity") != "information" {
					t.Errorf("delete body = %s, want an informational OperationOutcome", r.raw)
				}
			},
		},
		{
			name: "read after delete", method: "GET", path: "/fhir/Patient/{id}", wantStatus: http.StatusGone,
			check: func(t *testing.T, r *response) {
				if got := str(r.body, "issue", 0, "code"); got != "deleted" {
					t.Errorf("issue.code = %q, want deleted", got)
				}
				if got := r.header.Get("ETag"); got != `W/"4"` {
					t.Errorf("ETag = %q, want the deletion version W/\"4\"", got)
				}
			},
		},
		{name: "vread of the deletion", method: "GET", path: "/fhir/Patient/{id}/_history/4", wantStatus: http.StatusGone},
		{name: "vread of a live version after delete", method: "GET", path: "/fhir/Patient/{id}/_history/3", wantStatus: http.StatusOK},
		{name: "delete again", method: "DELETE", path: "/fhir/Patient/{id}", wantStatus: http.StatusOK},
		{
			name: "create on update after delete", method: "PUT", path: "/fhir/Patient/{id}",
			body: `{"resourceType":"Patient","id":"{id}"}`, wantStatus: http.StatusCreated,
			check: func(t *testing.T, r *response) {
				if want := s.URL + "/fhir/Patient/" + id + "/_history/5"; r.header.Get("Location") != want {
					t.Errorf("Location = %q, want %q", r.header.Get("Location"), want)
				}
			},
		},
		{
			name: "history", method: "GET", path: "/fhir/Patient/{id}/_history", wantStatus: http.StatusOK,
			check: func(t *testing.T, r *response) {
				if str(r.body, "type") != "history" || get(r.body, "total") != 5.0 {
					t.Fatalf("history = %s, want type history, total 5", r.raw)
				}
				var got []string
				for _, e := range list(r.body, "entry") {
					got = append(got, fmt.Sprintf("%s %s %s %s", str(e, "request", "method"), str(e, "response", "status"),
						str(e, "response", "etag"), str(e, "resource", "meta", "versionId")))
					if str(e, "fullUrl") != s.URL+"/fhir/Patient/"+id {
						t.Errorf("fullUrl = %q", str(e, "fullUrl"))
					}
				}
				want := []string{
					`PUT 201 Created W/"5" 5`,
					`DELETE 200 OK W/"4" `,
					`PUT 200 OK W/"3" 3`,
					`PUT 200 OK W/"2" 2`,
					`POST 201 Created W/"1" 1`,
				}
				if !slices.Equal(got, want) {
					t.Errorf("history entries =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			},
		},
		{
			name: "history paged", method: "GET", path: "/fhir/Patient/{id}/_history?_count=2&_offset=2", wantStatus: http.StatusOK,
			check: func(t *testing.T, r *response) {
				e := list(r.body, "entry")
				if len(e) != 2 || str(e[0], "response", "etag") != `W/"3"` {
					t.Errorf("page = %s, want versions 3 and 2", r.raw)
				}
				if link(r.body, "next") == "" || link(r.body, "previous") == "" {
					t.Errorf("links = %v, want next and previous", get(r.body, "link"))
				}
			},
		},
		{
			name: "create-on-update with a client id", method: "PUT", path: "/fhir/Observation/obs-1",
			body:       `{"resourceType":"Observation","id":"obs-1","status":"final","code":{"text":"x"}}`,
			wantStatus: http.StatusCreated,
		},
		{
			name: "create without Content-Type is read as JSON", method: "POST", path: "/fhir/Patient",
			body: `{"resourceType":"Patient"}`, headers: []string{"Content-Type", ""}, wantStatus: http.StatusCreated,
		},
		{
			name: "create with application/json", method: "POST", path: "/fhir/Patient",
			body: `{"resourceType":"Patient"}`, headers: []string{"Content-Type", "application/json; charset=utf-8"},
			wantStatus: http.StatusCreated,
		},
		{
			name: "Prefer return=minimal", method: "POST", path: "/fhir/Patient",
			body: `{"resourceType":"Patient"}`, headers: []string{"Prefer", "return=minimal"}, wantStatus: http.StatusCreated,
			check: func(t *testing.T, r *response) {
				if len(r.raw) != 0 || r.header.Get("Location") == "" {
					t.Errorf("body = %q, Location = %q; want an empty body and a Location", r.raw, r.header.Get("Location"))
				}
			},
		},
		{
			name: "Prefer return=OperationOutcome", method: "POST", path: "/fhir/Patient",
			body: `{"resourceType":"Patient"}`, headers: []string{"Prefer", "return=OperationOutcome"}, wantStatus: http.StatusCreated,
			check: func(t *testing.T, r *response) {
				if str(r.body, "resourceType") != "OperationOutcome" {
					t.Errorf("body = %s, want an OperationOutcome", r.raw)
				}
			},
		},
		{
			name: "_pretty", method: "GET", path: "/fhir/Patient/{id}?_pretty=true", wantStatus: http.StatusOK,
			check: func(t *testing.T, r *response) {
				if !strings.Contains(string(r.raw), "\n  ") {
					t.Errorf("body = %s, want indented JSON", r.raw)
				}
			},
		},
		{name: "HEAD", method: "HEAD", path: "/fhir/Patient/{id}", wantStatus: http.StatusOK},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			path := strings.ReplaceAll(st.path, "{id}", id)
			body := strings.ReplaceAll(st.body, "{id}", id)
			r := s.do(t, st.method, path, body, st.headers...)
			if r.status != st.wantStatus {
				t.Fatalf("%s %s = %d, want %d\n%s", st.method, path, r.status, st.wantStatus, r.raw)
			}
			if len(r.raw) > 0 {
				if ct := r.header.Get("Content-Type"); ct != contentType {
					t.Errorf("Content-Type = %q, want %q", ct, contentType)
				}
				if err := fhirtest.ValidateR4(r.raw); err != nil {
					t.Errorf("response is not valid R4: %v\n%s", err, r.raw)
				}
			}
			if st.check != nil {
				st.check(t, r)
			}
		})
	}
}

// TestErrors checks that every failure is an OperationOutcome with the
// right status, code, message and expression.
func TestErrors(t *testing.T) {
	s := newTestServer(t, Config{MaxBodyBytes: 512})
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`)
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/gone", `{"resourceType":"Patient","id":"gone"}`)
	s.mustDo(t, http.StatusOK, "DELETE", "/fhir/Patient/gone", "")
	big := `{"resourceType":"Patient","text":"` + strings.Repeat("x", 600) + `"}`

	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		headers    []string
		wantStatus int
		wantCode   string
		wantDiag   string // substring of diagnostics
		wantExpr   string // "" means no expression is checked
	}{
		{"invalid JSON", "POST", "/fhir/Patient", `{"resourceType":`, nil, 400, "invalid", "not valid JSON", ""},
		{"not an object", "POST", "/fhir/Patient", `[1,2]`, nil, 400, "invalid", "must be a JSON object", ""},
		{"empty body", "POST", "/fhir/Patient", ` `, nil, 400, "invalid", "empty", ""},
		{"trailing data", "POST", "/fhir/Patient", `{"resourceType":"Patient"} {}`, nil, 400, "invalid", "after the JSON object", ""},
		{"no resourceType", "POST", "/fhir/Patient", `{"id":"x"}`, nil, 400, "required", "resourceType", "resourceType"},
		{"unknown type in URL", "GET", "/fhir/Foo", "", nil, 404, "not-supported", `unknown resource type "Foo"`, ""},
		{"unknown type in URL on create", "POST", "/fhir/Foo", `{"resourceType":"Foo"}`, nil, 404, "not-supported", `unknown resource type "Foo"`, ""},
		{"unknown type in body", "POST", "/fhir/Patient", `{"resourceType":"Foo"}`, nil, 400, "not-supported", `unknown resource type "Foo"`, "resourceType"},
		{"type mismatch", "POST", "/fhir/Patient", `{"resourceType":"Observation"}`, nil, 400, "invalid", `"Observation" does not match the type "Patient"`, "resourceType"},
		{"id mismatch", "PUT", "/fhir/Patient/p1", `{"resourceType":"Patient","id":"p2"}`, nil, 400, "invalid", `body id "p2" does not match the URL id "p1"`, "id"},
		{"missing id on PUT", "PUT", "/fhir/Patient/p1", `{"resourceType":"Patient"}`, nil, 400, "required", "no id", "id"},
		{"invalid body id", "POST", "/fhir/Patient", `{"resourceType":"Patient","id":"a b"}`, nil, 400, "invalid", "not a valid id", "id"},
		{"too large", "POST", "/fhir/Patient", big, nil, 413, "too-long", "limit of 512 bytes", ""},
		{"wrong content type", "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, []string{"Content-Type", "text/plain"}, 415, "not-supported", `"text/plain"`, ""},
		{"xml content type", "PUT", "/fhir/Patient/p1", `<Patient/>`, []string{"Content-Type", "application/fhir+xml"}, 415, "not-supported", "application/fhir+xml", ""},
		{"malformed content type", "POST", "/fhir/Patient", `{}`, []string{"Content-Type", "application/"}, 415, "not-supported", "", ""},
		{"bad If-Match", "PUT", "/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`, []string{"If-Match", "abc"}, 400, "invalid", "If-Match", ""},
		{"If-Match version zero", "PUT", "/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`, []string{"If-Match", `W/"0"`}, 400, "invalid", "If-Match", ""},
		{"stale If-Match", "PUT", "/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`, []string{"If-Match", `W/"9"`}, 412, "conflict", "the current version is 1", ""},
		{"stale If-Match on delete", "DELETE", "/fhir/Patient/p1", "", []string{"If-Match", `W/"2"`}, 412, "conflict", "the current version is 1", ""},
		{"If-Match on a missing resource", "PUT", "/fhir/Patient/nobody", `{"resourceType":"Patient","id":"nobody"}`, []string{"If-Match", `W/"1"`}, 412, "conflict", "does not exist", ""},
		{"conditional create without a search parameter", "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, []string{"If-None-Exist", "_sort=x"}, 400, "invalid", "no search parameter", "If-None-Exist"},
		{"read unknown", "GET", "/fhir/Patient/nobody", "", nil, 404, "not-found", "Patient/nobody", ""},
		{"delete unknown", "DELETE", "/fhir/Patient/nobody", "", nil, 404, "not-found", "Patient/nobody", ""},
		{"history unknown", "GET", "/fhir/Patient/nobody/_history", "", nil, 404, "not-found", "Patient/nobody", ""},
		{"history bad parameter", "GET", "/fhir/Patient/p1/_history?_since=2020", "", nil, 400, "not-supported", "_since", "_since"},
		{"history bad _count", "GET", "/fhir/Patient/p1/_history?_count=-1", "", nil, 400, "invalid", "non-negative", "_count"},
		{"read deleted", "GET", "/fhir/Patient/gone", "", nil, 410, "deleted", "Patient/gone", ""},
		{"vread unknown version", "GET", "/fhir/Patient/p1/_history/7", "", nil, 404, "not-found", "Patient/p1/_history/7", ""},
		{"vread bad version", "GET", "/fhir/Patient/p1/_history/x", "", nil, 400, "invalid", `invalid version id "x"`, ""},
		{"invalid id in URL", "GET", "/fhir/Patient/a_b", "", nil, 400, "invalid", `invalid id "a_b"`, ""},
		{"id too long", "GET", "/fhir/Patient/" + strings.Repeat("a", 65), "", nil, 400, "invalid", "invalid id", ""},
		{"unknown operation", "GET", "/fhir/Patient/p1/$everything-else", "", nil, 404, "not-found", "no route", ""},
		{"unknown instance operation", "POST", "/fhir/Patient/$match", `{}`, nil, 405, "not-supported", "", ""},
		{"unknown type operation", "GET", "/fhir/Patient/$everything", "", nil, 404, "not-supported", `operation "$everything"`, ""},
		{"unknown system operation", "GET", "/fhir/$export", "", nil, 404, "not-supported", `operation "$export"`, ""},
		{"method not allowed", "POST", "/fhir/Patient/p1", `{}`, nil, 405, "not-supported", "allowed: DELETE, GET, PATCH, PUT", ""},
		{"conditional update without criteria", "PUT", "/fhir/Patient", `{"resourceType":"Patient"}`, nil, 400, "required", "needs search criteria", ""},
		{"system search", "GET", "/fhir/", "", nil, 405, "not-supported", "allowed: POST", ""},
		{"unknown path", "GET", "/fhir/Patient/p1/_history/1/extra", "", nil, 404, "not-found", "no route", ""},
		{"bad search parameter", "GET", "/fhir/Patient?foo=bar", "", nil, 400, "not-supported", "foo", "foo"},
		{"bad search value", "GET", "/fhir/Patient?birthdate=notadate", "", nil, 400, "", "birthdate", "birthdate"},
		{"bad _sort", "GET", "/fhir/Patient?_sort=nosuch", "", nil, 400, "not-supported", "nosuch", "_sort"},
		{"malformed query", "GET", "/fhir/Patient?a=%zz", "", nil, 400, "invalid", "malformed query", ""},
		{"_search with JSON", "POST", "/fhir/Patient/_search", `{}`, nil, 415, "not-supported", "application/x-www-form-urlencoded", ""},
		{"GET _search", "GET", "/fhir/Patient/_search", "", nil, 400, "invalid", `invalid id "_search"`, ""},
		{"not acceptable", "GET", "/fhir/Patient/p1", "", []string{"Accept", "application/fhir+xml"}, 406, "not-supported", "Accept", ""},
		{"_format xml", "GET", "/fhir/Patient/p1?_format=xml", "", nil, 406, "not-supported", "_format", "_format"},
		{"bundle that is not a Bundle", "POST", "/fhir", `{"resourceType":"Patient"}`, nil, 400, "invalid", "not a Patient", "resourceType"},
		{"bundle of the wrong type", "POST", "/fhir", `{"resourceType":"Bundle","type":"collection"}`, nil, 400, "invalid", "collection", "Bundle.type"},
		{"bundle without type", "POST", "/fhir", `{"resourceType":"Bundle"}`, nil, 400, "invalid", "none", "Bundle.type"},
		{"bundle entry not an array", "POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":{}}`, nil, 400, "invalid", "array", "Bundle.entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, tt.method, tt.path, tt.body, tt.headers...)
			if r.status != tt.wantStatus {
				t.Fatalf("%s %s = %d, want %d\n%s", tt.method, tt.path, r.status, tt.wantStatus, r.raw)
			}
			if ct := r.header.Get("Content-Type"); ct != contentType {
				t.Errorf("Content-Type = %q, want %q", ct, contentType)
			}
			if str(r.body, "resourceType") != "OperationOutcome" {
				t.Fatalf("body = %s, want an OperationOutcome", r.raw)
			}
			if err := fhirtest.ValidateR4(r.raw); err != nil {
				t.Errorf("outcome is not valid R4: %v\n%s", err, r.raw)
			}
			if got := str(r.body, "issue", 0, "code"); tt.wantCode != "" && got != tt.wantCode {
				t.Errorf("issue.code = %q, want %q (%s)", got, tt.wantCode, r.raw)
			}
			if got := str(r.body, "issue", 0, "diagnostics"); !strings.Contains(got, tt.wantDiag) {
				t.Errorf("diagnostics = %q, want it to contain %q", got, tt.wantDiag)
			}
			if tt.wantExpr != "" {
				if got := str(r.body, "issue", 0, "expression", 0); got != tt.wantExpr {
					t.Errorf("expression = %q, want %q", got, tt.wantExpr)
				}
			}
			if tt.wantStatus == http.StatusMethodNotAllowed && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	// Nothing above changed p1.
	if r := s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient/p1", ""); r.header.Get("ETag") != `W/"1"` {
		t.Errorf("p1 ETag = %q after the failed requests, want W/\"1\"", r.header.Get("ETag"))
	}
}
