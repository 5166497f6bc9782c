package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ subscription.Store = (*Store)(nil)

const (
	// maxAttempts bounds how often Tx runs fn when the transaction keeps
	// losing deadlock or serialization races.
	maxAttempts = 4
	// defaultPageSize is how many live heads Search fetches per query.
	defaultPageSize = 500
	// rollbackTimeout bounds a rollback whose caller's context is already
	// done; without a rollback the connection would be discarded.
	rollbackTimeout = 5 * time.Second
)

// Store is the Postgres subscription.Store. It is safe for concurrent use;
// see the package documentation for its locking scheme.
type Store struct {
	pool      *pgxpool.Pool    // set at construction; owned, closed by Close
	now       func() time.Time // set at construction
	pageSize  int              // set at construction; rows per Search query
	pruneRows int              // set at construction; events per PruneEvents DELETE
	lockSlots chan struct{}    // set at construction; bounds the connections Lock holds
}

// Option configures Open.
type Option func(*pgxpool.Config)

// WithMaxConns sets the largest number of connections the pool opens
// (pgxpool's default is the greater of 4 and the number of CPUs).
func WithMaxConns(n int32) Option {
	return func(c *pgxpool.Config) { c.MaxConns = n }
}

// WithConfig lets the caller adjust the parsed pool configuration before the
// pool is created, for settings no other Option covers (runtime parameters
// such as search_path, connection hooks, tracers).
func WithConfig(f func(*pgxpool.Config)) Option {
	return Option(f)
}

// Open connects to the database at dsn (a postgres:// URL or a keyword/value
// string, as pgx parses them), checks that it answers and returns a Store
// that owns the pool. It does not migrate; call Migrate. A server that
// cannot be reached gives an error wrapping subscription.ErrUnavailable.
// Errors never contain dsn, which may hold a password.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts passwords from parse errors only on a best-effort
		// basis (a malformed URL defeats it), so give none of its text.
		return nil, errors.New("postgres: cannot parse the database URL (details withheld: they could contain a password)")
	}
	for _, o := range opts {
		o(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", translate(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database: %w", translate(err))
	}
	return New(pool), nil
}

// New returns a Store over pool, which it takes ownership of: Store.Close
// closes it. It neither checks the connection nor migrates.
func New(pool *pgxpool.Pool) *Store {
	slots := max(1, int(pool.Config().MaxConns)/2)
	return &Store{pool: pool, now: time.Now, pageSize: defaultPageSize, pruneRows: defaultPruneRows,
		lockSlots: make(chan struct{}, slots)}
}

// Pool returns the store's pool, for packages that keep their own tables in
// the same database (and transactions that span them later).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate applies the embedded migrations to the store's database; see
// Migrate.
func (s *Store) Migrate(ctx context.Context) error { return Migrate(ctx, s.pool) }

// Tx runs fn in one READ COMMITTED transaction; see subscription.Store.Tx.
// fn may run more than once: after a deadlock or serialization failure the
// transaction is rolled back and retried, up to four attempts, and then Tx
// returns an error wrapping subscription.ErrConflict.
func (s *Store) Tx(ctx context.Context, fn func(tx subscription.Tx) error) error {
	for attempt := 1; ; attempt++ {
		retry, err := s.attempt(ctx, fn)
		if !retry || attempt == maxAttempts {
			return err
		}
		// Back off a little, with jitter, so that the transactions that
		// deadlocked do not meet again in the same order.
		d := time.Duration(attempt) * time.Duration(1+rand.IntN(10)) * time.Millisecond
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
	}
}

// attempt runs fn once; retry reports whether the transaction failed in a
// way that running it again may fix.
func (s *Store) attempt(ctx context.Context, fn func(tx subscription.Tx) error) (retry bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("begin transaction: %w", translate(err))
	}
	t := &tx{s: s, conn: conn}
	t.later(beginSQL)
	// Runs after a commit too (a no-op then), and on a panic in fn, which
	// then continues.
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		t.rollback(rctx)
	}()
	if err := fn(t); err != nil {
		return t.retry, err
	}
	t.flushIndex()
	if t.retry {
		// fn swallowed the error of a statement that lost a race; the
		// transaction is aborted, so it cannot commit.
		return true, fmt.Errorf("%w: transaction aborted by a concurrent one", subscription.ErrConflict)
	}
	if err := t.commit(ctx); err != nil {
		if t.failed != nil {
			err = t.failed // fn ignored it; the commit only found the transaction aborted
		} else if errors.Is(err, errCommitRollback) {
			return false, err
		}
		return retryableErr(err), fmt.Errorf("commit: %w", translate(err))
	}
	return false, nil
}

// stamp returns the timestamp of a new version that follows one written at
// prev (zero when there is none): now, in UTC, truncated to milliseconds as
// FHIR instants and the in-memory store hold it, and never before prev.
func (s *Store) stamp(prev time.Time) time.Time {
	t := s.now().UTC().Truncate(time.Millisecond)
	if t.Before(prev) {
		return prev.UTC()
	}
	return t
}

// querier is what reads need from a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const readCurrentSQL = `
SELECT version, last_updated, deleted, body FROM resource_versions
WHERE type = $1 AND id = $2 ORDER BY version DESC LIMIT 1`

// readCurrent returns the newest version of typ/id as q sees it; fail
// translates a driver error.
func readCurrent(ctx context.Context, q querier, fail func(error) error, typ, id string) (subscription.Resource, error) {
	r := subscription.Resource{Type: typ, ID: id}
	err := q.QueryRow(ctx, readCurrentSQL, typ, id).Scan(&r.VersionID, &r.LastUpdated, &r.Deleted, bodyDst(&r.Body))
	if err != nil {
		return subscription.Resource{}, fail(err)
	}
	return gone(normalise(r))
}

// normalise puts times in UTC, as callers compare and format them.
func normalise(r subscription.Resource) subscription.Resource {
	r.LastUpdated = r.LastUpdated.UTC()
	return r
}

// gone returns r with ErrGone when it is a deletion.
func gone(r subscription.Resource) (subscription.Resource, error) {
	if r.Deleted {
		return r, subscription.ErrGone
	}
	return r, nil
}

// Read returns the current version of typ/id; see subscription.Store.Read.
func (s *Store) Read(ctx context.Context, typ, id string) (subscription.Resource, error) {
	return readCurrent(ctx, s.pool, translate, typ, id)
}

// VRead returns version vid of typ/id; see subscription.Store.VRead.
func (s *Store) VRead(ctx context.Context, typ, id string, vid int64) (subscription.Resource, error) {
	r := subscription.Resource{Type: typ, ID: id, VersionID: vid}
	err := s.pool.QueryRow(ctx,
		`SELECT last_updated, deleted, body FROM resource_versions WHERE type = $1 AND id = $2 AND version = $3`,
		typ, id, vid).Scan(&r.LastUpdated, &r.Deleted, bodyDst(&r.Body))
	if err != nil {
		return subscription.Resource{}, translate(err)
	}
	return gone(normalise(r))
}

// History returns every version of typ/id, newest first; see
// subscription.Store.History.
func (s *Store) History(ctx context.Context, typ, id string) ([]subscription.Resource, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT version, last_updated, deleted, body FROM resource_versions WHERE type = $1 AND id = $2 ORDER BY version DESC`,
		typ, id)
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (subscription.Resource, error) {
		r := subscription.Resource{Type: typ, ID: id}
		err := row.Scan(&r.VersionID, &r.LastUpdated, &r.Deleted, bodyDst(&r.Body))
		return normalise(r), err
	})
	if err != nil {
		return nil, translate(err)
	}
	if len(out) == 0 {
		return nil, subscription.ErrNotFound
	}
	return out, nil
}

// searchFirstSQL and searchNextSQL read one page of live heads of a type in
// (last_updated, id) order with their bodies: the first page, and the page
// after the keyset ($3, $4). Two statements rather than one with an optional
// condition, so that both plans walk resource_heads_search from the right
// place.
const (
	searchFirstSQL = `
SELECT h.id, h.version, h.last_updated, v.body
FROM resource_heads h
JOIN resource_versions v ON v.type = h.type AND v.id = h.id AND v.version = h.version
WHERE h.type = $1 AND NOT h.deleted
ORDER BY h.last_updated, h.id
LIMIT $2`
	searchNextSQL = `
SELECT h.id, h.version, h.last_updated, v.body
FROM resource_heads h
JOIN resource_versions v ON v.type = h.type AND v.id = h.id AND v.version = h.version
WHERE h.type = $1 AND NOT h.deleted AND (h.last_updated, h.id) > ($3, $4)
ORDER BY h.last_updated, h.id
LIMIT $2`
)

// Search returns the live resources of typ that match accepts, ordered by
// LastUpdated then ID (byte order); see subscription.Store.Search and the
// package documentation for its cost.
func (s *Store) Search(ctx context.Context, typ string, match func(body []byte) (bool, error)) ([]subscription.Resource, error) {
	var out []subscription.Resource
	// One snapshot for every page, so a resource updated meanwhile is seen
	// once, at its old place, rather than twice or not at all.
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	var matchErr error
	err := pgx.BeginTxFunc(ctx, s.pool, opts, func(ptx pgx.Tx) error {
		sql, args := searchFirstSQL, []any{typ, s.pageSize}
		for {
			rows, err := ptx.Query(ctx, sql, args...)
			if err != nil {
				return err
			}
			page, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (subscription.Resource, error) {
				r := subscription.Resource{Type: typ}
				err := row.Scan(&r.ID, &r.VersionID, &r.LastUpdated, bodyDst(&r.Body))
				return normalise(r), err
			})
			if err != nil {
				return err
			}
			for _, r := range page {
				ok, err := match(r.Body)
				if err != nil {
					matchErr = err
					return err
				}
				if ok {
					out = append(out, r)
				}
			}
			if len(page) < s.pageSize {
				return nil
			}
			last := page[len(page)-1]
			sql, args = searchNextSQL, []any{typ, s.pageSize, last.LastUpdated, last.ID}
		}
	})
	if matchErr != nil {
		return nil, matchErr
	}
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", typ, translate(err))
	}
	return out, nil
}

// Ping reports whether the database answers: nil, a context error, or an
// error wrapping subscription.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		err = translate(err)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, subscription.ErrUnavailable) {
			return err
		}
		return fmt.Errorf("%w: %v", subscription.ErrUnavailable, err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// tx is one attempt of a Store.Tx transaction, on a connection of its own
// (pipeline.go says how it sends its statements).
type tx struct {
	s    *Store
	conn *pgxpool.Conn
	// queued are the statements not sent yet, the BEGIN first until the
	// first send; sent is set once one was.
	queued pgx.Batch
	sent   bool
	// locked are the heads this transaction has locked, as it left them:
	// no other transaction can change them until this one ends, so a write
	// after a read needs no second lock.
	locked map[resKey]head
	// retry is set when a statement failed with a deadlock or serialization
	// failure: the transaction is then aborted and Store.Tx runs fn again,
	// whatever fn made of the error.
	retry bool
	// failed is the first statement error: the transaction is aborted from
	// then on, and if fn went on regardless it is what the commit reports,
	// rather than Postgres's "current transaction is aborted".
	failed error
	// pending holds the search values of the resources written, flushed
	// into the index tables before the commit (index.go); nil values for a
	// deletion.
	pending map[resKey]*search.Values
}

// fail translates err, noting whether the transaction may be retried.
func (t *tx) fail(err error) error {
	if retryableErr(err) {
		t.retry = true
	}
	if t.failed == nil && !errors.Is(err, pgx.ErrNoRows) {
		t.failed = err
	}
	return translate(err)
}

// head is a row of resource_heads.
type head struct {
	version     int64
	lastUpdated time.Time
	deleted     bool
}

// lockHead locks the head of typ/id for the rest of the transaction and
// returns it; ok is false when typ/id has no version. Under READ COMMITTED
// the row returned is the newest committed one, even when the lock had to
// wait for another writer.
func (t *tx) lockHead(ctx context.Context, typ, id string) (h head, ok bool, err error) {
	if h, ok := t.locked[resKey{typ, id}]; ok {
		return h, true, nil
	}
	err = t.QueryRow(ctx, lockHeadSQL, typ, id).Scan(&h.version, &h.lastUpdated, &h.deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return head{}, false, nil
	}
	if err != nil {
		return head{}, false, t.fail(err)
	}
	t.hold(typ, id, h)
	return h, true, nil
}

const lockHeadSQL = `SELECT version, last_updated, deleted FROM resource_heads WHERE type = $1 AND id = $2 FOR NO KEY UPDATE`

// hold records h as the locked head of typ/id.
func (t *tx) hold(typ, id string, h head) {
	if t.locked == nil {
		t.locked = map[resKey]head{}
	}
	t.locked[resKey{typ, id}] = h
}

// insertHead creates the head of a new resource, or reports (ok false) that
// another transaction holds or has committed one. A concurrent uncommitted
// insert of the same type/id makes it wait for that transaction to end,
// and does not raise a unique violation.
func (t *tx) insertHead(ctx context.Context, typ, id string, at time.Time) (ok bool, err error) {
	err = t.QueryRow(ctx, `
INSERT INTO resource_heads (type, id, version, last_updated, deleted) VALUES ($1, $2, 1, $3, false)
ON CONFLICT (type, id) DO NOTHING RETURNING true`, typ, id, at).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, t.fail(err)
	}
	t.hold(typ, id, head{version: 1, lastUpdated: at})
	return true, nil
}

// advanceHead moves the locked head of typ/id to version v.
func (t *tx) advanceHead(typ, id string, v int64, at time.Time, deleted bool) {
	t.later(`UPDATE resource_heads SET version = $3, last_updated = $4, deleted = $5 WHERE type = $1 AND id = $2`,
		typ, id, v, at, deleted)
	t.hold(typ, id, head{version: v, lastUpdated: at, deleted: deleted})
}

// checkVersion prepares r for its insert: the text json would keep but no
// reader could use is refused, the search values are extracted (and r.Target
// set). It runs before anything of the write is queued, so that a version it
// refuses leaves no head behind, whatever the caller does with the error.
func checkVersion(r subscription.Resource) (subscription.Resource, *search.Values, error) {
	if r.Deleted {
		r.Body = nil
		return r, nil, nil
	}
	// The backstop for text json would keep but no reader could use
	// (\u0000, bad UTF-8): fhir.ParseObject refuses it in client bodies, so
	// only a caller that set a member raw gets here.
	if err := fhir.CheckText(r.Body); err != nil {
		return subscription.Resource{}, nil, err
	}
	var vals *search.Values
	var err error
	if r.Target, vals, err = extract(r); err != nil {
		return subscription.Resource{}, nil, err
	}
	return r, vals, nil
}

// queueVersion queues the insert of a version checkVersion prepared, and its
// index rows. The body column is json, which keeps the text as given, so
// what a read returns is r.Body. hadRows says whether the resource had a
// live version before, whose index rows the new version replaces.
func (t *tx) queueVersion(r subscription.Resource, vals *search.Values, hadRows bool) subscription.Resource {
	t.later(`
INSERT INTO resource_versions (type, id, version, last_updated, deleted, body) VALUES ($1, $2, $3, $4, $5, $6)`,
		r.Type, r.ID, r.VersionID, r.LastUpdated, r.Deleted, []byte(r.Body))
	t.queueIndex(r.Type, r.ID, vals, hadRows)
	return r
}

// Read returns the current version of typ/id as this transaction sees it,
// and locks it until the transaction ends.
func (t *tx) Read(ctx context.Context, typ, id string) (subscription.Resource, error) {
	if _, ok := t.locked[resKey{typ, id}]; ok {
		return readCurrent(ctx, t, t.fail, typ, id)
	}
	// Lock first, then read the version in a statement of its own, sent in
	// the same round trip: a read that joined the locked head to its
	// version could, after waiting for the lock, pair the new head with no
	// version and miss the row.
	t.later(lockHeadSQL, typ, id)
	t.later(readCurrentSQL, typ, id)
	br, err := t.flush(ctx, 2)
	if err != nil {
		return subscription.Resource{}, t.fail(err)
	}
	var h head
	r := subscription.Resource{Type: typ, ID: id}
	lockErr := br.QueryRow().Scan(&h.version, &h.lastUpdated, &h.deleted)
	readErr := br.QueryRow().Scan(&r.VersionID, &r.LastUpdated, &r.Deleted, bodyDst(&r.Body))
	err = errors.Join(notNoRows(lockErr), notNoRows(readErr), br.Close())
	switch {
	case err != nil:
		return subscription.Resource{}, t.fail(err)
	case lockErr != nil:
		return subscription.Resource{}, subscription.ErrNotFound
	case readErr != nil:
		return subscription.Resource{}, fmt.Errorf("postgres: head of %s/%s has no version", typ, id)
	}
	t.hold(typ, id, h)
	return gone(normalise(r))
}

// notNoRows is err unless it only says that a query found no row.
func notNoRows(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	return err
}

// Create stores version 1 of r; see subscription.Tx.Create. Nothing is
// sent yet: the head's insert goes with the rest of the transaction, and a
// type/id that has a version fails it there, as a unique violation, which
// Store.Tx reports as ErrConflict. Server-assigned ids are new, so a
// create waits for no answer.
func (t *tx) Create(ctx context.Context, r *fhir.Resource) (subscription.Resource, error) {
	if _, ok := t.locked[resKey{r.Type, r.ID}]; ok {
		return subscription.Resource{}, fmt.Errorf("%w: %s/%s exists", subscription.ErrConflict, r.Type, r.ID)
	}
	now := t.s.stamp(time.Time{})
	res, vals, err := checkVersion(subscription.Resource{Type: r.Type, ID: r.ID, VersionID: 1, LastUpdated: now, Body: r.Stamp(r.ID, 1, now)})
	if err != nil {
		return subscription.Resource{}, err
	}
	t.later(`INSERT INTO resource_heads (type, id, version, last_updated, deleted) VALUES ($1, $2, 1, $3, false)`,
		r.Type, r.ID, now)
	t.hold(r.Type, r.ID, head{version: 1, lastUpdated: now})
	return t.queueVersion(res, vals, false), nil
}

// Put stores the next version of r; see subscription.Tx.Put.
func (t *tx) Put(ctx context.Context, r *fhir.Resource, ifMatch int64) (subscription.Resource, bool, error) {
	h, ok, err := t.lockHead(ctx, r.Type, r.ID)
	if err != nil {
		return subscription.Resource{}, false, err
	}
	if !ok {
		if ifMatch > 0 {
			return subscription.Resource{}, false, subscription.ErrPreconditionFailed
		}
		now := t.s.stamp(time.Time{})
		res, vals, err := checkVersion(subscription.Resource{Type: r.Type, ID: r.ID, VersionID: 1, LastUpdated: now, Body: r.Stamp(r.ID, 1, now)})
		if err != nil {
			return subscription.Resource{}, false, err
		}
		inserted, err := t.insertHead(ctx, r.Type, r.ID, now)
		if err != nil {
			return subscription.Resource{}, false, err
		}
		if inserted {
			return t.queueVersion(res, vals, false), true, nil
		}
		// Another transaction created it meanwhile and has committed (the
		// insert waited for it): lock what it wrote. Heads are never
		// deleted, so the row is there now.
		if h, ok, err = t.lockHead(ctx, r.Type, r.ID); err != nil {
			return subscription.Resource{}, false, err
		} else if !ok {
			return subscription.Resource{}, false, fmt.Errorf("postgres: head of %s/%s vanished", r.Type, r.ID)
		}
	}
	if ifMatch > 0 && ifMatch != h.version {
		return subscription.Resource{}, false, subscription.ErrPreconditionFailed
	}
	now := t.s.stamp(h.lastUpdated)
	v := h.version + 1
	res, vals, err := checkVersion(subscription.Resource{Type: r.Type, ID: r.ID, VersionID: v, LastUpdated: now, Body: r.Stamp(r.ID, v, now)})
	if err != nil {
		return subscription.Resource{}, false, err
	}
	t.advanceHead(r.Type, r.ID, v, now, false)
	return t.queueVersion(res, vals, !h.deleted), h.deleted, nil
}

// Delete stores a deletion version of typ/id; see subscription.Tx.Delete.
func (t *tx) Delete(ctx context.Context, typ, id string, ifMatch int64) (subscription.Resource, error) {
	h, ok, err := t.lockHead(ctx, typ, id)
	if err != nil {
		return subscription.Resource{}, err
	}
	if !ok {
		return subscription.Resource{}, subscription.ErrNotFound
	}
	if ifMatch > 0 && ifMatch != h.version {
		return subscription.Resource{}, subscription.ErrPreconditionFailed
	}
	if h.deleted {
		return subscription.Resource{Type: typ, ID: id, VersionID: h.version, LastUpdated: h.lastUpdated.UTC(), Deleted: true}, nil
	}
	now := t.s.stamp(h.lastUpdated)
	v := h.version + 1
	t.advanceHead(typ, id, v, now, true)
	return t.queueVersion(subscription.Resource{Type: typ, ID: id, VersionID: v, LastUpdated: now, Deleted: true}, nil, true), nil
}

// bodyDst is where a row's resource body is scanned to. pgx decodes a json
// column into a json.RawMessage with encoding/json (a full validation and a
// copy, a third of the CPU of a 1,000-entry search page); into a []byte it
// copies the bytes. The store wrote those bytes, so they need no checking.
func bodyDst(b *json.RawMessage) *[]byte { return (*[]byte)(b) }
