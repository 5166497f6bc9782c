package subscription

import (
	"context"
	"time"

	"github.com/fhirbell/fhirbell/auth"
)

// NodeReport is what one node of a cluster holds, as it last published it:
// the WebSocket bindings of the subscriptions bound on it and how far
// behind each one is. Every node publishes its own at a modest interval
// (NodeRegistry.PublishNode); any node can answer for the cluster by
// reading the reports of the live ones. Cursors and lags are as of
// Reported, not live.
type NodeReport struct {
	NodeID        string             `json:"node"`
	Address       string             `json:"address"` // where the node listens (its base URL, or host:port)
	Started       time.Time          `json:"started"`
	Reported      time.Time          `json:"reported"` // set by the registry, on its clock
	Sockets       int                `json:"sockets"`
	Bindings      int                `json:"bindings"`
	Subscriptions []NodeSubscription `json:"subscriptions"`
}

// NodeSubscription is one subscription bound on a node.
type NodeSubscription struct {
	ID string `json:"id"`
	// Head is the number of the subscription's last event in the log.
	Head int64 `json:"head"`
	// BindingCount is how many sockets of the node bind it; Bindings lists
	// at most MaxReportedBindings of them, the furthest behind first.
	BindingCount int           `json:"bindingCount"`
	Bindings     []NodeBinding `json:"bindings"`
	// MaxLag is the most events any binding of the node is behind Head;
	// OldestUndelivered is the write time of the oldest event one of them
	// has not received (zero when none is behind).
	MaxLag            int64     `json:"maxLag"`
	OldestUndelivered time.Time `json:"oldestUndelivered,omitzero"`
}

// NodeBinding is one socket's binding of a subscription.
type NodeBinding struct {
	Conn    uint64    `json:"conn"` // the socket's number on its node (conn_id in the node's logs)
	Dialect string    `json:"dialect"`
	Auth    string    `json:"auth"`
	Cursor  int64     `json:"cursor"` // the number of the last event sent
	Lag     int64     `json:"lag"`    // Head - Cursor
	Since   time.Time `json:"since"`  // when the socket opened
}

// MaxReportedBindings bounds the bindings listed per subscription per node,
// so that a report stays small whatever the fan-out.
const MaxReportedBindings = 50

// NodeRegistry keeps the nodes' reports: in the database for the Postgres
// store, so that every node sees every other, in memory for the in-memory
// store (a single node).
type NodeRegistry interface {
	// PublishNode stores r as the latest report of r.NodeID, stamping
	// Reported with the registry's clock.
	PublishNode(ctx context.Context, r NodeReport) error
	// LiveNodes returns the latest report of every node that published
	// within ttl, by node id. Older reports are left out (and may be
	// deleted): a node that stops publishing disappears.
	LiveNodes(ctx context.Context, ttl time.Duration) ([]NodeReport, error)
	// RetireNode deletes nodeID's report (a node shutting down).
	RetireNode(ctx context.Context, nodeID string) error
}

// DefaultNodeTTL is how long a node's report counts as live after it was
// published: three report intervals of the default 5 s.
const DefaultNodeTTL = 15 * time.Second

// WithNodeTTL sets how long a node's report counts as live (default
// DefaultNodeTTL); set it to about three report intervals.
func WithNodeTTL(d time.Duration) Option { return func(s *Service) { s.nodeTTL = d } }

// PublishNode stores this node's report (see NodeRegistry).
func (s *Service) PublishNode(ctx context.Context, r NodeReport) error {
	return s.store.PublishNode(ctx, r)
}

// RetireNode removes this node's report, at shutdown.
func (s *Service) RetireNode(ctx context.Context, nodeID string) error {
	return s.store.RetireNode(ctx, nodeID)
}

// Nodes returns the reports of the live nodes as the caller may see them:
// each node's totals (sockets, bindings), and of its subscriptions only
// those the caller may manage, as for $status (the owner, or an admin;
// everyone in auth mode none).
func (s *Service) Nodes(ctx context.Context) ([]NodeReport, error) {
	reports, err := s.store.LiveNodes(ctx, s.nodeTTL)
	if err != nil {
		return nil, err
	}
	p, authed := auth.PrincipalFrom(ctx)
	if !authed || p.Scopes.IsAdmin() {
		return reports, nil
	}
	mayManage := map[string]bool{}
	for i := range reports {
		kept := reports[i].Subscriptions[:0:0]
		for _, sub := range reports[i].Subscriptions {
			ok, seen := mayManage[sub.ID]
			if !seen {
				ok = s.mayManage(ctx, p, sub.ID)
				mayManage[sub.ID] = ok
			}
			if ok {
				kept = append(kept, sub)
			}
		}
		reports[i].Subscriptions = kept
	}
	return reports, nil
}

// mayManage reports whether p manages Subscription id: from memory when it
// is active, else from the store.
func (s *Service) mayManage(ctx context.Context, p auth.Principal, id string) bool {
	if sub, ok := s.index.get(id); ok {
		return sub.Owner.MayManage(p)
	}
	r, err := s.store.Read(ctx, "Subscription", id)
	if err != nil {
		return false
	}
	o, err := ownerOf(r.Body)
	return err == nil && o.MayManage(p)
}

// SubscriptionNode is one node's part of a subscription's bindings.
type SubscriptionNode struct {
	NodeID   string
	Address  string
	Reported time.Time
	NodeSubscription
}

// NodesOf returns, per live node that binds subscription id, its bindings
// and lag, by node id. The caller must have been allowed to read id's
// status already (Status checks it); it is not checked again.
func (s *Service) NodesOf(ctx context.Context, ids ...string) (map[string][]SubscriptionNode, error) {
	reports, err := s.store.LiveNodes(ctx, s.nodeTTL)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	out := map[string][]SubscriptionNode{}
	for _, r := range reports {
		for _, sub := range r.Subscriptions {
			if want[sub.ID] {
				out[sub.ID] = append(out[sub.ID], SubscriptionNode{NodeID: r.NodeID, Address: r.Address, Reported: r.Reported, NodeSubscription: sub})
			}
		}
	}
	return out, nil
}
