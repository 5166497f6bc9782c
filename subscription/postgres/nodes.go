package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
	"github.com/jackc/pgx/v5"
)

var _ subscription.NodeRegistry = (*Store)(nil)

// deadNodeAge is how long a silent node's row stays before a publisher
// deletes it; readers ignore it long before (their ttl).
const deadNodeAge = time.Hour

// PublishNode upserts r into cluster_nodes (migrations/0004_cluster_nodes.sql)
// with the database's now() as reported_at, and deletes rows silent for
// deadNodeAge; see subscription.NodeRegistry.
func (s *Store) PublishNode(ctx context.Context, r subscription.NodeReport) error {
	r.Reported = time.Time{} // the row's reported_at is the truth
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("publish node: %w", err)
	}
	batch := &pgx.Batch{}
	batch.Queue(`
INSERT INTO cluster_nodes (node_id, reported_at, report) VALUES ($1, now(), $2)
ON CONFLICT (node_id) DO UPDATE SET reported_at = now(), report = EXCLUDED.report`, r.NodeID, body)
	batch.Queue(`DELETE FROM cluster_nodes WHERE reported_at < now() - make_interval(secs => $1)`, deadNodeAge.Seconds())
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("publish node: %w", translate(err))
	}
	return nil
}

// LiveNodes returns the reports of the nodes that published within ttl of
// the database's now(), by node id.
func (s *Store) LiveNodes(ctx context.Context, ttl time.Duration) ([]subscription.NodeReport, error) {
	rows, err := s.pool.Query(ctx, `
SELECT reported_at, report FROM cluster_nodes
WHERE reported_at >= now() - make_interval(secs => $1)
ORDER BY node_id`, ttl.Seconds())
	if err != nil {
		return nil, fmt.Errorf("live nodes: %w", translate(err))
	}
	var (
		at   time.Time
		body []byte
		out  []subscription.NodeReport
	)
	_, err = pgx.ForEachRow(rows, []any{&at, &body}, func() error {
		var r subscription.NodeReport
		if err := json.Unmarshal(body, &r); err != nil {
			return fmt.Errorf("node report: %w", err)
		}
		r.Reported = at.UTC()
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("live nodes: %w", translate(err))
	}
	return out, nil
}

// RetireNode deletes nodeID's row.
func (s *Store) RetireNode(ctx context.Context, nodeID string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM cluster_nodes WHERE node_id = $1`, nodeID); err != nil {
		return fmt.Errorf("retire node: %w", translate(err))
	}
	return nil
}
