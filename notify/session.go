package notify

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/endpoint"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/gorilla/websocket"
)

// dialect is how a binding talks to its client.
type dialect uint8

const (
	// backport: Backport IG notification Bundles (bind-with-token,
	// tickets, resume), in the binding's wire version (wireVersion).
	backport dialect = iota
	// legacy: R4 criteria websocket text, `bound <id>` and `ping <id>`.
	legacy
)

// binding is one subscription bound on one socket: a cursor into the
// subscription's event log. Owned by the session's writer.
type binding struct {
	st       *subState
	sub      *subscription.Subscription // refreshed from the Backend on each drain
	cursor   int64                      // the number of the last event sent (or skipped at bind)
	lastSend time.Time                  // last notification of this binding, for heartbeats
	dialect  dialect
	medplum  bool     // bound by Medplum's JSON framing: never sent R4's status Parameters (wireVersion)
	token    [32]byte // hash of the binding token that made it (zero: ticket, principal or anonymous)

	// cursor and dialect as the hub's snapshots read them (Stats,
	// Bindings), set by publish after every change.
	cursorPub  atomic.Int64
	dialectPub atomic.Uint32
}

// grant is a subscription this socket holds a grant for (a binding token
// or ticket it redeemed). Owned by the reader.
type grant struct {
	id    string
	token [32]byte
}

type opKind uint8

const (
	opFrame       opKind = iota + 1 // write frame
	opBind                          // bind (or re-bind, or resume) subs
	opUnbind                        // unbind id
	opUnbindToken                   // unbind every binding made with token
	opClose                         // end the session with reason, after the frames queued before
	opReauth                        // adopt principal if it may keep every binding
)

// op is a request from the reader to the writer, through the control
// queue; the writer runs them in order.
type op struct {
	kind      opKind
	frame     []byte
	subs      []*subscription.Subscription
	dialect   dialect
	medplum   bool // opBind: asked in Medplum's JSON framing
	resume    bool
	since     int64
	grantIDs  []string        // opBind from a grant: every subscription it covers
	renewTo   time.Time       // opBind from a grant: the grant's AuthExpires
	holder    *auth.Principal // opBind from a grant: its holder (nil in auth mode none)
	token     [32]byte
	id        string
	reason    CloseReason
	text      string
	principal *auth.Principal // opReauth
	secret    string          // opReauth: its access token when kept for Config.Recheck; never logged
}

// ctrlQueueLen bounds the control queue. A client whose requests fill it
// is not reading its answers: it is closed with 1008.
const ctrlQueueLen = 16

// ctrlQueueBytes bounds the frames waiting in the control queue by bytes
// as well (replies are small OperationOutcomes; this caps what a client
// that never reads can make one socket hold).
const ctrlQueueBytes = 256 << 10

// closeGrace is how long the reader waits for the client's close frame
// after the server sent one.
const closeGrace = time.Second

// Work bits: why the writer must run.
const (
	workCtrl     uint8 = 1 << iota // ops are queued
	workWake                       // bindings may be behind their heads
	workTick                       // a deadline passed (or the first schedule is due)
	workShutdown                   // Hub.Shutdown
)

// session is one WebSocket connection, run by two goroutines:
//   - The reader (reader.go) is started by the upgrade handler, which then
//     returns so that net/http lets go of the connection and its buffers.
//     It parses client messages (parseClientMessage, pure and fuzzed),
//     redeems tokens, and hands every reply and binding change to the
//     writer through the bounded control queue (full: close 1008).
//   - The writer (writer.go, delivery.go, deadlines.go) runs only while
//     there is work. Work is a set of bits (control ops queued, bindings
//     behind, a deadline passed, shutdown) under mu: addWork sets bits and
//     starts a writer if none runs; the writer takes the bits until there
//     are none and exits. At most one writer runs at a time and only it
//     writes data frames; it sets the write deadline before every write,
//     and a failed write ends the session and closes the connection, which
//     ends the reader. Control frames (close, ping, pong) go through
//     gorilla's WriteControl, which is safe concurrently. serve waits for
//     the last writer before it releases the bindings.
//
// An idle socket therefore costs one goroutine and no timer, channel or
// logger. That is for memory per idle socket, measured by
// TestMemoryPerIdleSocket (heap in use plus stacks per idle bound socket,
// 5,000 sockets): 28.4 KiB with the handler goroutine as reader (net/http
// keeps its 4 KiB read and write buffers, the request and the handler's
// grown stack while the handler runs), 14.4 KiB with a reader of its own,
// 7.4 KiB with the writer on demand, no channel and no logger per session.
//
// Locks: Hub.mu before session.mu; the scheduler's lock is never held with
// either. mu also guards the authorization (az), which the reader sets at
// the first grant and the writer changes on renewal; Hub.claim (Hub.mu) is
// called with no session lock held. Publish, the poll and Shutdown call
// addWork (which takes mu briefly and may start a goroutine) while holding
// Hub.mu; nothing takes Hub.mu while holding mu. Nothing does socket I/O
// while holding any of them: Shutdown closes leftover connections after
// releasing Hub.mu.
type session struct {
	// Set at construction.
	hub    *Hub
	conn   *websocket.Conn
	id     uint64
	base   string // FHIR base URL for references in notifications
	baseR5 string // the same for R5 notifications: the R5 endpoint, where the Subscription reads as R5
	start  time.Time
	via    atomic.Uint32 // its AuthMode: set at the upgrade, or by the first grant
	// The wire version the client asked for on the upgrade (the fhirVersion
	// query parameter or Accept header), if it asked (versionAsked).
	version      fhir.Version
	versionAsked bool

	endOnce sync.Once
	reason  atomic.Int32 // the CloseReason, set once by end
	closing atomic.Bool  // end has run: no more work, the reader stops extending its deadline

	mu       sync.Mutex     // guards the fields to az; taken after Hub.mu, never before
	pending  uint8          // work bits
	ops      []*op          // the control queue
	opsBytes int            // the bytes of its frames
	running  bool           // a writer goroutine is running
	dead     bool           // serve is finishing: start no writer
	wg       sync.WaitGroup // the running writer
	az       authz          // the session's one authorization

	// Guarded by hub.sched.mu.
	schedAt  time.Time
	schedIdx int

	// Owned by the reader (and by the handler before the reader starts).
	grants  []grant
	claimed string // the subject this socket counts against (Hub.claim)

	// Owned by the writer (one at a time; each run happens after the
	// previous one, through mu), then by serve after the last writer.
	bindings     []*binding
	unboundSince time.Time
	lastPing     time.Time
	scheduled    time.Time // the deadline last given to the scheduler
	retry        bool      // a Backend read failed: drain again soon
	toldDown     int64     // the Hub.storeDown its bindings were last told of (tellStore)
}

// authz is a session's authorization: one per session, whichever way the
// socket authenticated. Its subject is fixed by the first authentication
// (an access token on the upgrade, or the first grant); its expiry moves
// only on renewal (an in-band re-authentication, or a grant covering every
// binding).
//
// principal is what every delivery is judged by (Backend.Bindable at each
// bind, Backend.Deliverable for each event): the principal of the access
// token (upgrade, mutual TLS or in-band re-authentication), or the holder
// of the grant (ticket or binding token) that authenticated or renewed
// the socket, with the scopes its access token had when the grant was
// issued. It is never the subscription owner's: what the owner could read
// decided which events exist, what principal may read decides which of
// them this socket gets. nil only in auth mode none, where nothing is
// checked.
type authz struct {
	authed    bool            // the session has an identity
	subject   string          // its subject ("" for grants of auth mode none)
	principal *auth.Principal // the current authorization (see above); immutable, replaced whole
	byToken   bool            // principal came from an access token (legacy bind by ownership allowed)
	token     string          // that access token, kept only for Config.Recheck; a secret, never logged
	expires   time.Time       // when the authorization ends; zero: never
}

// keepToken returns tok when the hub re-checks tokens (Config.Recheck),
// "" otherwise: a secret is held only as long as it has a use.
func (h *Hub) keepToken(tok string) string {
	if h.cfg.Recheck > 0 {
		return tok
	}
	return ""
}

// grantExpiry is when a grant's authorization of a socket ends: its
// AuthExpires, and with Config.Recheck at most Recheck from now, since a
// grant carries no token to check again.
func (h *Hub) grantExpiry(g time.Time) time.Time {
	if h.cfg.Recheck <= 0 || h.cfg.Authenticator == nil {
		return g
	}
	if limit := time.Now().Add(h.cfg.Recheck); g.IsZero() || limit.Before(g) {
		return limit
	}
	return g
}

// holder is the principal a grant authorises a socket with: its holder in
// the auth modes, nil in auth mode none.
func (h *Hub) holder(g subscription.Grant) *auth.Principal {
	if h.cfg.Authenticator == nil {
		return nil
	}
	p := g.Holder()
	return &p
}

func (h *Hub) newSession(conn *websocket.Conn, r *http.Request, p *auth.Principal, tok string, mode AuthMode) *session {
	now := time.Now()
	s := &session{
		hub:          h,
		conn:         conn,
		id:           h.nextID.Add(1),
		base:         h.cfg.Base.FHIR(r),
		baseR5:       h.cfg.Base.Server(r) + endpoint.R5FHIRPath,
		start:        now,
		schedIdx:     -1,
		unboundSince: now,
		lastPing:     now,
		toldDown:     h.storeDown.Load(),
	}
	if p != nil {
		s.az = authz{authed: true, subject: p.Subject, principal: p, byToken: true, token: h.keepToken(tok), expires: p.Expires}
	}
	s.via.Store(uint32(mode))
	return s
}

// authz returns the session's authorization.
func (s *session) authz() authz {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.az
}

// authExpires returns when the session's authorization ends (zero: never).
func (s *session) authExpires() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.az.expires
}

// logf logs with the session's attributes, building them only when the
// level is enabled (a session keeps no logger of its own: memory per idle
// socket matters).
func (s *session) logf(level slog.Level, msg string, args ...any) {
	l := s.hub.log
	if !l.Enabled(context.Background(), level) {
		return
	}
	l.Log(context.Background(), level, msg, append([]any{"conn_id", s.id, "remote_addr", s.conn.RemoteAddr().String()}, args...)...)
}

// addWork records work and starts a writer if none runs. It never blocks
// on I/O, so the hub may call it under its lock.
func (s *session) addWork(bits uint8) {
	s.mu.Lock()
	s.pending |= bits
	start := !s.running && !s.dead
	if start {
		s.running = true
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if start {
		go s.writeLoop()
	}
}

// wakeUp tells the writer that bindings may be behind.
func (s *session) wakeUp() { s.addWork(workWake) }

// timeUp tells the writer a deadline passed.
func (s *session) timeUp() { s.addWork(workTick) }

// serve runs the reader until the connection ends, waits for the writer,
// and releases everything the session holds.
func (s *session) serve() {
	s.logf(slog.LevelDebug, "websocket open")
	s.addWork(workTick) // the first schedule: bind timeout, ping
	s.readLoop()
	s.end(ClientClosed, "")
	s.mu.Lock()
	s.dead = true
	s.mu.Unlock()
	s.wg.Wait()
	s.conn.Close()
	s.hub.sched.set(s, time.Time{})
	n := len(s.bindings)
	for _, b := range s.bindings {
		s.hub.detach(s, b.st)
	}
	s.bindings = nil
	s.hub.release(s.claimed)
	r := CloseReason(s.reason.Load())
	s.hub.obs.Closed(r)
	lvl := r.logLevel()
	if lvl == slog.LevelWarn && !s.hub.warns.allow(time.Now()) {
		lvl = slog.LevelDebug
	}
	s.logf(lvl, "websocket closed", "reason", r.String(), "code", r.CloseCode(),
		"bindings", n, "duration", time.Since(s.start).Round(time.Millisecond))
}

// end ends the session for reason r, once: it sends the close frame r
// maps to (text is its reason phrase, at most 123 bytes), lets the reader
// wait closeGrace for the client's answer, and stops the writer. Reasons
// without a close code close the connection at once. Either goroutine may
// call it.
func (s *session) end(r CloseReason, text string) {
	s.endOnce.Do(func() {
		s.reason.Store(int32(r))
		s.closing.Store(true)
		if code := r.CloseCode(); code != 0 {
			if len(text) > 123 {
				text = text[:123]
			}
			// Fails harmlessly when a close frame went out already
			// (gorilla answers 1009 and 1002 itself).
			s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(s.hub.cfg.WriteWait))
			s.conn.SetReadDeadline(time.Now().Add(closeGrace))
		} else {
			s.conn.Close()
		}
	})
}

// issueTooCostly is the issue type of a request refused for its cost.
const issueTooCostly = "too-costly"

// outcomeFrame encodes an OperationOutcome with one issue.
func outcomeFrame(code, diag string) []byte {
	return fhir.MarshalOutcome(fhir.NewOutcome(code, diag))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// claim counts a socket against subject's; false when subject already
// holds MaxSocketsPerPrincipal sockets. The empty subject (auth mode none)
// is not counted.
func (h *Hub) claim(subject string) bool {
	if subject == "" {
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perSubject[subject] >= h.cfg.MaxSocketsPerPrincipal {
		return false
	}
	h.perSubject[subject]++
	return true
}

// release undoes claim.
func (h *Hub) release(subject string) {
	if subject == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perSubject[subject]--; h.perSubject[subject] <= 0 {
		delete(h.perSubject, subject)
	}
}

// mayBind explains why principal p may not hold a binding of sub, or
// returns "": the Backend's Bindable (p may read the Subscription and
// manages it, and its scopes read every resource type sub notifies about,
// in the same patient's compartment when only patient/ scopes allow it).
func (h *Hub) mayBind(p auth.Principal, sub *subscription.Subscription) string {
	if err := h.b.Bindable(p, sub); err != nil {
		return strings.TrimSuffix(err.Error(), ": "+auth.ErrForbidden.Error())
	}
	return ""
}
