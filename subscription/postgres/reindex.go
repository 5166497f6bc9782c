package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// reindexBatch is how many resources one reindex transaction re-extracts
// unless ReindexOptions.Batch says otherwise.
const reindexBatch = 500

// ReindexProgress reports a reindex's advance: done of total live
// resources (total is counted when the reindex starts; done includes what
// an interrupted run finished before).
type ReindexProgress func(done, total int64)

// ReindexOptions say what Reindex does besides building a stale index.
type ReindexOptions struct {
	// Full rebuilds the index even when it is current (after a change the
	// version does not see, or to repair it).
	Full bool
	// Restart starts from the first resource even when an earlier reindex
	// of the same version stopped midway (by default it continues after
	// the last batch that committed).
	Restart bool
	// Batch is the number of resources per transaction (0: 500).
	Batch int
	// Progress, when set, is called before the first batch and after each.
	Progress ReindexProgress
}

// IndexStale reports whether the search index was built by another
// extractor version than this binary's (search.IndexVersion), or never
// finished building: searches then miss what the index lacks until
// Reindex completes.
func IndexStale(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var version string
	err := pool.QueryRow(ctx, `SELECT version FROM search_index_state`).Scan(&version)
	if err != nil {
		return false, fmt.Errorf("read search index state: %w", translate(err))
	}
	return version != search.IndexVersion(), nil
}

// Reindex re-extracts the search values of every live resource, in
// batches in (type, id) order, each batch in its own transaction that also
// records the batch's last (type, id) in search_index_state: a reindex
// that stops (a crash, ctx cancelled) continues after the last batch that
// committed when it runs again with the same extractor version, unless
// opts.Restart. It does nothing when the index was built by this
// extractor version, unless opts.Full (so a server that starts while a
// full rebuild of a current index is unfinished does not wait for it). The server keeps serving meanwhile: each batch locks
// its heads as writers do, so a concurrent write either commits before
// the batch reads the resource or waits for the batch and then replaces
// its rows. Searches see the old values of resources not yet reached.
func Reindex(ctx context.Context, pool *pgxpool.Pool, opts ReindexOptions) error {
	want := search.IndexVersion()
	batch := opts.Batch
	if batch <= 0 {
		batch = reindexBatch
	}
	var version string
	var building *string
	var curType, curID string
	err := pool.QueryRow(ctx, `SELECT version, building, cursor_type, cursor_id FROM search_index_state`).Scan(&version, &building, &curType, &curID)
	if err != nil {
		return fmt.Errorf("read search index state: %w", translate(err))
	}
	if version == want && !opts.Full {
		return nil
	}
	if building == nil || *building != want || opts.Restart {
		curType, curID = "", ""
		if _, err := pool.Exec(ctx, `UPDATE search_index_state SET building = $1, cursor_type = '', cursor_id = '', updated_at = now()`, want); err != nil {
			return fmt.Errorf("start reindex: %w", translate(err))
		}
	}
	var total, done int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM resource_heads WHERE NOT deleted`).Scan(&total); err != nil {
		return fmt.Errorf("count resources: %w", translate(err))
	}
	if curType != "" {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM resource_heads WHERE NOT deleted AND (type, id) <= ($1, $2)`, curType, curID).Scan(&done); err != nil {
			return fmt.Errorf("count resources: %w", translate(err))
		}
	}
	for {
		if opts.Progress != nil {
			opts.Progress(min(done, total), total)
		}
		n, err := reindexBatchAfter(ctx, pool, &curType, &curID, batch)
		if err != nil {
			return err
		}
		done += int64(n)
		if n < batch {
			break
		}
	}
	_, err = pool.Exec(ctx, `UPDATE search_index_state SET version = $1, building = NULL, cursor_type = '', cursor_id = '', updated_at = now()`, want)
	if err != nil {
		return fmt.Errorf("finish reindex: %w", translate(err))
	}
	if opts.Progress != nil {
		opts.Progress(max(done, total), max(done, total))
	}
	return nil
}

// reindexBatchAfter re-extracts the next batch of live resources after
// (*typ, *id), advances the cursor and returns how many it did.
func reindexBatchAfter(ctx context.Context, pool *pgxpool.Pool, typ, id *string, batch int) (int, error) {
	var n int
	var lastType, lastID string
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(ptx pgx.Tx) error {
		// Lock first, read the bodies after, as tx.Read does: the rows a
		// waiting lock returns are the newest committed heads.
		rows, err := ptx.Query(ctx, `
SELECT type, id, version FROM resource_heads
WHERE NOT deleted AND (type, id) > ($1, $2)
ORDER BY type, id LIMIT $3
FOR NO KEY UPDATE`, *typ, *id, batch)
		if err != nil {
			return err
		}
		type head struct {
			typ, id string
			version int64
		}
		heads, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (head, error) {
			var h head
			return h, row.Scan(&h.typ, &h.id, &h.version)
		})
		if err != nil {
			return err
		}
		n = len(heads)
		if n == 0 {
			return nil
		}
		types, ids, versions := make([]string, n), make([]string, n), make([]int64, n)
		for i, h := range heads {
			types[i], ids[i], versions[i] = h.typ, h.id, h.version
		}
		rows, err = ptx.Query(ctx, `
SELECT v.type, v.id, v.body FROM unnest($1::text[], $2::text[], $3::int8[]) AS k(type, id, version)
JOIN resource_versions v ON v.type = k.type AND v.id = k.id AND v.version = k.version`, types, ids, versions)
		if err != nil {
			return err
		}
		var idx indexRows
		_, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (struct{}, error) {
			var r subscription.Resource
			if err := row.Scan(&r.Type, &r.ID, bodyDst(&r.Body)); err != nil {
				return struct{}{}, err
			}
			if r.Body == nil {
				return struct{}{}, nil // deleted meanwhile (the head said live)
			}
			_, vals, err := extract(r)
			if err != nil {
				return struct{}{}, err
			}
			idx.add(r.Type, r.ID, vals)
			return struct{}{}, nil
		})
		if err != nil {
			return err
		}
		if _, err := ptx.Exec(ctx, deleteIndexSQL, types, ids); err != nil {
			return err
		}
		if !idx.empty() {
			if _, err := ptx.Exec(ctx, insertIndexSQL, idx.args()...); err != nil {
				return err
			}
		}
		last := heads[n-1]
		lastType, lastID = last.typ, last.id
		_, err = ptx.Exec(ctx, `UPDATE search_index_state SET cursor_type = $1, cursor_id = $2, updated_at = now()`, last.typ, last.id)
		return err
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return 0, err
		}
		return 0, fmt.Errorf("reindex after %s/%s: %w", *typ, *id, translate(err))
	}
	if n > 0 {
		*typ, *id = lastType, lastID
	}
	return n, nil
}

// Reindex re-extracts every live resource's search values; see the
// package function Reindex.
func (s *Store) Reindex(ctx context.Context, opts ReindexOptions) error {
	return Reindex(ctx, s.pool, opts)
}
