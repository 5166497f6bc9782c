package memstore_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/memstore"
)

// TestOrderedPagesFollowWrites: the sort order a page of an unnarrowed
// search walks is cached per type, and every write to the type (create,
// update, delete) must be seen by the next page.
func TestOrderedPagesFollowWrites(t *testing.T) {
	ctx := t.Context()
	svc := subscription.NewService(memstore.New())
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	obs := func(id, date string) *fhir.Resource {
		r, err := fhir.ParseResource([]byte(fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","code":{"text":"x"},"effectiveDateTime":%q}`, id, date)))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	put := func(id, date string) {
		t.Helper()
		if err := svc.Transaction(ctx, func(w *subscription.Writer) error {
			_, _, err := w.Update(ctx, obs(id, date), 0)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	first := func() []string {
		t.Helper()
		v, _ := url.ParseQuery("_sort=-date&date=ge2000")
		q, err := search.ParseQuery("Observation", v)
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.Search(ctx, q, 2)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range res.Matches {
			ids = append(ids, m.ID)
		}
		return ids
	}
	for i := range 5 {
		put(fmt.Sprintf("o%d", i), fmt.Sprintf("201%d-01-01", i))
	}
	if got := fmt.Sprint(first()); got != "[o4 o3]" {
		t.Fatalf("first page = %s, want [o4 o3]", got)
	}
	put("new", "2020-01-01") // a create
	if got := fmt.Sprint(first()); got != "[new o4]" {
		t.Fatalf("after a create, first page = %s, want [new o4]", got)
	}
	put("o0", "2030-01-01") // an update moves o0 to the front
	if got := fmt.Sprint(first()); got != "[o0 new]" {
		t.Fatalf("after an update, first page = %s, want [o0 new]", got)
	}
	if err := svc.Transaction(ctx, func(w *subscription.Writer) error {
		_, err := w.Delete(ctx, "Observation", "o0", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(first()); got != "[new o4]" {
		t.Fatalf("after a delete, first page = %s, want [new o4]", got)
	}
}

// TestOrderedPagingOfManyCandidates pages forward and back through a code
// with more candidates than the inverted index hands to a sort (so the
// page walks the order), and checks every page against the order worked
// out here, and the bounded total.
func TestOrderedPagingOfManyCandidates(t *testing.T) {
	ctx := t.Context()
	svc := subscription.NewService(memstore.New())
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 3000 // code a: 2,500 candidates; code b: 500
	type row struct{ id, date string }
	var want []row
	if err := svc.Transaction(ctx, func(w *subscription.Writer) error {
		for i := range n {
			code := "a"
			if i%6 == 5 {
				code = "b"
			}
			id := fmt.Sprintf("o%04d", (i*7919)%n) // ids not in date order
			date := fmt.Sprintf("20%02d-%02d-01", 10+i%13, 1+i%12)
			body := fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","code":{"coding":[{"system":"s","code":%q}]},"effectiveDateTime":%q}`, id, code, date)
			r, err := fhir.ParseResource([]byte(body))
			if err != nil {
				return err
			}
			if _, _, err := w.Update(ctx, r, 0); err != nil {
				return err
			}
			if code == "a" {
				want = append(want, row{id, date})
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// _sort=-date,_id: date descending, then id ascending.
	slices.SortFunc(want, func(a, b row) int {
		if c := strings.Compare(b.date, a.date); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	page := func(cursor string) subscription.SearchResult {
		t.Helper()
		v, _ := url.ParseQuery("code=s|a&_sort=-date,_id")
		q, err := search.ParseQuery("Observation", v)
		if err != nil {
			t.Fatal(err)
		}
		q.Cursor = cursor
		res, err := svc.Search(ctx, q, 97)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	var pages [][]string
	var got []string
	res := page("")
	if res.Total != -1 {
		t.Errorf("Total = %d, want -1: %d matches do not fit one page, and a default total is not counted", res.Total, len(want))
	}
	for {
		var ids []string
		for _, m := range res.Matches {
			ids = append(ids, m.ID)
		}
		pages = append(pages, ids)
		got = append(got, ids...)
		if res.Next == "" {
			break
		}
		res = page(res.Next)
	}
	var wantIDs []string
	for _, r := range want {
		wantIDs = append(wantIDs, r.id)
	}
	if !slices.Equal(got, wantIDs) {
		t.Fatalf("paged forward: %d ids, want %d in order (first difference at %d)", len(got), len(wantIDs), firstDiff(got, wantIDs))
	}
	// And back from the last page, through Prev.
	for i := len(pages) - 1; i > 0; i-- {
		if res.Prev == "" {
			t.Fatalf("page %d has no previous page", i)
		}
		res = page(res.Prev)
		var ids []string
		for _, m := range res.Matches {
			ids = append(ids, m.ID)
		}
		if !slices.Equal(ids, pages[i-1]) {
			t.Fatalf("back to page %d: %v, want %v", i-1, ids, pages[i-1])
		}
	}
	if res.Prev != "" {
		t.Errorf("the first page reached going back has a previous page")
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
