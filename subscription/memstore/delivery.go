package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

var _ subscription.DeliveryStore = (*Store)(nil)

// delivery is one rest-hook subscription's state and lease.
type delivery struct {
	st      subscription.DeliveryState
	holder  string
	expires time.Time
}

// ClaimDeliveries takes or renews the leases on subIDs; see
// subscription.DeliveryStore. Expiry is judged by the store's clock.
func (s *Store) ClaimDeliveries(ctx context.Context, holder string, ttl time.Duration, subIDs []string) (map[string]subscription.DeliveryState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.delMu.Lock()
	defer s.delMu.Unlock()
	if s.deliveries == nil {
		s.deliveries = map[string]*delivery{}
	}
	now := s.now()
	out := map[string]subscription.DeliveryState{}
	for _, id := range subIDs {
		d := s.deliveries[id]
		if d == nil {
			d = &delivery{st: subscription.DeliveryState{SubscriptionID: id}}
			s.deliveries[id] = d
		}
		if d.holder != "" && d.holder != holder && !d.expires.Before(now) {
			continue
		}
		d.holder, d.expires = holder, now.Add(ttl)
		out[id] = d.st
	}
	return out, nil
}

// SaveDelivery stores st if holder holds the lease.
func (s *Store) SaveDelivery(ctx context.Context, holder string, st subscription.DeliveryState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.delMu.Lock()
	defer s.delMu.Unlock()
	d := s.deliveries[st.SubscriptionID]
	if d == nil || d.holder != holder || d.expires.Before(s.now()) {
		return fmt.Errorf("save delivery of %s: %w", st.SubscriptionID, subscription.ErrLeaseLost)
	}
	st.Cursor = max(st.Cursor, d.st.Cursor)
	d.st = st
	return nil
}

// ReleaseDelivery gives up holder's lease on subID.
func (s *Store) ReleaseDelivery(ctx context.Context, subID, holder string) error {
	s.delMu.Lock()
	defer s.delMu.Unlock()
	if d := s.deliveries[subID]; d != nil && d.holder == holder {
		d.holder, d.expires = "", time.Time{}
	}
	return nil
}

// DeliveryStates returns the stored states of subIDs.
func (s *Store) DeliveryStates(ctx context.Context, subIDs []string) (map[string]subscription.DeliveryState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.delMu.Lock()
	defer s.delMu.Unlock()
	out := map[string]subscription.DeliveryState{}
	for _, id := range subIDs {
		if d := s.deliveries[id]; d != nil {
			out[id] = d.st
		}
	}
	return out, nil
}
