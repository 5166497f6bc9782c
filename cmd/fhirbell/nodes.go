package main

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/fhirbell/fhirbell/notify"
	"github.com/fhirbell/fhirbell/subscription"
)

// nodeReporter publishes, every interval, what this node holds: its
// sockets and, per subscription bound here, each binding's cursor and lag
// (subscription.NodeReport), into the store's NodeRegistry, where every
// node reads the cluster's view from. It also keeps the latest report for
// the lag metrics.
type nodeReporter struct {
	id       string
	address  string
	started  time.Time
	interval time.Duration
	hub      *notify.Hub
	svc      *subscription.Service
	m        *metrics
	log      *slog.Logger
}

// maxAgeReads bounds the log reads of one report (one per subscription
// that is behind, for the age of its oldest undelivered event): beyond it
// the ages of the furthest-behind subscriptions are left unknown.
const maxAgeReads = 100

// run publishes a report at once and then every interval until ctx ends;
// then it retires the node's report, so that it leaves the cluster view
// without waiting for the timeout.
func (r *nodeReporter) run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		r.publish(ctx)
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if err := r.svc.RetireNode(rctx, r.id); err != nil {
				r.log.Warn("retire node report", "err", err)
			}
			return
		case <-t.C:
		}
	}
}

func (r *nodeReporter) publish(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, r.interval)
	defer cancel()
	rep, err := r.report(rctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("node report", "err", err)
		}
		return
	}
	if err := r.svc.PublishNode(rctx, rep); err != nil {
		if ctx.Err() == nil {
			r.log.Warn("publish node report", "err", err)
		}
		return
	}
	rep.Reported = time.Now().UTC()
	r.m.report.Store(&rep)
	if n, err := r.svc.EventRows(rctx); err == nil {
		r.m.rows.Store(n)
	}
	if nodes, err := r.svc.Nodes(context.WithoutCancel(rctx)); err == nil {
		r.m.nodes.Store(int64(len(nodes)))
	}
}

// report takes this node's report: the hub's bindings, with the heads read
// from the log (the hub's own may be a poll interval old) and, for each
// subscription that is behind, the time of the oldest event not yet sent.
func (r *nodeReporter) report(ctx context.Context) (subscription.NodeReport, error) {
	bound := r.hub.Bindings()
	st := r.hub.Stats()
	rep := subscription.NodeReport{NodeID: r.id, Address: r.address, Started: r.started,
		Sockets: st.Sockets, Bindings: st.Bindings, Subscriptions: make([]subscription.NodeSubscription, 0, len(bound))}
	ids := make([]string, len(bound))
	for i, b := range bound {
		ids[i] = b.ID
	}
	heads, err := r.svc.EventHeads(ctx, ids)
	if err != nil {
		return rep, err
	}
	for _, b := range bound {
		head := max(heads[b.ID].Last, b.Head)
		ns := subscription.NodeSubscription{ID: b.ID, Head: head, BindingCount: len(b.Bindings)}
		for _, bs := range b.Bindings {
			lag := max(head-bs.Cursor, 0)
			ns.MaxLag = max(ns.MaxLag, lag)
			ns.Bindings = append(ns.Bindings, subscription.NodeBinding{Conn: bs.Conn, Dialect: bs.Dialect.String(),
				Auth: bs.Auth.String(), Cursor: bs.Cursor, Lag: lag, Since: bs.Since.UTC()})
		}
		slices.SortStableFunc(ns.Bindings, func(a, b subscription.NodeBinding) int { return int(b.Lag - a.Lag) })
		if len(ns.Bindings) > subscription.MaxReportedBindings {
			ns.Bindings = ns.Bindings[:subscription.MaxReportedBindings]
		}
		rep.Subscriptions = append(rep.Subscriptions, ns)
	}
	// The ages, furthest behind first, at most maxAgeReads log reads.
	order := make([]int, 0, len(rep.Subscriptions))
	for i, ns := range rep.Subscriptions {
		if ns.MaxLag > 0 {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int { return int(rep.Subscriptions[b].MaxLag - rep.Subscriptions[a].MaxLag) })
	for k, i := range order {
		if k == maxAgeReads {
			break
		}
		ns := &rep.Subscriptions[i]
		first := ns.Head - ns.MaxLag // the lowest cursor
		evs, err := r.svc.Events(ctx, ns.ID, first, 0, 1, 0)
		if err != nil {
			return rep, err
		}
		if len(evs) > 0 {
			ns.OldestUndelivered = evs[0].Time.UTC()
		}
	}
	return rep, nil
}
