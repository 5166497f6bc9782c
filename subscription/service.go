package subscription

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
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
type Service struct {
	store     Store
	newID     func() string
	now       func() time.Time
	pub       Publisher
	auth      Authorizer
	logger    *slog.Logger
	retention time.Duration

	topics *Topics
	index  *index

	cluster clusterState // see cluster.go
}

// Option configures a Service.
type Option func(*Service)

// WithPublisher sets who learns of appended events (default: nobody).
func WithPublisher(p Publisher) Option { return func(s *Service) { s.pub = p } }

// WithAuthorizer sets the authorization hook (default: OpenAuthorizer).
func WithAuthorizer(a Authorizer) Option { return func(s *Service) { s.auth = a } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.logger = l } }

// WithClock sets the time source (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithRetention sets how long events are kept (default 7 days).
func WithRetention(d time.Duration) Option { return func(s *Service) { s.retention = d } }

// DefaultRetention is how long events are kept unless configured.
const DefaultRetention = 7 * 24 * time.Hour

// NewService returns a Service over store. Call Load before serving.
func NewService(store Store, opts ...Option) *Service {
	s := &Service{
		store:     store,
		newID:     uuid.NewString,
		now:       time.Now,
		pub:       nopPublisher{},
		auth:      OpenAuthorizer{},
		logger:    slog.New(slog.DiscardHandler),
		retention: DefaultRetention,
		topics:    NewTopics(BuiltinTopics()...),
		index:     newIndex(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// SetPublisher sets who learns of appended events, for a Publisher that
// itself needs the Service (the WebSocket hub reads the event log). Call it
// before the Service takes writes.
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

// ActiveSubscription returns the active subscription id from memory.
func (s *Service) ActiveSubscription(id string) (*Subscription, bool) { return s.index.get(id) }

// Writer performs writes inside one transaction; see Service.Transaction.
type Writer struct {
	svc *Service
	tx  Tx
	// Set by the writes, applied or published after commit.
	after []func()
	refs  []EventRef
	evs   []Event // the events appended, for an EventsPublisher
	// Ids of the Subscription and SubscriptionTopic resources written,
	// broadcast to other nodes after commit (cluster.go).
	subIDs, topicIDs []string
}

// Transaction runs fn with a Writer whose writes commit together when fn
// returns nil, and not at all otherwise. fn may run more than once (see
// Store.Tx); only the last run's effects count.
func (s *Service) Transaction(ctx context.Context, fn func(w *Writer) error) error {
	var last *Writer
	err := s.store.Tx(ctx, func(tx Tx) error {
		last = &Writer{svc: s, tx: tx}
		return fn(last)
	})
	if err != nil {
		return err
	}
	for _, f := range last.after {
		f()
	}
	if len(last.refs) > 0 {
		if ep, ok := s.pub.(EventsPublisher); ok {
			ep.PublishEvents(last.evs)
		} else {
			s.pub.Publish(last.refs)
		}
	}
	s.broadcast(last)
	return nil
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
	r.Obj.Set("id", id)
	if err := checkAccess(ctx, auth.Create, r.Type, nil, r.Obj.Bytes()); err != nil {
		return Resource{}, err
	}
	if err := w.prepare(ctx, r, nil); err != nil {
		return Resource{}, err
	}
	res, err := w.tx.Create(ctx, r)
	if err != nil {
		return Resource{}, fmt.Errorf("create %s: %w", r.Type, err)
	}
	if err := w.written(ctx, InteractionCreate, nil, res); err != nil {
		return Resource{}, err
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
	prev, err := w.tx.Read(ctx, r.Type, r.ID)
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrGone) {
		return Resource{}, false, fmt.Errorf("update %s/%s: %w", r.Type, r.ID, err)
	}
	if prev.Body == nil {
		err = checkAccess(ctx, auth.Create, r.Type, nil, r.Obj.Bytes())
	} else {
		err = checkAccess(ctx, auth.Update, r.Type, prev.Body, r.Obj.Bytes())
	}
	if err != nil {
		return Resource{}, false, err
	}
	if err := w.prepare(ctx, r, prev.Body); err != nil {
		return Resource{}, false, err
	}
	res, created, err := w.tx.Put(ctx, r, ifMatch)
	if err != nil {
		return Resource{}, false, fmt.Errorf("update %s/%s: %w", r.Type, r.ID, err)
	}
	interaction := InteractionUpdate
	if created {
		interaction, prev.Body = InteractionCreate, nil
	}
	if err := w.written(ctx, interaction, prev.Body, res); err != nil {
		return Resource{}, false, err
	}
	return res, created, nil
}

// Delete records the deletion of typ/id.
func (w *Writer) Delete(ctx context.Context, typ, id string, ifMatch int64) (Resource, error) {
	prev, err := w.tx.Read(ctx, typ, id)
	if err != nil && !errors.Is(err, ErrGone) {
		return Resource{}, fmt.Errorf("delete %s/%s: %w", typ, id, err)
	}
	alreadyGone := errors.Is(err, ErrGone)
	if err := checkAccess(ctx, auth.Delete, typ, prev.Body, nil); err != nil {
		return Resource{}, err
	}
	if !alreadyGone {
		if err := w.prepareDelete(typ, id, prev.Body); err != nil {
			return Resource{}, err
		}
	}
	res, err := w.tx.Delete(ctx, typ, id, ifMatch)
	if err != nil {
		return Resource{}, fmt.Errorf("delete %s/%s: %w", typ, id, err)
	}
	if alreadyGone {
		return res, nil // nothing changed: no event
	}
	if err := w.written(ctx, InteractionDelete, prev.Body, res); err != nil {
		return Resource{}, err
	}
	return res, nil
}

// Read returns the current version of typ/id as this transaction sees it.
func (w *Writer) Read(ctx context.Context, typ, id string) (Resource, error) {
	return w.tx.Read(ctx, typ, id)
}

// prepare validates the resource types the engine owns and arranges for the
// in-memory state to follow after commit. prev is the current live body,
// nil when there is none.
func (w *Writer) prepare(ctx context.Context, r *fhir.Resource, prev []byte) error {
	s := w.svc
	switch r.Type {
	case "Subscription":
		// The owner is the server's to write: the creator, kept across
		// updates (an admin editing someone's subscription does not take it).
		owner := Owner{}
		if p, ok := auth.PrincipalFrom(ctx); ok {
			owner = OwnerOf(p)
		}
		if prev != nil {
			o, err := ownerOf(prev)
			if err != nil {
				return err
			}
			owner = o
		}
		if err := withOwner(r, owner); err != nil {
			return err
		}
		sub, err := ParseSubscription(r.Obj.Bytes(), s.topics, s.now())
		if err != nil {
			return err
		}
		if err := s.checkSubscriptionGrant(ctx, sub); err != nil {
			return err
		}
		sub.ID = r.ID
		body, err := ActivatedBody(r.Obj.Bytes(), sub)
		if err != nil {
			return err
		}
		nr, err := fhir.ParseResource(body)
		if err != nil {
			return err
		}
		*r = *nr
		noteChanged(&w.subIDs, sub.ID)
		w.after = append(w.after, func() {
			if sub.Status == StatusActive {
				s.index.put(sub, s.topics)
			} else {
				s.index.remove(sub.ID)
			}
		})
	case "SubscriptionTopic":
		if builtinID(r.ID) {
			return &fhir.ValidationError{Path: "SubscriptionTopic.id", Code: fhir.IssueNotSupported, Msg: fmt.Sprintf("%s is a built-in topic and cannot be changed", r.ID)}
		}
		t, err := ParseTopic(r.Obj.Bytes())
		if err != nil {
			return err
		}
		if old, ok := s.topics.Topic(t.URL); ok && old.ID != r.ID {
			if builtinID(old.ID) {
				return &fhir.ValidationError{Path: "SubscriptionTopic.url", Code: fhir.IssueConflict, Msg: fmt.Sprintf("%s is the canonical of a built-in topic", t.URL)}
			}
		}
		noteChanged(&w.topicIDs, r.ID)
		w.after = append(w.after, func() {
			s.topics.Add(t)
			s.reindex()
		})
	}
	return nil
}

// prepareDelete refuses deletions that would break the engine's state and
// arranges for the in-memory state to follow after commit.
func (w *Writer) prepareDelete(typ, id string, prev []byte) error {
	s := w.svc
	switch typ {
	case "Subscription":
		noteChanged(&w.subIDs, id)
		w.after = append(w.after, func() { s.index.remove(id) })
	case "SubscriptionTopic":
		if builtinID(id) {
			return &fhir.ValidationError{Path: "SubscriptionTopic.id", Code: fhir.IssueNotSupported, Msg: fmt.Sprintf("%s is a built-in topic and cannot be deleted", id)}
		}
		t, err := ParseTopic(prev)
		if err != nil {
			return nil // not a topic the engine knows
		}
		for _, sub := range s.index.all() {
			if sub.Kind == KindTopic && sub.TopicURL == t.URL {
				return fmt.Errorf("delete topic %s: active Subscription/%s uses it: %w", t.URL, sub.ID, ErrConflict)
			}
		}
		noteChanged(&w.topicIDs, id)
		w.after = append(w.after, func() {
			s.topics.Remove(t.URL)
			s.reindex()
		})
	}
	return nil
}

func builtinID(id string) bool {
	return slices.ContainsFunc(BuiltinTopics(), func(t *Topic) bool { return t.ID == id })
}

// reindex refiles every active subscription after the topics changed (a
// topic's trigger types decide where its subscriptions are filed).
func (s *Service) reindex() {
	for _, sub := range s.index.all() {
		s.index.put(sub, s.topics)
	}
}

// written matches a stored write against the active subscriptions and
// appends an event for each match. prev is the body before the write (nil
// on create); res the stored version (a deletion on delete).
func (w *Writer) written(ctx context.Context, interaction string, prev []byte, res Resource) error {
	s := w.svc
	cur := res.Body
	focus := cur
	if interaction == InteractionDelete {
		cur, focus = nil, prev
	}
	// One parse of each version, and one evaluation of each search
	// parameter, for the index lookup and every candidate.
	prevT, curT := target(prev), target(cur)
	focusT := curT
	if focusT == nil {
		focusT = prevT
	}
	cands, err := s.index.candidates(res.Type, focusT)
	if err != nil {
		return fmt.Errorf("match %s/%s: %w", res.Type, res.ID, err)
	}
	if len(cands) == 0 {
		return nil
	}
	now := s.now()
	var evs []Event
	for _, sub := range cands {
		if sub.Expired(now) {
			continue
		}
		ok, err := sub.MatchesTarget(interaction, prevT, curT, s.topics)
		if err != nil {
			// A subscription that cannot be evaluated must not fail the
			// client's write; it is logged and skipped.
			s.logger.Warn("subscription not evaluated", "subscription_id", sub.ID, "err", err)
			continue
		}
		if !ok {
			continue
		}
		if ok, err := s.auth.MayRead(ctx, sub, res.Type, focus); err != nil {
			return fmt.Errorf("authorize subscription %s: %w", sub.ID, err)
		} else if !ok {
			continue
		}
		ev := Event{
			SubscriptionID:    sub.ID,
			Time:              now.UTC().Truncate(time.Millisecond),
			Interaction:       interaction,
			FocusType:         res.Type,
			FocusID:           res.ID,
			FocusVersion:      res.VersionID,
			AdditionalContext: s.additionalContext(sub, res.Type, focusT),
		}
		if sub.Content == ContentFullResource && interaction != InteractionDelete {
			ev.Resource = cur
		}
		evs = append(evs, ev)
	}
	if len(evs) == 0 {
		return nil
	}
	// Counters are locked in subscription order, so that concurrent writes
	// matching the same subscriptions cannot deadlock.
	slices.SortFunc(evs, func(a, b Event) int { return strings.Compare(a.SubscriptionID, b.SubscriptionID) })
	evs, err = w.tx.AppendEvents(ctx, evs)
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	for _, ev := range evs {
		w.refs = append(w.refs, EventRef{SubscriptionID: ev.SubscriptionID, Number: ev.Number})
		w.evs = append(w.evs, ev)
	}
	return nil
}

// additionalContext lists the references a topic's notification shape
// includes for the focus (e.g. Encounter:patient), as "Type/id".
func (s *Service) additionalContext(sub *Subscription, typ string, focus *search.Target) []string {
	if sub.Kind != KindTopic || focus == nil {
		return nil
	}
	t, ok := s.topics.Topic(sub.TopicURL)
	if !ok {
		return nil
	}
	var out []string
	for _, shape := range t.Shapes {
		if shape.Resource != typ {
			continue
		}
		for _, inc := range shape.Include {
			param := includeParam(typ, inc)
			if param == "" {
				continue
			}
			keys, err := focus.IndexKeys(typ, param)
			if err != nil {
				continue
			}
			for _, k := range keys {
				if isTypedRef(k) && !slices.Contains(out, k) {
					out = append(out, k)
				}
			}
		}
	}
	return out
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

// Read returns the current version of typ/id (see Store.Read), if the
// caller may read it.
func (s *Service) Read(ctx context.Context, typ, id string) (Resource, error) {
	res, err := s.store.Read(ctx, typ, id)
	if err != nil && !errors.Is(err, ErrGone) {
		return res, err
	}
	if aerr := checkAccess(ctx, auth.Read, typ, res.Body, nil); aerr != nil {
		return Resource{}, aerr
	}
	return res, err
}

// VRead returns version vid of typ/id (see Store.VRead), if the caller may
// read it.
func (s *Service) VRead(ctx context.Context, typ, id string, vid int64) (Resource, error) {
	res, err := s.store.VRead(ctx, typ, id, vid)
	if err != nil && !errors.Is(err, ErrGone) {
		return res, err
	}
	if aerr := checkAccess(ctx, auth.Read, typ, res.Body, nil); aerr != nil {
		return Resource{}, aerr
	}
	return res, err
}

// History returns every version of typ/id, newest first, if the caller may
// read the resource (judged on its latest live version).
func (s *Service) History(ctx context.Context, typ, id string) ([]Resource, error) {
	versions, err := s.store.History(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	var latest []byte
	for _, v := range versions {
		if !v.Deleted {
			latest = v.Body
			break
		}
	}
	if err := checkAccess(ctx, auth.Read, typ, latest, nil); err != nil {
		return nil, err
	}
	return versions, nil
}

// Search returns every current resource of q.Type that q matches and the
// caller may see, ordered by LastUpdated then ID; paging and sorting are
// the caller's.
func (s *Service) Search(ctx context.Context, q *search.Query) ([]Resource, error) {
	if err := checkAccess(ctx, auth.Search, q.Type, nil, nil); err != nil {
		return nil, err
	}
	return s.store.Search(ctx, q.Type, func(body []byte) (bool, error) {
		ok, err := q.Match(body)
		return ok && visible(ctx, q.Type, body), err
	})
}

// Ping reports whether the store is reachable.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// includeParam returns the search parameter of an _include value such as
// "Encounter:patient" or "Encounter:subject:Patient" when it starts with
// typ, and "" otherwise.
func includeParam(typ, include string) string {
	parts := strings.Split(include, ":")
	if len(parts) < 2 || parts[0] != typ {
		return ""
	}
	return parts[1]
}

// isTypedRef reports whether an index key is a relative "Type/id" reference.
func isTypedRef(k string) bool {
	typ, id, ok := strings.Cut(k, "/")
	return ok && fhir.IsResourceType(typ) && fhir.ValidID(id)
}
