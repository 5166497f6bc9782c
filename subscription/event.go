package subscription

import (
	"context"
	"encoding/json"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
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
}

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
	// ascending order, at most limit of them (limit <= 0: no limit).
	Events(ctx context.Context, subID string, after, until int64, limit int) ([]Event, error)
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

// Events returns the retained events of subscription subID numbered in
// (after, until], ascending, at most limit (see EventLog.Events).
func (s *Service) Events(ctx context.Context, subID string, after, until int64, limit int) ([]Event, error) {
	return s.store.Events(ctx, subID, after, until, limit)
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
