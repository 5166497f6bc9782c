package subscription_test

import (
	"context"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/memstore"
)

// findCounter counts the searches a Service runs on its store.
type findCounter struct {
	subscription.Store
	finds atomic.Int64
}

func (f *findCounter) Find(ctx context.Context, q *search.Query, count int) (subscription.SearchPage, error) {
	f.finds.Add(1)
	return f.Store.Find(ctx, q, count)
}

// TestSummaryCountTrustsTheStoreForUnrestrictedCallers: a caller whose
// scopes let it see every resource of the type gets the store's count in
// one search; a caller limited by granular scopes gets the count of what
// it may see, recounted page by page.
func TestSummaryCountTrustsTheStoreForUnrestrictedCallers(t *testing.T) {
	store := &findCounter{Store: memstore.New()}
	svc := subscription.NewService(store)
	ctx := t.Context()
	for i := range 1500 {
		cat := "vital-signs"
		if i%3 == 0 {
			cat = "laboratory"
		}
		r, err := fhir.ParseResource([]byte(`{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"` + cat + `"}]}],"code":{"text":"x"}}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	q, err := search.ParseQuery("Observation", url.Values{"_summary": {"count"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		scopes    string
		want      int
		manyFinds bool
	}{
		{"anonymous (auth none)", "system/*.*", 1500, false},
		{"granular", "system/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory", 500, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pctx := auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindSystem, Scopes: auth.ParseScopes(tt.scopes)})
			before := store.finds.Load()
			res, err := svc.Search(pctx, q, 0)
			if err != nil {
				t.Fatal(err)
			}
			finds := store.finds.Load() - before
			if res.Total != tt.want || (finds > 1) != tt.manyFinds {
				t.Fatalf("total %d in %d store searches, want %d (several searches: %v)", res.Total, finds, tt.want, tt.manyFinds)
			}
		})
	}
}
