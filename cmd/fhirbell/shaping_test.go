package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
)

// Wire output and shaping (_summary, _elements), end to end on each store:
// the bytes a client gets are checked, not only their decoding.
func TestShapingInMemory(t *testing.T) { exerciseShaping(t, mustRunServe(t, nil).URL) }

func TestShapingOnPostgres(t *testing.T) {
	s := mustRunServe(t, map[string]string{"FHIRBELL_DATABASE_URL": pgtest.NewSchema(t)})
	exerciseShaping(t, s.URL)
}

// stamp matches the meta fhirbell stamps, for comparing whole bodies.
var stamp = regexp.MustCompile(`"versionId":"\d+","lastUpdated":"[0-9T:.\-]+Z"`)

func exerciseShaping(t *testing.T, base string) {
	fhir := base + "/fhir"
	org := do(t, "POST", fhir+"/Organization", `{"resourceType":"Organization","name":"Acme & Sons","active":true}`)
	wantStatus(t, org, 201)
	orgID := org.Body["id"].(string)
	// Members in an order no sorting would give, resourceType not first,
	// and a client meta.
	body := `{"name":[{"family":"Chalmers"}],"gender":"male", "resourceType":"Patient","meta":{"source":"urn:s"},` +
		`"contact":[{"name":{"family":"du Marché"}}],"managingOrganization":{"reference":"Organization/` + orgID + `"},` +
		`"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Peter &amp; co</div>"}}`
	created := do(t, "POST", fhir+"/Patient", body)
	wantStatus(t, created, 201)
	id := created.Body["id"].(string)
	want := `{"resourceType":"Patient","id":"` + id + `","meta":{"source":"urn:s","versionId":"1","lastUpdated":"X"},"name":[{"family":"Chalmers"}],"gender":"male",` +
		`"contact":[{"name":{"family":"du Marché"}}],"managingOrganization":{"reference":"Organization/` + orgID + `"},` +
		`"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Peter &amp; co</div>"}}`
	norm := func(b []byte) string { return stamp.ReplaceAllString(string(b), `"versionId":"1","lastUpdated":"X"`) }

	t.Run("wire layout on create, read, vread", func(t *testing.T) {
		if got := norm(created.Raw); got != want {
			t.Errorf("create answered\n%s\nwant\n%s", got, want)
		}
		for _, path := range []string{"/Patient/" + id, "/Patient/" + id + "/_history/1"} {
			r := do(t, "GET", fhir+path, "")
			wantStatus(t, r, 200)
			if got := norm(r.Raw); got != want {
				t.Errorf("GET %s =\n%s\nwant\n%s", path, got, want)
			}
		}
	})
	t.Run("wire layout in search and history bundles", func(t *testing.T) {
		for _, path := range []string{"/Patient?_id=" + id + "&gender=male&_include=Patient:organization", "/Patient/" + id + "/_history"} {
			r := do(t, "GET", fhir+path, "")
			wantStatus(t, r, 200)
			raw := string(r.Raw)
			if !strings.HasPrefix(raw, `{"resourceType":"Bundle","id":"`) || strings.Contains(raw, `": `) || strings.Contains(raw, `\u0026`) {
				t.Errorf("GET %s: not the wire layout:\n%s", path, raw)
			}
			if !strings.Contains(norm(r.Raw), `"resource":`+want) {
				t.Errorf("GET %s: the entry is not the stored layout:\n%s", path, raw)
			}
			if !strings.Contains(raw, "&") {
				t.Errorf("GET %s: links lost their &: %s", path, raw)
			}
		}
	})
	t.Run("_summary and _elements on read", func(t *testing.T) {
		const tag = `"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED","display":"Resource encoded in summary mode"}]`
		for _, c := range []struct{ query, want string }{
			{"_summary=true", `{"resourceType":"Patient","id":"` + id + `","meta":{"source":"urn:s","versionId":"1","lastUpdated":"X",` + tag + `},"name":[{"family":"Chalmers"}],"gender":"male","managingOrganization":{"reference":"Organization/` + orgID + `"}}`},
			{"_summary=text", `{"resourceType":"Patient","id":"` + id + `","meta":{"source":"urn:s","versionId":"1","lastUpdated":"X",` + tag + `},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Peter &amp; co</div>"}}`},
			{"_summary=data", `{"resourceType":"Patient","id":"` + id + `","meta":{"source":"urn:s","versionId":"1","lastUpdated":"X",` + tag + `},"name":[{"family":"Chalmers"}],"gender":"male","contact":[{"name":{"family":"du Marché"}}],"managingOrganization":{"reference":"Organization/` + orgID + `"}}`},
			{"_summary=false", want},
			{"_elements=gender,contact", `{"resourceType":"Patient","id":"` + id + `","meta":{"source":"urn:s","versionId":"1","lastUpdated":"X",` + tag + `},"gender":"male","contact":[{"name":{"family":"du Marché"}}]}`},
		} {
			r := do(t, "GET", fhir+"/Patient/"+id+"?"+c.query, "")
			wantStatus(t, r, 200)
			if got := norm(r.Raw); got != c.want {
				t.Errorf("GET ?%s =\n%s\nwant\n%s", c.query, got, c.want)
			}
		}
		for _, q := range []string{"_summary=count", "_summary=maybe", "_summary=true&_elements=name", "_elements=name.family"} {
			r := do(t, "GET", fhir+"/Patient/"+id+"?"+q, "")
			wantStatus(t, r, 400)
			if r.Body["resourceType"] != "OperationOutcome" {
				t.Errorf("?%s: %s", q, r.Raw)
			}
		}
	})
	t.Run("_summary and _elements on search, included entries and history", func(t *testing.T) {
		r := do(t, "GET", fhir+"/Patient?_id="+id+"&_include=Patient:organization&_elements=gender", "")
		wantStatus(t, r, 200)
		entries := r.Body["entry"].([]any)
		if len(entries) != 2 {
			t.Fatalf("%d entries, want the match and the include: %s", len(entries), r.Raw)
		}
		pat := entries[0].(map[string]any)["resource"].(map[string]any)
		incl := entries[1].(map[string]any)["resource"].(map[string]any)
		if pat["gender"] != "male" || pat["name"] != nil || incl["name"] != nil || !strings.Contains(string(r.Raw), "SUBSETTED") {
			t.Errorf("search _elements=gender: %s", r.Raw)
		}
		if self := link(r.Body, "self"); !strings.Contains(self, "_elements=gender") {
			t.Errorf("self link lost _elements: %s", self)
		}
		r = do(t, "POST", fhir+"/Patient/_search", "_id="+id+"&_summary=true", "Content-Type", "application/x-www-form-urlencoded")
		wantStatus(t, r, 200)
		if p := r.Body["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any); p["contact"] != nil || p["text"] != nil || p["name"] == nil {
			t.Errorf("POST _search _summary=true: %s", r.Raw)
		}
		r = do(t, "GET", fhir+"/Patient/"+id+"/_history?_summary=text", "")
		wantStatus(t, r, 200)
		if p := r.Body["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any); p["name"] != nil || p["text"] == nil {
			t.Errorf("history _summary=text: %s", r.Raw)
		}
		if self := link(r.Body, "self"); !strings.Contains(self, "_summary=text") {
			t.Errorf("history self link lost _summary: %s", self)
		}
		r = do(t, "GET", fhir+"/Patient/_history?_elements=gender", "")
		wantStatus(t, r, 200)
		if p := r.Body["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any); p["name"] != nil || p["gender"] != "male" {
			t.Errorf("type history _elements=gender: %s", r.Raw)
		}
		if raw := string(r.Raw); strings.Contains(raw, `\u0026`) || strings.Contains(raw, `": `) {
			t.Errorf("type history is not in the wire layout: %s", raw)
		}
	})
}

func TestFormatNegotiation(t *testing.T) {
	fhir := mustRunServe(t, nil).URL + "/fhir"
	p := do(t, "POST", fhir+"/Patient", `{"resourceType":"Patient","active":true}`)
	wantStatus(t, p, 201)
	path := fhir + "/Patient/" + p.Body["id"].(string)
	for _, c := range []struct{ query, accept, wantStatus, wantType string }{
		{"", "", "200", "application/fhir+json; charset=utf-8"},
		{"", "application/json", "200", "application/json; charset=utf-8"},
		{"", "application/fhir+json; fhirVersion=4.0", "200", "application/fhir+json; charset=utf-8; fhirVersion=4.0"},
		{"", "application/fhir+xml;q=1, application/json;q=0.5", "200", "application/json; charset=utf-8"},
		{"?_format=json", "application/fhir+xml", "200", "application/fhir+json; charset=utf-8"},
		{"?_format=application/json", "", "200", "application/json; charset=utf-8"},
		{"?_format=xml", "", "406", "application/fhir+json; charset=utf-8"},
		{"", "application/fhir+xml", "406", "application/fhir+json; charset=utf-8"},
		{"", "application/fhir+json; fhirVersion=5.0", "406", "application/fhir+json; charset=utf-8"},
	} {
		var hdr []string
		if c.accept != "" {
			hdr = []string{"Accept", c.accept}
		}
		r := do(t, "GET", path+c.query, "", hdr...)
		if got := r.Header.Get("Content-Type"); got != c.wantType || c.wantStatus != itoa(r.Status) {
			t.Errorf("GET %s Accept %q: %d %q, want %s %q", c.query, c.accept, r.Status, got, c.wantStatus, c.wantType)
		}
		if r.Status == 406 && r.Body["resourceType"] != "OperationOutcome" {
			t.Errorf("406 without an OperationOutcome: %s", r.Raw)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func link(bundle map[string]any, rel string) string {
	for _, l := range bundle["link"].([]any) {
		if l.(map[string]any)["relation"] == rel {
			return l.(map[string]any)["url"].(string)
		}
	}
	return ""
}
