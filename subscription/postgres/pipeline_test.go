package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/fhirbell/fhirbell/subscription"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// roundTrips counts what the store sends: a query or a batch is one round
// trip (a statement's first preparation on a connection is not counted;
// every case below runs twice and counts the second run).
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// TestWriteRoundTrips pins how many round trips a transaction costs: the
// statements whose answer can wait go with the next one that needs an
// answer, or with the COMMIT (pipeline.go). One statement per round trip
// made a create five and an update nine.
func TestWriteRoundTrips(t *testing.T) {
	rt := &roundTrips{}
	s := OpenTestStore(t, WithMaxConns(1), WithConfig(func(c *pgxpool.Config) { c.ConnConfig.Tracer = rt }))
	ctx := t.Context()
	obs := func(id string) string {
		return fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/p1"}}`, id)
	}
	event := func(id string) []subscription.Event {
		return []subscription.Event{{SubscriptionID: "sub-1", Interaction: subscription.InteractionCreate, FocusType: "Observation", FocusID: id, FocusVersion: 1}}
	}
	n, deleted := 0, 0
	next := func() string { n++; return fmt.Sprintf("o%d", n) }
	for _, c := range []struct {
		name string
		want int64
		fn   func(tx subscription.Tx) error
	}{
		{"create", 1, func(tx subscription.Tx) error {
			_, err := tx.Create(ctx, mustParse(t, obs(next())))
			return err
		}},
		{"create of 100", 1, func(tx subscription.Tx) error {
			for range 100 {
				if _, err := tx.Create(ctx, mustParse(t, obs(next()))); err != nil {
					return err
				}
			}
			return nil
		}},
		{"create with an event", 2, func(tx subscription.Tx) error {
			id := next()
			if _, err := tx.Create(ctx, mustParse(t, obs(id))); err != nil {
				return err
			}
			_, err := tx.AppendEvents(ctx, event(id))
			return err
		}},
		{"read then update", 2, func(tx subscription.Tx) error {
			if _, err := tx.Read(ctx, "Observation", "o1"); err != nil {
				return err
			}
			_, _, err := tx.Put(ctx, mustParse(t, obs("o1")), 0)
			return err
		}},
		{"read, update with an event", 3, func(tx subscription.Tx) error {
			if _, err := tx.Read(ctx, "Observation", "o1"); err != nil {
				return err
			}
			if _, _, err := tx.Put(ctx, mustParse(t, obs("o1")), 0); err != nil {
				return err
			}
			_, err := tx.AppendEvents(ctx, event("o1"))
			return err
		}},
		{"create then delete", 1, func(tx subscription.Tx) error {
			id := next()
			if _, err := tx.Create(ctx, mustParse(t, obs(id))); err != nil {
				return err
			}
			// The head is this transaction's: no lock to ask for.
			_, err := tx.Delete(ctx, "Observation", id, 0)
			return err
		}},
		{"delete", 2, func(tx subscription.Tx) error {
			deleted++ // o2, then o3: both live
			_, err := tx.Delete(ctx, "Observation", fmt.Sprintf("o%d", 1+deleted), 0)
			return err
		}},
	} {
		for run := range 2 {
			before := rt.n.Load()
			if err := s.Tx(ctx, c.fn); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if got := rt.n.Load() - before; run == 1 && got != c.want {
				t.Errorf("%s: %d round trips, want %d", c.name, got, c.want)
			}
		}
	}
}

// TestQueuedErrorFailsTheTransaction: a queued statement's error reaches
// the caller at the next send or the commit, and nothing of the
// transaction stays. One connection, which must come back to the pool
// clean each time rather than be replaced.
func TestQueuedErrorFailsTheTransaction(t *testing.T) {
	s := OpenTestStore(t, WithMaxConns(1))
	ctx := t.Context()
	mustPut(t, s, "Patient", "p1")
	conns := s.pool.Stat().NewConnsCount()
	// Create of an existing id is queued; the commit fails it.
	err := s.Tx(ctx, func(tx subscription.Tx) error {
		if _, err := tx.Create(ctx, mustParse(t, `{"resourceType":"Patient","id":"p2"}`)); err != nil {
			return err
		}
		_, err := tx.Create(ctx, mustParse(t, `{"resourceType":"Patient","id":"p1"}`))
		return err
	})
	if !errors.Is(err, subscription.ErrConflict) {
		t.Fatalf("Tx creating an existing id: err = %v, want ErrConflict", err)
	}
	// The same, reported by a later statement that needs an answer.
	err = s.Tx(ctx, func(tx subscription.Tx) error {
		if _, err := tx.Create(ctx, mustParse(t, `{"resourceType":"Patient","id":"p1"}`)); err != nil {
			return err
		}
		_, err := tx.Read(ctx, "Patient", "p3")
		if !errors.Is(err, subscription.ErrConflict) {
			t.Errorf("Read after a failed queued create: err = %v, want ErrConflict", err)
		}
		return err
	})
	if !errors.Is(err, subscription.ErrConflict) {
		t.Fatalf("Tx: err = %v, want ErrConflict", err)
	}
	if _, err := s.Read(ctx, "Patient", "p2"); !errors.Is(err, subscription.ErrNotFound) {
		t.Errorf("Read(p2) after the failed transaction: err = %v, want ErrNotFound", err)
	}
	if h, err := s.History(ctx, "Patient", "p1"); err != nil || len(h) != 1 {
		t.Errorf("History(p1): %d versions, err %v; want 1", len(h), err)
	}
	// The error ignored: the commit reports it, not Postgres's "current
	// transaction is aborted".
	err = s.Tx(ctx, func(tx subscription.Tx) error {
		if _, err := tx.Create(ctx, mustParse(t, `{"resourceType":"Patient","id":"p1"}`)); err != nil {
			return err
		}
		_, _ = tx.Read(ctx, "Patient", "p3")
		return nil
	})
	if !errors.Is(err, subscription.ErrConflict) {
		t.Fatalf("Tx ignoring the failed create: err = %v, want ErrConflict", err)
	}
	// The connection went back to the pool clean: the next write works on
	// it.
	mustPut(t, s, "Patient", "p4")
	if n := s.pool.Stat().NewConnsCount(); n != conns {
		t.Errorf("%d connections opened by the failed transactions, want 0 (each rolled back and reused)", n-conns)
	}
}

// TestSearchTx: a search's transaction is read-only, plans with the values
// and never in parallel (searchSettingsSQL), and its BEGIN and settings take
// one round trip.
func TestSearchTx(t *testing.T) {
	rt := &roundTrips{}
	// One connection: the check after the transaction reads the same one.
	s := OpenTestStore(t, WithMaxConns(1), WithConfig(func(c *pgxpool.Config) { c.ConnConfig.Tracer = rt }))
	ctx := t.Context()
	for run := range 2 {
		before := rt.n.Load()
		var mode, workers, readOnly string
		err := s.searchTx(ctx, func(ptx pgx.Tx) error {
			return ptx.QueryRow(ctx, `SELECT current_setting('plan_cache_mode'), current_setting('max_parallel_workers_per_gather'),
				current_setting('transaction_read_only')`).Scan(&mode, &workers, &readOnly)
		})
		if err != nil {
			t.Fatal(err)
		}
		if mode != "force_custom_plan" || workers != "0" || readOnly != "on" {
			t.Errorf("plan_cache_mode %q, max_parallel_workers_per_gather %q, read only %q; want force_custom_plan, 0, on", mode, workers, readOnly)
		}
		// Begin and settings, the query, the commit.
		if got := rt.n.Load() - before; run == 1 && got != 3 {
			t.Errorf("%d round trips, want 3", got)
		}
	}
	// Outside the transaction the settings are the server's again.
	var workers string
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('max_parallel_workers_per_gather')`).Scan(&workers); err != nil || workers == "0" {
		t.Errorf("max_parallel_workers_per_gather after the search: %q, %v; want the default", workers, err)
	}
}
