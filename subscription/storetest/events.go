package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// Sizes of the event concurrency tests: every writer appends to the same
// two subscriptions, so all of them queue on the same counters.
const (
	eventWriters      = 16
	eventTxsPerWriter = 25
)

// t0 is the Time of the test events: a fixed instant at millisecond
// precision, as the focus versions' LastUpdated are.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

// event returns an update event of subID for Patient/focusID version 1 at
// t0 plus minutes.
func event(subID, focusID string, minutes int) subscription.Event {
	return subscription.Event{
		SubscriptionID: subID,
		Time:           t0.Add(time.Duration(minutes) * time.Minute),
		Interaction:    "update",
		FocusType:      "Patient",
		FocusID:        focusID,
		FocusVersion:   1,
	}
}

// appendEvents appends evs in a transaction of their own, failing t on
// error, and returns them numbered.
func appendEvents(t *testing.T, s subscription.Store, evs ...subscription.Event) []subscription.Event {
	t.Helper()
	var out []subscription.Event
	err := s.Tx(t.Context(), func(tx subscription.Tx) error {
		var err error
		out, err = tx.AppendEvents(t.Context(), evs)
		return err
	})
	if err != nil {
		t.Fatalf("append events: %v", err)
	}
	if len(out) != len(evs) {
		t.Fatalf("AppendEvents returned %d events, want %d", len(out), len(evs))
	}
	return out
}

// events returns every retained event of subID.
func events(t *testing.T, s subscription.Store, subID string) []subscription.Event {
	t.Helper()
	evs, err := s.Events(t.Context(), subID, 0, 0, 0, 0)
	if err != nil {
		t.Fatalf("Events(%s): %v", subID, err)
	}
	return evs
}

// numbers returns the numbers of evs.
func numbers(evs []subscription.Event) []int64 {
	out := make([]int64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Number
	}
	return out
}

// seq returns from, from+1, …, to (empty when to < from).
func seq(from, to int64) []int64 {
	out := []int64{}
	for n := from; n <= to; n++ {
		out = append(out, n)
	}
	return out
}

// checkNumbers fails t unless the retained events of subID are numbered
// exactly want.
func checkNumbers(t *testing.T, s subscription.Store, subID string, want []int64) []subscription.Event {
	t.Helper()
	evs := events(t, s, subID)
	if got := numbers(evs); !slices.Equal(got, want) {
		t.Errorf("Events(%s) numbers = %v, want %v", subID, got, want)
	}
	return evs
}

// heads returns EventHeads of ids, failing t on error.
func heads(t *testing.T, s subscription.Store, ids ...string) map[string]subscription.EventHead {
	t.Helper()
	h, err := s.EventHeads(t.Context(), ids)
	if err != nil {
		t.Fatalf("EventHeads(%v): %v", ids, err)
	}
	return h
}

// checkHead fails t unless subID's head is want.
func checkHead(t *testing.T, s subscription.Store, subID string, want subscription.EventHead) {
	t.Helper()
	got, ok := heads(t, s, subID)[subID]
	got.LastAt = time.Time{} // testEventHeads checks it
	if !ok || got != want {
		t.Errorf("EventHeads(%s) = %+v (present %v), want %+v", subID, got, ok, want)
	}
}

// sameEvent fails t unless got is want as stored: Time equal as an
// instant, AdditionalContext equal with nil and empty alike, Resource equal
// as a JSON value (a store may render JSON its own way) and empty when want
// has none.
func sameEvent(t *testing.T, what string, got, want subscription.Event) {
	t.Helper()
	if got.SubscriptionID != want.SubscriptionID || got.Number != want.Number || !got.Time.Equal(want.Time) ||
		got.Interaction != want.Interaction || got.FocusType != want.FocusType || got.FocusID != want.FocusID ||
		got.FocusVersion != want.FocusVersion || !slices.Equal(got.AdditionalContext, want.AdditionalContext) ||
		got.Trace != want.Trace {
		t.Errorf("%s = %+v,\nwant %+v", what, got, want)
	}
	if len(want.Resource) == 0 {
		if len(got.Resource) != 0 {
			t.Errorf("%s: Resource = %s, want none", what, got.Resource)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal(got.Resource, &g); err != nil {
		t.Errorf("%s: Resource %s: %v", what, got.Resource, err)
		return
	}
	if err := json.Unmarshal(want.Resource, &w); err != nil {
		t.Fatalf("%s: test Resource %s: %v", what, want.Resource, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: Resource = %s, want (as JSON) %s", what, got.Resource, want.Resource)
	}
}

func testEventsRoundTrip(t *testing.T, s subscription.Store) {
	full := event("s1", "p1", 0)
	full.Interaction = "create"
	full.AdditionalContext = []string{"Encounter/e1", "Practitioner/dr-1"}
	full.Trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	full.Resource = json.RawMessage(`{"resourceType":"Patient","id":"p1","meta":{"versionId":"1","lastUpdated":"2025-03-14T15:09:26.535Z"},` +
		`"name":[{"family":"Ünïcødé","given":["a","b"]}],"active":true,"multipleBirthInteger":3,"extension":[{"url":"http://example.org/x","valueDecimal":1.5}]}`)
	idOnly := event("s1", "p2", 1)
	idOnly.Time = idOnly.Time.In(time.FixedZone("UTC+5", 5*3600)) // the same instant elsewhere
	deleted := event("s1", "p3", 2)
	deleted.Interaction, deleted.FocusVersion = "delete", 7
	deleted.AdditionalContext = []string{}
	in := []subscription.Event{full, idOnly, deleted}

	got := appendEvents(t, s, in...)
	for i := range in {
		want := in[i]
		want.Number = int64(i + 1)
		sameEvent(t, fmt.Sprintf("AppendEvents[%d]", i), got[i], want)
	}
	stored := checkNumbers(t, s, "s1", seq(1, 3))
	for i := range min(len(stored), len(in)) {
		want := in[i]
		want.Number = int64(i + 1)
		sameEvent(t, fmt.Sprintf("Events(s1)[%d]", i), stored[i], want)
	}
	if len(stored) > 1 && stored[1].Resource != nil {
		t.Errorf("Events(s1)[1].Resource = %q, want nil (none was appended)", stored[1].Resource)
	}
	checkHead(t, s, "s1", subscription.EventHead{Last: 3, FirstRetained: 1})
}

func testEventsContinueAcrossTx(t *testing.T, s subscription.Store) {
	if got := numbers(appendEvents(t, s, event("s1", "a", 0), event("s1", "b", 0))); !slices.Equal(got, seq(1, 2)) {
		t.Errorf("first transaction numbered %v, want [1 2]", got)
	}
	if got := numbers(appendEvents(t, s, event("s1", "c", 0))); !slices.Equal(got, seq(3, 3)) {
		t.Errorf("second transaction numbered %v, want [3]", got)
	}
	// Several calls in one transaction (a Bundle of several writes).
	var first, second []subscription.Event
	err := s.Tx(t.Context(), func(tx subscription.Tx) error {
		var err error
		if first, err = tx.AppendEvents(t.Context(), []subscription.Event{event("s1", "d", 0)}); err != nil {
			return err
		}
		second, err = tx.AppendEvents(t.Context(), []subscription.Event{event("s1", "e", 0), event("s1", "f", 0)})
		return err
	})
	if err != nil {
		t.Fatalf("Tx: %v", err)
	}
	if got := append(numbers(first), numbers(second)...); !slices.Equal(got, seq(4, 6)) {
		t.Errorf("two calls in one transaction numbered %v, want [4 5 6]", got)
	}
	evs := checkNumbers(t, s, "s1", seq(1, 6))
	var focus []string
	for _, ev := range evs {
		focus = append(focus, ev.FocusID)
	}
	if want := []string{"a", "b", "c", "d", "e", "f"}; !slices.Equal(focus, want) {
		t.Errorf("Events(s1) focus ids = %v, want %v (numbered in append order)", focus, want)
	}
	// AppendEvents of nothing is allowed and numbers nothing.
	appendEvents(t, s)
	checkHead(t, s, "s1", subscription.EventHead{Last: 6, FirstRetained: 1})
}

func testEventsRollback(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	rollbacks := []struct {
		name  string
		panic bool
		fn    func(tx subscription.Tx) error
	}{
		{"error", false, func(tx subscription.Tx) error {
			if _, _, err := tx.Put(ctx, newResource(t, "Patient", "p1", ""), 0); err != nil {
				return err
			}
			if _, err := tx.AppendEvents(ctx, []subscription.Event{event("s1", "p1", 0), event("s2", "p1", 0)}); err != nil {
				return err
			}
			return errTest
		}},
		{"panic", true, func(tx subscription.Tx) error {
			if _, err := tx.AppendEvents(ctx, []subscription.Event{event("s1", "p1", 0)}); err != nil {
				return err
			}
			panic("storetest panic")
		}},
	}
	run := func(name string, panics bool, fn func(tx subscription.Tx) error) {
		t.Helper()
		defer func() {
			if p := recover(); panics && p != "storetest panic" || !panics && p != nil {
				t.Errorf("%s: recovered %v, want the panic of fn only if it panics (%v)", name, p, panics)
			}
		}()
		err := s.Tx(ctx, fn)
		wantErr(t, name, err, errTest)
	}

	for _, rb := range rollbacks {
		run(rb.name+" on an empty log", rb.panic, rb.fn)
		checkNumbers(t, s, "s1", []int64{})
		checkNumbers(t, s, "s2", []int64{})
		h := heads(t, s, "s1", "s2")
		for _, id := range []string{"s1", "s2"} {
			if want := (subscription.EventHead{Last: 0, FirstRetained: 1}); h[id] != want {
				t.Errorf("after a rollback (%s): EventHeads(%s) = %+v, want %+v", rb.name, id, h[id], want)
			}
		}
	}
	// The numbers the rolled-back transactions took are free again.
	if got := numbers(appendEvents(t, s, event("s1", "a", 0))); !slices.Equal(got, seq(1, 1)) {
		t.Errorf("first committed append after rollbacks numbered %v, want [1]", got)
	}
	for _, rb := range rollbacks {
		run(rb.name+" on a log", rb.panic, rb.fn)
	}
	if got := numbers(appendEvents(t, s, event("s1", "b", 0), event("s2", "b", 0))); !slices.Equal(got, []int64{2, 1}) {
		t.Errorf("next committed append numbered %v, want [2 1]", got)
	}
	checkNumbers(t, s, "s1", seq(1, 2))
	checkNumbers(t, s, "s2", seq(1, 1))
	// Nor did the rolled-back write land.
	if _, err := s.Read(ctx, "Patient", "p1"); err == nil {
		t.Errorf("Read(Patient/p1) of a rolled-back write succeeded")
	}
}

func testEventsSeveralSubscriptions(t *testing.T, s subscription.Store) {
	appendEvents(t, s, event("b", "x", 0))
	in := []subscription.Event{
		event("a", "p1", 0), event("a", "p2", 0),
		event("b", "p1", 0),
		event("c", "p1", 0), event("c", "p2", 0), event("c", "p3", 0),
	}
	got := appendEvents(t, s, in...)
	want := []string{"a/1/p1", "a/2/p2", "b/2/p1", "c/1/p1", "c/2/p2", "c/3/p3"}
	var desc []string
	for _, ev := range got {
		desc = append(desc, fmt.Sprintf("%s/%d/%s", ev.SubscriptionID, ev.Number, ev.FocusID))
	}
	if !slices.Equal(desc, want) {
		t.Errorf("AppendEvents of several subscriptions = %v, want %v", desc, want)
	}
	checkNumbers(t, s, "a", seq(1, 2))
	checkNumbers(t, s, "b", seq(1, 2))
	checkNumbers(t, s, "c", seq(1, 3))
	checkHead(t, s, "c", subscription.EventHead{Last: 3, FirstRetained: 1})
}

func testEventsBounds(t *testing.T, s subscription.Store) {
	var in []subscription.Event
	for i := range 10 {
		in = append(in, event("s1", fmt.Sprintf("p%d", i+1), i))
	}
	appendEvents(t, s, in...)
	appendEvents(t, s, event("other", "p1", 0))
	one := subscription.Event{}.Size()
	cases := []struct {
		name         string
		after, until int64
		limit        int
		want         []int64
		maxBytes     int64 // in events of no resource: Event.Size each, the same for all
	}{
		{"all", 0, 0, 0, seq(1, 10), 0},
		{"after", 4, 0, 0, seq(5, 10), 0},
		{"until", 0, 3, 0, seq(1, 3), 0},
		{"after and until", 2, 5, 0, seq(3, 5), 0},
		{"limit", 0, 0, 4, seq(1, 4), 0},
		{"after and limit", 7, 0, 2, seq(8, 9), 0},
		{"limit past the end", 8, 0, 5, seq(9, 10), 0},
		{"all three", 1, 9, 3, seq(2, 4), 0},
		{"until limits before limit", 1, 3, 5, seq(2, 3), 0},
		{"after the last", 10, 0, 0, []int64{}, 0},
		{"far after the last", 99, 0, 0, []int64{}, 0},
		{"until before after", 5, 5, 0, []int64{}, 0},
		{"until past the end", 9, 99, 0, seq(10, 10), 0},
		{"negative until and limit", 0, -1, -1, seq(1, 10), 0},
		{"bytes", 0, 0, 0, seq(1, 3), 3 * one},
		{"bytes just short of another event", 2, 0, 0, seq(3, 5), 4*one - 1},
		{"bytes below one event: still the first", 4, 0, 0, seq(5, 5), 1},
		{"bytes and limit", 0, 0, 2, seq(1, 2), 5 * one},
		{"bytes and until", 0, 2, 0, seq(1, 2), 5 * one},
		{"negative bytes", 0, 0, 0, seq(1, 10), -1},
	}
	for _, c := range cases {
		got, err := s.Events(t.Context(), "s1", c.after, c.until, c.limit, c.maxBytes)
		if err != nil {
			t.Fatalf("Events(s1, %d, %d, %d): %v", c.after, c.until, c.limit, err)
		}
		if !slices.Equal(numbers(got), c.want) {
			t.Errorf("%s: Events(s1, %d, %d, %d) = %v, want %v", c.name, c.after, c.until, c.limit, numbers(got), c.want)
		}
		for _, ev := range got {
			if ev.SubscriptionID != "s1" || ev.FocusID != fmt.Sprintf("p%d", ev.Number) {
				t.Errorf("%s: event %d is %s/%s, want s1/p%d", c.name, ev.Number, ev.SubscriptionID, ev.FocusID, ev.Number)
			}
		}
	}
	if got, err := s.Events(t.Context(), "unknown", 0, 0, 0, 0); err != nil || len(got) != 0 {
		t.Errorf("Events(unknown) = %v, %v; want none, nil", numbers(got), err)
	}
}

func testEventHeads(t *testing.T, s subscription.Store) {
	appendEvents(t, s, event("known", "a", 0), event("known", "b", 0))
	appendEvents(t, s, event("pruned", "a", 0), event("pruned", "b", 0), event("pruned", "c", 0))
	if _, err := s.PruneEvents(t.Context(), t0.Add(time.Minute)); err != nil {
		t.Fatalf("PruneEvents: %v", err)
	}
	appendEvents(t, s, event("known", "c", 60))
	appendEvents(t, s, event("fresh", "a", 60))
	got := heads(t, s, "known", "pruned", "unknown", "fresh", "known")
	want := map[string]subscription.EventHead{
		"known":   {Last: 3, FirstRetained: 3, LastAt: t0.Add(time.Hour)},
		"fresh":   {Last: 1, FirstRetained: 1, LastAt: t0.Add(time.Hour)},
		"pruned":  {Last: 3, FirstRetained: 4, LastAt: t0}, // pruning keeps the head's time
		"unknown": {Last: 0, FirstRetained: 1},
	}
	for id, h := range got { // an instant, whatever the location
		if !h.LastAt.Equal(want[id].LastAt) {
			t.Errorf("EventHeads[%s].LastAt = %v, want %v", id, h.LastAt, want[id].LastAt)
		}
		h.LastAt = want[id].LastAt
		got[id] = h
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EventHeads = %+v, want %+v", got, want)
	}
	if got := heads(t, s); len(got) != 0 {
		t.Errorf("EventHeads() = %+v, want an empty map", got)
	}
	// known keeps 1 of 3 (c), fresh 1, pruned none.
	if n, err := s.EventRows(t.Context()); err != nil || n != 2 {
		t.Errorf("EventRows() = %d, %v; want 2", n, err)
	}
}

func testPruneEvents(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	for i := range 10 { // s1 events 1..10 at t0 + 0..9 minutes
		appendEvents(t, s, event("s1", fmt.Sprintf("p%d", i+1), i))
	}
	appendEvents(t, s, event("s2", "p1", 5), event("s2", "p2", 6))

	prune := func(before time.Time, want int64) {
		t.Helper()
		n, err := s.PruneEvents(ctx, before)
		if err != nil {
			t.Fatalf("PruneEvents(%v): %v", before, err)
		}
		if n != want {
			t.Errorf("PruneEvents(%v) = %d, want %d", before, n, want)
		}
	}
	prune(t0, 0)                    // nothing is older than the first event
	prune(t0.Add(4*time.Minute), 4) // s1 1..4
	checkNumbers(t, s, "s1", seq(5, 10))
	checkNumbers(t, s, "s2", seq(1, 2))
	checkHead(t, s, "s1", subscription.EventHead{Last: 10, FirstRetained: 5})
	prune(t0.Add(4*time.Minute), 0) // idempotent

	// Numbering continues after a prune: numbers are never reused.
	if got := numbers(appendEvents(t, s, event("s1", "p11", 10))); !slices.Equal(got, seq(11, 11)) {
		t.Errorf("append after prune numbered %v, want [11]", got)
	}
	prune(t0.Add(time.Hour), 9) // everything: s1 5..11, s2 1..2
	checkNumbers(t, s, "s1", []int64{})
	checkHead(t, s, "s1", subscription.EventHead{Last: 11, FirstRetained: 12})
	checkHead(t, s, "s2", subscription.EventHead{Last: 2, FirstRetained: 3})
	if got := numbers(appendEvents(t, s, event("s1", "p12", 0))); !slices.Equal(got, seq(12, 12)) {
		t.Errorf("append after pruning everything numbered %v, want [12]", got)
	}
	checkHead(t, s, "s1", subscription.EventHead{Last: 12, FirstRetained: 12})
}

func testPruneEventsKeepsRangeContiguous(t *testing.T, s subscription.Store) {
	// Writers' clocks disagree, so Times do not ascend with numbers. Prune
	// may keep an old event but must never leave a hole: a reader that
	// has read up to FirstRetained-1 would skip the missing event unseen.
	for i, minutes := range []int{1, 5, 2, 6, 3} {
		appendEvents(t, s, event("s1", fmt.Sprintf("p%d", i+1), minutes))
	}
	before := t0.Add(4 * time.Minute)
	if _, err := s.PruneEvents(t.Context(), before); err != nil {
		t.Fatalf("PruneEvents: %v", err)
	}
	evs := events(t, s, "s1")
	h := heads(t, s, "s1")["s1"]
	if got, want := numbers(evs), seq(h.FirstRetained, h.Last); !slices.Equal(got, want) {
		t.Errorf("after a prune: Events(s1) = %v, want %v (FirstRetained..Last, contiguous)", got, want)
	}
	if h.FirstRetained != 2 {
		t.Errorf("after a prune: FirstRetained = %d, want 2 (event 1 is older than every later one)", h.FirstRetained)
	}
}

// concurrentAppends runs eventWriters goroutines, each running
// eventTxsPerWriter transactions that write a resource of their own and
// append one event to s1 and one to s2, rolling back those for which
// rollback returns true, and returns the focus ids of the committed ones.
func concurrentAppends(t *testing.T, s subscription.Store, rollback func(w, i int) bool) []string {
	ctx := t.Context()
	var committed []string
	var mu sync.Mutex
	go1 := start()
	var wg sync.WaitGroup
	for w := range eventWriters {
		wg.Go(func() {
			<-go1
			for i := range eventTxsPerWriter {
				id := fmt.Sprintf("w%d-%d", w, i)
				err := s.Tx(ctx, func(tx subscription.Tx) error {
					res, _, err := tx.Put(ctx, newResource(t, "Patient", id, ""), 0)
					if err != nil {
						return err
					}
					evs := []subscription.Event{event("s1", id, 0), event("s2", id, 0)}
					for j := range evs {
						evs[j].Time = res.LastUpdated
					}
					if _, err := tx.AppendEvents(ctx, evs); err != nil {
						return err
					}
					if rollback(w, i) {
						return errTest
					}
					return nil
				})
				switch {
				case err == nil:
					mu.Lock()
					committed = append(committed, id)
					mu.Unlock()
				case rollback(w, i) && errors.Is(err, errTest):
				default:
					t.Errorf("writer %d transaction %d: %v", w, i, err)
				}
			}
		})
	}
	close(go1)
	wg.Wait()
	slices.Sort(committed)
	return committed
}

// checkConcurrentLog fails t unless each of s1 and s2 holds one event per
// committed focus id, numbered 1..len(committed) without gaps or
// duplicates.
func checkConcurrentLog(t *testing.T, s subscription.Store, committed []string) {
	t.Helper()
	n := int64(len(committed))
	for _, sub := range []string{"s1", "s2"} {
		evs := checkNumbers(t, s, sub, seq(1, n))
		var focus []string
		for _, ev := range evs {
			focus = append(focus, ev.FocusID)
		}
		slices.Sort(focus)
		if !slices.Equal(focus, committed) {
			t.Errorf("Events(%s) has %d events for %d distinct focus ids, want one per committed transaction (%d)",
				sub, len(focus), len(slices.Compact(slices.Clone(focus))), n)
		}
		checkHead(t, s, sub, subscription.EventHead{Last: n, FirstRetained: 1})
	}
}

func testEventsConcurrent(t *testing.T, s subscription.Store) {
	committed := concurrentAppends(t, s, func(w, i int) bool { return false })
	if len(committed) != eventWriters*eventTxsPerWriter {
		t.Errorf("%d transactions committed, want %d", len(committed), eventWriters*eventTxsPerWriter)
	}
	checkConcurrentLog(t, s, committed)
}

func testEventsConcurrentRollbacks(t *testing.T, s subscription.Store) {
	// A quarter of the transactions roll back after appending, while
	// others wait on the counters they hold.
	rollback := func(w, i int) bool { return (w+i)%4 == 3 }
	committed := concurrentAppends(t, s, rollback)
	want := 0
	for w := range eventWriters {
		for i := range eventTxsPerWriter {
			if !rollback(w, i) {
				want++
			}
		}
	}
	if len(committed) != want {
		t.Errorf("%d transactions committed, want %d", len(committed), want)
	}
	checkConcurrentLog(t, s, committed)
}
