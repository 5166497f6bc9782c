package memstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

var _ subscription.NodeRegistry = (*Store)(nil)

// PublishNode keeps r as nodeID's latest report; see
// subscription.NodeRegistry. The in-memory store serves one node, but
// keeps the contract whole (a test may publish several).
func (s *Store) PublishNode(ctx context.Context, r subscription.NodeReport) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.Reported = s.now().UTC()
	r.Subscriptions = slices.Clone(r.Subscriptions)
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	if s.nodes == nil {
		s.nodes = map[string]subscription.NodeReport{}
	}
	s.nodes[r.NodeID] = r
	return nil
}

// LiveNodes returns the reports published within ttl, by node id, and
// forgets older ones.
func (s *Store) LiveNodes(ctx context.Context, ttl time.Duration) ([]subscription.NodeReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cutoff := s.now().Add(-ttl)
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	out := make([]subscription.NodeReport, 0, len(s.nodes))
	for id, r := range s.nodes {
		if r.Reported.Before(cutoff) {
			delete(s.nodes, id)
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b subscription.NodeReport) int { return strings.Compare(a.NodeID, b.NodeID) })
	return out, nil
}

// RetireNode forgets nodeID's report.
func (s *Store) RetireNode(ctx context.Context, nodeID string) error {
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	delete(s.nodes, nodeID)
	return nil
}
