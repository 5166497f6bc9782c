package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// DatabaseEnv names the environment variable that points the tests at a
// Postgres database they may create and drop schemas in. Tests that need
// Postgres skip when it is unset.
const DatabaseEnv = "FHIRBELL_TEST_DATABASE_URL"

// RequireEnv, set to 1 (make test and CI set it), turns a missing
// FHIRBELL_TEST_DATABASE_URL from a skip into a failure, so that a
// misconfigured run cannot pass without the Postgres suite.
const RequireEnv = "FHIRBELL_REQUIRE_POSTGRES"

// NewSchema creates a fresh, empty schema in the database that
// FHIRBELL_TEST_DATABASE_URL names and returns a connection string whose
// connections use it (search_path), for tests that open the store
// themselves (`fhirbell serve` and `migrate` end to end). The schema is
// dropped, with everything in it, in tb.Cleanup; close what uses it in a
// Cleanup registered later, which runs first. It calls tb.Skip when the
// variable is unset.
func NewSchema(tb testing.TB) (dsn string) {
	tb.Helper()
	base := os.Getenv(DatabaseEnv)
	if base == "" {
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatal(DatabaseEnv + " is not set but " + RequireEnv + "=1")
		}
		tb.Skip(DatabaseEnv + " is not set")
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	schema := "test_" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{schema}.Sanitize()

	ctx := context.WithoutCancel(tb.Context())
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to %s: %v", DatabaseEnv, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+ident); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		admin, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("connect to drop schema %s: %v", schema, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+ident+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(base, schema)
}

// withSearchPath adds a search_path run-time parameter to dsn, which pgx
// sends to the server for each connection it opens.
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "search_path=" + url.QueryEscape(schema)
	}
	return dsn + " search_path=" + schema
}
