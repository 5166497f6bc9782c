package postgres

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

func testEvent(subID, focusID string, at time.Time) subscription.Event {
	return subscription.Event{SubscriptionID: subID, Time: at, Interaction: "create", FocusType: "Patient", FocusID: focusID, FocusVersion: 1}
}

func eventNumbers(t *testing.T, s *Store, subID string) []int64 {
	t.Helper()
	evs, err := s.Events(t.Context(), subID, 0, 0, 0, 0)
	if err != nil {
		t.Fatalf("Events(%s): %v", subID, err)
	}
	var out []int64
	for _, ev := range evs {
		out = append(out, ev.Number)
	}
	return out
}

func TestAppendEventsLockOrder(t *testing.T) {
	// Half the transactions name the two subscriptions in the other order.
	// The store locks counters in ID order whatever the slice order, so no
	// transaction deadlocks and none runs twice.
	s := OpenTestStore(t, WithMaxConns(8))
	ctx := t.Context()
	const writers, txs = 8, 10
	var calls atomic.Int64
	go1 := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-go1
			for i := range txs {
				id := fmt.Sprintf("w%d-%d", w, i)
				evs := []subscription.Event{testEvent("s1", id, time.Now()), testEvent("s2", id, time.Now())}
				if w%2 == 1 {
					slices.Reverse(evs)
				}
				err := s.Tx(ctx, func(tx subscription.Tx) error {
					calls.Add(1)
					got, err := tx.AppendEvents(ctx, evs)
					if err == nil && (got[0].SubscriptionID != evs[0].SubscriptionID || got[1].SubscriptionID != evs[1].SubscriptionID) {
						t.Errorf("AppendEvents reordered its result: %s, %s", got[0].SubscriptionID, got[1].SubscriptionID)
					}
					// Hold the counters a little so that the transactions overlap.
					time.Sleep(time.Millisecond)
					return err
				})
				if err != nil {
					t.Errorf("writer %d transaction %d: %v", w, i, err)
				}
			}
		})
	}
	close(go1)
	wg.Wait()
	if got := calls.Load(); got != writers*txs {
		t.Errorf("fn ran %d times for %d transactions, want no retries (a deadlock was retried)", got, writers*txs)
	}
	want := make([]int64, writers*txs)
	for i := range want {
		want[i] = int64(i + 1)
	}
	for _, sub := range []string{"s1", "s2"} {
		if got := eventNumbers(t, s, sub); !slices.Equal(got, want) {
			t.Errorf("Events(%s) numbers = %v, want 1..%d", sub, got, writers*txs)
		}
	}
}

func TestPruneEventsBatches(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []subscription.Event
	for i := range 7 {
		evs = append(evs, testEvent("a", fmt.Sprintf("p%d", i), t0))
	}
	for i := range 4 {
		evs = append(evs, testEvent("b", fmt.Sprintf("p%d", i), t0.Add(time.Duration(i)*time.Second)))
	}
	evs = append(evs, testEvent("c", "new", t0.Add(time.Hour)))
	for _, rows := range []int{1, 3, 11, 12} {
		t.Run(fmt.Sprint(rows), func(t *testing.T) {
			s := OpenTestStore(t)
			ctx := t.Context()
			if err := s.Tx(ctx, func(tx subscription.Tx) error {
				_, err := tx.AppendEvents(ctx, evs)
				return err
			}); err != nil {
				t.Fatalf("append: %v", err)
			}
			s.pruneRows = rows
			n, err := s.PruneEvents(ctx, t0.Add(time.Minute))
			if err != nil || n != 11 {
				t.Errorf("PruneEvents in batches of %d = %d, %v; want 11, nil", rows, n, err)
			}
			for sub, want := range map[string][]int64{"a": nil, "b": nil, "c": {1}} {
				if got := eventNumbers(t, s, sub); !slices.Equal(got, want) {
					t.Errorf("Events(%s) after prune = %v, want %v", sub, got, want)
				}
			}
		})
	}
}
