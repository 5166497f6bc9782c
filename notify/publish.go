// How the hub learns that a subscription has new events: Publish and
// PublishEvents, called by the Service after a commit on this node (on
// the writing goroutine), and the poll of event heads in Run, which makes
// delivery correct even when a wake-up is lost or the event was written
// by another node.

package notify

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// Publish records that the events refs exist and wakes the sessions bound
// to their subscriptions. It never blocks on a socket: a wake-up is a
// non-blocking send on a channel of capacity 1, and the events themselves
// are read from the log by each session. Refs of subscriptions not bound
// here are ignored (a later bind reads the head from the Backend).
func (h *Hub) Publish(refs []subscription.EventRef) { h.PublishSent(refs, time.Time{}) }

// PublishSent is Publish for refs another node announced at sent (zero:
// unknown), so that the Observer learns how late the announcement came.
func (h *Hub) PublishSent(refs []subscription.EventRef, sent time.Time) {
	var delay time.Duration
	if !sent.IsZero() {
		delay = max(time.Since(sent), 0)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range refs {
		st := h.subs[r.SubscriptionID]
		if st == nil {
			continue
		}
		prev := st.head.Load()
		if !st.raise(r.Number) {
			continue
		}
		h.obs.Woken(WakeNotify, delay)
		h.wakeSubLocked(st, prev)
	}
}

// PublishEvents is Publish for events appended on this node: the hub keeps
// each subscription's latest batch, so the sessions it wakes send them
// without reading the log (subscription.EventsPublisher).
func (h *Hub) PublishEvents(evs []subscription.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := 0; i < len(evs); {
		j := i + 1
		for j < len(evs) && evs[j].SubscriptionID == evs[i].SubscriptionID && evs[j].Number == evs[j-1].Number+1 {
			j++
		}
		run := evs[i:j:j]
		i = j
		st := h.subs[run[0].SubscriptionID]
		if st == nil {
			continue
		}
		st.keepRecent(run)
		if st.raise(run[len(run)-1].Number) {
			h.obs.Woken(WakeLocal, time.Since(run[0].Time))
			st.wakeSessions()
		}
	}
}

// recentWindow is how many of a subscription's latest events the hub keeps
// for its sessions: enough for a burst of writes to reach every socket
// from memory, little enough that 50,000 idle subscriptions stay cheap
// (the snapshots are shared with the write, not copied).
const recentWindow = 8

// keepRecent appends run to the kept events when it continues them, else
// starts over with run; at most recentWindow are kept. Called under Hub.mu,
// the only writer; readers load the pointer without it.
func (st *subState) keepRecent(run []subscription.Event) {
	var kept []subscription.Event
	if p := st.recent.Load(); p != nil {
		if prev := *p; len(prev) > 0 && prev[len(prev)-1].Number+1 == run[0].Number {
			kept = prev
		}
	}
	n := min(len(kept)+len(run), recentWindow)
	next := make([]subscription.Event, 0, n)
	if skip := len(kept) + len(run) - n; skip < len(kept) {
		next = append(next, kept[skip:]...)
		next = append(next, run...)
	} else {
		next = append(next, run[skip-len(kept):]...)
	}
	st.recent.Store(&next)
}

// recentAfter returns the published events that follow cursor, when the
// hub holds them all (from cursor+1 up), at most limit and maxBytes of
// them (Event.Size; always one); nil otherwise.
func (st *subState) recentAfter(cursor int64, limit int, maxBytes int64) []subscription.Event {
	p := st.recent.Load()
	if p == nil {
		return nil
	}
	run := *p
	if len(run) == 0 || run[0].Number > cursor+1 || run[len(run)-1].Number <= cursor {
		return nil
	}
	run = run[cursor+1-run[0].Number:]
	if len(run) > limit {
		run = run[:limit]
	}
	var bytes int64
	for i := range run {
		if bytes += run[i].Size(); i > 0 && maxBytes > 0 && bytes > maxBytes {
			return run[:i]
		}
	}
	return run
}

// wakeSessions wakes every session bound to st. Called under Hub.mu.
func (st *subState) wakeSessions() {
	for s := range st.sessions {
		s.wakeUp()
	}
}

// wakeOthers wakes every session bound to st except self.
func (h *Hub) wakeOthers(st *subState, self *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range st.sessions {
		if s != self {
			s.wakeUp()
		}
	}
}

// raise sets head to n if n is higher and reports whether it was.
func (st *subState) raise(n int64) bool {
	for {
		cur := st.head.Load()
		if n <= cur {
			return false
		}
		if st.head.CompareAndSwap(cur, n) {
			return true
		}
	}
}

// pollChunk bounds the ids of one EventHeads call.
const pollChunk = 1000

// pollLoop asks the Backend for the heads of the subscriptions bound here
// every PollInterval and wakes the sessions of those that moved. It makes
// delivery independent of Publish: a lost wake-up, or an event appended by
// another node, is seen within one interval.
func (h *Hub) pollLoop(ctx context.Context) {
	t := time.NewTicker(h.cfg.PollInterval)
	defer t.Stop()
	var ids []string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.pollNow:
		}
		ids = ids[:0]
		h.mu.Lock()
		for id := range h.subs {
			ids = append(ids, id)
		}
		h.mu.Unlock()
		for chunk := range slices.Chunk(ids, pollChunk) {
			heads, err := h.pollHeads(ctx, chunk)
			if err != nil {
				if ctx.Err() == nil {
					h.log.Error("poll event heads", "err", err)
					h.storeFailed(err)
				}
				break
			}
			// Before any event is announced: a socket hears that the
			// store is back before it gets what it missed.
			h.storeAnswered()
			h.mu.Lock()
			for id, hd := range heads {
				st := h.subs[id]
				if st == nil {
					continue
				}
				if prev := st.head.Load(); st.raise(hd.Last) {
					var delay time.Duration
					if !hd.LastAt.IsZero() {
						delay = time.Since(hd.LastAt)
					}
					h.obs.Woken(WakePoll, delay)
					h.wakeSubLocked(st, prev)
				}
			}
			h.mu.Unlock()
		}
	}
}

// pollHeads is the Backend's EventHeads, except that a store that takes
// longer than five poll intervals (at least 5 s) to answer is reported as
// unreachable (storeFailed) without giving up on the answer: an overloaded
// store that answers late still gets the events delivered, where a
// deadline would have stopped delivery altogether.
func (h *Hub) pollHeads(ctx context.Context, ids []string) (map[string]subscription.EventHead, error) {
	slow := max(5*h.cfg.PollInterval, 5*time.Second)
	t := time.AfterFunc(slow, func() {
		h.storeFailed(fmt.Errorf("%w: the poll of event heads has had no answer for %v", subscription.ErrUnavailable, slow))
	})
	defer t.Stop()
	return h.b.EventHeads(ctx, ids)
}

// Poll makes Run's poll of event heads happen now rather than at its next
// tick, e.g. after a LISTEN connection was re-established and
// notifications may have been lost. It never blocks.
func (h *Hub) Poll() {
	select {
	case h.pollNow <- struct{}{}:
	default:
	}
}
