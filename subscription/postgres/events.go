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
const appendEventsSQL = `
WITH h AS (
    INSERT INTO subscription_event_heads AS h (subscription_id, last_number, last_at)
    VALUES ($1, $2, $3)
    ON CONFLICT (subscription_id) DO UPDATE
        SET last_number = h.last_number + EXCLUDED.last_number,
            last_at = greatest(h.last_at, EXCLUDED.last_at)
    RETURNING last_number, last_at
), ins AS (
    INSERT INTO subscription_events (subscription_id, number, at, prune_at, interaction,
        focus_type, focus_id, focus_version, additional_context, resource)
    SELECT $1, h.last_number - $2 + e.ord, e.at, h.last_at, e.interaction,
        e.focus_type, e.focus_id, e.focus_version, e.additional_context, e.resource
    FROM h, unnest($4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::jsonb[], $10::jsonb[])
        WITH ORDINALITY AS e(at, interaction, focus_type, focus_id, focus_version, additional_context, resource, ord)
)
SELECT last_number FROM h`

// AppendEvents numbers and inserts evs in the transaction; see
// subscription.EventTx. It sends one statement per subscription, all in
// one round trip, and locks the subscriptions' counters in ascending order
// of ID whatever the order of evs, so that two transactions appending to
// the same subscriptions never deadlock on the counters.
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

	type group struct{ idx []int }
	var groups []group
	batch := &pgx.Batch{}
	for start := 0; start < len(order); {
		end := start + 1
		for end < len(order) && evs[order[end]].SubscriptionID == evs[order[start]].SubscriptionID {
			end++
		}
		idx := order[start:end]
		n := len(idx)
		var (
			lastAt    time.Time
			at        = make([]time.Time, n)
			inter     = make([]string, n)
			focusType = make([]string, n)
			focusID   = make([]string, n)
			focusVer  = make([]int64, n)
			addCtx    = make([]json.RawMessage, n)
			resource  = make([]json.RawMessage, n)
		)
		for j, i := range idx {
			ev := evs[i]
			at[j] = ev.Time
			if j == 0 || ev.Time.After(lastAt) {
				lastAt = ev.Time
			}
			inter[j], focusType[j], focusID[j], focusVer[j] = ev.Interaction, ev.FocusType, ev.FocusID, ev.FocusVersion
			ac := ev.AdditionalContext
			if ac == nil {
				ac = []string{}
			}
			b, err := json.Marshal(ac)
			if err != nil {
				return nil, fmt.Errorf("append event: encode additional context: %w", err)
			}
			addCtx[j] = b
			if len(ev.Resource) > 0 {
				resource[j] = ev.Resource
			}
		}
		batch.Queue(appendEventsSQL, evs[idx[0]].SubscriptionID, n, lastAt, at, inter, focusType, focusID, focusVer, addCtx, resource)
		groups = append(groups, group{idx})
		start = end
	}

	out := slices.Clone(evs)
	br := t.tx.SendBatch(ctx, batch)
	for _, g := range groups {
		var last int64
		if err := br.QueryRow().Scan(&last); err != nil {
			_ = br.Close()
			return nil, fmt.Errorf("append events of %s: %w", evs[g.idx[0]].SubscriptionID, t.fail(err))
		}
		first := last - int64(len(g.idx)) + 1
		for j, i := range g.idx {
			out[i].Number = first + int64(j)
		}
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("append events: %w", t.fail(err))
	}
	return out, nil
}

// Events returns the retained events of subID numbered in (after, until];
// see subscription.EventLog.
func (s *Store) Events(ctx context.Context, subID string, after, until int64, limit int) ([]subscription.Event, error) {
	if until <= 0 {
		until = math.MaxInt64
	}
	var lim *int64 // NULL: LIMIT ALL
	if limit > 0 {
		l := int64(limit)
		lim = &l
	}
	rows, err := s.pool.Query(ctx, `
SELECT number, at, interaction, focus_type, focus_id, focus_version, additional_context, resource
FROM subscription_events
WHERE subscription_id = $1 AND number > $2 AND number <= $3
ORDER BY number
LIMIT $4`, subID, after, until, lim)
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", subID, translate(err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (subscription.Event, error) {
		ev := subscription.Event{SubscriptionID: subID}
		var resource []byte
		err := row.Scan(&ev.Number, &ev.Time, &ev.Interaction, &ev.FocusType, &ev.FocusID, &ev.FocusVersion,
			&ev.AdditionalContext, &resource)
		ev.Time = ev.Time.UTC()
		if len(ev.AdditionalContext) == 0 {
			ev.AdditionalContext = nil
		}
		if resource != nil {
			ev.Resource = resource
		}
		return ev, err
	})
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", subID, translate(err))
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
    coalesce((SELECT min(e.number) FROM subscription_events e WHERE e.subscription_id = h.subscription_id), h.last_number + 1)
FROM subscription_event_heads h
WHERE h.subscription_id = ANY($1)`, subIDs)
	if err != nil {
		return nil, fmt.Errorf("read event heads: %w", translate(err))
	}
	var (
		id string
		h  subscription.EventHead
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &h.Last, &h.FirstRetained}, func() error {
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
