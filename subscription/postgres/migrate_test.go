package postgres

import (
	"io/fs"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/fhirbell/fhirbell/migrations"
	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

func TestMigrationFiles(t *testing.T) {
	names, err := fs.Glob(migrations.FS, "*")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no migrations embedded")
	}
	valid := regexp.MustCompile(`^[0-9]{4}_[a-z0-9_]+\.sql$`)
	seen := map[string]string{}
	for _, name := range names {
		if !valid.MatchString(name) {
			t.Errorf("migration file %q, want NNNN_name.sql", name)
			continue
		}
		if prev, dup := seen[name[:4]]; dup {
			t.Errorf("migrations %s and %s share a number", prev, name)
		}
		seen[name[:4]] = name
		b, err := fs.ReadFile(migrations.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		// Migrate runs each file in a transaction of its own, in whatever
		// schema search_path names.
		sql := strings.ToUpper(string(b))
		for _, banned := range []string{"BEGIN;", "COMMIT;", "ROLLBACK;", "CONCURRENTLY", "SEARCH_PATH", "PUBLIC."} {
			if strings.Contains(sql, banned) {
				t.Errorf("migration %s contains %q", name, banned)
			}
		}
	}
}

func TestMigrateConcurrent(t *testing.T) {
	// Nodes starting at once all migrate one fresh schema; each migration
	// must be applied exactly once and none may fail.
	dsn := pgtest.NewSchema(t)
	ctx := t.Context()
	const nodes = 4
	var stores [nodes]*Store
	for i := range stores {
		s, err := Open(ctx, dsn, WithMaxConns(2))
		if err != nil {
			t.Fatalf("open node %d: %v", i, err)
		}
		t.Cleanup(func() { _ = s.Close() })
		stores[i] = s
	}
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			if err := s.Migrate(ctx); err != nil {
				t.Errorf("node %d: Migrate: %v", i, err)
			}
		})
	}
	wg.Wait()

	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	checkApplied := func(when string) {
		t.Helper()
		rows, err := stores[0].pool.Query(ctx, `SELECT version FROM fhirbell_schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatalf("%s: list applied migrations: %v", when, err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: list applied migrations: %v", when, err)
		}
		var want []string
		for _, n := range names {
			want = append(want, strings.TrimSuffix(n, ".sql"))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: applied migrations %v, want %v", when, got, want)
		}
	}
	checkApplied("after concurrent migrate")

	// Migrating again is a no-op, and the schema works.
	if err := stores[1].Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	checkApplied("after second migrate")
	if err := stores[2].Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	mustPut(t, stores[3], "Patient", "p1")
}
