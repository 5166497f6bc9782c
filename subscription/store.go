package subscription

import (
	"context"
	"encoding/json"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
)

// Resource is one stored version of a FHIR resource.
type Resource struct {
	Type        string
	ID          string
	VersionID   int64 // 1 for the first version, +1 per write, deletions included
	LastUpdated time.Time
	Deleted     bool            // this version records a deletion; Body is nil
	Body        json.RawMessage // the resource JSON, meta.versionId and meta.lastUpdated set
	// Target is Body prepared for search, set on a version a Tx wrote: the
	// store extracted its search values for the index, and the
	// subscription matcher reuses that work. nil elsewhere.
	Target *search.Target
}

// WantsTotal reports whether q asks for its matches to be counted
// (_summary=count, _total=accurate or estimate).
func WantsTotal(q *search.Query) bool {
	return q.Summary == "count" || q.Total == search.TotalAccurate || q.Total == search.TotalEstimate
}

// DefaultTotal is the total of a page of count matches of a search that
// did not ask for one (no _total, no _summary=count): known, and given,
// only when the page itself shows it — the first page (no cursor) with no
// page after it, and with every match skipped by _offset accounted for —
// and -1 otherwise.
//
// Stores never count for it: a count is a second pass over every match,
// which on a million resources costs many times the page (counting the
// first 1,000 matches of code=&date= was 25–100 ms on Postgres where the
// page took 5), and a client that pages by next links needs no total.
func DefaultTotal(q *search.Query, count int, page SearchPage) int {
	if q.Total != search.TotalDefault || WantsTotal(q) || count <= 0 || q.Cursor != "" || page.Next != "" ||
		(q.Offset > 0 && len(page.Matches) == 0) {
		return -1
	}
	return q.Offset + len(page.Matches)
}

// SearchPage is one page of a search (Store.Find).
type SearchPage struct {
	Matches []Resource
	// Next and Prev are the cursors (search.Query.Cursor) of the following
	// and preceding pages; "" when there is none.
	Next, Prev string
	Total      int // the number of matches, or -1 when not counted
}

// Store keeps every version of every resource.
//
// Implementations are safe for concurrent use. Reads outside a transaction
// see only committed data. Errors are the sentinels of errors.go (wrapped
// with context) or internal errors; driver errors never leak unwrapped.
type Store interface {
	EventLog
	TokenStore
	NodeRegistry

	// Tx runs fn in one transaction. When fn returns nil every write it made
	// commits together; when fn returns an error or panics, or the commit
	// fails, none does, and Tx returns that error. Concurrent transactions
	// writing the same resource are serialised: one waits for the other, or
	// fails with ErrConflict. fn may be called more than once (a store may
	// retry a transaction that lost a deadlock or serialisation race), so
	// its effects must stay inside the transaction: reset anything it
	// accumulates outside at the start of each call.
	Tx(ctx context.Context, fn func(tx Tx) error) error

	// Read returns the current version of type/id. ErrNotFound when it never
	// existed; when the current version is a deletion it returns that version
	// together with ErrGone.
	Read(ctx context.Context, typ, id string) (Resource, error)
	// VRead returns version vid of type/id: ErrNotFound when there is no such
	// version, the deletion version with ErrGone when vid is one.
	VRead(ctx context.Context, typ, id string, vid int64) (Resource, error)
	// History returns every version of type/id, newest first; ErrNotFound
	// when it never existed.
	History(ctx context.Context, typ, id string) ([]Resource, error)
	// Search returns the current, non-deleted versions of type typ for which
	// match returns true, ordered by LastUpdated then ID. An error from match
	// ends the search and is returned.
	Search(ctx context.Context, typ string, match func(body []byte) (bool, error)) ([]Resource, error)

	// Lock blocks until the caller holds every key, against every caller of
	// every node sharing the store, and returns unlock, which releases them
	// (call it exactly once). It makes a decision taken on a search and the
	// write that follows it atomic (conditional create: two requests with
	// the same criteria must not both find nothing and both create),
	// without depending on how the search is executed. Keys are locked in
	// sorted order, so callers cannot deadlock each other; a caller must
	// not hold a lock while it waits for another Lock. ctx bounds the wait.
	Lock(ctx context.Context, keys []string) (unlock func(), err error)

	// Find runs a parsed search through the store's indexes and returns one
	// page of at most count current, non-deleted matches in q's sort order
	// (q.SortKeys, ties by id), starting after q.Cursor (or before it, for a
	// previous-page cursor) and skipping q.Offset. It never loads more than
	// the page. Total is counted when q asks for it (_total=accurate or
	// estimate, _summary=count); without _total it is DefaultTotal, and
	// with _total=none -1. With _summary=count or count 0 there are no
	// matches. A malformed cursor is a *fhir.ValidationError.
	Find(ctx context.Context, q *search.Query, count int) (SearchPage, error)

	// Versions returns one page of at most count versions of every
	// resource of q.Type (of every type when q.Type is ""), deletions
	// included, newest first in the order of HistoryPage, after q.Cursor
	// and within q's Since and At bounds. It never loads more than the page
	// (and, for At, the superseded versions it steps over). A malformed
	// cursor is a *fhir.ValidationError.
	Versions(ctx context.Context, q HistoryQuery, count int) (HistoryPage, error)

	// Ping reports whether the store is reachable (ErrUnavailable if not).
	Ping(ctx context.Context) error
	// Close releases the store's resources; the store is unusable after.
	Close() error
}

// Tx is the write side of a Store, valid only inside the function passed to
// Store.Tx. It is not safe for concurrent use. Writes assign the version's
// number and LastUpdated (the current time, UTC, truncated to milliseconds)
// and stamp both into the body with fhir.Resource.Stamp.
type Tx interface {
	EventTx

	// Read is Store.Read as seen by this transaction, including its own
	// writes. Implementations lock what they read so that a following write
	// cannot race another transaction.
	Read(ctx context.Context, typ, id string) (Resource, error)
	// Create stores version 1 of r, whose ID the caller assigned. ErrConflict
	// when type/id has any version already: from Create, or, in a store that
	// sends its writes later (the Postgres store pipelines them), from the
	// transaction's next call that needs an answer from the store, or from
	// Store.Tx at the commit.
	Create(ctx context.Context, r *fhir.Resource) (Resource, error)
	// Put stores the next version of r (create-on-update when type/id has no
	// version, or its current one is a deletion). If ifMatch > 0 and the
	// current version is not ifMatch, it fails with ErrPreconditionFailed.
	// created reports whether no live version existed before.
	Put(ctx context.Context, r *fhir.Resource, ifMatch int64) (res Resource, created bool, err error)
	// Delete stores a deletion version of type/id and returns it. ErrNotFound
	// when it never existed; deleting a deleted resource stores nothing and
	// returns the existing deletion version. ifMatch as in Put.
	Delete(ctx context.Context, typ, id string, ifMatch int64) (Resource, error)
}
