package subscription

import (
	"context"
	"fmt"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/google/uuid"
)

// Service is the entry point for every resource read and write. Writes go
// through a Writer inside a Store transaction, which is where later stages
// (Subscription validation, matching, event append) attach, so that a REST
// call, a transaction Bundle entry and an internal write behave the same.
type Service struct {
	store Store
	newID func() string
}

// NewService returns a Service over store.
func NewService(store Store) *Service {
	return &Service{store: store, newID: uuid.NewString}
}

// Writer performs writes inside one transaction; see Service.Transaction.
type Writer struct {
	svc *Service
	tx  Tx
}

// Transaction runs fn with a Writer whose writes commit together when fn
// returns nil, and not at all otherwise.
func (s *Service) Transaction(ctx context.Context, fn func(w *Writer) error) error {
	return s.store.Tx(ctx, func(tx Tx) error {
		return fn(&Writer{svc: s, tx: tx})
	})
}

// NewID returns a fresh server-assigned resource id.
func (s *Service) NewID() string { return s.newID() }

// Create stores r under a new server-assigned id (any id in the body is
// replaced, as FHIR create requires).
func (w *Writer) Create(ctx context.Context, r *fhir.Resource) (Resource, error) {
	return w.CreateWithID(ctx, r, w.svc.newID())
}

// CreateWithID stores r as version 1 under id, which the caller assigned
// (a transaction Bundle assigns ids before it rewrites urn:uuid references).
func (w *Writer) CreateWithID(ctx context.Context, r *fhir.Resource, id string) (Resource, error) {
	r.ID = id
	res, err := w.tx.Create(ctx, r)
	if err != nil {
		return Resource{}, fmt.Errorf("create %s: %w", r.Type, err)
	}
	return res, nil
}

// Update stores the next version of r (r.ID must be set), creating it if it
// has no live version. ifMatch > 0 requires the current version to be
// ifMatch.
func (w *Writer) Update(ctx context.Context, r *fhir.Resource, ifMatch int64) (Resource, bool, error) {
	if r.ID == "" {
		return Resource{}, false, fhir.Invalid("id", "update needs an id")
	}
	res, created, err := w.tx.Put(ctx, r, ifMatch)
	if err != nil {
		return Resource{}, false, fmt.Errorf("update %s/%s: %w", r.Type, r.ID, err)
	}
	return res, created, nil
}

// Delete records the deletion of typ/id.
func (w *Writer) Delete(ctx context.Context, typ, id string, ifMatch int64) (Resource, error) {
	res, err := w.tx.Delete(ctx, typ, id, ifMatch)
	if err != nil {
		return Resource{}, fmt.Errorf("delete %s/%s: %w", typ, id, err)
	}
	return res, nil
}

// Read returns the current version of typ/id as this transaction sees it.
func (w *Writer) Read(ctx context.Context, typ, id string) (Resource, error) {
	return w.tx.Read(ctx, typ, id)
}

// Create stores r under a new id in its own transaction.
func (s *Service) Create(ctx context.Context, r *fhir.Resource) (res Resource, err error) {
	err = s.Transaction(ctx, func(w *Writer) error {
		res, err = w.Create(ctx, r)
		return err
	})
	return res, err
}

// Update stores the next version of r in its own transaction.
func (s *Service) Update(ctx context.Context, r *fhir.Resource, ifMatch int64) (res Resource, created bool, err error) {
	err = s.Transaction(ctx, func(w *Writer) error {
		res, created, err = w.Update(ctx, r, ifMatch)
		return err
	})
	return res, created, err
}

// Delete records the deletion of typ/id in its own transaction.
func (s *Service) Delete(ctx context.Context, typ, id string, ifMatch int64) (res Resource, err error) {
	err = s.Transaction(ctx, func(w *Writer) error {
		res, err = w.Delete(ctx, typ, id, ifMatch)
		return err
	})
	return res, err
}

// Read returns the current version of typ/id (see Store.Read).
func (s *Service) Read(ctx context.Context, typ, id string) (Resource, error) {
	return s.store.Read(ctx, typ, id)
}

// VRead returns version vid of typ/id (see Store.VRead).
func (s *Service) VRead(ctx context.Context, typ, id string, vid int64) (Resource, error) {
	return s.store.VRead(ctx, typ, id, vid)
}

// History returns every version of typ/id, newest first.
func (s *Service) History(ctx context.Context, typ, id string) ([]Resource, error) {
	return s.store.History(ctx, typ, id)
}

// Search returns every current resource of q.Type that q matches, ordered by
// LastUpdated then ID; paging and sorting are the caller's.
func (s *Service) Search(ctx context.Context, q *fhir.Query) ([]Resource, error) {
	return s.store.Search(ctx, q.Type, q.Match)
}

// Ping reports whether the store is reachable.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }
