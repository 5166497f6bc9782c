package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// batchLog returns s as a BatchEventLog, failing t when it is not one:
// both stores must read many logs in one call.
func batchLog(t *testing.T, s subscription.Store) subscription.BatchEventLog {
	t.Helper()
	b, ok := s.(subscription.BatchEventLog)
	if !ok {
		t.Fatalf("%T is not a subscription.BatchEventLog", s)
	}
	return b
}

// testEventsOf reads several logs at once and checks each against what
// Events returns for the same cursor and bounds.
func testEventsOf(t *testing.T, s subscription.Store) {
	b := batchLog(t, s)
	var in []subscription.Event
	for i := range 10 {
		in = append(in, event("a", fmt.Sprintf("p%d", i+1), i))
	}
	for i := range 3 {
		in = append(in, event("b", fmt.Sprintf("p%d", i+1), i))
	}
	in = append(in, event("c", "p1", 0))
	appendEvents(t, s, in...)
	one := subscription.Event{}.Size()
	cursors := []subscription.EventCursor{cur("a", 2), cur("b", 0), cur("c", 1), cur("unknown", 0)}
	cases := []struct {
		name     string
		cursors  []subscription.EventCursor
		limit    int
		maxBytes int64
		want     map[string][]int64
	}{
		{"all", cursors, 0, 0, map[string][]int64{"a": seq(3, 10), "b": seq(1, 3)}},
		{"limit per subscription", cursors, 2, 0, map[string][]int64{"a": seq(3, 4), "b": seq(1, 2)}},
		{"bytes per subscription", cursors, 0, 3 * one, map[string][]int64{"a": seq(3, 5), "b": seq(1, 3)}},
		{"bytes below one event: still the first", cursors, 0, 1, map[string][]int64{"a": seq(3, 3), "b": seq(1, 1)}},
		{"bytes and limit", cursors, 2, 5 * one, map[string][]int64{"a": seq(3, 4), "b": seq(1, 2)}},
		{"lowest of a repeated subscription", []subscription.EventCursor{cur("a", 8), cur("a", 6)}, 0, 0, map[string][]int64{"a": seq(7, 10)}},
		{"none", nil, 0, 0, map[string][]int64{}},
	}
	for _, c := range cases {
		got, err := b.EventsOf(t.Context(), c.cursors, c.limit, c.maxBytes)
		if err != nil {
			t.Fatalf("%s: EventsOf: %v", c.name, err)
		}
		nums := make(map[string][]int64, len(got))
		for id, evs := range got {
			nums[id] = numbers(evs)
			for _, ev := range evs {
				if ev.SubscriptionID != id {
					t.Errorf("%s: event %d under %s names %s", c.name, ev.Number, id, ev.SubscriptionID)
				}
			}
		}
		if fmt.Sprint(nums) != fmt.Sprint(c.want) {
			t.Errorf("%s: EventsOf(%v, %d, %d) = %v, want %v", c.name, c.cursors, c.limit, c.maxBytes, nums, c.want)
		}
		// The events themselves are those Events returns.
		for _, cur := range c.cursors {
			one, err := s.Events(t.Context(), cur.SubscriptionID, cur.After, 0, c.limit, c.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			if g := got[cur.SubscriptionID]; len(g) > 0 && len(one) > 0 && g[0].Number == one[0].Number &&
				!slices.EqualFunc(g, one, func(x, y subscription.Event) bool { return fmt.Sprint(x) == fmt.Sprint(y) }) {
				t.Errorf("%s: EventsOf(%s after %d) differs from Events", c.name, cur.SubscriptionID, cur.After)
			}
		}
	}
}

// testEventsOfRetention: after a prune, a cursor behind the retained
// events gets the first retained one (not the one it wanted), which is
// how the hub tells that it fell out of retention (4429).
func testEventsOfRetention(t *testing.T, s subscription.Store) {
	b := batchLog(t, s)
	appendEvents(t, s, event("old", "a", 0), event("old", "b", 0))
	appendEvents(t, s, event("old", "c", 5))
	appendEvents(t, s, event("new", "a", 5))
	if _, err := s.PruneEvents(t.Context(), t0.Add(time.Minute)); err != nil {
		t.Fatalf("PruneEvents: %v", err)
	}
	got, err := b.EventsOf(t.Context(), []subscription.EventCursor{cur("old", 0), cur("new", 0), cur("old", 3)}, 0, 0)
	if err != nil {
		t.Fatalf("EventsOf: %v", err)
	}
	if n := numbers(got["old"]); !slices.Equal(n, []int64{3}) {
		t.Errorf("EventsOf(old after 0) = %v, want [3] (1 and 2 pruned)", n)
	}
	if n := numbers(got["new"]); !slices.Equal(n, []int64{1}) {
		t.Errorf("EventsOf(new after 0) = %v, want [1]", n)
	}
}

// cur is an EventCursor.
func cur(id string, after int64) subscription.EventCursor {
	return subscription.EventCursor{SubscriptionID: id, After: after}
}
