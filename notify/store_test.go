package notify

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// flakyBackend is a Backend whose store can be made unreachable: its log
// reads fail with ErrUnavailable, as the Postgres store's do when the
// database is away.
type flakyBackend struct {
	*subscription.Service
	down atomic.Bool
}

func (b *flakyBackend) Events(ctx context.Context, subID string, after, until int64, limit int, maxBytes int64) ([]subscription.Event, error) {
	if b.down.Load() {
		return nil, fmt.Errorf("%w: connection refused", subscription.ErrUnavailable)
	}
	return b.Service.Events(ctx, subID, after, until, limit, maxBytes)
}

func (b *flakyBackend) EventHeads(ctx context.Context, ids []string) (map[string]subscription.EventHead, error) {
	if b.down.Load() {
		return nil, fmt.Errorf("%w: connection refused", subscription.ErrUnavailable)
	}
	return b.Service.EventHeads(ctx, ids)
}

// TestStoreUnreachable: while the store cannot be reached, sockets stay
// open and each backport binding is told at once, by a heartbeat with
// status error and the reason; when it answers again, a heartbeat with
// status active comes first, then the events committed meanwhile (whose
// wake-ups were lost), in order. A legacy binding sees only its events.
func TestStoreUnreachable(t *testing.T) {
	var flaky *flakyBackend
	e := newEnvWith(t, Config{PollInterval: 20 * time.Millisecond, AllowAnonymousBind: true}, func(svc *subscription.Service) Backend {
		flaky = &flakyBackend{Service: svc}
		return flaky
	})
	id := e.createSub(subOpts{content: "id-only"})
	bp := e.dial("/ws")
	bp.send("bind-with-token " + e.token(id))
	bp.expectHandshake(id, "id-only", 0)
	lg := e.dial("/ws")
	lg.send("bind " + id)
	lg.expectText("bound " + id)
	e.write(1, "")
	bp.expectEvents(id, "id-only", 1)
	lg.expectText("ping " + id)

	flaky.down.Store(true)
	n := bp.expectNote("id-only")
	if n.typ != fhir.NotifyHeartbeat || n.status != subscription.StatusError || n.since != 1 || !strings.Contains(string(n.raw), "event store has been unreachable since") {
		t.Fatalf("while the store is down: %s status %s since %d: %s, want a heartbeat with status error saying why", n.typ, n.status, n.since, n.raw)
	}
	// Committed just before the store went away, their wake-ups lost.
	e.fw.drop.Store(true)
	e.write(2, "")

	flaky.down.Store(false)

	n = bp.expectNote("id-only")
	if n.typ != fhir.NotifyHeartbeat || n.status != subscription.StatusActive || strings.Contains(string(n.raw), "unreachable") {
		t.Fatalf("when the store is back: %s status %s: %s, want a heartbeat with status active", n.typ, n.status, n.raw)
	}
	bp.expectEvents(id, "id-only", 2)
	bp.expectEvents(id, "id-only", 3)
	lg.expectText("ping " + id)
	lg.expectText("ping " + id)
	if e.hub.storeDown.Load() != 0 {
		t.Errorf("the hub still holds the store for down")
	}
}

// slowBackend's EventHeads waits while held, as an overloaded database
// does.
type slowBackend struct {
	*subscription.Service
	mu   sync.Mutex
	gate chan struct{} // closed: answer; nil: not held
}

func (b *slowBackend) hold() {
	b.mu.Lock()
	b.gate = make(chan struct{})
	b.mu.Unlock()
}

func (b *slowBackend) release() {
	b.mu.Lock()
	close(b.gate)
	b.gate = nil
	b.mu.Unlock()
}

func (b *slowBackend) EventHeads(ctx context.Context, ids []string) (map[string]subscription.EventHead, error) {
	b.mu.Lock()
	g := b.gate
	b.mu.Unlock()
	if g != nil {
		select {
		case <-g:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return b.Service.EventHeads(ctx, ids)
}

// TestStoreSlow: a poll that gets no answer for 5 s tells the sockets the
// store is unreachable, but goes on waiting: when the answer comes the
// store is back and the events it announces are delivered (a deadline on
// the poll would have stopped delivery under overload).
func TestStoreSlow(t *testing.T) {
	var slow *slowBackend
	e := newEnvWith(t, Config{PollInterval: 20 * time.Millisecond}, func(svc *subscription.Service) Backend {
		slow = &slowBackend{Service: svc}
		return slow
	})
	id := e.createSub(subOpts{content: "id-only"})
	c := e.dial("/ws")
	c.send("bind-with-token " + e.token(id))
	c.expectHandshake(id, "id-only", 0)
	slow.hold()
	e.fw.drop.Store(true) // only the held poll can announce it
	e.write(1, "")
	if n := c.expectNote("id-only"); n.typ != fhir.NotifyHeartbeat || n.status != subscription.StatusError {
		t.Fatalf("while the poll waits: %s status %s, want a heartbeat with status error", n.typ, n.status)
	}
	slow.release()
	if n := c.expectNote("id-only"); n.typ != fhir.NotifyHeartbeat || n.status != subscription.StatusActive {
		t.Fatalf("when the poll is answered: %s status %s, want a heartbeat with status active", n.typ, n.status)
	}
	c.expectEvents(id, "id-only", 1)
}
