// Batched reads for wake-ups from elsewhere. A write on another node wakes
// this node for every subscription it matched (Publish with refs, or the
// poll), and without help each woken binding would read its own log: one
// query per subscription, ~16,700 of them per node for one write matching
// 50,000 subscriptions on three nodes. Instead the hub collects the
// subscriptions it is woken for during one short tick (prefetchTick),
// reads all their new events in one BatchReader call per prefetchChunk
// subscriptions, keeps them as each subscription's recent events (as
// PublishEvents does for local writes) and only then wakes the sessions,
// which find the events in memory. The read is only a cache fill: a
// session whose cursor it does not cover (further behind, or the read
// failed) reads the log itself exactly as before, so cursors, order, the
// byte bound of a batch and 4429 are the drain's, unchanged.

package notify

import (
	"context"
	"slices"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// BatchReader is the optional side of a Backend that reads many
// subscriptions' logs in one round trip (subscription.Service has it).
// A Backend without it gets no prefetch: woken sessions read one by one.
type BatchReader interface {
	EventsOf(ctx context.Context, cursors []subscription.EventCursor, limit int, maxBytes int64) (map[string][]subscription.Event, error)
}

var _ BatchReader = (*subscription.Service)(nil)

const (
	// prefetchTick is how long wake-ups are collected before one read:
	// long enough for a NOTIFY's payloads (or one poll) to arrive whole,
	// short against the 250 ms a notification may take.
	prefetchTick = 2 * time.Millisecond
	// prefetchChunk bounds the subscriptions of one read, so that one
	// statement's arrays and result stay moderate.
	prefetchChunk = 1000
)

// prefetchState is the hub's queue of subscriptions to read before their
// sessions are woken; guarded by Hub.mu.
type prefetchState struct {
	on      bool                // the loop runs (Run) and the Backend is a BatchReader
	pending map[*subState]int64 // subscription → the head it had before the wake-up
}

// wakeSubLocked wakes st's sessions after its head was raised from prev:
// through the prefetch when it runs and the hub does not already hold the
// events, else now. Called under h.mu.
func (h *Hub) wakeSubLocked(st *subState, prev int64) {
	if h.pre.on && len(st.sessions) > 0 && st.recentAfter(prev, 1, 0) == nil {
		if after, ok := h.pre.pending[st]; !ok || prev < after {
			h.pre.pending[st] = prev
		}
		select {
		case h.preNow <- struct{}{}:
		default:
		}
		return
	}
	st.wakeSessions()
}

// prefetchLoop reads the pending subscriptions' events in batches and
// wakes their sessions, until ctx ends.
func (h *Hub) prefetchLoop(ctx context.Context, br BatchReader) {
	defer func() {
		// Whatever is still pending is woken to read for itself.
		h.mu.Lock()
		h.pre.on = false
		for st := range h.pre.pending {
			st.wakeSessions()
		}
		clear(h.pre.pending)
		h.mu.Unlock()
	}()
	var cursors []subscription.EventCursor
	var sts []*subState
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.preNow:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(prefetchTick):
		}
		cursors, sts = cursors[:0], sts[:0]
		h.mu.Lock()
		for st, after := range h.pre.pending {
			sts = append(sts, st)
			cursors = append(cursors, subscription.EventCursor{SubscriptionID: st.id, After: after})
		}
		clear(h.pre.pending)
		h.mu.Unlock()
		for i := 0; i < len(sts); i += prefetchChunk {
			j := min(i+prefetchChunk, len(sts))
			got, err := br.EventsOf(h.ctx, cursors[i:j], recentWindow, h.cfg.MaxBatchBytes)
			if err == nil {
				h.obs.Read(ReadLog, countEvents(got))
			}
			h.mu.Lock()
			for _, st := range sts[i:j] {
				if run := got[st.id]; len(run) > 0 {
					st.keepFetched(run)
				}
				st.wakeSessions()
			}
			h.mu.Unlock()
		}
	}
}

// keepFetched keeps run (consecutive events read from the log) as st's
// recent events unless the hub already holds newer ones. Called under
// Hub.mu.
func (st *subState) keepFetched(run []subscription.Event) {
	if p := st.recent.Load(); p != nil {
		if kept := *p; len(kept) > 0 && kept[len(kept)-1].Number >= run[len(run)-1].Number {
			return
		}
	}
	st.keepRecent(slices.Clip(run))
}

func countEvents(m map[string][]subscription.Event) int {
	n := 0
	for _, evs := range m {
		n += len(evs)
	}
	return n
}
