package memstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

var (
	_ subscription.EventLog = (*Store)(nil)
	_ subscription.EventTx  = (*tx)(nil)
)

// eventLog is one subscription's log: its counter and its retained events,
// ascending by number and contiguous (events[i].Number is first+i), as
// pruning removes only prefixes.
//
// In a transaction's overlay, the same type holds the head the log will
// have after commit and only the events the transaction appended.
type eventLog struct {
	last   int64     // the highest number assigned
	lastAt time.Time // the latest pruneAt so far; see storedEvent
	events []storedEvent
}

// storedEvent is an event with the time PruneEvents goes by: the latest
// Time of this event and every event before it in the log (as in the
// Postgres store, every event of one AppendEvents call gets the call's
// latest). It never decreases along a log, so a prune removes a prefix
// and the retained numbers stay contiguous even when Times do not ascend.
type storedEvent struct {
	subscription.Event
	pruneAt time.Time
}

// AppendEvents numbers evs and stages them in the transaction; Store.Tx
// adds them to the logs on commit. See subscription.EventTx.
func (t *tx) AppendEvents(ctx context.Context, evs []subscription.Event) ([]subscription.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	for i, ev := range evs {
		if ev.SubscriptionID == "" {
			return nil, fmt.Errorf("append event %d: no subscription id", i)
		}
	}
	if t.events == nil {
		t.events = map[string]eventLog{}
	}
	// The latest Time per subscription in this call, for pruneAt.
	latest := map[string]time.Time{}
	for _, ev := range evs {
		t := storedTime(ev.Time)
		if at, ok := latest[ev.SubscriptionID]; !ok || t.After(at) {
			latest[ev.SubscriptionID] = t
		}
	}
	for id, at := range latest {
		l, ok := t.events[id]
		if !ok {
			base := t.s.logs[id]
			l = eventLog{last: base.last, lastAt: base.lastAt}
		}
		if at.After(l.lastAt) || l.last == 0 {
			l.lastAt = at
		}
		t.events[id] = l
	}
	out := make([]subscription.Event, len(evs))
	for i, ev := range evs {
		l := t.events[ev.SubscriptionID]
		l.last++
		ev.Number = l.last
		// Store a private copy, as Postgres would: the caller may reuse
		// its slices.
		ev.Time = storedTime(ev.Time)
		ev.AdditionalContext = cloneOrNil(ev.AdditionalContext)
		ev.Resource = cloneOrNil(ev.Resource)
		l.events = append(l.events, storedEvent{Event: ev, pruneAt: l.lastAt})
		t.events[ev.SubscriptionID] = l
		out[i] = ev
	}
	return out, nil
}

// storedTime is t as the Postgres store keeps it: UTC, in microseconds.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// cloneOrNil copies s, turning an empty slice into nil (as a store with
// NULL columns returns it).
func cloneOrNil[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// commitEvents merges the transaction's events into the store; the caller
// holds the write lock.
func (t *tx) commitEvents() {
	for id, staged := range t.events {
		l := t.s.logs[id]
		l.last, l.lastAt = staged.last, staged.lastAt
		l.events = append(l.events, staged.events...)
		t.s.logs[id] = l
	}
}

// Events returns the retained events of subID numbered in (after, until];
// see subscription.EventLog.
func (s *Store) Events(ctx context.Context, subID string, after, until int64, limit int, maxBytes int64) ([]subscription.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	evs := s.logs[subID].events
	from := sort.Search(len(evs), func(i int) bool { return evs[i].Number > after })
	var out []subscription.Event
	var bytes int64
	for _, ev := range evs[from:] {
		if (until > 0 && ev.Number > until) || (limit > 0 && len(out) == limit) {
			break
		}
		if bytes += ev.Size(); maxBytes > 0 && bytes > maxBytes && len(out) > 0 {
			break
		}
		out = append(out, ev.Event)
	}
	return out, nil
}

var _ subscription.BatchEventLog = (*Store)(nil)

// EventsOf returns the events after each cursor; see
// subscription.BatchEventLog.
func (s *Store) EventsOf(ctx context.Context, cursors []subscription.EventCursor, limit int, maxBytes int64) (map[string][]subscription.Event, error) {
	return subscription.EventsOfEach(ctx, s, cursors, limit, maxBytes)
}

// EventHeads returns the head of each named subscription's log; see
// subscription.EventLog.
func (s *Store) EventHeads(ctx context.Context, subIDs []string) (map[string]subscription.EventHead, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	out := make(map[string]subscription.EventHead, len(subIDs))
	for _, id := range subIDs {
		l := s.logs[id]
		h := subscription.EventHead{Last: l.last, FirstRetained: l.last + 1, LastAt: l.lastAt}
		if len(l.events) > 0 {
			h.FirstRetained = l.events[0].Number
		}
		out[id] = h
	}
	return out, nil
}

// PruneEvents deletes the events whose pruneAt is before `before` (the
// events older than before, except those numbered after a newer one, which
// stay until it goes); counters are kept, so numbers are never reused. See
// subscription.EventLog.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errClosed
	}
	var n int64
	for id, l := range s.logs {
		i := sort.Search(len(l.events), func(i int) bool { return !l.events[i].pruneAt.Before(before) })
		if i == 0 {
			continue
		}
		// Delete shifts in place and clears the tail, so pruned bodies can
		// be collected; readers only ever hold copies of the elements.
		l.events = slices.Delete(l.events, 0, i)
		s.logs[id] = l
		n += int64(i)
	}
	return n, nil
}

// EventRows counts the retained events; see subscription.EventLog.
func (s *Store) EventRows(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	for _, l := range s.logs {
		n += int64(len(l.events))
	}
	return n, nil
}
