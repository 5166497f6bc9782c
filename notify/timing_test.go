package notify

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// The tests in this file run in synctest bubbles over net.Pipe
// connections, so their durations are exact and take no real time.

// logBuffer collects log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// waitClosed waits (in fake time) for the hub to have no socket and
// returns how long that took.
func waitClosed(e *env) time.Duration {
	start := time.Now()
	for e.hub.Stats().Sockets != 0 {
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func TestBindTimeoutIsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuffer
		e := newPipeEnv(t, Config{Logger: logs.logger()})
		c := e.dial("/ws")
		start := time.Now()
		if code := c.expectClose(); code != CodeBindTimeout {
			t.Fatalf("close code %d, want %d", code, CodeBindTimeout)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Errorf("closed after %v, want 10s", d)
		}
		waitClosed(e)
		if !strings.Contains(logs.String(), "level=WARN msg=\"websocket closed\"") || !strings.Contains(logs.String(), "reason=bind_timeout code=4008") {
			t.Errorf("final log line missing or wrong:\n%s", logs.String())
		}
	})
}

func TestUnbindingEverythingRestartsBindTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newPipeEnv(t, Config{AllowAnonymousBind: true})
		id := e.createSub(subOpts{legacy: true})
		c := e.dial("/ws")
		time.Sleep(9 * time.Second)
		c.send("bind " + id)
		c.expectText("bound " + id)
		time.Sleep(30 * time.Second) // bound: no timeout
		c.send("unbind " + id)
		c.expectText("unbound " + id)
		start := time.Now()
		if code := c.expectClose(); code != CodeBindTimeout {
			t.Fatalf("close code %d, want %d", code, CodeBindTimeout)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Errorf("closed %v after the unbind, want 10s", d)
		}
	})
}

func TestHeartbeatsFollowQuietPeriods(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newPipeEnv(t, Config{})
		id := e.createSub(subOpts{}) // default heartbeat period: 30 s
		legacyID := e.createSub(subOpts{legacy: true, code: "other"})
		c := e.dial("/ws")
		c.send("bind-with-token " + e.token(id, legacyID))
		c.expectNote(fhir.ContentFullResource)
		c.expectNote(fhir.ContentFullResource)
		c.send("bind " + legacyID) // legacy bindings get no heartbeat
		c.expectText("bound " + legacyID)
		last := time.Now()
		expectHeartbeat := func(since int64) {
			t.Helper()
			n := c.expectNote(fhir.ContentFullResource)
			d := time.Since(last)
			if n.typ != fhir.NotifyHeartbeat || n.sub != id || n.since != since {
				t.Fatalf("got %s for %s since %d, want a heartbeat for %s since %d", n.typ, n.sub, n.since, id, since)
			}
			// Up to a twentieth of the period (at most 1 s) early, never late.
			if d < 29*time.Second || d > 30*time.Second {
				t.Errorf("heartbeat after %v of quiet, want 29s–30s", d)
			}
			last = time.Now()
		}
		expectHeartbeat(0)
		expectHeartbeat(0)
		time.Sleep(10 * time.Second)
		e.write(1, "")
		c.expectEvents(id, fhir.ContentFullResource, 1)
		last = time.Now() // the event restarts the quiet period
		expectHeartbeat(1)
	})
}

func TestWriteTimeoutEndsSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuffer
		e := newPipeEnv(t, Config{Logger: logs.logger()})
		id := e.createSub(subOpts{})
		c := e.dial("/ws")
		c.send("bind-with-token " + e.token(id))
		c.expectHandshake(id, fhir.ContentFullResource, 0)
		// The client stops reading; a net.Pipe has no buffer, so the
		// next write blocks at once.
		e.write(1, "")
		if d := waitClosed(e); d < 10*time.Second || d > 10*time.Second+20*time.Millisecond {
			t.Errorf("session ended after %v, want the 10s write deadline", d)
		}
		if !strings.Contains(logs.String(), "reason=write_timeout") {
			t.Errorf("no write_timeout in the log:\n%s", logs.String())
		}
		// The event stays in the log for a resume.
		evs, err := e.svc.Events(context.Background(), id, 0, 0, 0, 0)
		if err != nil || len(evs) != 1 {
			t.Errorf("Events = %d, %v; want the event kept", len(evs), err)
		}
	})
}

func TestDeadPeerIsDroppedAfterPongWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logBuffer
		e := newPipeEnv(t, Config{Logger: logs.logger(), AllowAnonymousBind: true})
		id := e.createSub(subOpts{legacy: true})
		c := e.dial("/ws")
		c.send("bind " + id)
		c.expectText("bound " + id)
		// The client reads no more, so it answers no ping: the ping
		// itself blocks the unbuffered pipe and times out, or the read
		// deadline passes. Either way the socket goes within PongWait.
		d := waitClosed(e)
		if d > 60*time.Second+20*time.Millisecond {
			t.Errorf("dead peer dropped after %v, want within PongWait (60s)", d)
		}
		if !strings.Contains(logs.String(), "reason=write_timeout") && !strings.Contains(logs.String(), "reason=read_timeout") {
			t.Errorf("unexpected reason:\n%s", logs.String())
		}
	})
}

func TestAuthorizationExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newPipeEnv(t, Config{})
		id := e.createSub(subOpts{})
		expires := time.Now().Add(2 * time.Minute)
		tok, _, err := e.svc.IssueToken(context.Background(), subscription.KindBindingToken, []string{id}, auth.Principal{Subject: "alice", Expires: expires})
		if err != nil {
			t.Fatal(err)
		}
		c := e.dial("/ws")
		c.send("bind-with-token " + tok)
		h := c.expectHandshake(id, fhir.ContentFullResource, 0)
		if h.authExpires != fhir.FormatInstant(expires) {
			t.Errorf("handshake auth-expires %q, want %q", h.authExpires, fhir.FormatInstant(expires))
		}
		c.expectExpiry(h, expires)
	})
}

func TestSlowBindingPrunedCloses4429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newPipeEnv(t, Config{})
		// Events arrive as refs (from another node), so the session must
		// read them from the log: events the writing node hands over are
		// delivered from memory even after the log drops them.
		e.fw.refsOnly.Store(true)
		id := e.createSub(subOpts{})
		c := e.dial("/ws")
		c.send("bind-with-token " + e.token(id))
		c.expectHandshake(id, fhir.ContentFullResource, 0)
		// The client does not read: event 1 is stuck in a write, events
		// 2–4 wait in the log and are pruned before the writer gets to
		// them.
		e.write(1, "")
		time.Sleep(2 * prefetchTick) // the hub's batched read of event 1 (prefetch.go)
		synctest.Wait()              // the writer is blocked writing event 1
		e.write(3, "")
		if _, err := e.store.PruneEvents(context.Background(), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		c.expectEvents(id, fhir.ContentFullResource, 1)
		c.expectOutcome(fhir.IssueProcessing)
		if code := c.expectClose(); code != CodeTooFarBehind {
			t.Fatalf("close code %d, want %d", code, CodeTooFarBehind)
		}
	})
}

func TestExpiredTicketIs401(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newPipeEnv(t, Config{})
		id := e.createSub(subOpts{})
		tk := e.ticket(id)
		time.Sleep(subscription.TicketTTL + time.Second)
		status, body := e.dialStatus("/ws/" + tk)
		if status != http.StatusUnauthorized || !strings.Contains(body, `"login"`) {
			t.Errorf("expired ticket: HTTP %d %s, want 401 with an OperationOutcome (login)", status, body)
		}
	})
}
