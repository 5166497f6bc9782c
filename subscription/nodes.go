package subscription

import (
	"context"
	"time"
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
