package subscription

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
)

// Event is one entry in a Subscription's event log: a write that matched
// the Subscription. Events are appended in the transaction of that write, so
// an event exists exactly when its write committed.
type Event struct {
	SubscriptionID    string
	Number            int64     // 1, 2, 3, … per subscription; assigned by AppendEvents
	Time              time.Time // when the write happened (the Service's clock, ms precision)
	Interaction       string    // create | update | delete
	FocusType         string
	FocusID           string
	FocusVersion      int64
	AdditionalContext []string        // relative references ("Patient/123") of related resources
	Resource          json.RawMessage // the focus version's body for full-resource subscriptions; nil otherwise
	// Trace is the W3C traceparent of the write that caused the event
	// ("" unless tracing is on, WithEventTrace). It is stored with the
	// event, so the span of its delivery joins the write's trace on
	// whichever node delivers it.
	Trace string
}

// eventOverhead is what an event costs in a byte budget besides its
// resource body: its number, times, references and the notification
// entry around it.
const eventOverhead = 512

// Size is what ev counts for in the byte budgets of delivery batches
// (EventLog.Events): its resource body plus a fixed overhead.
func (ev Event) Size() int64 { return int64(len(ev.Resource)) + eventOverhead }

// DefaultBatchBytes bounds the bytes of one delivery batch: a socket's
// read of the log, a rest-hook POST, a $events page. Always at least one
// event, however large.
const DefaultBatchBytes = 4 << 20

// EventRef names one event: enough for a wake-up.
type EventRef struct {
	SubscriptionID string
	Number         int64
}

// EventHead describes a subscription's log: Last is the highest number
// assigned (0 when none), FirstRetained the lowest number still stored
// (Last+1 when nothing is retained).
type EventHead struct {
	Last          int64
	FirstRetained int64
	// LastAt is the latest Time of the log's events (zero when none was
	// ever appended): how old the newest event is, for the delay of a
	// wake-up that found it by polling.
	LastAt time.Time
}

// EventTx is the event side of a Tx.
type EventTx interface {
	// AppendEvents appends evs to their subscriptions' logs, giving each the
	// next number of its subscription in slice order, and returns them with
	// Number set. Numbers start at 1 and have no gaps and no duplicates under
	// any concurrency: the counter moves inside the write's transaction, so a
	// transaction that rolls back consumes no number. Callers append in
	// ascending SubscriptionID order so concurrent transactions lock counters
	// in one order.
	AppendEvents(ctx context.Context, evs []Event) ([]Event, error)
}

// EventLog is the read and maintenance side of the event logs.
type EventLog interface {
	// Events returns the retained events of subscription subID numbered
	// after `after` and at most `until` (until <= 0: no upper bound), in
	// ascending order, at most limit of them (limit <= 0: no limit), and
	// no more than maxBytes of them by Event.Size (maxBytes <= 0: no
	// bound), though always the first: every delivery batch is bounded by
	// bytes as well as count, so that large resources cannot make one read
	// hold hundreds of megabytes. A store stops reading at the bound.
	Events(ctx context.Context, subID string, after, until int64, limit int, maxBytes int64) ([]Event, error)
	// EventHeads returns the head of each named subscription's log;
	// subscriptions with no log get EventHead{Last: 0, FirstRetained: 1}.
	EventHeads(ctx context.Context, subIDs []string) (map[string]EventHead, error)
	// PruneEvents deletes the events older than before (their numbers are
	// never reused) and returns how many it deleted. It always deletes a
	// prefix of each log, so the retained events are exactly
	// FirstRetained..Last; an event is judged by the latest time seen in its
	// log up to it, so with disagreeing clocks an older event may be kept
	// until the newer ones before it go.
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
	// EventRows returns how many events are retained over every log: exact
	// for a small log, an estimate (the planner's) for a large one, so that
	// asking it every few seconds costs nothing at any size.
	EventRows(ctx context.Context) (int64, error)
}

// EventCursor names a read of one subscription's log: the events after
// After.
type EventCursor struct {
	SubscriptionID string
	After          int64
}

// BatchEventLog is an EventLog that reads many subscriptions' logs in one
// round trip. A node woken for thousands of subscriptions by another
// node's write would otherwise ask the store once per subscription; the
// hub uses it when the store has it (Service.EventsOf falls back to one
// Events call per cursor).
type BatchEventLog interface {
	// EventsOf returns, for each cursor, what Events(ctx, SubscriptionID,
	// After, 0, limit, maxBytes) would: the retained events after After,
	// ascending, at most limit and maxBytes of them (each bound applies to
	// each subscription on its own; always the first event). Subscriptions
	// with no such event are absent from the map. A subscription named
	// twice is read from the lower After.
	EventsOf(ctx context.Context, cursors []EventCursor, limit int, maxBytes int64) (map[string][]Event, error)
}

// Publisher learns of events after their transaction committed. The
// WebSocket hub implements it to wake the bindings that care; it must not
// block (the events themselves are in the log, so a wake-up that is lost is
// recovered by polling).
type Publisher interface {
	Publish(refs []EventRef)
}

// EventsPublisher is a Publisher that also takes the events themselves:
// the Service hands them over instead of their refs, so that subscribers
// on this node need not read back from the log what was just written (one
// write that matches 10,000 subscriptions would otherwise cost 10,000
// reads). The events must not be modified.
type EventsPublisher interface {
	Publisher
	PublishEvents(evs []Event)
}

// EventsOf reads the events after each cursor (see BatchEventLog), in one
// round trip when the store is a BatchEventLog, else one Events call per
// subscription. Like the hub's Events it filters nothing: it is the
// server's read, not a principal's.
func (s *Service) EventsOf(ctx context.Context, cursors []EventCursor, limit int, maxBytes int64) (map[string][]Event, error) {
	if b, ok := s.store.(BatchEventLog); ok {
		return b.EventsOf(ctx, cursors, limit, maxBytes)
	}
	return EventsOfEach(ctx, s.store, cursors, limit, maxBytes)
}

// EventsOfEach is BatchEventLog.EventsOf done with one Events call per
// subscription, each from its lowest After: what a store whose reads cost
// no round trip (the memory store) needs, and the Service's fallback.
func EventsOfEach(ctx context.Context, log EventLog, cursors []EventCursor, limit int, maxBytes int64) (map[string][]Event, error) {
	low := make(map[string]int64, len(cursors))
	var ids []string // in first-named order
	for _, c := range cursors {
		a, ok := low[c.SubscriptionID]
		if !ok {
			ids = append(ids, c.SubscriptionID)
		}
		if !ok || c.After < a {
			low[c.SubscriptionID] = c.After
		}
	}
	out := make(map[string][]Event, len(ids))
	for _, id := range ids {
		evs, err := log.Events(ctx, id, low[id], 0, limit, maxBytes)
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 {
			out[id] = evs
		}
	}
	return out, nil
}

// Events returns the retained events of subscription subID numbered in
// (after, until], ascending, at most limit and maxBytes (see
// EventLog.Events). With a
// principal in ctx (a $events call) it leaves out the events that
// principal may not receive (Deliverable), so numbers may have gaps; the
// server itself (the socket hub, which judges each socket's principal when
// it sends) gets them all.
func (s *Service) Events(ctx context.Context, subID string, after, until int64, limit int, maxBytes int64) ([]Event, error) {
	evs, err := s.store.Events(ctx, subID, after, until, limit, maxBytes)
	p, ok := auth.PrincipalFrom(ctx)
	if err != nil || !ok {
		return evs, err
	}
	out := make([]Event, 0, len(evs))
	for _, ev := range evs {
		if s.Deliverable(ctx, p, ev) {
			out = append(out, ev)
		}
	}
	return out, nil
}

// Deliverable reports whether p may receive ev: whether p, with the grant
// it holds now, may read the event's focus (readable), the version the
// event is about or, for a deletion, the version it deleted. The event
// exists only because the subscription's owner could read it when it was
// written (the Authorizer), so a delivery is authorised by the owner's
// grant intersected with the receiver's. Every delivery path asks it
// before anything of the event is written: $events (Events), and each
// socket for each event it sends, so a token narrower than the one that
// created the subscription, or a renewal that narrowed, sees only what it
// could read over REST.
func (s *Service) Deliverable(ctx context.Context, p auth.Principal, ev Event) bool {
	if unrestricted(p, auth.Read, ev.FocusType) {
		return true // no body needed: spare the read
	}
	body := []byte(ev.Resource)
	if body == nil || ev.Interaction == InteractionDelete {
		vid := ev.FocusVersion
		if ev.Interaction == InteractionDelete {
			vid--
		}
		body = s.liveBody(ctx, ev.FocusType, ev.FocusID, vid)
	}
	return principalReadable(p, auth.Read, ev.FocusType, body) == nil
}

// EventHeads returns the head of each named subscription's log.
func (s *Service) EventHeads(ctx context.Context, subIDs []string) (map[string]EventHead, error) {
	return s.store.EventHeads(ctx, subIDs)
}

// NotificationEvent is ev in the shape of the notification builders: the
// focus as a relative reference (resolved against the FHIR base when
// written), the interaction as the HTTP method that caused it.
func NotificationEvent(ev Event) fhir.NotificationEvent {
	ne := fhir.NotificationEvent{
		Number:    ev.Number,
		Timestamp: ev.Time,
		Focus:     &fhir.Reference{Reference: ev.FocusType + "/" + ev.FocusID},
		Resource:  ev.Resource,
	}
	switch ev.Interaction {
	case InteractionCreate:
		ne.Method = "POST"
	case InteractionUpdate:
		ne.Method = "PUT"
	case InteractionDelete:
		ne.Method = "DELETE"
	}
	for _, ref := range ev.AdditionalContext {
		ne.AdditionalContext = append(ne.AdditionalContext, fhir.Reference{Reference: ref})
	}
	return ne
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
	// The store prepared the written version for its search index; the
	// matcher reuses that parse and those evaluations.
	prevT, curT := target(prev), res.Target
	if curT == nil || cur == nil {
		curT = target(cur)
	}
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
			Interaction:       interaction,
			FocusType:         res.Type,
			FocusID:           res.ID,
			FocusVersion:      res.VersionID,
			AdditionalContext: s.additionalContext(sub, res.Type, focusT),
		}
		if s.traceOf != nil {
			ev.Trace = s.traceOf(ctx, sub.ID)
		}
		if sub.Content == ContentFullResource && interaction != InteractionDelete {
			ev.Resource = cur
		}
		evs = append(evs, ev)
	}
	w.pending = append(w.pending, evs...)
	if len(w.pending) >= maxPendingEvents {
		return w.appendPending(ctx)
	}
	return nil
}

// maxPendingEvents bounds the events a transaction holds before it appends
// them, so that one statement stays bounded however many writes and
// matches the transaction has.
const maxPendingEvents = 10_000

// appendPending appends the events of the transaction's writes so far, all
// in one call: a transaction Bundle whose entries match numbers them with
// one statement rather than one per entry, and takes each subscription's
// counter only then, at the end of the transaction rather than at its
// first matching entry (a counter is held until the commit).
func (w *Writer) appendPending(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	// Counters are locked in subscription order, so that concurrent writes
	// matching the same subscriptions cannot deadlock; the sort is stable
	// because a subscription's events are numbered in the order given,
	// which is the order of the writes.
	evs := w.pending
	w.pending = nil
	slices.SortStableFunc(evs, func(a, b Event) int { return strings.Compare(a.SubscriptionID, b.SubscriptionID) })
	// The events are timed when they are numbered, so that a log's times
	// follow its numbers: a long transaction numbering after a short one
	// must not give its later number an earlier time.
	at := w.svc.now().UTC().Truncate(time.Millisecond)
	for i := range evs {
		evs[i].Time = at
	}
	evs, err := w.tx.AppendEvents(ctx, evs)
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

// EventRows returns how many events the log retains (see EventLog).
func (s *Service) EventRows(ctx context.Context) (int64, error) { return s.store.EventRows(ctx) }
