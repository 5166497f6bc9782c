package memstore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
)

var _ subscription.Store = (*Store)(nil)

type key struct{ typ, id string }

// Store is an in-memory subscription.Store. The zero value is not usable;
// call New.
type Store struct {
	mu       sync.RWMutex
	versions map[string]map[string][]subscription.Resource // type → id → versions, oldest first; guarded by mu
	logs     map[string]eventLog                           // subscription ID → event log; guarded by mu
	index    map[string]*typeIndex                         // type → search index of its live resources; guarded by mu
	closed   bool                                          // guarded by mu
	// The history index (history.go): every version in history order, for
	// all types and per type; guarded by mu.
	hist       []histRef
	histByType map[string][]histRef
	now        func() time.Time // set at construction

	// Tokens live outside the transactional maps: they are written and
	// consumed on their own, never inside a resource transaction.
	locks keyLocks // Store.Lock's named locks, independent of mu

	tokMu  sync.Mutex
	tokens map[[sha256.Size]byte]subscription.Grant // guarded by tokMu
	nodes  map[string]subscription.NodeReport       // node id → latest report; guarded by tokMu

	// Rest-hook delivery state and leases (delivery.go), likewise outside
	// resource transactions.
	delMu      sync.Mutex
	deliveries map[string]*delivery // guarded by delMu
}

// New returns an empty Store.
func New() *Store {
	return &Store{versions: map[string]map[string][]subscription.Resource{}, logs: map[string]eventLog{}, index: map[string]*typeIndex{}, now: time.Now}
}

var errClosed = errors.New("memstore: closed")

// Tx runs fn under the store's write lock; see subscription.Store.Tx.
func (s *Store) Tx(ctx context.Context, fn func(tx subscription.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	tx := &tx{s: s, overlay: map[key][]subscription.Resource{}, vals: map[key]*search.Values{}}
	if err := fn(tx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for k, vs := range tx.overlay {
		byID := s.versions[k.typ]
		if byID == nil {
			byID = map[string][]subscription.Resource{}
			s.versions[k.typ] = byID
		}
		byID[k.id] = append(byID[k.id], vs...)
		s.recordHistory(vs)
		s.typeIndex(k.typ).put(vs[len(vs)-1], tx.vals[k])
	}
	tx.commitEvents()
	return nil
}

func current(vs []subscription.Resource) (subscription.Resource, error) {
	if len(vs) == 0 {
		return subscription.Resource{}, subscription.ErrNotFound
	}
	r := vs[len(vs)-1]
	if r.Deleted {
		return r, subscription.ErrGone
	}
	return r, nil
}

func (s *Store) readLocked(typ, id string) []subscription.Resource {
	return s.versions[typ][id]
}

// Read returns the current version of typ/id.
func (s *Store) Read(ctx context.Context, typ, id string) (subscription.Resource, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return subscription.Resource{}, errClosed
	}
	return current(s.readLocked(typ, id))
}

// VRead returns version vid of typ/id.
func (s *Store) VRead(ctx context.Context, typ, id string, vid int64) (subscription.Resource, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return subscription.Resource{}, errClosed
	}
	vs := s.readLocked(typ, id)
	if vid < 1 || vid > int64(len(vs)) {
		return subscription.Resource{}, subscription.ErrNotFound
	}
	r := vs[vid-1]
	if r.Deleted {
		return r, subscription.ErrGone
	}
	return r, nil
}

// History returns every version of typ/id, newest first.
func (s *Store) History(ctx context.Context, typ, id string) ([]subscription.Resource, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	vs := s.readLocked(typ, id)
	if len(vs) == 0 {
		return nil, subscription.ErrNotFound
	}
	out := slices.Clone(vs)
	slices.Reverse(out)
	return out, nil
}

// Search returns the current live resources of typ that match accepts.
func (s *Store) Search(ctx context.Context, typ string, match func([]byte) (bool, error)) ([]subscription.Resource, error) {
	s.mu.RLock()
	var live []subscription.Resource
	for _, vs := range s.versions[typ] {
		if r := vs[len(vs)-1]; !r.Deleted {
			live = append(live, r)
		}
	}
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return nil, errClosed
	}
	// Match outside the lock: bodies are immutable and matching is the
	// expensive part.
	var out []subscription.Resource
	for _, r := range live {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ok, err := match(r.Body)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b subscription.Resource) int {
		return cmp.Or(a.LastUpdated.Compare(b.LastUpdated), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Ping reports whether the store is open, and fails when ctx is done, as a
// store behind a network would.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return subscription.ErrUnavailable
	}
	return nil
}

// Close marks the store closed; later calls fail.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// tx is a transaction: writes go to overlay until Store.Tx merges them.
type tx struct {
	s       *Store
	overlay map[key][]subscription.Resource // new versions, oldest first
	vals    map[key]*search.Values          // the search values of the newest version in overlay; nil for a deletion
	events  map[string]eventLog             // subscription ID → the log's new head and new events only; nil until the first AppendEvents
}

func (t *tx) versions(typ, id string) []subscription.Resource {
	base := t.s.readLocked(typ, id)
	if o := t.overlay[key{typ, id}]; len(o) > 0 {
		return append(slices.Clip(base), o...)
	}
	return base
}

func (t *tx) Read(ctx context.Context, typ, id string) (subscription.Resource, error) {
	return current(t.versions(typ, id))
}

func (t *tx) stamp() time.Time { return t.s.now().UTC().Truncate(time.Millisecond) }

func (t *tx) add(r subscription.Resource) (subscription.Resource, error) {
	k := key{r.Type, r.ID}
	var vals *search.Values
	if !r.Deleted {
		r.Target = search.NewTarget(r.Body)
		var err error
		if vals, err = r.Target.Extract(); err != nil {
			return subscription.Resource{}, fmt.Errorf("index %s/%s: %w", r.Type, r.ID, err)
		}
	}
	stored := r
	stored.Target = nil // kept only by the caller: the parse is large
	t.overlay[k] = append(t.overlay[k], stored)
	t.vals[k] = vals
	return r, nil
}

func (t *tx) Create(ctx context.Context, r *fhir.Resource) (subscription.Resource, error) {
	if len(t.versions(r.Type, r.ID)) > 0 {
		return subscription.Resource{}, subscription.ErrConflict
	}
	now := t.stamp()
	body := r.Stamp(r.ID, 1, now)
	return t.add(subscription.Resource{Type: r.Type, ID: r.ID, VersionID: 1, LastUpdated: now, Body: body})
}

func (t *tx) Put(ctx context.Context, r *fhir.Resource, ifMatch int64) (subscription.Resource, bool, error) {
	vs := t.versions(r.Type, r.ID)
	var prev int64
	created := true
	if n := len(vs); n > 0 {
		prev = vs[n-1].VersionID
		created = vs[n-1].Deleted
	}
	if ifMatch > 0 && ifMatch != prev {
		return subscription.Resource{}, false, subscription.ErrPreconditionFailed
	}
	now := t.stamp()
	body := r.Stamp(r.ID, prev+1, now)
	res, err := t.add(subscription.Resource{Type: r.Type, ID: r.ID, VersionID: prev + 1, LastUpdated: now, Body: body})
	return res, created, err
}

func (t *tx) Delete(ctx context.Context, typ, id string, ifMatch int64) (subscription.Resource, error) {
	vs := t.versions(typ, id)
	if len(vs) == 0 {
		return subscription.Resource{}, subscription.ErrNotFound
	}
	last := vs[len(vs)-1]
	if ifMatch > 0 && ifMatch != last.VersionID {
		return subscription.Resource{}, subscription.ErrPreconditionFailed
	}
	if last.Deleted {
		return last, nil
	}
	return t.add(subscription.Resource{Type: typ, ID: id, VersionID: last.VersionID + 1, LastUpdated: t.stamp(), Deleted: true})
}
