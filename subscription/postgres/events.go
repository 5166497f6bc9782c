package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
	"github.com/jackc/pgx/v5"
)

var (
	_ subscription.EventLog = (*Store)(nil)
	_ subscription.EventTx  = (*tx)(nil)
)

// defaultPruneRows is how many events one DELETE of PruneEvents removes,
// so that a large prune holds its row locks briefly and never bloats one
// transaction.
const defaultPruneRows = 5000

// appendEventsSQL reserves n numbers of one subscription's counter and
// inserts that subscription's n events, numbered in array order, in one
// statement. The upsert locks the head row until the transaction ends (see
// migrations/0002_events.sql); under READ COMMITTED a writer that waited
// for the lock updates the row as its holder committed it. Every event of
// the call gets the head's new last_at as prune_at, which keeps prune_at
// non-decreasing along the log.
// reserveSQL reserves numbers for a call's events: one row per
// subscription (how many events it gets), upserted in ascending id order
// (INSERT ... SELECT ... ORDER BY inserts in that order, so counters are
// locked in one order and concurrent transactions never deadlock on them),
// returning each subscription's new head and latest time.
const reserveSQL = `
INSERT INTO subscription_event_heads AS h (subscription_id, last_number, last_at)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) AS g(subscription_id, n, last_at)
ORDER BY subscription_id
ON CONFLICT (subscription_id) DO UPDATE
    SET last_number = h.last_number + EXCLUDED.last_number,
        last_at = greatest(h.last_at, EXCLUDED.last_at)
RETURNING subscription_id, last_number, last_at`

// insertEventsSQL inserts numbered events. Snapshots are sent once per
// distinct body ($10) and picked by index ($11; 0 is none: an array index
// out of range is NULL).
const insertEventsSQL = `
INSERT INTO subscription_events (subscription_id, number, at, prune_at, interaction,
    focus_type, focus_id, focus_version, additional_context, resource, trace)
SELECT e.subscription_id, e.number, e.at, e.prune_at, e.interaction,
    e.focus_type, e.focus_id, e.focus_version, e.additional_context, ($10::json[])[e.res], nullif(e.trace, '')
FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[],
        $7::text[], $8::bigint[], $9::jsonb[], $11::int[], $12::text[])
    AS e(subscription_id, number, at, prune_at, interaction, focus_type, focus_id, focus_version, additional_context, res, trace)`

// AppendEvents numbers and inserts evs in the transaction; see
// subscription.EventTx. It is one statement whatever the number of events
// and subscriptions (appendEventsSQL), which locks the subscriptions'
// counters in ascending order of ID whatever the order of evs, so that two
// transactions appending to the same subscriptions never deadlock.
func (t *tx) AppendEvents(ctx context.Context, evs []subscription.Event) ([]subscription.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	// Indices of evs grouped by subscription, groups in ascending ID order,
	// each group in slice order.
	order := make([]int, len(evs))
	for i, ev := range evs {
		if ev.SubscriptionID == "" {
			return nil, fmt.Errorf("append event %d: no subscription id", i)
		}
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(evs[a].SubscriptionID, evs[b].SubscriptionID) })

	var (
		gIDs, eIDs            []string
		gN, eK, eVer          []int64
		gLast, eAt            []time.Time
		eInter, eType, eFocus []string
		eTrace                []string
		eCtx                  []json.RawMessage
		eRes                  []int32
		bodies                []json.RawMessage
		bodyIndex             = map[string]int32{}
	)
	for start := 0; start < len(order); {
		end := start + 1
		for end < len(order) && evs[order[end]].SubscriptionID == evs[order[start]].SubscriptionID {
			end++
		}
		var lastAt time.Time
		for j, i := range order[start:end] {
			ev := evs[i]
			if j == 0 || ev.Time.After(lastAt) {
				lastAt = ev.Time
			}
			ac := ev.AdditionalContext
			if ac == nil {
				ac = []string{}
			}
			b, err := json.Marshal(ac)
			if err != nil {
				return nil, fmt.Errorf("append event: encode additional context: %w", err)
			}
			var res int32
			if len(ev.Resource) > 0 {
				// One write's snapshot is the same for every subscription
				// it matches: send it once.
				if k, ok := bodyIndex[string(ev.Resource)]; ok {
					res = k
				} else {
					bodies = append(bodies, ev.Resource)
					res = int32(len(bodies))
					bodyIndex[string(ev.Resource)] = res
				}
			}
			eIDs, eK, eAt = append(eIDs, ev.SubscriptionID), append(eK, int64(j+1)), append(eAt, ev.Time)
			eInter, eType, eFocus = append(eInter, ev.Interaction), append(eType, ev.FocusType), append(eFocus, ev.FocusID)
			eVer, eCtx, eRes = append(eVer, ev.FocusVersion), append(eCtx, b), append(eRes, res)
			eTrace = append(eTrace, ev.Trace)
		}
		gIDs, gN, gLast = append(gIDs, evs[order[start]].SubscriptionID), append(gN, int64(end-start)), append(gLast, lastAt)
		start = end
	}

	// Two set-based statements whatever the number of events: a write that
	// matches 10,000 subscriptions costs two statements, not 10,000 (and no
	// join, whose plan over a CTE without statistics would be quadratic);
	// the second is sent with the COMMIT (pipeline.go).
	//
	// The counters stay locked from here to the commit, and a write to a
	// hot subscription waits for the one before it: the index rows of the
	// writes so far go first, in the same round trip, so that their insert
	// is not part of that wait. Only the event rows and the COMMIT follow.
	t.flushIndex()
	rows, done, err := t.query(ctx, reserveSQL, gIDs, gN, gLast)
	if err != nil {
		return nil, fmt.Errorf("append events: %w", t.fail(err))
	}
	type head struct {
		first  int64 // the number before this call's events
		lastAt time.Time
	}
	heads := make(map[string]head, len(gIDs))
	for rows.Next() {
		var id string
		var last int64
		var at time.Time
		if err := rows.Scan(&id, &last, &at); err != nil {
			_ = done()
			return nil, fmt.Errorf("append events: %w", t.fail(err))
		}
		heads[id] = head{first: last, lastAt: at}
	}
	if err := done(); err != nil {
		return nil, fmt.Errorf("append events: %w", t.fail(err))
	}
	for gi, id := range gIDs {
		h, ok := heads[id]
		if !ok {
			return nil, fmt.Errorf("append events: no counter returned for %s", id)
		}
		h.first -= gN[gi]
		heads[id] = h
	}
	// An event's number is its subscription's head before the call plus
	// its rank; prune_at is the head's latest time (see 0002_events.sql).
	out := slices.Clone(evs)
	eNum := make([]int64, len(order))
	ePrune := make([]time.Time, len(order))
	for e, i := range order {
		h := heads[evs[i].SubscriptionID]
		eNum[e], ePrune[e] = h.first+eK[e], h.lastAt
		out[i].Number = eNum[e]
	}
	t.later(insertEventsSQL, eIDs, eNum, eAt, ePrune, eInter, eType, eFocus, eVer, eCtx, bodies, eRes, eTrace)
	return out, nil
}

// Events returns the retained events of subID numbered in (after, until];
// see subscription.EventLog.
func (s *Store) Events(ctx context.Context, subID string, after, until int64, limit int, maxBytes int64) ([]subscription.Event, error) {
	if until <= 0 {
		until = math.MaxInt64
	}
	var lim *int64 // NULL: LIMIT ALL
	if limit > 0 {
		l := int64(limit)
		lim = &l
	}
	rows, err := s.pool.Query(ctx, `
SELECT number, at, interaction, focus_type, focus_id, focus_version, additional_context, resource,
    coalesce(trace, '')
FROM subscription_events
WHERE subscription_id = $1 AND number > $2 AND number <= $3
ORDER BY number
LIMIT $4`, subID, after, until, lim)
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", subID, translate(err))
	}
	// Rows are read one at a time (pgx streams them), so stopping at
	// maxBytes stops holding them: Close discards the rest unread.
	defer rows.Close()
	var out []subscription.Event
	var bytes int64
	for rows.Next() {
		ev := subscription.Event{SubscriptionID: subID}
		var resource []byte
		if err := rows.Scan(&ev.Number, &ev.Time, &ev.Interaction, &ev.FocusType, &ev.FocusID, &ev.FocusVersion,
			&ev.AdditionalContext, &resource, &ev.Trace); err != nil {
			return nil, fmt.Errorf("read events of %s: %w", subID, translate(err))
		}
		normaliseEvent(&ev, resource)
		if bytes += ev.Size(); maxBytes > 0 && bytes > maxBytes && len(out) > 0 {
			break // the first event past the bound is not returned (read again next time)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events of %s: %w", subID, translate(err))
	}
	return out, nil
}

// normaliseEvent gives an event read from a row the form Events returns:
// its time in UTC, no empty additional context, and the snapshot
// (NULL for id-only subscriptions) when there is one.
func normaliseEvent(ev *subscription.Event, resource []byte) {
	ev.Time = ev.Time.UTC()
	if len(ev.AdditionalContext) == 0 {
		ev.AdditionalContext = nil
	}
	if resource != nil {
		ev.Resource = resource
	}
}

var _ subscription.BatchEventLog = (*Store)(nil)

// EventsOf returns the events after each cursor in one statement; see
// subscription.BatchEventLog. Each cursor drives one index range scan of
// its log (the LATERAL), so a subscription far behind costs no more than
// limit rows. maxBytes is applied here as rows arrive, per subscription:
// rows past a subscription's byte bound are still sent by the server (up
// to limit) and dropped, which the limit keeps small.
func (s *Store) EventsOf(ctx context.Context, cursors []subscription.EventCursor, limit int, maxBytes int64) (map[string][]subscription.Event, error) {
	out := make(map[string][]subscription.Event, len(cursors))
	if len(cursors) == 0 {
		return out, nil
	}
	ids := make([]string, len(cursors))
	afters := make([]int64, len(cursors))
	for i, c := range cursors {
		ids[i], afters[i] = c.SubscriptionID, c.After
	}
	var lim *int64 // NULL: LIMIT ALL
	if limit > 0 {
		l := int64(limit)
		lim = &l
	}
	// GROUP BY takes the lowest After of a subscription named twice.
	rows, err := s.pool.Query(ctx, `
SELECT c.id, e.number, e.at, e.interaction, e.focus_type, e.focus_id, e.focus_version, e.additional_context,
    e.resource, coalesce(e.trace, '')
FROM (SELECT id, min(after) AS after FROM unnest($1::text[], $2::bigint[]) AS u(id, after) GROUP BY id) c
CROSS JOIN LATERAL (
    SELECT * FROM subscription_events e
    WHERE e.subscription_id = c.id AND e.number > c.after
    ORDER BY e.number
    LIMIT $3) e
ORDER BY c.id, e.number`, ids, afters, lim)
	if err != nil {
		return nil, fmt.Errorf("read events of %d subscriptions: %w", len(cursors), translate(err))
	}
	defer rows.Close()
	bytes := make(map[string]int64)
	full := make(map[string]bool)
	for rows.Next() {
		var ev subscription.Event
		var resource []byte
		if err := rows.Scan(&ev.SubscriptionID, &ev.Number, &ev.Time, &ev.Interaction, &ev.FocusType, &ev.FocusID, &ev.FocusVersion,
			&ev.AdditionalContext, &resource, &ev.Trace); err != nil {
			return nil, fmt.Errorf("read events of %d subscriptions: %w", len(cursors), translate(err))
		}
		id := ev.SubscriptionID
		if full[id] {
			continue
		}
		normaliseEvent(&ev, resource)
		n := bytes[id] + ev.Size()
		if maxBytes > 0 && n > maxBytes && len(out[id]) > 0 {
			full[id] = true // as in Events: the first event past the bound is read again next time
			continue
		}
		bytes[id] = n
		out[id] = append(out[id], ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events of %d subscriptions: %w", len(cursors), translate(err))
	}
	return out, nil
}

// EventHeads returns the head of each named subscription's log; see
// subscription.EventLog. The counter and the lowest retained number are
// read in one statement, so they agree.
func (s *Store) EventHeads(ctx context.Context, subIDs []string) (map[string]subscription.EventHead, error) {
	out := make(map[string]subscription.EventHead, len(subIDs))
	for _, id := range subIDs {
		out[id] = subscription.EventHead{Last: 0, FirstRetained: 1}
	}
	if len(subIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `
SELECT h.subscription_id, h.last_number,
    coalesce((SELECT min(e.number) FROM subscription_events e WHERE e.subscription_id = h.subscription_id), h.last_number + 1),
    h.last_at
FROM subscription_event_heads h
WHERE h.subscription_id = ANY($1)`, subIDs)
	if err != nil {
		return nil, fmt.Errorf("read event heads: %w", translate(err))
	}
	var (
		id string
		h  subscription.EventHead
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &h.Last, &h.FirstRetained, &h.LastAt}, func() error {
		h.LastAt = h.LastAt.UTC()
		out[id] = h
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read event heads: %w", translate(err))
	}
	return out, nil
}

// PruneEvents deletes, in batches of their own transactions, the events
// whose prune_at is before `before`: the events older than before, except
// those numbered after a newer one of their subscription (only possible
// when writers' clocks disagree), which stay until it goes, so that each
// log keeps a contiguous range of numbers. Counters are untouched, so
// numbers are never reused. Concurrent prunes (several nodes) skip each
// other's rows rather than wait; each returns what it deleted itself.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `
DELETE FROM subscription_events
WHERE (subscription_id, number) IN (
    SELECT subscription_id, number FROM subscription_events
    WHERE prune_at < $1
    LIMIT $2
    FOR UPDATE SKIP LOCKED)`, before, s.pruneRows)
		if err != nil {
			err = translate(err)
			if total > 0 {
				// Earlier batches committed; say how far it got.
				return total, fmt.Errorf("prune events (%d deleted): %w", total, err)
			}
			return 0, fmt.Errorf("prune events: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < int64(s.pruneRows) {
			return total, nil
		}
	}
}

// exactEventRows is the planner's estimate below which EventRows counts.
const exactEventRows = 10000

// EventRows returns the planner's estimate of the rows of
// subscription_events (pg_class.reltuples, kept by autovacuum and
// ANALYZE), or an exact count when the estimate is small or missing (a
// table never analysed reports -1): a count(*) of millions of rows every
// few seconds would cost more than the figure is worth. See
// subscription.EventLog.
func (s *Store) EventRows(ctx context.Context) (int64, error) {
	var est float64
	err := s.pool.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'subscription_events'::regclass`).Scan(&est)
	if err != nil {
		return 0, fmt.Errorf("event rows: %w", translate(err))
	}
	if est >= exactEventRows {
		return int64(est), nil
	}
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM subscription_events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("event rows: %w", translate(err))
	}
	return n, nil
}
