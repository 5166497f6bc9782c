// What the hub tells the outside about itself: the Observer it calls as
// things happen (for counters and latency histograms) and the snapshots it
// takes when asked (Stats for gauges, Bindings for the cluster view). The
// hub depends on no metrics library: cmd/fhirbell turns both into
// Prometheus metrics.

package notify

import (
	"sort"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// Dialect is how a binding talks to its client, as a metric label.
type Dialect uint8

// Dialects of a binding. Medplum JSON, tickets and resume all bind in the
// backport dialect: it is what the frames look like, not how the bind was
// asked for.
const (
	DialectBackport Dialect = Dialect(backport)
	DialectLegacy   Dialect = Dialect(legacy)
)

// Dialects lists every Dialect, for metrics that must show zeros.
var Dialects = []Dialect{DialectBackport, DialectLegacy}

// String returns the dialect's label: "backport" or "legacy".
func (d Dialect) String() string {
	if d == DialectLegacy {
		return "legacy"
	}
	return "backport"
}

// AuthMode is how a socket authenticated, as a metric label.
type AuthMode uint8

// Auth modes of a socket: an access token on the upgrade (Authorization
// header, or the bearer subprotocol of browsers), a mutual-TLS client
// certificate, a ticket in the URL, a binding token in a bind-with-token
// message, or nothing yet (anonymous: auth mode none, or a socket that has
// not bound).
const (
	AuthAnonymous AuthMode = iota
	AuthHeader
	AuthSubprotocol
	AuthClientCert
	AuthTicket
	AuthBindingToken
)

// AuthModes lists every AuthMode.
var AuthModes = []AuthMode{AuthAnonymous, AuthHeader, AuthSubprotocol, AuthClientCert, AuthTicket, AuthBindingToken}

var authModeNames = [...]string{
	AuthAnonymous:    "anonymous",
	AuthHeader:       "bearer_header",
	AuthSubprotocol:  "bearer_subprotocol",
	AuthClientCert:   "client_cert",
	AuthTicket:       "ticket",
	AuthBindingToken: "binding_token",
}

// String returns the auth mode's label, e.g. "ticket".
func (m AuthMode) String() string {
	if int(m) < len(authModeNames) {
		return authModeNames[m]
	}
	return "anonymous"
}

// ReauthOutcome is how an in-band re-authentication, or the session's
// authorization, ended.
type ReauthOutcome uint8

// Outcomes of re-authentication: the new token was accepted; it was
// refused (bad token, another subject, or it may not keep a binding); the
// authorization server could not be asked; the authorization expired and
// the socket was closed with 4001.
const (
	ReauthSuccess ReauthOutcome = iota
	ReauthRefused
	ReauthUnavailable
	ReauthExpired
)

// ReauthOutcomes lists every ReauthOutcome.
var ReauthOutcomes = []ReauthOutcome{ReauthSuccess, ReauthRefused, ReauthUnavailable, ReauthExpired}

// String returns the outcome's label.
func (o ReauthOutcome) String() string {
	return [...]string{"success", "refused", "unavailable", "expired"}[o]
}

// WakePath is how the hub learnt that a subscription bound here has new
// events.
type WakePath uint8

// Wake paths: a write on this node (PublishEvents), a notification from
// another node (Publish, the cluster's NOTIFY), or the hub's poll of event
// heads (a notification was lost, late, or turned off).
const (
	WakeLocal WakePath = iota
	WakeNotify
	WakePoll
)

// WakePaths lists every WakePath.
var WakePaths = []WakePath{WakeLocal, WakeNotify, WakePoll}

// String returns the path's label: "local", "notify" or "poll".
func (p WakePath) String() string {
	return [...]string{"local", "notify", "poll"}[p]
}

// ReadSource is where a drain found the events it sent.
type ReadSource uint8

// Read sources: the hub's recent events (written on this node a moment
// ago), or the event log in the store.
const (
	ReadMemory ReadSource = iota
	ReadLog
)

// String returns the source's label: "memory" or "log".
func (r ReadSource) String() string {
	if r == ReadLog {
		return "log"
	}
	return "memory"
}

// Observer is told what the hub does, to count it. Every method is called
// on a session's goroutines or the poll loop, some under the hub's lock:
// it must be fast, must not block and must be safe for concurrent use.
// Every argument is an enum or a number, so a metric labelled by them has
// a bounded number of series (no subscription ids, no principals).
//
// Embed NopObserver to implement only some methods.
type Observer interface {
	// Delivered: a notification frame carrying evs (consecutive events of
	// one subscription) was written to a socket of dialect d at written.
	// A legacy `ping <id>` frame carries one event.
	Delivered(d Dialect, evs []subscription.Event, written time.Time)
	// Read: a drain took n events from src.
	Read(src ReadSource, n int)
	// Bound and Unbound: a binding was made or ended (an ended session
	// unbinds all of its bindings). A re-bind of a bound subscription is
	// not counted.
	Bound(d Dialect)
	Unbound(d Dialect)
	// Closed: a session ended for reason r; r.CloseCode() is the code sent.
	Closed(r CloseReason)
	// Heartbeat: a heartbeat Bundle was sent.
	Heartbeat()
	// Reauth: an in-band re-authentication ended with o, or (ReauthExpired)
	// an authorization ran out.
	Reauth(o ReauthOutcome)
	// Woken: a wake-up on path p raised the known head of a subscription
	// bound here. delay is how long after the write it came: the event's
	// time (local), the sender's time of the NOTIFY (notify), the head's
	// last event time (poll); zero when unknown.
	Woken(p WakePath, delay time.Duration)
}

// NopObserver implements Observer doing nothing.
type NopObserver struct{}

func (NopObserver) Delivered(Dialect, []subscription.Event, time.Time) {}
func (NopObserver) Read(ReadSource, int)                               {}
func (NopObserver) Bound(Dialect)                                      {}
func (NopObserver) Unbound(Dialect)                                    {}
func (NopObserver) Closed(CloseReason)                                 {}
func (NopObserver) Heartbeat()                                         {}
func (NopObserver) Reauth(ReauthOutcome)                               {}
func (NopObserver) Woken(WakePath, time.Duration)                      {}

var _ Observer = NopObserver{}

// Stats is a snapshot of a hub's load.
type Stats struct {
	Sockets  int // open sessions
	Bindings int // (session, subscription) bindings
	// SocketsBy counts the open sessions by how they authenticated and by
	// the dialects of their bindings: "backport", "legacy", "mixed", or
	// "none" for a socket with no binding.
	SocketsBy map[SocketClass]int
	// BindingsBy counts the bindings by dialect.
	BindingsBy map[Dialect]int
}

// SocketClass is a socket's auth mode and the dialects it uses.
type SocketClass struct {
	Auth    AuthMode
	Dialect string // backport, legacy, mixed, none
}

// Stats returns the current number of sockets and bindings. It walks every
// session and binding under the hub's lock: call it at scrape rate, not per
// event.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := Stats{
		Sockets:    len(h.sessions),
		Bindings:   h.bindings,
		SocketsBy:  map[SocketClass]int{},
		BindingsBy: map[Dialect]int{},
	}
	uses := make(map[*session]uint8, len(h.sessions))
	for _, sub := range h.subs {
		for s, b := range sub.sessions {
			d := Dialect(b.dialectPub.Load())
			st.BindingsBy[d]++
			uses[s] |= 1 << d
		}
	}
	for s := range h.sessions {
		d := "none"
		switch uses[s] {
		case 1 << DialectBackport:
			d = "backport"
		case 1 << DialectLegacy:
			d = "legacy"
		case 0:
		default:
			d = "mixed"
		}
		st.SocketsBy[SocketClass{Auth: AuthMode(s.via.Load()), Dialect: d}]++
	}
	return st
}

// BoundSubscription is one subscription bound on this node, for the
// cluster view: the known head of its log and each binding's cursor.
type BoundSubscription struct {
	ID       string
	Head     int64 // the highest event number this node knows of
	Bindings []BindingState
}

// BindingState is one binding of a subscription on this node.
type BindingState struct {
	Conn    uint64 // the session's number on this node (conn_id in the logs)
	Dialect Dialect
	Auth    AuthMode
	Cursor  int64 // the number of the last event sent
	Since   time.Time
}

// Bindings returns every subscription bound on this node with its
// bindings, by subscription id then connection. Cursors are read without
// stopping the writers: each is the cursor at some moment during the call.
func (h *Hub) Bindings() []BoundSubscription {
	h.mu.Lock()
	out := make([]BoundSubscription, 0, len(h.subs))
	for id, st := range h.subs {
		bs := BoundSubscription{ID: id, Head: st.head.Load(), Bindings: make([]BindingState, 0, len(st.sessions))}
		for s, b := range st.sessions {
			bs.Bindings = append(bs.Bindings, BindingState{
				Conn:    s.id,
				Dialect: Dialect(b.dialectPub.Load()),
				Auth:    AuthMode(s.via.Load()),
				Cursor:  b.cursorPub.Load(),
				Since:   s.start,
			})
		}
		out = append(out, bs)
	}
	h.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	for _, bs := range out {
		sort.Slice(bs.Bindings, func(i, j int) bool { return bs.Bindings[i].Conn < bs.Bindings[j].Conn })
	}
	return out
}

// publish makes the binding's cursor and dialect readable by Stats and
// Bindings; the writer calls it after changing either.
func (b *binding) publish() {
	b.cursorPub.Store(b.cursor)
	b.dialectPub.Store(uint32(b.dialect))
}
