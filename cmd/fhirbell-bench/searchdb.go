package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/jackc/pgx/v5"
)

// indexSize reads the size of fhirbell's search index tables (search_*,
// migrations/0005_search.sql) in the first schema of the connection's
// search_path, and the live resources it indexes. With analyze it first
// runs VACUUM (ANALYZE) on them and on the resource tables, as autovacuum
// does shortly after a bulk load (Postgres 13 and later vacuum tables that
// only grew), so that the queries that follow are planned on statistics of
// the loaded data and index-only scans need not visit the heap. This is the one place the generator looks past the FHIR API, and
// only with --database-url.
func indexSize(ctx context.Context, dbURL string, analyze bool) (*IndexSize, error) {
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return nil, errors.New("--database-url does not parse") // the error would echo the URL
	}
	if err := loopbackDB(cfg.Host); err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relname LIKE 'search\_%' AND c.relname <> 'search_index_state'
  AND n.nspname = current_schema() ORDER BY c.relname`)
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, errors.New("no search_* tables in the current schema: is this fhirbell's database?")
	}
	ix := &IndexSize{Tables: map[string]int64{}, Analyzed: analyze}
	for _, t := range tables {
		id := pgx.Identifier{t}.Sanitize()
		if analyze {
			if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) "+id); err != nil {
				return nil, fmt.Errorf("analyze %s: %w", t, err)
			}
		}
		var size, n int64
		if err := conn.QueryRow(ctx, "SELECT pg_total_relation_size($1::regclass), (SELECT count(*) FROM "+id+")", t).Scan(&size, &n); err != nil {
			return nil, fmt.Errorf("size of %s: %w", t, err)
		}
		ix.Tables[t] = size
		ix.Bytes += size
		ix.Rows += n
	}
	if analyze {
		for _, t := range []string{"resource_heads", "resource_versions"} {
			if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) "+t); err != nil {
				return nil, fmt.Errorf("analyze %s: %w", t, err)
			}
		}
	}
	err = conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM resource_heads WHERE NOT deleted),
  pg_total_relation_size('resource_heads') + pg_total_relation_size('resource_versions')`).Scan(&ix.Resources, &ix.ResourceBytes)
	if err != nil {
		return nil, fmt.Errorf("count resources: %w", err)
	}
	ix.BytesPerResource = ratio(float64(ix.Bytes), float64(ix.Resources))
	ix.RowsPerResource = ratio(float64(ix.Rows), float64(ix.Resources))
	return ix, nil
}

// loopbackDB refuses a database host other than a Unix socket or a
// loopback address: the generator measures this machine only.
func loopbackDB(host string) error {
	if strings.HasPrefix(host, "/") || host == "localhost" {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil && a.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--database-url: %w", errNotLoopback)
}
