package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/postgres"
)

// ClusterConfig is how a node takes part in a cluster of nodes sharing one
// Postgres database (docs/operations.md). It has no effect on the in-memory store.
type ClusterConfig struct {
	// Notify is "on" (default) or "off". Off sends no NOTIFY at all, so
	// other nodes learn of events and subscription changes only by
	// polling: slower (up to PollInterval) but complete. A test switch and
	// an escape hatch.
	Notify string
	// PollInterval is how often the node checks, without being told, for
	// Subscription and SubscriptionTopic changes made on other nodes and
	// that its LISTEN connection is alive (default 1 s). The WebSocket
	// hub's own poll of the heads of its bound subscriptions should use
	// the same interval.
	PollInterval time.Duration
	// ReportInterval is how often the node publishes what it holds
	// (sockets, bindings, cursors, lag) for the cluster view (default 5 s).
	// A node whose report is older than three intervals has left the view.
	ReportInterval time.Duration
}

// nodeTTL is how long a node's report stays in the cluster view.
func (c ClusterConfig) nodeTTL() time.Duration { return 3 * c.ReportInterval }

// DefaultClusterConfig returns the cluster settings used when nothing is
// set.
func DefaultClusterConfig() ClusterConfig {
	return ClusterConfig{Notify: "on", PollInterval: time.Second, ReportInterval: 5 * time.Second}
}

// Validate reports the first cluster setting that cannot work.
func (c ClusterConfig) Validate() error {
	switch c.Notify {
	case "on", "off":
	default:
		return fmt.Errorf("cluster-notify %q: want on or off", c.Notify)
	}
	if c.PollInterval < 10*time.Millisecond || c.PollInterval > time.Minute {
		return fmt.Errorf("cluster-poll-interval %s: want between 10ms and 1m", c.PollInterval)
	}
	if c.ReportInterval < 100*time.Millisecond || c.ReportInterval > 5*time.Minute {
		return fmt.Errorf("cluster-report-interval %s: want between 100ms and 5m", c.ReportInterval)
	}
	return nil
}

// registerClusterFlags adds the cluster flags of `fhirbell serve`
// (--cluster-notify, --cluster-poll-interval, with FHIRBELL_CLUSTER_*
// fallbacks) to e, storing into c.
func registerClusterFlags(e *envFlag, c *ClusterConfig) {
	e.String(&c.Notify, "cluster-notify", "send a NOTIFY to the other nodes after each write: on or off (off: they poll)")
	e.Duration(&c.PollInterval, "cluster-poll-interval", "how often a node polls for changes made on other nodes")
	e.Duration(&c.ReportInterval, "cluster-report-interval", "how often a node publishes its sockets, bindings and lag for the cluster view")
}

// clusterHub is what the cluster needs of the WebSocket hub (*notify.Hub):
// waking the local bindings of subscriptions that got events on another
// node, and polling the heads of every local binding at once after a
// reconnection or a poll hint.
type clusterHub interface {
	PublishSent(refs []subscription.EventRef, sent time.Time)
	Poll()
}

// startCluster makes this node a member of the cluster on store's
// database, when store is a *postgres.Store (otherwise it does nothing):
// it gives svc a Broadcaster, so that every committed change is announced by
// one NOTIFY, and starts a Listener that applies what other nodes announce
// (svc.Refresh for subscriptions and topics, hub.Publish for events), does
// a full svc.Reload after every (re)connection, and polls so that nothing
// depends on a notification arriving.
//
// Call it after svc.Load and before the server takes writes. stop ends
// both goroutines; call it after the HTTP server and the hub have shut down
// (the Broadcaster then sends what the last writes changed) and before the
// store is closed. The Broadcaster is returned for its counters (nil
// without Postgres).
func startCluster(ctx context.Context, cc ClusterConfig, nodeID string, store subscription.Store, svc *subscription.Service, hub clusterHub, logger *slog.Logger) (stop func(), _ *postgres.Broadcaster, err error) {
	pg, ok := store.(*postgres.Store)
	if !ok {
		return func() {}, nil, nil
	}
	if err := cc.Validate(); err != nil {
		return nil, nil, err
	}
	channel, err := postgres.ChannelFor(ctx, pg.Pool())
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: %w", err)
	}
	logger = logger.With("node_id", nodeID)
	broadcaster := postgres.NewBroadcaster(pg.Pool(), postgres.BroadcasterConfig{
		Channel:  channel,
		NodeID:   nodeID,
		Disabled: cc.Notify == "off",
		Logger:   logger,
	})
	svc.SetBroadcaster(broadcaster)

	// Callbacks get a context of their own: the run context ends at
	// shutdown, and a Refresh half-done then is harmless.
	const callbackTimeout = 30 * time.Second
	listener := postgres.NewListener(pg.Pool().Config().ConnConfig, postgres.ListenerConfig{
		Channel:      channel,
		NodeID:       nodeID,
		PollInterval: cc.PollInterval,
		Logger:       logger,
		OnChange: func(c subscription.Change) error {
			if len(c.Events) > 0 {
				hub.PublishSent(c.Events, c.Sent)
			}
			if len(c.Subscriptions) == 0 && len(c.Topics) == 0 {
				return nil
			}
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callbackTimeout)
			defer cancel()
			return svc.Refresh(rctx, c.Subscriptions, c.Topics)
		},
		OnPoll: hub.Poll,
		OnResync: func() error {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callbackTimeout)
			defer cancel()
			err := svc.Reload(rctx)
			hub.Poll()
			return err
		},
	})

	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { _ = broadcaster.Run(rctx) })
	wg.Go(func() { _ = listener.Run(rctx) })
	logger.Info("cluster member", "channel", channel, "notify", cc.Notify, "poll_interval", cc.PollInterval.String())
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			if sent, failed := broadcaster.Sent(); failed > 0 {
				logger.Info("cluster notifications", "sent", sent, "failed", failed)
			}
		})
	}, broadcaster, nil
}
