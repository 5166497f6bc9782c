// What the WebSocket hub asks the Service about subscriptions when a
// socket binds, delivers or re-authenticates (the hub's notify.Backend;
// its tokens are in tokens.go, its events in events.go).

package subscription

import "context"

// ResourceTypesOf returns the resource types whose writes may notify sub,
// over the Service's current topics (sub.ResourceTypes). A WebSocket
// session re-authenticated in band checks that its new principal may
// still read each of them before it keeps the binding.
func (s *Service) ResourceTypesOf(sub *Subscription) []string {
	return sub.ResourceTypes(s.topics)
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
