// Package postgres is the Postgres subscription.Store (pgx/v5, pgxpool),
// the store of production and multi-node deployments, and Migrate, which
// applies the schema embedded in package migrations.
//
// Schema (migrations/0001_resources.sql): resource_versions holds every
// version of every resource, append-only, bodies as json; resource_heads
// holds one row per type/id naming its current version. Every write locks
// the head row (SELECT ... FOR NO KEY UPDATE, or INSERT ... ON CONFLICT DO
// NOTHING for an id that has none yet; a Create, whose ids are new, inserts
// it plainly), so writes to one resource are serialised in READ COMMITTED
// isolation: version numbers are gap-free and concurrent Puts of a new id
// queue up instead of failing on a unique violation. Writes to different
// resources do not block each other. A transaction sends the statements
// whose answers it does not need at once in one pipelined batch with the
// next one it does need, or with the COMMIT (pipeline.go): a create is one
// round trip.
//
// Invariants and choices:
//   - Transactions run at READ COMMITTED whatever the server default, which
//     the locking scheme relies on. Tx rolls back when fn returns an error
//     or panics (the panic continues after the rollback).
//   - Tx may call fn more than once: when a statement fails with a
//     serialization failure or a deadlock (SQLSTATE 40001, 40P01; possible
//     when one transaction writes several resources in an order another
//     transaction reverses), the transaction is rolled back and fn runs
//     again, up to four attempts in all, after which Tx returns
//     ErrConflict. fn must therefore keep its effects inside the
//     transaction (or reset them when it starts).
//   - Bodies are stored as json (migrations/0009_body_text.sql), not
//     jsonb: what Read, VRead, History, Search and the writes of Tx return
//     is the text fhir.Resource.Stamp wrote (the client's member order
//     after resourceType, id and meta; compact), the same bytes on every
//     path, so a write's answer and a later read agree. Strings holding
//     \u0000 are refused before they get here (fhir.CheckText).
//   - Timestamps come from the writer's clock (UTC, milliseconds) and are
//     stamped into the body before the insert, so the body and the row
//     agree; a version is never given an earlier lastUpdated than the one
//     it follows, even when nodes' clocks disagree.
//   - Find (find.go) plans a parsed search as SQL over the search index
//     tables (migrations/0005_search.sql, written in each write's
//     transaction by index.go): each term is a semi-join on one index range
//     scan, sorting joins the row holding the sort value, and paging is a
//     keyset (LIMIT count+1 after the cursor), all in one read-only
//     REPEATABLE READ snapshot. Search (a Go predicate over every live
//     head) remains for the few internal callers that load a whole type.
//   - Versions (history.go) pages type- and system-level history with one
//     statement: a backward range scan of resource_versions_type_history
//     or resource_versions_history (migrations/0007_history.sql) bounded by
//     _since, _at and the keyset cursor, LIMIT count+1, each row joined to
//     the version before it by primary key. BenchmarkVersions (600,000
//     versions; figures in docs/benchmarks.md) checks that the plan is an
//     Index Scan Backward with the cursor as its Index Cond, 21 rows read
//     for a page of 20.
//   - Migrate builds the search index when it is stale; Reindex rebuilds it
//     in resumable batches while the server serves (reindex.go).
//   - Driver errors are translated at this boundary (errors.go): no rows →
//     subscription.ErrNotFound; unique violation, serialization failure,
//     deadlock → ErrConflict; lost or refused connections and a closed pool
//     → ErrUnavailable; context errors are returned as they are. Error
//     messages never contain the database URL.
//
// Event logs (migrations/0002_events.sql): subscription_event_heads holds
// each subscription's counter, subscription_events the numbered events.
// AppendEvents reserves a call's numbers with one upsert of the counters,
// in ascending id order (so concurrent writers never deadlock on them),
// and inserts the events with a second set-based statement: a write that
// matches 10,000 subscriptions is two statements. The counter moves inside
// the write's transaction, so numbers are gap-free and a rollback gives
// them back; it stays locked until the commit, so the index rows go before
// the upsert and only the event rows and the COMMIT after it. Pruning
// deletes a prefix of each log (prune_at), never a head.
//
// Tokens (migrations/0003_tokens.sql): ws_tokens keeps binding tokens and
// tickets by the SHA-256 of their secret; consuming a ticket is one DELETE
// ... RETURNING, so of concurrent consumers on any nodes exactly one wins.
//
// Between nodes (cluster.go): a Broadcaster sends one coalesced NOTIFY after
// each commit that changed events, Subscriptions or topics (a bare poll
// hint when the payload would pass 8000 bytes); a Listener keeps its own
// LISTEN connection, reconnects with backoff, resynchronises on every
// connect and polls for changes nobody announced, so a lost notification
// costs latency, never correctness.
//
// The Store owns its pool: Close closes it.
package postgres
