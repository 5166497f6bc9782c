package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/fhirbell/fhirbell/migrations"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrateLockClass is the first half of the advisory lock key that
// serialises migrators ("fhir" in ASCII); the second half is a hash of the
// target schema, so that migrating one schema never waits for another (as
// parallel tests, each on its own schema, would).
const migrateLockClass = 0x66686972

// Migrate applies every migration of package migrations that the database
// has not recorded yet, in lexical order of file name, each in its own
// transaction together with its row in fhirbell_schema_migrations. Each
// transaction first takes a transaction-scoped advisory lock and only then
// checks what is applied, so nodes that start at once each see the others'
// work and apply nothing twice. Tables land in the first schema of the
// connections' search_path. Migrations the binary does not know (applied by
// a newer version) are left alone, so an older node can still start during
// a rolling upgrade. Last, it builds the search index when it is stale
// (see Reindex), which on a large database takes a while (about a minute
// per 100,000 resources here) but only once per extractor version.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		sql, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", name, err)
		}
		version := strings.TrimSuffix(name, ".sql")
		opts := pgx.TxOptions{IsoLevel: pgx.ReadCommitted}
		err = pgx.BeginTxFunc(ctx, pool, opts, func(tx pgx.Tx) error {
			return applyOne(ctx, tx, version, string(sql))
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", version, translate(err))
		}
	}
	// The search index (0005_search.sql) is filled from the resources by
	// the extractor, which SQL cannot run: build it now when it is empty
	// or was built by another extractor version, resuming an interrupted
	// build. A no-op when it is current.
	if err := Reindex(ctx, pool, ReindexOptions{}); err != nil {
		return fmt.Errorf("migrate: build the search index: %w", err)
	}
	return nil
}

// applyOne applies one migration inside tx unless it is recorded already.
func applyOne(ctx context.Context, tx pgx.Tx, version, sql string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))`, migrateLockClass); err != nil {
		return err
	}
	// Under the lock, so concurrent migrators never race to create it.
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS fhirbell_schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)`); err != nil {
		return err
	}
	var applied bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM fhirbell_schema_migrations WHERE version = $1)`, version).Scan(&applied); err != nil {
		return err
	}
	if applied {
		return nil
	}
	// No arguments: pgx sends it with the simple protocol, which allows a
	// file of several statements.
	if _, err := tx.Exec(ctx, sql); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO fhirbell_schema_migrations (version) VALUES ($1)`, version)
	return err
}
