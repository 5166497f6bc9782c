package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// This file is how a transaction talks to Postgres. Most of a write's
// statements (the version's insert, the head's advance, the index rows, the
// event rows) return nothing the write needs; only a few answers decide
// what happens next (the head's lock, the event counters). A tx therefore
// queues the statements whose answer can wait and sends them, pipelined in
// one batch, with the next statement whose answer it needs, or with the
// COMMIT. The BEGIN goes with the first statement. A create is then one
// round trip, a read and update two, and a write that matches a
// subscription one more (its counter), where each statement was one: five
// for a create, nine for an update, two hundred for a Bundle of a hundred
// creates (TestWriteRoundTrips). On loopback a round trip costs about as
// much as a small statement's own work.
//
// The order of the statements is the order they were issued: pipelining
// changes when Postgres hears of a statement, never what it sees. An error
// of a queued statement is reported by the call that sends it, which may be
// a later write's or the commit; the transaction is then aborted, as it
// would have been had the error come at once.

const beginSQL = "BEGIN ISOLATION LEVEL READ COMMITTED"

// later queues a statement whose answer the transaction does not need
// before the commit; only its error matters.
func (t *tx) later(sql string, args ...any) {
	t.queued.Queue(sql, args...)
}

// send queues sql and sends it with the statements queued before it, in one
// round trip; see flush.
func (t *tx) send(ctx context.Context, sql string, args ...any) (pgx.BatchResults, error) {
	t.later(sql, args...)
	return t.flush(ctx, 1)
}

// flush sends the queued statements in one round trip and reads the results
// of all but the last keep, which the caller reads before it closes the
// batch. An error of a statement read here is returned, the batch closed.
func (t *tx) flush(ctx context.Context, keep int) (pgx.BatchResults, error) {
	b := t.queued
	t.queued = pgx.Batch{}
	br := t.conn.SendBatch(ctx, &b)
	t.sent = true
	for range b.Len() - keep {
		if _, err := br.Exec(); err != nil {
			_ = br.Close() // the error that matters is err
			return nil, err
		}
	}
	return br, nil
}

// QueryRow is pgx's QueryRow sent with the queued statements; t is then a
// querier.
func (t *tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	br, err := t.send(ctx, sql, args...)
	if err != nil {
		return errRow{err}
	}
	return batchRow{br}
}

// batchRow is the last result of a batch as a row: Scan reads it and closes
// the batch.
type batchRow struct{ br pgx.BatchResults }

func (r batchRow) Scan(dest ...any) error {
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// errRow is a row whose statement could not be sent or whose batch failed
// before it.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// query is pgx's Query sent with the queued statements; done closes the
// batch and returns the first error of the rows or the batch.
func (t *tx) query(ctx context.Context, sql string, args ...any) (rows pgx.Rows, done func() error, err error) {
	br, err := t.send(ctx, sql, args...)
	if err != nil {
		return nil, nil, err
	}
	rows, err = br.Query()
	if err != nil {
		_ = br.Close()
		return nil, nil, err
	}
	return rows, func() error {
		rows.Close()
		err := rows.Err()
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}

// errCommitRollback is a COMMIT that Postgres answered with ROLLBACK: a
// statement had failed and the caller went on.
var errCommitRollback = errors.New("postgres: commit of an aborted transaction (a statement failed and fn ignored the error)")

// commit sends the queued statements and the COMMIT. A transaction that
// sent nothing and queued nothing but its BEGIN has nothing to commit.
func (t *tx) commit(ctx context.Context) error {
	if !t.sent && t.queued.Len() == 1 {
		return nil
	}
	br, err := t.send(ctx, "COMMIT")
	if err != nil {
		return err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag.String() == "ROLLBACK" {
		return errCommitRollback
	}
	return err
}

// rollback ends a transaction that did not commit. The connection is
// released either way; one whose transaction is still open (the rollback
// failed, or was never sent) is discarded by the pool rather than reused.
func (t *tx) rollback(ctx context.Context) {
	defer t.conn.Release()
	if !t.sent || t.conn.Conn().PgConn().TxStatus() == 'I' {
		return
	}
	_, _ = t.conn.Exec(ctx, "ROLLBACK") // nothing to do about a failure: Release discards the connection
}
