package subscription

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/google/uuid"
)

// Authorizer decides whether a subscription's owner may read a resource;
// the engine numbers and appends an event only when it may, so numbering
// never shows a gap that authorization made. Implementations are safe for
// concurrent use and must be fast: they run inside write transactions.
type Authorizer interface {
	MayRead(ctx context.Context, sub *Subscription, resourceType string, resource []byte) (bool, error)
}

// OpenAuthorizer lets every owner read everything (auth mode none).
type OpenAuthorizer struct{}

// MayRead returns true.
func (OpenAuthorizer) MayRead(context.Context, *Subscription, string, []byte) (bool, error) {
	return true, nil
}

type nopPublisher struct{}

func (nopPublisher) Publish([]EventRef) {}

// Service is the entry point for every resource read and write. Each write
// runs through a Writer inside one Store transaction which, besides storing
// the new version:
//   - validates Subscription and SubscriptionTopic resources (and stores a
//     Subscription with the status the server gives it);
//   - finds the active subscriptions the write matches (through an index by
//     resource type and pinned values), asks the Authorizer, and appends one
//     numbered event per match to the subscription's log.
//
// After the transaction commits, the Service updates its in-memory set of
// topics and active subscriptions and tells the Publisher which events were
// appended. A REST call, a transaction Bundle entry and an internal write
// all behave the same.
//
// Every resource a response carries is judged by one rule, the one that
// guards a read (readable in access.go): each read and vread, each
// history entry on its own, each search result, each Bundle entry, each
// $events and socket notification (Deliverable). A path that returns
// resources outside these methods (an _include, a new operation) must
// pass each one through Readable. What the caller may not see is
// ErrNotFound, like what does not exist.
type Service struct {
	store     Store
	newID     func() string
	now       func() time.Time
	pub       Publisher
	auth      Authorizer
	logger    *slog.Logger
	retention time.Duration
	nodeTTL   time.Duration
	endpoints EndpointPolicy // rest-hook endpoints; nil allows any (delivery.go)
	traceOf   func(ctx context.Context, subscriptionID string) string

	topics *Topics
	index  *index

	cluster clusterState // see cluster.go
	maint   maintStats   // see maintain.go
}

// Option configures a Service.
type Option func(*Service)

// WithAuthorizer sets the authorization hook (default: OpenAuthorizer).
func WithAuthorizer(a Authorizer) Option { return func(s *Service) { s.auth = a } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.logger = l } }

// WithClock sets the time source (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithRetention sets how long events are kept (default 7 days).
func WithRetention(d time.Duration) Option { return func(s *Service) { s.retention = d } }

// WithEventTrace sets how an event learns the trace of the write that
// caused it: f is called once per event a write appends, with the write's
// ctx, and returns the W3C traceparent to store with the event, or "".
// Without it events carry no trace (tracing off). The Service itself knows
// no tracing library.
func WithEventTrace(f func(ctx context.Context, subscriptionID string) string) Option {
	return func(s *Service) { s.traceOf = f }
}

// DefaultRetention is how long events are kept unless configured.
const DefaultRetention = 7 * 24 * time.Hour

// NewService returns a Service over store. Call Load before serving.
func NewService(store Store, opts ...Option) *Service {
	s := &Service{
		store:     store,
		newID:     newID,
		now:       time.Now,
		pub:       nopPublisher{},
		auth:      OpenAuthorizer{},
		logger:    slog.New(slog.DiscardHandler),
		retention: DefaultRetention,
		nodeTTL:   DefaultNodeTTL,
		topics:    NewTopics(BuiltinTopics()...),
		index:     newIndex(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// SetPublisher sets who learns of appended events (default: nobody). It is
// a setter, not an Option, because the Publisher (the WebSocket hub) itself
// needs the Service: build the Service, then the hub over it, then call
// SetPublisher, before the Service takes writes (before Load).
func (s *Service) SetPublisher(p Publisher) { s.pub = p }

// Topics returns the topics the server knows: built-in and user-defined.
func (s *Service) Topics() *Topics { return s.topics }

// Load prepares the Service: it stores the built-in topics that are not
// stored yet (so they can be read and searched like any resource), then
// reads every SubscriptionTopic and Subscription into memory (Reload).
// Stored resources that no longer validate are logged and skipped.
func (s *Service) Load(ctx context.Context) error {
	for _, t := range BuiltinTopics() {
		r, err := fhir.ParseResource(t.Raw)
		if err != nil {
			return fmt.Errorf("built-in topic %s: %w", t.URL, err)
		}
		err = s.store.Tx(ctx, func(tx Tx) error {
			if _, err := tx.Read(ctx, "SubscriptionTopic", t.ID); !errors.Is(err, ErrNotFound) {
				return err // present (or deleted on purpose, or an error)
			}
			_, err := tx.Create(ctx, r)
			return err
		})
		if err != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrGone) {
			return fmt.Errorf("store built-in topic %s: %w", t.URL, err)
		}
	}
	if err := s.Reload(ctx); err != nil {
		return err
	}
	s.logger.Info("subscriptions loaded", "topics", len(s.topics.All()), "active_subscriptions", len(s.index.all()))
	return nil
}

// NewID returns a fresh server-assigned resource id.
func (s *Service) NewID() string { return s.newID() }

// newID returns a version 7 UUID: random, but in the order of its
// creation time. The database's indexes are keyed by id; ids that grow
// with time put each insert at the right edge of the id B-trees and keep a
// code's hits, read in id order, on neighbouring pages, where random ids
// touch a page anywhere in an index larger than memory. An id so reveals
// when it was created, to the millisecond, as meta.lastUpdated already
// does for a resource's first version.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// reindex refiles every active subscription after the topics changed (a
// topic's trigger types decide where its subscriptions are filed).
func (s *Service) reindex() {
	for _, sub := range s.index.all() {
		s.index.put(sub, s.topics)
	}
}

// Ping reports whether the store is reachable.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }
