package postgres

import (
	"testing"

	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
)

// OpenTestStore returns a Store on a fresh, migrated schema (see
// pgtest.NewSchema), closed and dropped in tb.Cleanup. It calls tb.Skip
// when FHIRBELL_TEST_DATABASE_URL is unset.
func OpenTestStore(tb testing.TB, opts ...Option) *Store {
	tb.Helper()
	ctx := tb.Context()
	s, err := Open(ctx, pgtest.NewSchema(tb), opts...)
	if err != nil {
		tb.Fatalf("open test store: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		tb.Fatalf("migrate test store: %v", err)
	}
	return s
}
