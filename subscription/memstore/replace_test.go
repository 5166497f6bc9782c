package memstore

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"testing"

	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
)

// A cached order brought up to date by rePlace is the order a full sort
// gives, whatever the writes since it was built: creates, updates that
// move an entry or leave it in place, deletes, an id written several
// times, ties in the sort values, and entries with no value.
func TestRePlaceIsSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ti := &typeIndex{live: map[string]*entry{}, keys: map[string]map[string]map[string]struct{}{}}
	put := func(id string) {
		body := fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","code":{"text":"x"}`, id)
		if d := rng.IntN(12); d > 0 { // none: sorts as a missing value
			body += fmt.Sprintf(`,"effectiveDateTime":"2024-%02d-01"`, d)
		}
		body += "}"
		vals, err := search.NewTarget([]byte(body)).Extract()
		if err != nil {
			t.Fatal(err)
		}
		ti.put(subscription.Resource{Type: "Observation", ID: id, VersionID: 1, Body: []byte(body)}, vals)
	}
	del := func(id string) { ti.put(subscription.Resource{Type: "Observation", ID: id, Deleted: true}, nil) }
	for i := range 300 {
		put(fmt.Sprintf("o%03d", i))
	}
	for _, sort := range []string{"-date", "date,-_id", "_id"} {
		v, _ := url.ParseQuery("_sort=" + sort)
		q, err := search.ParseQuery("Observation", v)
		if err != nil {
			t.Fatal(err)
		}
		keys := q.SortKeys()
		for round := range 40 {
			before := ti.ordered(keys)
			for range 1 + rng.IntN(20) {
				id := fmt.Sprintf("o%03d", rng.IntN(330)) // some new, some deleted before
				if rng.IntN(4) == 0 {
					del(id)
				} else {
					put(id)
				}
			}
			got := ti.ordered(keys)
			want := make([]ranked, 0, len(ti.live))
			for _, e := range ti.live {
				want = append(want, ranked{e, sortValues(e, keys)})
			}
			slices.SortFunc(want, byKeys(keys))
			if !slices.EqualFunc(got, want, func(a, b ranked) bool { return a.e == b.e }) {
				t.Fatalf("_sort=%s round %d: re-placed order differs from a full sort:\n got %s\nwant %s", sort, round, ids(got), ids(want))
			}
			if len(before) > 0 && &before[0] == &got[0] {
				t.Fatalf("_sort=%s round %d: the order was changed in place; a page walking it would see it move", sort, round)
			}
		}
	}
	if ti.written0 == 0 {
		t.Errorf("the write log was never cut back (written0 = 0 after %d writes); maxRePlaced is not applied", ti.gen)
	}
}

func ids(rs []ranked) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.e.res.ID
	}
	return out
}
