package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
)

// SQLSTATE codes the store reacts to
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	codeUniqueViolation       = "23505"
	codeSerializationFailure  = "40001"
	codeDeadlockDetected      = "40P01"
	codeTooManyConnections    = "53300"
	codeAdminShutdown         = "57P01"
	codeCrashShutdown         = "57P02"
	codeCannotConnectNow      = "57P03"
	classConnectionException  = "08"
	classDataException        = "22"
	classInsufficientResource = "53"
)

// translate turns a driver error into a domain error: a sentinel of
// subscription/errors.go carrying the server's message (but not the driver's
// error value), a context error as it is, or an internal error. nil stays
// nil.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return subscription.ErrNotFound
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller gave up; that is not the store's fault. Keep the chain
		// so errors.Is(err, context.Canceled) works.
		return err
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch code := pgErr.Code; {
		case code == codeUniqueViolation, retryable(code):
			return fmt.Errorf("%w: %s", subscription.ErrConflict, pgErr.Message)
		case strings.HasPrefix(code, classDataException):
			// A value Postgres cannot hold (bad UTF-8, \u0000, a number out
			// of range). fhir.ParseObject refuses these in bodies and the
			// search parser in queries, so this is the backstop for a
			// client value that reached SQL some other way: still the
			// client's input, never a 500.
			return fhir.Invalid("", "the request holds a value the store cannot accept: "+pgErr.Message)
		case strings.HasPrefix(code, classConnectionException),
			code == codeTooManyConnections, strings.HasPrefix(code, classInsufficientResource),
			code == codeAdminShutdown, code == codeCrashShutdown, code == codeCannotConnectNow:
			return fmt.Errorf("%w: %s (SQLSTATE %s)", subscription.ErrUnavailable, pgErr.Message, code)
		}
		return fmt.Errorf("postgres: %s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %v", subscription.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %w", err)
}

// retryable reports whether SQLSTATE code means the transaction lost a race
// and may succeed when run again.
func retryable(code string) bool {
	return code == codeSerializationFailure || code == codeDeadlockDetected
}

// retryableErr is retryable for an error chain.
func retryableErr(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && retryable(pgErr.Code)
}

// unavailable reports whether err means the server could not be reached or
// the connection was lost, as opposed to the server rejecting a statement.
func unavailable(err error) bool {
	if errors.Is(err, puddle.ErrClosedPool) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	// SafeToRetry: the statement failed before anything reached the server,
	// which happens only when the connection is broken.
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}
