package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var _ subscription.DeliveryStore = (*Store)(nil)

// deliveryColumns are read by scanDelivery, in its order.
const deliveryColumns = `subscription_id, cursor, handshake, notifications, events, failures,
 consecutive_failures, failing_since, next_attempt, error, error_code, last_success`

func scanDelivery(row pgx.Row) (subscription.DeliveryState, error) {
	var st subscription.DeliveryState
	var failing, next, success *time.Time
	err := row.Scan(&st.SubscriptionID, &st.Cursor, &st.Handshake, &st.Notifications, &st.Events, &st.Failures,
		&st.ConsecutiveFailures, &failing, &next, &st.Error, &st.ErrorCode, &success)
	if failing != nil {
		st.FailingSince = failing.UTC()
	}
	if next != nil {
		st.NextAttempt = next.UTC()
	}
	if success != nil {
		st.LastSuccess = success.UTC()
	}
	return st, err
}

// ClaimDeliveries takes or renews the leases on subIDs in one statement
// (migrations/0006); see subscription.DeliveryStore. The ids are sorted
// so that two nodes claiming overlapping sets lock rows in one order.
func (s *Store) ClaimDeliveries(ctx context.Context, holder string, ttl time.Duration, subIDs []string) (map[string]subscription.DeliveryState, error) {
	ids := slices.Clone(subIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	rows, err := s.pool.Query(ctx, `
INSERT INTO rest_hook_deliveries AS d (subscription_id, lease_holder, lease_expires)
SELECT id, $2, clock_timestamp() + $3 * interval '1 microsecond' FROM unnest($1::text[]) AS id
ON CONFLICT (subscription_id) DO UPDATE
   SET lease_holder = EXCLUDED.lease_holder, lease_expires = EXCLUDED.lease_expires
 WHERE d.lease_holder = EXCLUDED.lease_holder OR d.lease_holder = '' OR d.lease_expires < clock_timestamp()
RETURNING `+deliveryColumns, ids, holder, ttl.Microseconds())
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", translate(err))
	}
	return collectDeliveries(rows)
}

func collectDeliveries(rows pgx.Rows) (map[string]subscription.DeliveryState, error) {
	defer rows.Close()
	out := map[string]subscription.DeliveryState{}
	for rows.Next() {
		st, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("read delivery states: %w", translate(err))
		}
		out[st.SubscriptionID] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read delivery states: %w", translate(err))
	}
	return out, nil
}

// SaveDelivery stores st if holder holds the lease; see
// subscription.DeliveryStore.
func (s *Store) SaveDelivery(ctx context.Context, holder string, st subscription.DeliveryState) error {
	// One round trip: the batch runs as one implicit transaction, so SET
	// LOCAL covers the UPDATE. synchronous_commit off spares a WAL flush
	// per POST; a save lost to a database crash only makes the endpoint
	// get those events again, which at-least-once allows. (The lease
	// fence still holds: the row lock and the WHERE decide, durable or
	// not.)
	b := &pgx.Batch{}
	b.Queue(`SET LOCAL synchronous_commit TO OFF`)
	upd := b.Queue(`
UPDATE rest_hook_deliveries SET
    cursor = GREATEST(cursor, $3), handshake = $4, notifications = $5, events = $6, failures = $7,
    consecutive_failures = $8, failing_since = $9, next_attempt = $10, error = $11, error_code = $12,
    last_success = $13
 WHERE subscription_id = $1 AND lease_holder = $2 AND lease_expires >= clock_timestamp()`,
		st.SubscriptionID, holder, st.Cursor, st.Handshake, st.Notifications, st.Events, st.Failures,
		st.ConsecutiveFailures, nullTime(st.FailingSince), nullTime(st.NextAttempt), st.Error, st.ErrorCode,
		nullTime(st.LastSuccess))
	var tag pgconn.CommandTag
	upd.Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("save delivery of %s: %w", st.SubscriptionID, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("save delivery of %s: %w", st.SubscriptionID, subscription.ErrLeaseLost)
	}
	return nil
}

// ReleaseDelivery gives up holder's lease on subID.
func (s *Store) ReleaseDelivery(ctx context.Context, subID, holder string) error {
	_, err := s.pool.Exec(ctx, `
UPDATE rest_hook_deliveries SET lease_holder = '', lease_expires = '-infinity'
 WHERE subscription_id = $1 AND lease_holder = $2`, subID, holder)
	if err != nil {
		return fmt.Errorf("release delivery of %s: %w", subID, translate(err))
	}
	return nil
}

// DeliveryStates returns the stored states of subIDs.
func (s *Store) DeliveryStates(ctx context.Context, subIDs []string) (map[string]subscription.DeliveryState, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM rest_hook_deliveries WHERE subscription_id = ANY($1)`, subIDs)
	if err != nil {
		return nil, fmt.Errorf("read delivery states: %w", translate(err))
	}
	return collectDeliveries(rows)
}

// nullTime is t, or NULL for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
