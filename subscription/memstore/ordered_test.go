package memstore_test

import (
	"fmt"
	"net/url"
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
