package subhttp

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// everythingPages follows $everything's next links from path and returns
// every entry as Type/id, failing t on a repeated entry.
func everythingPages(t *testing.T, s *testServer, path string) []string {
	t.Helper()
	var out []string
	for range 100 {
		r := s.mustDo(t, http.StatusOK, http.MethodGet, path, "")
		if str(r.body, "type") != "searchset" {
			t.Fatalf("GET %s: type %q, want searchset", path, str(r.body, "type"))
		}
		for _, e := range list(r.body, "entry") {
			k := str(e, "resource", "resourceType") + "/" + str(e, "resource", "id")
			if slices.Contains(out, k) {
				t.Errorf("%s comes twice", k)
			}
			out = append(out, k)
		}
		if path = link(r.body, "next"); path == "" {
			return out
		}
	}
	t.Fatal("more than 100 pages")
	return nil
}

func TestPatientEverything(t *testing.T) {
	s := newTestServer(t, Config{})
	put := func(ref, body string) {
		t.Helper()
		typ, id, _ := strings.Cut(ref, "/")
		s.mustDo(t, http.StatusCreated, "PUT", "/fhir/"+ref, `{"resourceType":"`+typ+`","id":"`+id+`"`+body+`}`)
	}
	obs := func(subject, extra string) string {
		return `,"status":"final","code":{"text":"hr"},"subject":{"reference":"` + subject + `"}` + extra
	}
	put("Patient/p", "")
	put("Patient/other", "")
	put("Practitioner/dr", "")
	put("Observation/o1", obs("Patient/p", ""))
	put("Observation/o2", obs("Patient/p", `,"performer":[{"reference":"Patient/p"}]`)) // two compartment parameters: once
	put("Observation/not-p", obs("Patient/other", `,"performer":[{"reference":"Practitioner/dr"}]`))
	put("Encounter/e1", `,"status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p"}`)
	put("Condition/c1", `,"subject":{"reference":"Patient/p"}`)
	put("Patient/linked", `,"link":[{"other":{"reference":"Patient/p"},"type":"seealso"}]`)
	time.Sleep(2 * time.Millisecond)
	mid := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	time.Sleep(2 * time.Millisecond)
	put("Observation/o3", obs("Patient/p", ""))

	all := []string{"Patient/p", "Condition/c1", "Encounter/e1", "Observation/o1", "Observation/o2", "Observation/o3", "Patient/linked"}
	for _, count := range []string{"1", "2", "3", "50"} {
		got := everythingPages(t, s, "/fhir/Patient/p/$everything?_count="+count)
		if strings.Join(got, " ") != strings.Join(all, " ") {
			t.Errorf("$everything, %s per page:\n got %v\nwant %v", count, got, all)
		}
	}
	if got := everythingPages(t, s, "/fhir/Patient/p/$everything?_type=Observation,Encounter"); strings.Join(got, " ") != "Encounter/e1 Observation/o1 Observation/o2 Observation/o3" {
		t.Errorf("_type=Observation,Encounter: %v", got)
	}
	if got := everythingPages(t, s, "/fhir/Patient/p/$everything?_type=Patient"); strings.Join(got, " ") != "Patient/p Patient/linked" {
		t.Errorf("_type=Patient: %v", got)
	}
	if got := everythingPages(t, s, "/fhir/Patient/p/$everything?_since="+url.QueryEscape(mid)); strings.Join(got, " ") != "Observation/o3" {
		t.Errorf("_since=%s: %v, want only Observation/o3", mid, got)
	}
	if got := everythingPages(t, s, "/fhir/Patient/other/$everything"); strings.Join(got, " ") != "Patient/other Observation/not-p" {
		t.Errorf("the other patient's $everything: %v", got)
	}

	s.mustDo(t, http.StatusNotFound, "GET", "/fhir/Patient/nobody/$everything", "")
	s.mustDo(t, http.StatusNotFound, "GET", "/fhir/Observation/o1/$everything", "")
	s.mustDo(t, http.StatusOK, "DELETE", "/fhir/Patient/other", "")
	s.mustDo(t, http.StatusGone, "GET", "/fhir/Patient/other/$everything", "")
	for _, q := range []string{"_since=soon", "_type=Nope", "_count=0", "_cursor=bad", "_cursor=OTk5OSB4", "foo=1", "_since=2020&_since=2021"} {
		r := s.do(t, "GET", "/fhir/Patient/p/$everything?"+q, "")
		if r.status != http.StatusBadRequest || str(r.body, "resourceType") != "OperationOutcome" {
			t.Errorf("$everything?%s = %d %s, want 400", q, r.status, r.raw)
		}
	}
}

func TestPatientEverythingShaped(t *testing.T) {
	s := newTestServer(t, Config{})
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/p", `{"resourceType":"Patient","id":"p","gender":"female","birthDate":"1990-01-01"}`)
	r := s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient/p/$everything?_elements=gender", "")
	res := get(r.body, "entry", 0, "resource")
	if str(res, "gender") != "female" || get(res, "birthDate") != nil {
		t.Errorf("_elements=gender: %v", res)
	}
	s.mustDo(t, http.StatusBadRequest, "GET", "/fhir/Patient/p/$everything?_summary=count", "")
}

// FuzzHistoryAndEverythingQuery: the query strings of type and system
// history and of $everything are client input: never a 500.
func FuzzHistoryAndEverythingQuery(f *testing.F) {
	s := newTestServer(f, Config{})
	s.mustDo(f, http.StatusCreated, "PUT", "/fhir/Patient/p", `{"resourceType":"Patient","id":"p"}`)
	s.mustDo(f, http.StatusCreated, "PUT", "/fhir/Observation/o", `{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p"}}`)
	for _, q := range []string{"_since=2024-01-01", "_at=2024", "_count=1&_cursor=abc", "_type=Observation,Patient", "_summary=true", "_elements=id", "%zz", "_since=2024-02-30T10:00:00+99:00"} {
		f.Add(q)
	}
	h := s.Config.Handler
	f.Fuzz(func(t *testing.T, q string) {
		for _, path := range []string{"/fhir/_history", "/fhir/Patient/_history", "/fhir/Patient/p/$everything"} {
			req := httptest.NewRequest(http.MethodGet, "http://x"+path, nil)
			req.URL.RawQuery = q
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("GET %s?%s = %d %s", path, q, w.Code, w.Body)
			}
		}
	})
}
