package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
)

func TestTranslate(t *testing.T) {
	pgErr := func(code string) error {
		return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, Message: "server says " + code})
	}
	errValidation := errors.New("validation")
	errInternal := errors.New("internal")
	cases := []struct {
		name string
		in   error
		want error // errValidation: a *fhir.ValidationError; errInternal: none of the sentinels
	}{
		{"no rows", fmt.Errorf("scan: %w", pgx.ErrNoRows), subscription.ErrNotFound},
		{"unique violation", pgErr("23505"), subscription.ErrConflict},
		{"serialization failure", pgErr("40001"), subscription.ErrConflict},
		{"deadlock", pgErr("40P01"), subscription.ErrConflict},
		{"NUL in jsonb", pgErr("22P05"), errValidation},
		{"bad UTF-8", pgErr("22021"), errValidation},
		{"numeric overflow", pgErr("22003"), errValidation},
		{"connection failure", pgErr("08006"), subscription.ErrUnavailable},
		{"too many connections", pgErr("53300"), subscription.ErrUnavailable},
		{"admin shutdown", pgErr("57P01"), subscription.ErrUnavailable},
		{"starting up", pgErr("57P03"), subscription.ErrUnavailable},
		{"closed pool", puddle.ErrClosedPool, subscription.ErrUnavailable},
		{"connection lost", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), subscription.ErrUnavailable},
		{"network", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, subscription.ErrUnavailable},
		{"canceled", fmt.Errorf("query: %w", context.Canceled), context.Canceled},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), context.DeadlineExceeded},
		{"syntax error", pgErr("42601"), errInternal},
		{"other", errors.New("something odd"), errInternal},
	}
	sentinels := []error{subscription.ErrNotFound, subscription.ErrConflict, subscription.ErrUnavailable,
		subscription.ErrGone, subscription.ErrPreconditionFailed}
	for _, c := range cases {
		got := translate(c.in)
		switch c.want {
		case errValidation:
			if _, ok := errors.AsType[*fhir.ValidationError](got); !ok {
				t.Errorf("translate(%s) = %v, want a *fhir.ValidationError", c.name, got)
			}
		case errInternal:
			for _, s := range sentinels {
				if errors.Is(got, s) {
					t.Errorf("translate(%s) = %v, want an internal error, not %v", c.name, got, s)
				}
			}
			if got == nil {
				t.Errorf("translate(%s) = nil, want an error", c.name)
			}
		default:
			if !errors.Is(got, c.want) {
				t.Errorf("translate(%s) = %v, want %v", c.name, got, c.want)
			}
		}
		// The driver's types stay inside the package.
		if _, ok := errors.AsType[*pgconn.PgError](got); ok && c.want != errInternal {
			t.Errorf("translate(%s) = %v still wraps a *pgconn.PgError", c.name, got)
		}
	}
	if got := translate(nil); got != nil {
		t.Errorf("translate(nil) = %v, want nil", got)
	}
}
