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

// BenchmarkFind asks the memory store's search for one page (20) of the
// query shapes that have no inverted-index term to start from (a date or
// quantity range, a sort alone) among 50,000 Observations.
//
//	go test -run '^$' -bench Find -benchtime 20x ./subscription/memstore/
func BenchmarkFind(b *testing.B) {
	ctx := b.Context()
	svc := subscription.NewService(memstore.New())
	if err := svc.Load(ctx); err != nil {
		b.Fatal(err)
	}
	const n = 50_000
	for batch := range n / 500 {
		err := svc.Transaction(ctx, func(w *subscription.Writer) error {
			for i := range 500 {
				k := batch*500 + i
				body := fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"%d"}]},"subject":{"reference":"Patient/p%d"},"effectiveDateTime":"20%02d-%02d-%02dT10:00:00Z","valueQuantity":{"value":%d,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}`,
					8000+k%10, k%1000, 15+k%10, 1+k%12, 1+k%28, 60+k%120)
				r, err := fhir.ParseResource([]byte(body))
				if err != nil {
					return err
				}
				if _, err := w.Create(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// A search after every write: the cached sort order is brought up to
	// date (re-placing the written entry), not sorted again.
	b.Run("write then _sort=-date", func(b *testing.B) {
		q, err := search.ParseQuery("Observation", url.Values{"_sort": {"-date"}})
		if err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			i++
			body := fmt.Sprintf(`{"resourceType":"Observation","id":"w%d","status":"final","code":{"text":"x"},"effectiveDateTime":"2019-%02d-01"}`, i%100, 1+i%12)
			r, err := fhir.ParseResource([]byte(body))
			if err != nil {
				b.Fatal(err)
			}
			if err := svc.Transaction(ctx, func(w *subscription.Writer) error {
				_, _, err := w.Update(ctx, r, 0)
				return err
			}); err != nil {
				b.Fatal(err)
			}
			if _, err := svc.Search(ctx, q, 20); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, qs := range []string{"_sort=-date", "value-quantity=gt170", "date=ge2024-06-01", "code=http://loinc.org|8001"} {
		b.Run(qs, func(b *testing.B) {
			v, _ := url.ParseQuery(qs)
			q, err := search.ParseQuery("Observation", v)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := svc.Search(ctx, q, 20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
