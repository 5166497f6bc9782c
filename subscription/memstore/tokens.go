package memstore

import (
	"context"
	"crypto/sha256"
	"slices"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

var _ subscription.TokenStore = (*Store)(nil)

// PutToken stores a token.
func (s *Store) PutToken(ctx context.Context, t subscription.StoredToken) error {
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	if s.tokens == nil {
		s.tokens = map[[sha256.Size]byte]subscription.Grant{}
	}
	g := t.Grant
	g.SubscriptionIDs = slices.Clone(g.SubscriptionIDs)
	s.tokens[t.Hash] = g
	return nil
}

// LookupToken returns (and with consume, deletes) the token with hash h.
func (s *Store) LookupToken(ctx context.Context, h [sha256.Size]byte, consume bool, now time.Time) (subscription.Grant, error) {
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	g, ok := s.tokens[h]
	if !ok {
		return subscription.Grant{}, subscription.ErrTokenInvalid
	}
	if consume || !now.Before(g.Expires) {
		delete(s.tokens, h)
	}
	if !now.Before(g.Expires) {
		return subscription.Grant{}, subscription.ErrTokenExpired
	}
	g.SubscriptionIDs = slices.Clone(g.SubscriptionIDs)
	return g, nil
}

// PruneTokens deletes tokens that expired before before.
func (s *Store) PruneTokens(ctx context.Context, before time.Time) (int64, error) {
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	var n int64
	for h, g := range s.tokens {
		if g.Expires.Before(before) {
			delete(s.tokens, h)
			n++
		}
	}
	return n, nil
}
