package subscription_test

import (
	"fmt"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/memstore"
	"github.com/fhirbell/fhirbell/subscription/postgres"
	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
)

// BenchmarkEverything pages Patient/$everything (20 per page) of a patient
// with 40 resources among 10,000 Observations of 1,000 other patients,
// on both stores. A page runs one indexed search per compartment
// parameter it reaches (about a hundred for the whole compartment), so
// its cost is that many index probes, whatever the store holds.
//
//	FHIRBELL_TEST_DATABASE_URL=… go test -run '^$' -bench Everything -benchtime 20x ./subscription/
func BenchmarkEverything(b *testing.B) {
	stores := map[string]func(b *testing.B) subscription.Store{
		"mem": func(*testing.B) subscription.Store { return memstore.New() },
		"postgres": func(b *testing.B) subscription.Store {
			s, err := postgres.Open(b.Context(), pgtest.NewSchema(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			if err := s.Migrate(b.Context()); err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	for _, name := range []string{"mem", "postgres"} {
		b.Run(name, func(b *testing.B) {
			svc := subscription.NewService(stores[name](b))
			ctx := b.Context()
			if err := svc.Load(ctx); err != nil {
				b.Fatal(err)
			}
			res := func(body string) *fhir.Resource {
				r, err := fhir.ParseResource([]byte(body))
				if err != nil {
					b.Fatal(err)
				}
				return r
			}
			obs := func(patient string, i int) string {
				return fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"%d"}]},"subject":{"reference":"Patient/%s"}}`, 1000+i%50, patient)
			}
			for batch := range 20 {
				err := svc.Transaction(ctx, func(w *subscription.Writer) error {
					for i := range 500 {
						if _, err := w.Create(ctx, res(obs(fmt.Sprintf("bg%d", (batch*500+i)%1000), i))); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			err := svc.Transaction(ctx, func(w *subscription.Writer) error {
				if _, _, err := w.Update(ctx, res(`{"resourceType":"Patient","id":"p"}`), 0); err != nil {
					return err
				}
				for i := range 30 {
					if _, err := w.Create(ctx, res(obs("p", i))); err != nil {
						return err
					}
				}
				for range 5 {
					if _, err := w.Create(ctx, res(`{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p"}}`)); err != nil {
						return err
					}
					if _, err := w.Create(ctx, res(`{"resourceType":"Condition","subject":{"reference":"Patient/p"}}`)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Run("first-page", func(b *testing.B) {
				for b.Loop() {
					page, err := svc.Everything(ctx, subscription.EverythingQuery{Patient: "p"}, 20)
					if err != nil || len(page.Resources) != 20 {
						b.Fatal(len(page.Resources), err)
					}
				}
			})
			b.Run("all-pages", func(b *testing.B) {
				for b.Loop() {
					n, cursor := 0, ""
					for {
						page, err := svc.Everything(ctx, subscription.EverythingQuery{Patient: "p", Cursor: cursor}, 20)
						if err != nil {
							b.Fatal(err)
						}
						n += len(page.Resources)
						if cursor = page.Next; cursor == "" {
							break
						}
					}
					if n != 41 {
						b.Fatalf("%d resources, want 41", n)
					}
				}
			})
		})
	}
}
