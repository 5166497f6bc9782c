package notify

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// scheduler wakes sessions at their next deadline (heartbeat, ping, bind
// timeout, authorization expiry) with one goroutine and one timer for the
// whole hub, instead of a timer per session or binding: 50,000 idle
// sockets cost 50,000 heap entries, not 50,000 runtime timers.
//
// Each session has at most one entry, its earliest deadline. A session
// reschedules itself after every wake-up; it does not move its entry
// later when a send postpones a heartbeat (it is then woken early, finds
// nothing due and reschedules), so sends never touch the scheduler lock.
type scheduler struct {
	mu   sync.Mutex
	h    schedHeap     // guarded by mu
	kick chan struct{} // capacity 1: the earliest deadline moved earlier
	due  []*session    // owned by run
}

func (sc *scheduler) init() { sc.kick = make(chan struct{}, 1) }

// schedHeap is a min-heap of sessions by schedAt; each session knows its
// index (schedIdx, -1 when absent).
type schedHeap []*session

func (h schedHeap) Len() int           { return len(h) }
func (h schedHeap) Less(i, j int) bool { return h[i].schedAt.Before(h[j].schedAt) }
func (h schedHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].schedIdx = i
	h[j].schedIdx = j
}
func (h *schedHeap) Push(x any) {
	s := x.(*session)
	s.schedIdx = len(*h)
	*h = append(*h, s)
}
func (h *schedHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	s.schedIdx = -1
	return s
}

// set schedules s at at, replacing its entry; the zero time removes it.
func (sc *scheduler) set(s *session, at time.Time) {
	sc.mu.Lock()
	if at.IsZero() {
		if s.schedIdx >= 0 {
			heap.Remove(&sc.h, s.schedIdx)
		}
		sc.mu.Unlock()
		return
	}
	s.schedAt = at
	if s.schedIdx >= 0 {
		heap.Fix(&sc.h, s.schedIdx)
	} else {
		heap.Push(&sc.h, s)
	}
	first := sc.h[0] == s
	sc.mu.Unlock()
	if first {
		select {
		case sc.kick <- struct{}{}:
		default:
		}
	}
}

// run fires due entries until ctx ends.
func (sc *scheduler) run(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		sc.mu.Lock()
		for len(sc.h) > 0 && !sc.h[0].schedAt.After(now) {
			sc.due = append(sc.due, heap.Pop(&sc.h).(*session))
		}
		wait := time.Hour
		if len(sc.h) > 0 {
			wait = sc.h[0].schedAt.Sub(now)
		}
		sc.mu.Unlock()
		for i, s := range sc.due {
			s.timeUp()
			sc.due[i] = nil
		}
		sc.due = sc.due[:0]
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-sc.kick:
		case <-t.C:
		}
	}
}
