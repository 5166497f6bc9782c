package subscription

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
)

// Rest-hook delivery (the resthook package does the I/O). Events are
// numbered for a rest-hook subscription exactly as for a websocket one;
// what the rest-hook channel adds is durable: a cursor per subscription
// (the last event number its endpoint acknowledged with a 2xx), the
// failure record that $status reports, and a lease that lets exactly one
// node of a cluster deliver the subscription at a time.

// ErrLeaseLost means the caller no longer holds the delivery lease of a
// subscription (it expired and another node took it): the caller must stop
// delivering it without writing anything more.
var ErrLeaseLost = errors.New("delivery lease lost")

// Subscription error codes (http://terminology.hl7.org/CodeSystem/subscription-error).
const (
	SubscriptionErrorSystem = "http://terminology.hl7.org/CodeSystem/subscription-error"
	ErrorDNS                = "dns-resolution-error"
	ErrorNoResponse         = "no-response"
	ErrorResponse           = "error-response"
)

// DeliveryState is the durable delivery record of one rest-hook
// subscription.
type DeliveryState struct {
	SubscriptionID string
	// Cursor is the number of the last event the endpoint acknowledged.
	// Delivery resumes after it, on any node, after any restart.
	Cursor int64
	// Handshake is set once the endpoint answered a handshake with 2xx for
	// the current endpoint; cleared when the subscription asks for a new
	// handshake (status requested).
	Handshake bool

	// Counters since the subscription's first delivery, for $status and
	// dashboards: POSTs answered 2xx (Notifications), events in them
	// (Events), and attempts that failed (Failures).
	Notifications int64
	Events        int64
	Failures      int64

	// The current run of failures: how many attempts in a row failed,
	// since when (zero when the last attempt succeeded), when the next one
	// is due, and why the last failed (Error, with one of the
	// subscription-error codes in ErrorCode). Error never quotes headers or
	// response bodies.
	ConsecutiveFailures int
	FailingSince        time.Time
	NextAttempt         time.Time
	Error               string
	ErrorCode           string
	// LastSuccess is when an endpoint last answered 2xx.
	LastSuccess time.Time
}

// DeliveryStore keeps the delivery state and the leases of rest-hook
// subscriptions where every node sees them. State outlives its
// Subscription: event numbers continue when a deleted id is created
// again, and so must the cursor. Implementations are safe for
// concurrent use; both stores implement it and storetest checks them.
//
// A lease is held by a holder (one per node process) until it expires;
// holders renew it well before then. Expiry is judged by the store's clock
// (Postgres: the database's, so that nodes whose clocks disagree cannot
// steal leases from one another).
type DeliveryStore interface {
	// ClaimDeliveries takes or renews, for holder and for ttl, the lease on
	// each of subIDs that nobody holds, that holder holds already, or whose
	// holder's lease expired, in one step. It returns the stored state of
	// each subscription whose lease holder now has (a zero state naming it
	// the first time); the others are held by someone else.
	ClaimDeliveries(ctx context.Context, holder string, ttl time.Duration, subIDs []string) (map[string]DeliveryState, error)
	// SaveDelivery stores st for st.SubscriptionID if holder holds its
	// lease (ErrLeaseLost otherwise). The cursor never moves back: a lower
	// st.Cursor than the stored one keeps the stored one.
	SaveDelivery(ctx context.Context, holder string, st DeliveryState) error
	// ReleaseDelivery gives the lease up if holder holds it, so that another
	// node may take it at once (graceful shutdown); the state stays.
	ReleaseDelivery(ctx context.Context, subID, holder string) error
	// DeliveryStates returns the stored state of each named subscription
	// that has one.
	DeliveryStates(ctx context.Context, subIDs []string) (map[string]DeliveryState, error)
}

// EndpointPolicy decides whether rest-hook notifications may be sent to an
// endpoint. The Service asks it on every create and update of a rest-hook
// Subscription; the deliverer asks again when it connects (a name may
// resolve elsewhere by then). The error explains the refusal to the client
// and is a *fhir.ValidationError.
type EndpointPolicy interface {
	CheckEndpoint(ctx context.Context, endpoint string) error
}

// WithEndpointPolicy sets the policy for rest-hook endpoints (default: any
// endpoint is accepted; cmd/fhirbell always sets one).
func WithEndpointPolicy(p EndpointPolicy) Option { return func(s *Service) { s.endpoints = p } }

// prepareRestHook settles the status of a rest-hook Subscription being
// written and checks a new endpoint against the policy. prev is the stored
// body, nil on create. A new subscription, and one whose endpoint changed,
// waits in requested for a handshake even when the client sent active.
func (s *Service) prepareRestHook(ctx context.Context, sub *Subscription, prev []byte) error {
	if sub.ChannelType != ChannelRestHook {
		return nil
	}
	changed := true // a new endpoint, or one this node cannot compare
	if prev != nil {
		if old, err := ParseSubscription(prev, s.topics, s.now()); err == nil && old.ChannelType == ChannelRestHook && old.Endpoint == sub.Endpoint {
			changed = false
		}
	}
	if sub.Status == StatusActive && changed {
		sub.Status = StatusRequested
	}
	// An unchanged endpoint is not looked up again here: the deliverer
	// checks every connection anyway, and the server's own status writes
	// must not fail because the endpoint's name stopped resolving.
	if s.endpoints == nil || sub.Status == StatusOff || !changed {
		return nil
	}
	if err := s.endpoints.CheckEndpoint(ctx, sub.Endpoint); err != nil {
		var ve *fhir.ValidationError
		if errors.As(err, &ve) {
			return err
		}
		return &fhir.ValidationError{Path: "Subscription.channel.endpoint", Msg: err.Error(), Code: fhir.IssueSecurity}
	}
	return nil
}

// RestHookSubscriptions returns every rest-hook subscription whose events
// are being numbered (requested, active or error), in no particular order.
func (s *Service) RestHookSubscriptions() []*Subscription {
	var out []*Subscription
	for _, sub := range s.index.all() {
		if sub.ChannelType == ChannelRestHook {
			out = append(out, sub)
		}
	}
	return out
}

// RestHookSubscription returns rest-hook subscription id from memory if its
// events are being numbered.
func (s *Service) RestHookSubscription(id string) (*Subscription, bool) {
	sub, ok := s.index.get(id)
	if !ok || sub.ChannelType != ChannelRestHook {
		return nil, false
	}
	return sub, true
}

// SetDeliveryStatus records, as the server, what delivery learnt about
// rest-hook Subscription id: status active (handshake or delivery
// succeeded) or error with errorText. It stores a new version of the
// Subscription only when the stored one is still the subscription the
// deliverer worked for (same endpoint) and its status differs, so an
// owner's concurrent change (off, a new endpoint) always wins. It reports
// whether it wrote.
func (s *Service) SetDeliveryStatus(ctx context.Context, id, endpoint, status, errorText string) (bool, error) {
	if status != StatusActive && status != StatusError {
		return false, fmt.Errorf("set delivery status: status %q", status)
	}
	wrote := false
	err := s.Transaction(ctx, func(w *Writer) error {
		wrote = false
		cur, err := w.Read(ctx, "Subscription", id)
		if err != nil {
			return err
		}
		sub, err := ParseSubscription(cur.Body, s.topics, s.now())
		if err != nil {
			return err
		}
		if sub.ChannelType != ChannelRestHook || sub.Endpoint != endpoint || sub.Status == StatusOff {
			return nil
		}
		if sub.Status == status && (status != StatusError || sub.Error == errorText) {
			return nil
		}
		body, err := WithStatus(cur.Body, status, errorText)
		if err != nil {
			return err
		}
		r, err := fhir.ParseResource(body)
		if err != nil {
			return err
		}
		if _, _, err := w.Update(ctx, r, cur.VersionID); err != nil {
			return err
		}
		wrote = true
		return nil
	})
	if errors.Is(err, ErrPreconditionFailed) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrGone) {
		return false, nil // changed or deleted meanwhile: that change decides
	}
	if err != nil {
		return false, fmt.Errorf("set delivery status of subscription %s: %w", id, err)
	}
	return wrote, nil
}

// deliveryState returns the stored delivery state of subscription id, if
// the store keeps any.
func (s *Service) deliveryState(ctx context.Context, id string) (*DeliveryState, error) {
	ds, ok := s.store.(DeliveryStore)
	if !ok {
		return nil, nil
	}
	m, err := ds.DeliveryStates(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	if st, ok := m[id]; ok {
		return &st, nil
	}
	return &DeliveryState{SubscriptionID: id}, nil
}
