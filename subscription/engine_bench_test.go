package subscription_test

import (
	"fmt"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/memstore"
)

// mixedSubscription returns the i-th of a mix of subscriptions on
// Observation: pinned on code, pinned on subject, topic subscriptions
// filtered by patient, and, when unpinned is set, one in twenty unpinned (a
// value range), which every Observation write must try.
func mixedSubscription(i int, unpinned bool) string {
	ws := `"channel":{"type":"websocket","payload":"application/fhir+json"}`
	switch i % 20 {
	case 0:
		if !unpinned {
			return fmt.Sprintf(`{"resourceType":"Subscription","status":"active","criteria":"Observation?code=http://loinc.org|%d-1",%s}`, i, ws)
		}
		return fmt.Sprintf(`{"resourceType":"Subscription","status":"active","criteria":"Observation?value-quantity=gt%d",%s}`, 1000+i, ws)
	case 1, 2, 3, 4, 5, 6, 7:
		return fmt.Sprintf(`{"resourceType":"Subscription","status":"active","criteria":"Observation?code=http://loinc.org|%d-1",%s}`, i, ws)
	case 8, 9, 10, 11, 12, 13, 14:
		return fmt.Sprintf(`{"resourceType":"Subscription","status":"active","criteria":"Observation?subject=Patient/p%d&status=final",%s}`, i, ws)
	default:
		return fmt.Sprintf(`{"resourceType":"Subscription","status":"active","criteria":%q,
 "_criteria":{"extension":[{"url":%q,"valueString":"Observation?patient=Patient/p%d"}]},%s}`,
			subscription.ChangedTopic("Observation"), subscription.ExtFilterCriteria, i, ws)
	}
}

// BenchmarkWriteMatching measures one Observation create (store write,
// matching, event append) with n active subscriptions of mixed criteria, of
// which the write matches exactly two (one code-pinned, one subject-pinned).
// With only pinned subscriptions the cost does not grow with n:
// non-matching pinned subscriptions are never looked at. Unpinned ones (a
// value range pins no equality) are tried on every write of their type, so
// with 5% of them the cost grows by one match per unpinned subscription.
func BenchmarkWriteMatching(b *testing.B) {
	for _, tc := range []struct {
		n        int
		unpinned bool
	}{{100, false}, {1000, false}, {10000, false}, {100, true}, {1000, true}, {10000, true}} {
		n := tc.n
		b.Run(fmt.Sprintf("subs=%d/unpinned=%v", n, tc.unpinned), func(b *testing.B) {
			svc := subscription.NewService(memstore.New())
			if err := svc.Load(b.Context()); err != nil {
				b.Fatal(err)
			}
			for i := range n {
				r, err := fhir.ParseResource([]byte(mixedSubscription(i, tc.unpinned)))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := svc.Create(b.Context(), r); err != nil {
					b.Fatal(err)
				}
			}
			// Matches subscription 1 (code 1-1) and 8 (subject p8).
			body := []byte(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1-1"}]},"subject":{"reference":"Patient/p8"},"valueQuantity":{"value":72,"unit":"/min"}}`)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r, _ := fhir.ParseResource(body)
				if _, err := svc.Create(b.Context(), r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
