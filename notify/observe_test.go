package notify

import (
	"sync"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// recorder is an Observer that counts what it is told.
type recorder struct {
	mu        sync.Mutex
	delivered map[Dialect]int // events
	frames    map[Dialect]int
	latencies []time.Duration
	bound     map[Dialect]int
	unbound   map[Dialect]int
	closed    map[CloseReason]int
	heartbeat int
	woken     map[WakePath]int
}

func newRecorder() *recorder {
	return &recorder{delivered: map[Dialect]int{}, frames: map[Dialect]int{}, bound: map[Dialect]int{},
		unbound: map[Dialect]int{}, closed: map[CloseReason]int{}, woken: map[WakePath]int{}}
}

func (r *recorder) Delivered(d Dialect, evs []subscription.Event, written time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delivered[d] += len(evs)
	r.frames[d]++
	for _, ev := range evs {
		r.latencies = append(r.latencies, written.Sub(ev.Time))
	}
}
func (r *recorder) Read(ReadSource, int) {}
func (r *recorder) Bound(d Dialect)      { r.mu.Lock(); r.bound[d]++; r.mu.Unlock() }
func (r *recorder) Unbound(d Dialect)    { r.mu.Lock(); r.unbound[d]++; r.mu.Unlock() }
func (r *recorder) Closed(c CloseReason) { r.mu.Lock(); r.closed[c]++; r.mu.Unlock() }
func (r *recorder) Heartbeat()           { r.mu.Lock(); r.heartbeat++; r.mu.Unlock() }
func (r *recorder) Reauth(ReauthOutcome) {}
func (r *recorder) Woken(p WakePath, _ time.Duration) {
	r.mu.Lock()
	r.woken[p]++
	r.mu.Unlock()
}

func (r *recorder) get(f func(r *recorder) int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return f(r)
}

// TestObserverAndSnapshots: the Observer hears of binds, deliveries (per
// dialect, with each event's latency), heartbeats and closes; Stats and
// Bindings describe the sockets as they are.
func TestObserverAndSnapshots(t *testing.T) {
	rec := newRecorder()
	e := newEnv(t, Config{AllowAnonymousBind: true, Observer: rec, PollInterval: -1})
	a := e.createSub(subOpts{heartbeat: 1, maxCount: 2})
	b := e.createSub(subOpts{legacy: true})

	c := e.dial("/ws")
	c.send("bind-with-token " + e.token(a))
	c.expectHandshake(a, fhir.ContentFullResource, 0)
	l := e.dial("/ws")
	l.send("bind " + b)
	l.expectText("bound " + b)

	st := e.hub.Stats()
	if st.Sockets != 2 || st.BindingsBy[DialectBackport] != 1 || st.BindingsBy[DialectLegacy] != 1 ||
		st.SocketsBy[SocketClass{Auth: AuthBindingToken, Dialect: "backport"}] != 1 ||
		st.SocketsBy[SocketClass{Auth: AuthAnonymous, Dialect: "legacy"}] != 1 {
		t.Errorf("Stats() = %+v, want one binding-token backport socket and one anonymous legacy one", st)
	}

	e.write(3, "")
	var got []int64
	frames := 0
	for len(got) < 3 {
		n := c.expectNote(fhir.ContentFullResource)
		if n.typ != fhir.NotifyEvent || len(n.events) > 2 {
			t.Fatalf("got %s with events %v, want event notifications of at most 2 (max-count)", n.typ, n.events)
		}
		got = append(got, n.events...)
		frames++
	}
	for range 3 {
		l.expectText("ping " + b)
	}
	waitFor(t, "the deliveries to be observed", func() bool {
		return rec.get(func(r *recorder) int { return r.delivered[DialectBackport] + r.delivered[DialectLegacy] }) == 6
	})
	if f := rec.get(func(r *recorder) int { return r.frames[DialectBackport] }); f != frames {
		t.Errorf("backport frames = %d, want %d (the frames the client read)", f, frames)
	}
	if f := rec.get(func(r *recorder) int { return r.frames[DialectLegacy] }); f != 3 {
		t.Errorf("legacy frames = %d, want 3", f)
	}
	rec.mu.Lock()
	for _, d := range rec.latencies {
		if d < 0 || d > time.Minute {
			t.Errorf("latency %v: want the time since the write", d)
		}
	}
	rec.mu.Unlock()
	if n := rec.get(func(r *recorder) int { return r.woken[WakeLocal] }); n == 0 {
		t.Error("no local wake-up observed")
	}

	subs := e.hub.Bindings()
	if len(subs) != 2 {
		t.Fatalf("Bindings() = %+v, want two subscriptions", subs)
	}
	for _, s := range subs {
		if len(s.Bindings) != 1 || s.Head != 3 || s.Bindings[0].Cursor != 3 {
			t.Errorf("Bindings()[%s] = %+v, want one binding at cursor 3 of head 3", s.ID, s)
		}
	}

	c.expectNote(fhir.ContentFullResource) // the heartbeat, 1 s on
	waitFor(t, "the heartbeat to be observed", func() bool { return rec.get(func(r *recorder) int { return r.heartbeat }) > 0 })

	l.send("unbind " + b)
	l.expectText("unbound " + b)
	if n := rec.get(func(r *recorder) int { return r.unbound[DialectLegacy] }); n != 1 {
		t.Errorf("legacy unbinds = %d, want 1", n)
	}
	c.conn.Close()
	waitFor(t, "the close to be observed", func() bool { return rec.get(func(r *recorder) int { return r.closed[ClientClosed] }) == 1 })
	if n := rec.get(func(r *recorder) int { return r.bound[DialectBackport] + r.bound[DialectLegacy] }); n != 2 {
		t.Errorf("binds = %d, want 2", n)
	}
	if n := rec.get(func(r *recorder) int { return r.unbound[DialectBackport] }); n != 1 {
		t.Errorf("backport unbinds = %d, want 1 (the closed socket's)", n)
	}
}
