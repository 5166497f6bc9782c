package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
	"github.com/jackc/pgx/v5"
)

var _ subscription.TokenStore = (*Store)(nil)

// PutToken stores t in ws_tokens (migrations/0003_tokens.sql, 0010_token_holder.sql); see
// subscription.TokenStore. A token whose hash is stored already gives an
// error wrapping subscription.ErrConflict (with 256-bit random secrets,
// only a caller's bug can cause one).
func (s *Store) PutToken(ctx context.Context, t subscription.StoredToken) error {
	ids := t.SubscriptionIDs
	if ids == nil {
		ids = []string{} // the column is NOT NULL; nil would be sent as NULL
	}
	var authExpires *time.Time
	if !t.AuthExpires.IsZero() {
		authExpires = &t.AuthExpires
	}
	_, err := s.pool.Exec(ctx, `
INSERT INTO ws_tokens (hash, kind, subscription_ids, expires_at, auth_expires_at, subject, client_id, scope, patient)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.Hash[:], t.Kind, ids, t.Expires, authExpires, t.Subject, t.ClientID, t.Scope, t.Patient)
	if err != nil {
		// Neither the hash nor anything else of the token goes into the
		// error: translate keeps only the server's message, not its detail
		// (which would name the key).
		return fmt.Errorf("put token: %w", translate(err))
	}
	return nil
}

// lookupTokenSQL returns the token with hash $1 as of $2, with an expired
// flag, in one statement: when consuming ($3), or when the token has
// expired, it deletes the row and returns it from the DELETE; otherwise it
// returns it from a plain read. The DELETE is what makes consuming
// single-use: under READ COMMITTED a concurrent DELETE of the same row
// waits for the first one's transaction and then finds no row, so exactly
// one consumer gets it, on whichever node. Both branches see the
// statement's one snapshot and their conditions exclude each other, so at
// most one row comes back.
const lookupTokenSQL = `
WITH gone AS (
    DELETE FROM ws_tokens WHERE hash = $1 AND ($3 OR expires_at <= $2)
    RETURNING kind, subscription_ids, expires_at, auth_expires_at, subject, client_id, scope, patient
)
SELECT kind, subscription_ids, expires_at, auth_expires_at, subject, client_id, scope, patient, expires_at <= $2 FROM gone
UNION ALL
SELECT kind, subscription_ids, expires_at, auth_expires_at, subject, client_id, scope, patient, false FROM ws_tokens
WHERE hash = $1 AND NOT $3 AND expires_at > $2`

// LookupToken returns the grant of the token with hash h, deleting it when
// consume is set or when it has expired; see subscription.TokenStore.
// Expiry is judged against now (the caller's clock, as every node's
// Service passes its own), not the database's clock: a token whose
// Expires is not after now is expired.
func (s *Store) LookupToken(ctx context.Context, h [sha256.Size]byte, consume bool, now time.Time) (subscription.Grant, error) {
	var g subscription.Grant
	var authExpires *time.Time
	var expired bool
	err := s.pool.QueryRow(ctx, lookupTokenSQL, h[:], now, consume).
		Scan(&g.Kind, &g.SubscriptionIDs, &g.Expires, &authExpires, &g.Subject, &g.ClientID, &g.Scope, &g.Patient, &expired)
	if errors.Is(err, pgx.ErrNoRows) {
		return subscription.Grant{}, subscription.ErrTokenInvalid
	}
	if err != nil {
		return subscription.Grant{}, fmt.Errorf("look up token: %w", translate(err))
	}
	if expired {
		return subscription.Grant{}, subscription.ErrTokenExpired
	}
	g.Expires = g.Expires.UTC()
	if authExpires != nil {
		g.AuthExpires = authExpires.UTC()
	}
	if len(g.SubscriptionIDs) == 0 {
		g.SubscriptionIDs = nil // as stored from nil; callers test len
	}
	return g, nil
}

// PruneTokens deletes the tokens that expired before before and returns
// how many; see subscription.TokenStore. Tokens live minutes and their
// number is bounded by the rate of issue, so one statement deletes them
// all.
func (s *Store) PruneTokens(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM ws_tokens WHERE expires_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("prune tokens: %w", translate(err))
	}
	return tag.RowsAffected(), nil
}
