package subhttp

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/fhir/fhirtest"
)

func TestSearchPaging(t *testing.T) {
	s := newTestServer(t, Config{})
	created := map[string]bool{}
	for i := range 25 {
		r := s.mustDo(t, http.StatusCreated, "POST", "/fhir/Patient",
			fmt.Sprintf(`{"resourceType":"Patient","gender":"female","name":[{"family":"F%02d"}]}`, i))
		created[str(r.body, "id")] = true
	}
	s.mustDo(t, http.StatusCreated, "POST", "/fhir/Patient", `{"resourceType":"Patient","gender":"male"}`)

	seen := map[string]bool{}
	var sizes []int
	var pageIDs [][]string
	var lastPage string
	// _total=accurate: every page, reached by the next links, carries it.
	next := s.URL + "/fhir/Patient?gender=female&_count=10&_total=accurate"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("more than 5 pages for 25 resources at 10 a page")
		}
		r := s.mustDo(t, http.StatusOK, "GET", next, "")
		if err := fhirtest.ValidateR4(r.raw); err != nil {
			t.Fatalf("page is not valid R4: %v", err)
		}
		if str(r.body, "type") != "searchset" || get(r.body, "total") != 25.0 {
			t.Fatalf("page type %q total %v, want searchset 25", str(r.body, "type"), get(r.body, "total"))
		}
		entries := list(r.body, "entry")
		sizes = append(sizes, len(entries))
		lastPage = next
		pageIDs = append(pageIDs, nil)
		for _, e := range entries {
			id := str(e, "resource", "id")
			pageIDs[len(pageIDs)-1] = append(pageIDs[len(pageIDs)-1], id)
			if seen[id] {
				t.Errorf("id %s on two pages", id)
			}
			seen[id] = true
			if str(e, "search", "mode") != "match" || str(e, "fullUrl") != s.URL+"/fhir/Patient/"+id {
				t.Errorf("entry search.mode %q fullUrl %q", str(e, "search", "mode"), str(e, "fullUrl"))
			}
		}
		for _, rel := range []string{"self", "first"} {
			if l := link(r.body, rel); !strings.Contains(l, "gender=female") {
				t.Errorf("link %s = %q, want it to keep the filter", rel, l)
			}
		}
		next = link(r.body, "next")
	}
	if !slices.Equal(sizes, []int{10, 10, 5}) {
		t.Errorf("page sizes = %v, want [10 10 5]", sizes)
	}
	if len(seen) != 25 {
		t.Errorf("saw %d distinct ids, want 25", len(seen))
	}
	for id := range created {
		if !seen[id] {
			t.Errorf("created %s never listed", id)
		}
	}

	// The last page links back, page by page, to the first, which has no
	// previous page; the pages are the ones walked forward.
	r := s.mustDo(t, http.StatusOK, "GET", lastPage, "")
	if link(r.body, "next") != "" {
		t.Errorf("last page has next %q", link(r.body, "next"))
	}
	for i := len(pageIDs) - 2; i >= 0; i-- {
		prev := link(r.body, "previous")
		if !strings.Contains(prev, "_cursor=") || !strings.Contains(prev, "gender=female") {
			t.Fatalf("previous = %q, want a cursor and the filter", prev)
		}
		r = s.mustDo(t, http.StatusOK, "GET", prev, "")
		var ids []string
		for _, e := range list(r.body, "entry") {
			ids = append(ids, str(e, "resource", "id"))
		}
		if !slices.Equal(ids, pageIDs[i]) {
			t.Errorf("previous page %d = %v, want %v", i, ids, pageIDs[i])
		}
	}
	if prev := link(r.body, "previous"); prev != "" {
		t.Errorf("first page has previous %q", prev)
	}
}

func TestSearch(t *testing.T) {
	s := newTestServer(t, Config{DefaultCount: 3})
	type stamp struct{ lastUpdated, id string }
	var stamps []stamp
	for _, body := range []string{
		`{"resourceType":"Observation","id":"c","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/1"}}`,
		`{"resourceType":"Observation","id":"a","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/2"}}`,
		`{"resourceType":"Observation","id":"d","status":"preliminary","code":{"coding":[{"system":"http://loinc.org","code":"1234-5"}]},"subject":{"reference":"Patient/1"}}`,
		`{"resourceType":"Observation","id":"b","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/1"}}`,
	} {
		r := s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Observation/"+strings.Split(body, `"`)[7], body)
		stamps = append(stamps, stamp{str(r.body, "meta", "lastUpdated"), str(r.body, "id")})
	}
	// Writes in the same millisecond tie on _lastUpdated; the store breaks
	// ties by id, and a sort keeps that order among equals.
	order := func(desc bool) []string {
		sorted := slices.Clone(stamps)
		slices.SortFunc(sorted, func(x, y stamp) int {
			c := strings.Compare(x.lastUpdated, y.lastUpdated)
			if desc {
				c = -c
			}
			return cmp.Or(c, strings.Compare(x.id, y.id))
		})
		var ids []string
		for _, s := range sorted {
			ids = append(ids, s.id)
		}
		return ids
	}
	ids, reversed := order(false), order(true)
	tests := []struct {
		name      string
		query     string
		form      string // POST _search body when set
		wantIDs   []string
		wantTotal float64 // -1: no total (a default total is given only when one page holds every match)
	}{
		{"all, default count, by id", "", "", []string{"a", "b", "c"}, -1},
		{"all on one page", "_count=10", "", []string{"a", "b", "c", "d"}, 4},
		{"all, counted", "_total=accurate", "", []string{"a", "b", "c"}, 4},
		{"sort by lastUpdated", "_sort=_lastUpdated&_count=10", "", ids, 4},
		{"token", "code=http://loinc.org|8867-4&_count=10&_sort=_id", "", []string{"a", "b", "c"}, 3},
		{"token and reference", "code=8867-4&subject=Patient/1&_sort=-_id", "", []string{"c", "b"}, 2},
		{"sort descending", "_sort=-_lastUpdated&_count=10", "", reversed, 4},
		{"sort by id", "_sort=_id&_count=10", "", []string{"a", "b", "c", "d"}, 4},
		{"sort by id descending", "_sort=-_id&_count=2", "", []string{"d", "c"}, -1},
		{"count zero", "_count=0", "", nil, 4},
		{"offset past the end", "_offset=10", "", nil, -1},
		{"offset past the end, counted", "_offset=10&_total=accurate", "", nil, 4},
		{"POST _search", "", "status=final&_count=10&_sort=_id", []string{"a", "b", "c"}, 3},
		{"POST _search with query and form", "_sort=-_id", "status=final", []string{"c", "b", "a"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *response
			if tt.form != "" {
				r = s.mustDo(t, http.StatusOK, "POST", "/fhir/Observation/_search?"+tt.query, tt.form,
					"Content-Type", "application/x-www-form-urlencoded")
			} else {
				r = s.mustDo(t, http.StatusOK, "GET", "/fhir/Observation?"+tt.query, "")
			}
			var got []string
			for _, e := range list(r.body, "entry") {
				got = append(got, str(e, "resource", "id"))
			}
			var wantTotal any = tt.wantTotal
			if tt.wantTotal < 0 {
				wantTotal = nil
			}
			if !slices.Equal(got, tt.wantIDs) || get(r.body, "total") != wantTotal {
				t.Errorf("search %q %q = %v total %v, want %v total %v", tt.query, tt.form, got, get(r.body, "total"), tt.wantIDs, wantTotal)
			}
			if self := link(r.body, "self"); self == "" {
				t.Error("no self link")
			} else if u, err := url.Parse(self); err != nil || u.Query().Get("_count") == "" {
				t.Errorf("self link %q has no _count", self)
			}
		})
	}
	// A deleted resource is not found.
	s.mustDo(t, http.StatusOK, "DELETE", "/fhir/Observation/a", "")
	r := s.mustDo(t, http.StatusOK, "GET", "/fhir/Observation?status=final", "")
	if get(r.body, "total") != 2.0 {
		t.Errorf("total after delete = %v, want 2", get(r.body, "total"))
	}
}

func TestPageLinks(t *testing.T) {
	filter := url.Values{"gender": {"female"}, "_count": {"99"}, "_offset": {"7"}}
	tests := []struct {
		offset, count, total int
		want                 string
	}{
		{0, 10, 25, "self=0 first=0 next=10 last=20"},
		{10, 10, 25, "self=10 first=0 previous=0 next=20 last=20"},
		{20, 10, 25, "self=20 first=0 previous=10 last=20"},
		{5, 10, 25, "self=5 first=0 previous=0 next=15 last=20"},
		{0, 10, 0, "self=0 first=0 last=0"},
		{0, 10, 10, "self=0 first=0 last=0"},
		{0, 0, 25, "self=0"},
	}
	for _, tt := range tests {
		var parts []string
		for _, l := range pageLinks("http://h/fhir/Patient", filter, tt.offset, tt.count, tt.total) {
			u, err := url.Parse(l.URL)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("gender") != "female" || q.Get("_count") != fmt.Sprint(tt.count) || len(q["_offset"]) > 1 {
				t.Errorf("link %s %q does not carry the filter and _count %d once", l.Relation, l.URL, tt.count)
			}
			parts = append(parts, fmt.Sprintf("%s=%s", l.Relation, cmp.Or(q.Get("_offset"), "0")))
		}
		if got := strings.Join(parts, " "); got != tt.want {
			t.Errorf("pageLinks(offset %d, count %d, total %d) = %q, want %q", tt.offset, tt.count, tt.total, got, tt.want)
		}
	}
}
