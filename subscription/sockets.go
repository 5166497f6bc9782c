// What the WebSocket hub asks the Service about subscriptions when a
// socket binds, delivers or re-authenticates (the hub's notify.Backend;
// its tokens are in tokens.go, its events and Deliverable in events.go).

package subscription

import (
	"context"

	"github.com/fhirbell/fhirbell/auth"
)

// Bindable decides whether principal p may hold a socket binding of sub:
// receive its handshakes, heartbeats and status (what $status shows) and
// be offered its events, each of which is then judged on its own
// (Deliverable). It asks what a REST caller would need: reading the
// Subscription (a Subscription read scope, and p manages it: its owner or
// an admin), and reading every resource type sub notifies about; when
// only patient/ scopes allow a type, p's patient must be the one sub was
// created for (another compartment's events would all be withheld). The
// error is an auth.ErrForbidden that says why. The hub asks it at every
// bind and every renewal of a socket's authorization, before it writes
// anything for the binding.
func (s *Service) Bindable(p auth.Principal, sub *Subscription) error {
	if err := principalAccess(p, auth.Read, "Subscription", nil, nil); err != nil {
		return err
	}
	if !sub.Owner.MayManage(p) {
		return forbidden("Subscription/%s belongs to another principal", sub.ID)
	}
	for _, typ := range sub.ResourceTypes(s.topics) {
		allowed, patient := p.Can(typ, auth.Read)
		if !allowed {
			allowed, patient = granular(p, auth.Read, typ) // each event is then checked against the constraints
		}
		switch {
		case !allowed:
			return forbidden("the granted scopes do not allow reading %s, which Subscription/%s notifies about", typ, sub.ID)
		case patient != "" && patient != sub.Owner.Patient:
			return forbidden("the granted scopes allow reading %s only in another patient's compartment than Subscription/%s's", typ, sub.ID)
		}
	}
	return nil
}

// ActiveSubscription returns subscription id from memory if it is an
// active websocket subscription (what a socket may bind); rest-hook ones
// are RestHookSubscription's (delivery.go).
func (s *Service) ActiveSubscription(id string) (*Subscription, bool) {
	sub, ok := s.index.get(id)
	if !ok || !sub.socketActive() {
		return nil, false
	}
	return sub, true
}

// LookupActive returns subscription id if it is an active websocket one, like
// ActiveSubscription, but on a miss it first refreshes id from the store:
// in a cluster a subscription created on another node may not have reached
// this node's memory yet (a broadcast takes milliseconds, the polling
// fallback up to a second), and a client that creates a subscription and
// at once asks another node for a ticket or binds there must not be told
// it does not exist.
func (s *Service) LookupActive(ctx context.Context, id string) (*Subscription, bool, error) {
	if sub, ok := s.index.get(id); ok && sub.socketActive() {
		return sub, true, nil
	}
	if err := s.Refresh(ctx, []string{id}, nil); err != nil {
		return nil, false, err
	}
	sub, ok := s.index.get(id)
	if !ok || !sub.socketActive() {
		return nil, false, nil
	}
	return sub, true, nil
}
