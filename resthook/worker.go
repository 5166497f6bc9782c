package resthook

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fhirbell/fhirbell/endpoint"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// worker delivers one rest-hook subscription while this node holds its
// lease: one POST at a time (per-subscription concurrency 1), in event
// order, the cursor advanced only after a 2xx.
type worker struct {
	d      *Deliverer
	id     string
	logger *slog.Logger
	cancel context.CancelFunc // set at construction
	done   chan struct{}      // closed when run returns
	wake   chan struct{}      // capacity 1: new events or a changed subscription

	head atomic.Int64                              // highest event number known to exist
	seen atomic.Pointer[subscription.Subscription] // the version run last acted on

	renewed time.Time // when the lease was last claimed or renewed; owned by the scan

	state    subscription.DeliveryState // owned by run
	lastSend time.Time                  // owned by run: for heartbeats
	buf      []byte                     // owned by run: the notification being built
}

// raise records that events up to n exist and wakes the worker if that is
// news.
func (w *worker) raise(n int64) {
	for {
		cur := w.head.Load()
		if n <= cur {
			return
		}
		if w.head.CompareAndSwap(cur, n) {
			w.poke()
			return
		}
	}
}

// poke wakes the worker without blocking.
func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// exited reports whether run has returned.
func (w *worker) exited() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// run is the worker's loop: handshake when the subscription asks for one,
// then deliver what lies after the cursor, heartbeat when idle, and wait
// out the backoff after a failure. It returns when ctx ends (lease lost,
// subscription gone, shutdown) or when a save finds the lease gone.
func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	w.lastSend = time.Now() // a heartbeat is due one period after taking over
	for ctx.Err() == nil {
		sub, ok := w.d.cfg.Backend.RestHookSubscription(w.id)
		if !ok {
			w.idle(ctx, time.Time{}) // the scan will stop this worker
			continue
		}
		prev := w.seen.Swap(sub)
		if next := w.state.NextAttempt; !next.IsZero() && time.Now().Before(next) {
			if prev != nil && prev != sub {
				// The owner (or the server) changed the subscription: an
				// owner setting it back to active or requested, or fixing
				// its endpoint, wants an attempt now, not at the end of
				// the backoff.
				w.state.NextAttempt = time.Time{}
				continue
			}
			w.idle(ctx, next)
			continue
		}
		var err error
		switch {
		case sub.Status == subscription.StatusRequested || !w.state.Handshake:
			err = w.handshake(ctx, sub)
		case w.head.Load() > w.state.Cursor:
			err = w.deliver(ctx, sub)
		case sub.HeartbeatSet && time.Since(w.lastSend) >= sub.HeartbeatPeriod:
			err = w.heartbeat(ctx, sub)
		default:
			var beat time.Time
			if sub.HeartbeatSet {
				beat = w.lastSend.Add(sub.HeartbeatPeriod)
			}
			w.idle(ctx, beat)
			continue
		}
		if errLeaseLost(err) {
			w.logger.Warn("rest-hook lease lost; stopped")
			return
		}
		if err != nil && ctx.Err() == nil {
			// The store failed: the state is kept in memory and saved by
			// the next attempt; wait a scan before trying again.
			w.logger.Error("rest-hook delivery", "err", err)
			w.idle(ctx, time.Now().Add(w.d.cfg.ScanInterval))
		}
	}
}

// idle waits for a wake-up, until (zero: no deadline) or the end of ctx.
func (w *worker) idle(ctx context.Context, until time.Time) {
	var timer <-chan time.Time
	if !until.IsZero() {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
	case <-w.wake:
	case <-timer:
	}
}

// handshake POSTs the handshake notification; on success the
// subscription becomes active, on failure at once error (Backport IG).
func (w *worker) handshake(ctx context.Context, sub *subscription.Subscription) error {
	heads, err := w.d.cfg.Backend.EventHeads(ctx, []string{w.id})
	if err != nil {
		return err
	}
	st := fhir.Status{Status: subscription.StatusRequested, Type: fhir.NotifyHandshake, EventsSinceStart: heads[w.id].Last}
	if aerr := w.send(ctx, sub, KindHandshake, st, nil); aerr != nil {
		return w.failed(ctx, sub, aerr, true)
	}
	w.state.Handshake = true
	if err := w.succeeded(ctx, sub, 0, 0); err != nil {
		return err
	}
	w.logger.Info("rest-hook handshake accepted")
	return nil
}

// heartbeat POSTs a heartbeat carrying the subscription's status.
func (w *worker) heartbeat(ctx context.Context, sub *subscription.Subscription) error {
	heads, err := w.d.cfg.Backend.EventHeads(ctx, []string{w.id})
	if err != nil {
		return err
	}
	st := fhir.Status{Status: sub.Status, Type: fhir.NotifyHeartbeat, EventsSinceStart: heads[w.id].Last}
	if aerr := w.send(ctx, sub, KindHeartbeat, st, nil); aerr != nil {
		return w.failed(ctx, sub, aerr, false)
	}
	return w.succeeded(ctx, sub, 0, 0)
}

// deliver POSTs the next events after the cursor, at most max-count of
// them in one notification and at most subscription.DefaultBatchBytes of
// them (always one), so that large resources cannot make one POST, or
// the memory behind it, huge.
func (w *worker) deliver(ctx context.Context, sub *subscription.Subscription) error {
	evs, err := w.d.cfg.Backend.Events(ctx, w.id, w.state.Cursor, 0, max(sub.MaxCount, 1), subscription.DefaultBatchBytes)
	if err != nil {
		return err
	}
	if len(evs) == 0 || evs[0].Number != w.state.Cursor+1 {
		heads, err := w.d.cfg.Backend.EventHeads(ctx, []string{w.id})
		if err != nil {
			return err
		}
		h := heads[w.id]
		if h.FirstRetained > w.state.Cursor+1 {
			// Pruned before its endpoint took them (it failed for longer
			// than the retention): say so, and go on from what is left.
			w.logger.Error("rest-hook events pruned before delivery", "event_number", w.state.Cursor+1, "first_retained", h.FirstRetained)
			w.state.Cursor = h.FirstRetained - 1
			return w.save(ctx)
		}
		w.head.Store(h.Last) // the known head ran ahead of the log
		return nil
	}
	nevs := make([]fhir.NotificationEvent, len(evs))
	for i, ev := range evs {
		nevs[i] = subscription.NotificationEvent(ev)
	}
	last := evs[len(evs)-1].Number
	st := fhir.Status{Status: sub.Status, Type: fhir.NotifyEvent, EventsSinceStart: last, Events: nevs}
	if st.Status != subscription.StatusError {
		st.Status = subscription.StatusActive
	}
	if aerr := w.send(ctx, sub, KindEvent, st, evs); aerr != nil {
		return w.failed(ctx, sub, aerr, false)
	}
	return w.succeeded(ctx, sub, last, len(evs))
}

// send builds and POSTs one notification; a nil result means 2xx.
func (w *worker) send(ctx context.Context, sub *subscription.Subscription, kind string, st fhir.Status, evs []subscription.Event) *attemptError {
	st.Subscription = "Subscription/" + sub.ID
	st.Topic = sub.TopicURL
	now := time.Now()
	v, base := wireVersion(sub, w.d.cfg.BaseURL)
	body, err := fhir.AppendNotification(w.buf[:0], v, st, sub.Content, base, "", now)
	if err != nil {
		// The inputs come from the engine: a bug, reported as a failure so
		// that it shows in $status rather than looping silently.
		w.logger.Error("build rest-hook notification", "err", err)
		return &attemptError{subscription.ErrorNoResponse, "the server could not build the notification"}
	}
	if cap(body) <= 1<<20 {
		w.buf = body
	}
	err = post(ctx, w.d.client, sub, body, sub.Timeout, w.d.cfg.MaxResponseBytes)
	a := Attempt{Kind: kind, OK: err == nil, Duration: time.Since(now), Events: evs}
	var aerr *attemptError
	if err != nil {
		if ctx.Err() != nil {
			return nil // shutting down or lease lost: the loop ends; no verdict
		}
		var ok bool
		if aerr, ok = err.(*attemptError); !ok {
			aerr = &attemptError{subscription.ErrorNoResponse, err.Error()}
		}
		a.ErrorCode = aerr.code
	}
	if ctx.Err() != nil {
		return nil
	}
	if w.d.cfg.Observe != nil {
		w.d.cfg.Observe(a)
	}
	w.logger.Debug("rest-hook notification", "kind", kind, "ok", err == nil, "events", len(evs))
	return aerr
}

// succeeded records a 2xx: the cursor moves to cursor (when events were
// sent), the failure run ends, and a subscription in requested or error
// becomes active.
func (w *worker) succeeded(ctx context.Context, sub *subscription.Subscription, cursor int64, events int) error {
	if ctx.Err() != nil {
		return nil
	}
	now := time.Now()
	st := &w.state
	wasFailing := st.ConsecutiveFailures > 0
	st.Cursor = max(st.Cursor, cursor)
	st.Notifications++
	st.Events += int64(events)
	st.ConsecutiveFailures, st.FailingSince, st.NextAttempt, st.Error, st.ErrorCode = 0, time.Time{}, time.Time{}, "", ""
	st.LastSuccess = now
	w.lastSend = now
	if err := w.save(ctx); err != nil {
		return err
	}
	if wasFailing {
		w.logger.Info("rest-hook endpoint recovered")
	}
	if sub.Status != subscription.StatusActive {
		if _, err := w.d.cfg.Backend.SetDeliveryStatus(ctx, sub.ID, sub.Endpoint, subscription.StatusActive, ""); err != nil {
			return err
		}
	}
	return nil
}

// failed records a failed attempt, schedules the next one, and puts the
// subscription in error when the failure window has passed (at once for
// a handshake).
func (w *worker) failed(ctx context.Context, sub *subscription.Subscription, aerr *attemptError, handshake bool) error {
	if aerr == nil || ctx.Err() != nil {
		return nil
	}
	now := time.Now()
	st := &w.state
	st.Failures++
	st.ConsecutiveFailures++
	if st.FailingSince.IsZero() {
		st.FailingSince = now.UTC().Truncate(time.Millisecond)
		w.logger.Warn("rest-hook endpoint failing", "err", aerr.msg, "code", aerr.code)
	}
	st.Error, st.ErrorCode = aerr.msg, aerr.code
	st.NextAttempt = now.Add(w.d.cfg.Backoff.Delay(st.ConsecutiveFailures, jitter())).UTC()
	w.lastSend = now
	if err := w.save(ctx); err != nil {
		return err
	}
	if sub.Status == subscription.StatusError && sub.Error != "" {
		return nil
	}
	if !handshake && now.Sub(st.FailingSince) < w.d.cfg.ErrorAfter {
		return nil
	}
	text := ErrorText(*st)
	wrote, err := w.d.cfg.Backend.SetDeliveryStatus(ctx, sub.ID, sub.Endpoint, subscription.StatusError, text)
	if err != nil {
		return err
	}
	if wrote {
		w.logger.Warn("rest-hook subscription in error", "err", aerr.msg, "since", st.FailingSince)
	}
	return nil
}

// save stores the state, fenced by the lease.
func (w *worker) save(ctx context.Context) error {
	return w.d.cfg.Store.SaveDelivery(ctx, w.d.cfg.NodeID, w.state)
}

// ErrorText is the Subscription.error text for a failing delivery: why,
// since when, after how many attempts.
func ErrorText(st subscription.DeliveryState) string {
	return fmt.Sprintf("rest-hook delivery failing since %s (%d attempts in a row): %s",
		st.FailingSince.UTC().Format(time.RFC3339), st.ConsecutiveFailures, st.Error)
}

// wireVersion is the FHIR version of sub's notification Bundles, the one its
// channel.payload names (R4 when it names none), and the FHIR base they refer
// to: an R5 notification names the R5 endpoint, where the Subscription reads
// back in its R5 form. base is the server's R4 FHIR base.
func wireVersion(sub *subscription.Subscription, base string) (fhir.Version, string) {
	if !sub.VersionAsked {
		return fhir.R4, base
	}
	if sub.Version == fhir.R5 {
		base = strings.TrimSuffix(base, endpoint.FHIRPath) + endpoint.R5FHIRPath
	}
	return sub.Version, base
}
