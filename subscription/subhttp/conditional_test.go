package subhttp

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

const mrnPatient = `{"resourceType":"Patient","identifier":[{"system":"http://example.org/mrn","value":"7"}],"gender":"female"}`

func TestConditionalCreate(t *testing.T) {
	s := newTestServer(t, Config{})
	first := s.mustDo(t, http.StatusCreated, "POST", "/fhir/Patient", mrnPatient, "If-None-Exist", "identifier=http://example.org/mrn|7")
	again := s.mustDo(t, http.StatusOK, "POST", "/fhir/Patient", mrnPatient, "If-None-Exist", "identifier=http://example.org/mrn|7")
	if first.body["id"] != again.body["id"] || str(again.body, "meta", "versionId") != "1" {
		t.Fatalf("second conditional create answered %s, want the first's resource unchanged (%s)", again.raw, first.raw)
	}
	s.mustDo(t, http.StatusCreated, "POST", "/fhir/Patient", mrnPatient) // a duplicate, unconditionally
	r := s.mustDo(t, http.StatusPreconditionFailed, "POST", "/fhir/Patient", mrnPatient, "If-None-Exist", "identifier=http://example.org/mrn|7")
	if got := issues(r.body); len(got) != 1 || got[0] != "conflict " {
		t.Errorf("412 issues %q", got)
	}
	r = s.mustDo(t, http.StatusBadRequest, "POST", "/fhir/Patient", mrnPatient, "If-None-Exist", "_count=1")
	if got := issues(r.body); len(got) != 1 || got[0] != "invalid If-None-Exist" {
		t.Errorf("criteria without a parameter: issues %q", got)
	}
	s.mustDo(t, http.StatusBadRequest, "POST", "/fhir/Patient", mrnPatient, "If-None-Exist", "nosuchparam=1")
}

// TestConditionalCreateConcurrent: concurrent requests with the same
// criteria make one resource (the store's lock; storetest runs the same
// against Postgres).
func TestConditionalCreateConcurrent(t *testing.T) {
	s := newTestServer(t, Config{})
	const n = 10
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i] = s.do(t, "POST", "/fhir/Patient", mrnPatient, "If-None-Exist", "identifier=http://example.org/mrn|7").status
		})
	}
	wg.Wait()
	created := 0
	for _, st := range statuses {
		switch st {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Errorf("status %d", st)
		}
	}
	if created != 1 {
		t.Fatalf("%d created, want 1 (%v)", created, statuses)
	}
	if r := s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient", ""); r.body["total"] != float64(1) {
		t.Fatalf("%v Patients stored", r.body["total"])
	}
}

func TestConditionalUpdate(t *testing.T) {
	s := newTestServer(t, Config{})
	r := s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient?identifier=http://example.org/mrn|7", mrnPatient)
	id := str(r.body, "id")
	if id == "" {
		t.Fatalf("no id: %s", r.raw)
	}
	upd := `{"resourceType":"Patient","identifier":[{"system":"http://example.org/mrn","value":"7"}],"gender":"male"}`
	r = s.mustDo(t, http.StatusOK, "PUT", "/fhir/Patient?identifier=http://example.org/mrn|7", upd)
	if str(r.body, "id") != id || str(r.body, "meta", "versionId") != "2" || str(r.body, "gender") != "male" {
		t.Fatalf("conditional update: %s", r.raw)
	}
	s.mustDo(t, http.StatusPreconditionFailed, "PUT", "/fhir/Patient?identifier=http://example.org/mrn|7", upd, "If-Match", `W/"1"`)
	s.mustDo(t, http.StatusBadRequest, "PUT", "/fhir/Patient?identifier=http://example.org/mrn|7",
		`{"resourceType":"Patient","id":"other","identifier":[{"system":"http://example.org/mrn","value":"7"}]}`)
	s.mustDo(t, http.StatusBadRequest, "PUT", "/fhir/Patient", upd)
	s.mustDo(t, http.StatusCreated, "POST", "/fhir/Patient", mrnPatient)
	s.mustDo(t, http.StatusPreconditionFailed, "PUT", "/fhir/Patient?identifier=http://example.org/mrn|7", upd)
}

func TestConditionalDelete(t *testing.T) {
	s := newTestServer(t, Config{MaxConditionalDeletes: 2})
	for range 3 {
		s.mustDo(t, http.StatusCreated, "POST", "/fhir/Patient", mrnPatient)
	}
	s.mustDo(t, http.StatusPreconditionFailed, "DELETE", "/fhir/Patient?identifier=http://example.org/mrn|7", "")
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/solo", `{"resourceType":"Patient","id":"solo","gender":"other"}`)
	r := s.mustDo(t, http.StatusOK, "DELETE", "/fhir/Patient?gender=other", "")
	if r.header.Get("ETag") != `W/"2"` || len(list(r.body, "issue")) != 1 {
		t.Fatalf("single conditional delete: %v %s", r.header, r.raw)
	}
	s.mustDo(t, http.StatusGone, "GET", "/fhir/Patient/solo", "")
	s.mustDo(t, http.StatusOK, "DELETE", "/fhir/Patient?gender=other", "") // nothing left: still 200
	if r := s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient", ""); r.body["total"] != float64(3) {
		t.Fatalf("the over-cap delete removed something: %v", r.body["total"])
	}
	s = newTestServer(t, Config{})
	for range 2 {
		s.mustDo(t, http.StatusCreated, "POST", "/fhir/Patient", mrnPatient)
	}
	r = s.mustDo(t, http.StatusOK, "DELETE", "/fhir/Patient?identifier=http://example.org/mrn|7", "")
	if len(list(r.body, "issue")) != 2 {
		t.Fatalf("multiple conditional delete: %s", r.raw)
	}
	if r := s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient", ""); r.body["total"] != float64(0) {
		t.Fatalf("%v left after the multiple delete", r.body["total"])
	}
}

func TestConditionalRead(t *testing.T) {
	s := newTestServer(t, Config{})
	r := s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/p", `{"resourceType":"Patient","id":"p"}`)
	lm := r.header.Get("Last-Modified")
	if r := s.mustDo(t, http.StatusNotModified, "GET", "/fhir/Patient/p", "", "If-None-Match", `W/"1"`); len(r.raw) != 0 || r.header.Get("ETag") != `W/"1"` {
		t.Fatalf("304 with a body or without ETag: %v %s", r.header, r.raw)
	}
	s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient/p", "", "If-None-Match", `W/"2"`)
	s.mustDo(t, http.StatusNotModified, "GET", "/fhir/Patient/p", "", "If-Modified-Since", lm)
	s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient/p", "", "If-Modified-Since", time.Unix(0, 0).UTC().Format(http.TimeFormat))
	s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient/p", "", "If-Modified-Since", "yesterday")
}
