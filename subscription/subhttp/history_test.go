package subhttp

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// historyPages follows the next links from path and returns every entry's
// "request.method fullUrl-tail/vid" in order, failing t on a page that is
// not a history Bundle.
func historyPages(t *testing.T, s *testServer, path string) []string {
	t.Helper()
	var out []string
	for range 100 {
		r := s.mustDo(t, http.StatusOK, http.MethodGet, path, "")
		if str(r.body, "type") != "history" {
			t.Fatalf("GET %s: Bundle.type %q, want history", path, str(r.body, "type"))
		}
		for _, e := range list(r.body, "entry") {
			etag := str(e, "response", "etag")
			u := strings.TrimPrefix(str(e, "fullUrl"), s.URL+"/fhir/")
			out = append(out, fmt.Sprintf("%s %s %s %s", str(e, "request", "method"), u, etag, str(e, "response", "status")))
			if str(e, "request", "method") == http.MethodDelete && get(e, "resource") != nil {
				t.Errorf("deletion entry %s carries a resource", u)
			}
		}
		next := link(r.body, "next")
		if next == "" {
			return out
		}
		path = next
	}
	t.Fatal("more than 100 pages")
	return nil
}

func TestTypeAndSystemHistory(t *testing.T) {
	s := newTestServer(t, Config{})
	time.Sleep(2 * time.Millisecond) // after the built-in topics' millisecond
	write := func(method, path, body string, want int) map[string]any {
		r := s.mustDo(t, want, method, path, body)
		time.Sleep(2 * time.Millisecond) // distinct milliseconds, for _since and _at
		return r.body
	}
	p := write(http.MethodPost, "/fhir/Patient", `{"resourceType":"Patient","gender":"female"}`, http.StatusCreated)
	pid := str(p, "id")
	mid := str(p, "meta", "lastUpdated")
	write(http.MethodPost, "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"hr"}}`, http.StatusCreated)
	write(http.MethodPut, "/fhir/Patient/"+pid, `{"resourceType":"Patient","id":"`+pid+`","gender":"male"}`, http.StatusOK)
	write(http.MethodDelete, "/fhir/Patient/"+pid, "", http.StatusOK)
	re := write(http.MethodPut, "/fhir/Patient/"+pid, `{"resourceType":"Patient","id":"`+pid+`","gender":"other"}`, http.StatusCreated)

	want := []string{
		"PUT Patient/" + pid + ` W/"4" 201 Created`,
		"DELETE Patient/" + pid + ` W/"3" 200 OK`,
		"PUT Patient/" + pid + ` W/"2" 200 OK`,
		"POST Patient/" + pid + ` W/"1" 201 Created`,
	}
	for _, count := range []string{"1", "2", "10"} {
		got := historyPages(t, s, "/fhir/Patient/_history?_count="+count)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("Patient/_history?_count=%s:\n got %q\nwant %q", count, got, want)
		}
	}
	// The system history holds the Observation between the two Patient
	// versions it was written between, and the built-in topics Load
	// stored, oldest of all.
	all := historyPages(t, s, "/fhir/_history?_count=3")
	if len(all) < 5 || all[0] != want[0] || all[1] != want[1] || all[2] != want[2] ||
		!strings.HasPrefix(all[3], "POST Observation/") || all[4] != want[3] {
		t.Errorf("_history starts %q; want the Patient versions with the Observation between 2 and 1", all[:min(5, len(all))])
	}
	for _, e := range all[5:] {
		if !strings.HasPrefix(e, "POST SubscriptionTopic/") {
			t.Errorf("_history entry %q after Patient v1; want only the built-in topics", e)
		}
	}

	// _since keeps what was written at or after it.
	since := historyPages(t, s, "/fhir/_history?_since="+url.QueryEscape(str(re, "meta", "lastUpdated")))
	if len(since) != 1 || since[0] != want[0] {
		t.Errorf("_since the last write = %q, want only %q", since, want[0])
	}
	since = historyPages(t, s, "/fhir/Patient/_history?_since="+url.QueryEscape(mid))
	if len(since) != 4 {
		t.Errorf("Patient/_history?_since=<first write> has %d entries, want 4", len(since))
	}
	// _at the first write's millisecond: what was current then, version 1
	// only (the topics are SubscriptionTopics).
	at := historyPages(t, s, "/fhir/Patient/_history?_at="+url.QueryEscape(mid))
	if len(at) != 1 || at[0] != want[3] {
		t.Errorf("Patient/_history?_at=<first write> = %q, want [%q]", at, want[3])
	}
	// A whole year: every version was current at some point in it.
	year := time.Now().UTC().Format("2006")
	if at := historyPages(t, s, "/fhir/Patient/_history?_at="+year); len(at) != 4 {
		t.Errorf("_at=%s has %d entries, want 4", year, len(at))
	}

	// The links: self and first repeat the parameters, next adds a cursor.
	r := s.mustDo(t, http.StatusOK, http.MethodGet, "/fhir/Patient/_history?_count=1&_since=2000-01-01", "")
	for _, rel := range []string{"self", "first", "next"} {
		u := link(r.body, rel)
		if !strings.HasPrefix(u, s.URL+"/fhir/Patient/_history?") || !strings.Contains(u, "_since=2000-01-01") || !strings.Contains(u, "_count=1") {
			t.Errorf("%s link %q", rel, u)
		}
	}
	if strings.Contains(link(r.body, "first"), "_cursor") || !strings.Contains(link(r.body, "next"), "_cursor=") {
		t.Errorf("first %q must not carry a cursor, next %q must", link(r.body, "first"), link(r.body, "next"))
	}
	if get(r.body, "total") != nil {
		t.Errorf("total = %v; a type history is not counted", get(r.body, "total"))
	}
	if r := s.mustDo(t, http.StatusOK, http.MethodGet, "/fhir/Encounter/_history", ""); len(list(r.body, "entry")) != 0 || link(r.body, "next") != "" {
		t.Errorf("Encounter/_history of nothing: %s", r.raw)
	}
}

func TestHistoryBadParameters(t *testing.T) {
	s := newTestServer(t, Config{})
	s.mustDo(t, http.StatusCreated, http.MethodPost, "/fhir/Patient", `{"resourceType":"Patient"}`)
	s.mustDo(t, http.StatusCreated, http.MethodPost, "/fhir/Patient", `{"resourceType":"Patient"}`)
	page := s.mustDo(t, http.StatusOK, http.MethodGet, "/fhir/Patient/_history?_count=1", "")
	cursor := link(page.body, "next")[strings.Index(link(page.body, "next"), "_cursor=")+len("_cursor="):]
	for _, path := range []string{
		"/fhir/Patient/_history?_since=yesterday",
		"/fhir/Patient/_history?_at=2024-13",
		"/fhir/_history?_count=-1",
		"/fhir/_history?_count=x",
		"/fhir/_history?_list=x",
		"/fhir/_history?gender=male",
		"/fhir/_history?_since=2024&_since=2025",
		"/fhir/Patient/_history?_cursor=garbage",
		"/fhir/Observation/_history?_cursor=" + cursor, // another type's cursor
	} {
		r := s.do(t, http.MethodGet, path, "")
		if r.status != http.StatusBadRequest || str(r.body, "resourceType") != "OperationOutcome" {
			t.Errorf("GET %s = %d %s, want 400 with an OperationOutcome", path, r.status, r.raw)
		}
	}
	if r := s.do(t, http.MethodGet, "/fhir/Nope/_history", ""); r.status != http.StatusNotFound {
		t.Errorf("GET /fhir/Nope/_history = %d, want 404", r.status)
	}
}

func TestHistoryInBatch(t *testing.T) {
	s := newTestServer(t, Config{})
	p := s.mustDo(t, http.StatusCreated, http.MethodPost, "/fhir/Patient", `{"resourceType":"Patient"}`)
	batch := `{"resourceType":"Bundle","type":"batch","entry":[
		{"request":{"method":"GET","url":"Patient/_history?_count=5"}},
		{"request":{"method":"GET","url":"_history?_count=1"}},
		{"request":{"method":"GET","url":"Patient/_history?_since=nope"}}]}`
	r := s.mustDo(t, http.StatusOK, http.MethodPost, "/fhir", batch)
	entries := list(r.body, "entry")
	if len(entries) != 3 {
		t.Fatalf("batch-response has %d entries: %s", len(entries), r.raw)
	}
	typ := get(entries[0], "resource")
	if str(entries[0], "response", "status") != "200 OK" || str(typ, "type") != "history" ||
		str(typ, "entry", 0, "fullUrl") != s.URL+"/fhir/Patient/"+str(p.body, "id") {
		t.Errorf("entry 0 (type history): %v", entries[0])
	}
	sys := get(entries[1], "resource")
	if str(sys, "type") != "history" || len(list(sys, "entry")) != 1 || !strings.HasPrefix(link(sys.(map[string]any), "next"), s.URL+"/fhir/_history?") {
		t.Errorf("entry 1 (system history, one per page): %v", entries[1])
	}
	if st := str(entries[2], "response", "status"); !strings.HasPrefix(st, "400") {
		t.Errorf("entry 2 (bad _since) status %q, want 400", st)
	}
	// A transaction may not read history.
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"GET","url":"Patient/_history"}}]}`
	if r := s.do(t, http.MethodPost, "/fhir", tx); r.status != http.StatusBadRequest {
		t.Errorf("history in a transaction = %d, want 400", r.status)
	}
}
