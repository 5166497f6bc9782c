package postgres

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// BenchmarkWokenReads reads, for n subscriptions with three events each,
// the one event after each cursor (2): what a node does when another
// node's write matched all n. One op reads all n, either with one Events
// call per subscription (as every woken binding did) or with EventsOf in
// chunks of 1,000 (as the hub's prefetch does). Sizes stay small: the
// machines here are shared.
//
//	FHIRBELL_TEST_DATABASE_URL=… go test -run '^$' -bench WokenReads ./subscription/postgres
func BenchmarkWokenReads(b *testing.B) {
	for _, n := range []int{100, 2000} {
		s := OpenTestStore(b)
		ctx := b.Context()
		ids := make([]string, n)
		var evs []subscription.Event
		for i := range ids {
			ids[i] = fmt.Sprintf("sub-%05d", i)
			for k := range 3 {
				evs = append(evs, subscription.Event{SubscriptionID: ids[i], Time: time.Now().UTC(), Interaction: "update",
					FocusType: "Observation", FocusID: fmt.Sprintf("o%d", k), FocusVersion: 1})
			}
		}
		if err := s.Tx(ctx, func(tx subscription.Tx) error { _, err := tx.AppendEvents(ctx, evs); return err }); err != nil {
			b.Fatal(err)
		}
		if _, err := s.pool.Exec(ctx, `ANALYZE subscription_events`); err != nil {
			b.Fatal(err)
		}
		cursors := make([]subscription.EventCursor, n)
		for i, id := range ids {
			cursors[i] = subscription.EventCursor{SubscriptionID: id, After: 2}
		}
		b.Run(fmt.Sprintf("n=%d/one-by-one", n), func(b *testing.B) {
			for b.Loop() {
				for _, id := range ids {
					got, err := s.Events(ctx, id, 2, 0, 128, 1<<20)
					if err != nil || len(got) != 1 {
						b.Fatalf("Events(%s) = %d events, %v", id, len(got), err)
					}
				}
			}
		})
		b.Run(fmt.Sprintf("n=%d/batched", n), func(b *testing.B) {
			for b.Loop() {
				got := 0
				for chunk := range slices.Chunk(cursors, 1000) {
					m, err := s.EventsOf(ctx, chunk, 8, 1<<20)
					if err != nil {
						b.Fatal(err)
					}
					got += len(m)
				}
				if got != n {
					b.Fatalf("EventsOf read %d subscriptions, want %d", got, n)
				}
			}
		})
	}
}
