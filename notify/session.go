package notify

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/gorilla/websocket"
)

// dialect is how a binding talks to its client.
type dialect uint8

const (
	// backport: Backport IG R4 history Bundles (bind-with-token, Medplum
	// JSON, tickets, resume).
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
	token    [32]byte // hash of the binding token that made it (zero: ticket, principal or anonymous)
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
	resume    bool
	since     int64
	grantIDs  []string  // opBind from a grant: every subscription it covers
	renewTo   time.Time // opBind from a grant: the grant's AuthExpires
	token     [32]byte
	id        string
	reason    CloseReason
	text      string
	principal *auth.Principal // opReauth
}

// ctrlQueueLen bounds the control queue. A client whose requests fill it
// is not reading its answers: it is closed with 1008.
const ctrlQueueLen = 16

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

// session is one WebSocket connection. Its reader is a goroutine started
// by the handler (which returns, so that net/http lets go of the
// connection). Its writer is a goroutine that runs only while there is
// work (the work bits), so an idle socket costs one goroutine; at most one
// writer runs at a time, and only it writes data frames. Control frames
// (close, ping, pong) go through gorilla's WriteControl, which is safe
// concurrently.
type session struct {
	// Set at construction.
	hub   *Hub
	conn  *websocket.Conn
	id    uint64
	base  string // FHIR base URL for references in notifications
	start time.Time

	endOnce sync.Once
	reason  atomic.Int32 // the CloseReason, set once by end
	closing atomic.Bool  // end has run: no more work, the reader stops extending its deadline

	mu      sync.Mutex     // guards the fields to az; taken after Hub.mu, never before
	pending uint8          // work bits
	ops     []*op          // the control queue
	running bool           // a writer goroutine is running
	dead    bool           // serve is finishing: start no writer
	wg      sync.WaitGroup // the running writer
	az      authz          // the session's one authorization

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
}

// authz is a session's authorization: one per session, whichever way the
// socket authenticated. Its subject is fixed by the first authentication
// (an access token on the upgrade, or the first grant); its expiry moves
// only on renewal (an in-band re-authentication, or a grant covering every
// binding).
type authz struct {
	authed    bool            // the session has an identity
	subject   string          // its subject ("" for grants of auth mode none)
	principal *auth.Principal // from an access token (upgrade or re-auth); nil when only grants authenticated
	expires   time.Time       // when the authorization ends; zero: never
}

func (h *Hub) newSession(conn *websocket.Conn, r *http.Request, p *auth.Principal) *session {
	now := time.Now()
	s := &session{
		hub:          h,
		conn:         conn,
		id:           h.nextID.Add(1),
		base:         h.fhirBase(r),
		start:        now,
		schedIdx:     -1,
		unboundSince: now,
		lastPing:     now,
	}
	if p != nil {
		s.az = authz{authed: true, subject: p.Subject, principal: p, expires: p.Expires}
	}
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

// notify records work and starts a writer if none runs. It never blocks
// on I/O, so the hub may call it under its lock.
func (s *session) notify(bits uint8) {
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
func (s *session) wakeUp() { s.notify(workWake) }

// timeUp tells the writer a deadline passed.
func (s *session) timeUp() { s.notify(workTick) }

// serve runs the reader until the connection ends, waits for the writer,
// and releases everything the session holds.
func (s *session) serve() {
	s.logf(slog.LevelDebug, "websocket open")
	s.notify(workTick) // the first schedule: bind timeout, ping
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

// readLoop reads client messages until the connection ends.
func (s *session) readLoop() {
	c, cfg := s.conn, &s.hub.cfg
	c.SetReadLimit(cfg.ReadLimit)
	s.extendRead()
	c.SetPongHandler(func(string) error { s.extendRead(); return nil })
	c.SetPingHandler(func(data string) error {
		s.extendRead() // a client's ping shows it is alive too
		err := c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(cfg.WriteWait))
		var ne net.Error
		if err == nil || errors.Is(err, websocket.ErrCloseSent) || (errors.As(err, &ne) && ne.Timeout()) {
			return nil // as gorilla's default handler: the writer or reader reports real failures
		}
		return err
	})
	for {
		typ, data, err := c.ReadMessage()
		if err != nil {
			s.end(readReason(err), "")
			return
		}
		if s.closing.Load() {
			continue // waiting for the client's close frame
		}
		s.extendRead()
		if typ != websocket.TextMessage {
			s.reply(outcomeFrame(fhir.IssueInvalid, "binary frames are not accepted; send text frames"))
			continue
		}
		s.handleAside(data)
	}
}

// handleAside handles a client message on a short-lived goroutine and
// waits for it. Handling may go deep (redeeming a token is a Postgres
// query through pgx), and a goroutine keeps the largest stack it ever
// needed: run on the reader, which then idles for hours, that doubled the
// memory of an idle bound socket on Postgres. The reader still handles one
// message at a time, and the channel orders the handler's writes to
// reader-owned state before the reader's next use of it.
func (s *session) handleAside(data []byte) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.handle(data)
	}()
	<-done
}

// extendRead pushes the read deadline PongWait ahead, unless the session
// is closing (then closeGrace rules).
func (s *session) extendRead() {
	if !s.closing.Load() {
		s.conn.SetReadDeadline(time.Now().Add(s.hub.cfg.PongWait))
	}
}

// readReason classifies the error that ended the reader.
func readReason(err error) CloseReason {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		return ClientClosed
	case errors.Is(err, websocket.ErrReadLimit):
		return MessageTooBig
	case errors.As(err, &ne) && ne.Timeout():
		return ReadTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ClientClosed
	}
	return ProtocolError
}

// queue hands o to the writer without blocking; a full queue ends the
// session (SlowConsumer).
func (s *session) queue(o *op) {
	if s.closing.Load() {
		return
	}
	s.mu.Lock()
	full := len(s.ops) >= ctrlQueueLen
	if !full {
		s.ops = append(s.ops, o)
	}
	s.mu.Unlock()
	if full {
		s.end(SlowConsumer, "too many requests left unanswered")
		return
	}
	s.notify(workCtrl)
}

// reply queues a frame.
func (s *session) reply(frame []byte) { s.queue(&op{kind: opFrame, frame: frame}) }

var pongFrame = []byte(`{"type":"pong"}`)

// handle acts on one client text frame.
func (s *session) handle(data []byte) {
	m, err := parseClientMessage(data)
	if err != nil {
		// The error may quote client input: not logged.
		s.logf(slog.LevelDebug, "bad client message")
		s.reply(outcomeFrame(fhir.IssueInvalid, err.Error()))
		return
	}
	switch m.kind {
	case msgPing:
		s.reply(pongFrame)
	case msgBindToken:
		s.bindToken(m.token)
	case msgUnbindToken:
		s.queue(&op{kind: opUnbindToken, token: subscription.HashToken(m.token)})
	case msgBind, msgResume:
		s.bindID(m)
	case msgUnbind:
		s.queue(&op{kind: opUnbind, id: m.id})
	case msgReauth:
		s.reauth(m.token)
	}
}

// bindToken redeems a binding token and binds what it grants.
func (s *session) bindToken(tok string) {
	g, err := s.hub.b.RedeemToken(s.hub.ctx, subscription.KindBindingToken, tok)
	switch {
	case errors.Is(err, subscription.ErrTokenExpired):
		s.reply(outcomeFrame(fhir.IssueSecurity, "Token failed to validate: the token has expired; get a new one with $get-ws-binding-token"))
		return
	case errors.Is(err, subscription.ErrTokenInvalid):
		s.reply(outcomeFrame(fhir.IssueSecurity, "Token failed to validate"))
		return
	case err != nil:
		if s.hub.ctx.Err() == nil {
			s.logf(slog.LevelError, "redeem binding token", "err", err)
		}
		s.reply(outcomeFrame(fhir.IssueException, "the token could not be checked; try again"))
		return
	}
	s.bindGrant(g, subscription.HashToken(tok))
}

// bindGrant records a grant and queues the binding of its subscriptions
// that are active, with one OperationOutcome naming those that are not.
// token is the hash of the binding token (zero for a ticket). The grant
// authorizes exactly its subscriptions; it must belong to the session's
// principal, if the session has one already.
func (s *session) bindGrant(g subscription.Grant, token [32]byte) {
	if !s.admit(g.Subject, g.AuthExpires) {
		return
	}
	var subs []*subscription.Subscription
	var gone []fhir.Issue
	for _, id := range g.SubscriptionIDs {
		s.addGrant(grant{id: id, token: token})
		sub, ok, err := s.hub.b.LookupActive(s.hub.ctx, id)
		switch {
		case err != nil:
			gone = append(gone, fhir.Issue{Severity: "error", Code: fhir.IssueTransient, Diagnostics: "Subscription/" + id + " could not be checked; bind again"})
			continue
		case !ok:
			gone = append(gone, fhir.Issue{Severity: "error", Code: fhir.IssueNotFound, Diagnostics: "Subscription/" + id + " is not active; it was not bound"})
			continue
		}
		subs = append(subs, sub)
	}
	if len(gone) > 0 {
		s.reply(fhir.MarshalOutcome(&fhir.OperationOutcome{ResourceType: "OperationOutcome", Issue: gone}))
	}
	if len(subs) > 0 {
		s.queue(&op{kind: opBind, subs: subs, dialect: backport, token: token,
			grantIDs: g.SubscriptionIDs, renewTo: g.AuthExpires})
	}
}

// admit checks a grant's principal against the session's: the first
// authentication of a socket fixes its subject and the expiry of its
// authorization; a later grant must have the same subject (it may renew
// the expiry, see bind). False means refused; the client was told.
func (s *session) admit(subject string, expires time.Time) bool {
	s.mu.Lock()
	az := s.az
	if !az.authed {
		s.az = authz{authed: true, subject: subject, expires: expires}
	}
	s.mu.Unlock()
	if az.authed {
		if subject != az.subject {
			s.reply(outcomeFrame(fhir.IssueSecurity, "this token was issued to another principal than the one this socket is authenticated as; nothing was bound"))
			return false
		}
		return true
	}
	return s.identify(subject)
}

// identify counts the socket against its principal's sockets, once; when
// the principal has too many, the socket is told why and closed with 1008.
func (s *session) identify(subject string) bool {
	if subject == "" || s.claimed != "" {
		return true
	}
	if !s.hub.claim(subject) {
		s.reply(outcomeFrame(issueTooCostly, "at most "+strconv.Itoa(s.hub.cfg.MaxSocketsPerPrincipal)+
			" sockets may be open for one principal; close one, or bind more subscriptions on one socket"))
		s.queue(&op{kind: opClose, reason: TooManySockets, text: "too many sockets for this principal"})
		return false
	}
	s.claimed = subject
	return true
}

// bindID handles the legacy `bind <id>` and `resume <id> <n>`. They are
// allowed when the socket holds a grant for id (a ticket or binding token
// redeemed on it), when an access token authenticated the socket and its
// principal may bind id (mayBind), or when anonymous binds are allowed
// (auth mode none). A refused legacy bind ends the session with 4003 (its
// clients read close codes, not OperationOutcomes); a refused resume only
// earns the OperationOutcome. An unknown or inactive subscription ends the
// session with 4004 (as HAPI closes on a failed bind).
func (s *session) bindID(m clientMessage) {
	g, granted := s.findGrant(m.id)
	sub, active, _ := s.hub.b.LookupActive(s.hub.ctx, m.id)
	if !granted && !s.hub.cfg.AllowAnonymousBind {
		az := s.authz()
		why := ""
		switch {
		case az.principal == nil && s.hub.cfg.Authenticator != nil:
			why = "Subscription/" + m.id + ": this socket holds no grant for it and no access token; bind it with bind-with-token or a ticket, or authenticate the upgrade"
		case az.principal == nil:
			why = "Subscription/" + m.id + ": bind it first with bind-with-token or a ticket; anonymous binding is off"
		case active:
			why = s.hub.mayBind(*az.principal, sub)
		}
		if why != "" {
			s.reply(outcomeFrame(fhir.IssueForbidden, why))
			if m.kind == msgBind {
				s.queue(&op{kind: opClose, reason: Forbidden, text: "forbidden"})
			}
			return
		}
	}
	if !active {
		s.reply(outcomeFrame(fhir.IssueNotFound, "Invalid bind request - Unknown subscription: Subscription/"+m.id))
		s.queue(&op{kind: opClose, reason: UnknownSubscription, text: "unknown subscription"})
		return
	}
	o := &op{kind: opBind, subs: []*subscription.Subscription{sub}, dialect: legacy, token: g.token}
	if m.kind == msgResume {
		o.dialect, o.resume, o.since = backport, true, m.since
	}
	s.queue(o)
}

// reauthTimeout bounds the check of an in-band access token.
const reauthTimeout = 10 * time.Second

// reauth handles an in-band re-authentication Bundle. The token is checked
// here, on the reader, which therefore blocks while an introspection call
// runs (at most reauthTimeout; the introspection cache answers repeats at
// once): only this client's next messages wait, while its writer goes on
// delivering. The principal must have the session's subject; the writer
// then checks it against every binding (opReauth), since it owns them.
func (s *session) reauth(tok string) {
	h := s.hub
	if h.cfg.Authenticator == nil {
		s.reply(outcomeFrame(fhir.IssueNotSupported, "in-band re-authentication needs auth mode jwt or introspect"))
		return
	}
	az := s.authz()
	if !az.authed {
		s.reply(outcomeFrame(fhir.IssueSecurity, "this socket is not authenticated yet: authenticate the upgrade, or bind with a ticket or binding token, before renewing"))
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, reauthTimeout)
	p, err := h.cfg.Authenticator.Authenticate(ctx, tok)
	cancel()
	switch {
	case err == nil:
	case errors.Is(err, auth.ErrUnauthenticated):
		// Auth errors carry fixed reasons only, never token material.
		s.reply(outcomeFrame(fhir.IssueSecurity, "access token not accepted ("+err.Error()+"); the current authorization is kept until it expires"))
		return
	case errors.Is(err, auth.ErrAuthUnavailable):
		s.reply(outcomeFrame(fhir.IssueTransient, "the authorization server is unavailable; the current authorization is kept until it expires; try again"))
		return
	default:
		if h.ctx.Err() == nil {
			s.logf(slog.LevelError, "authenticate in-band token", "err", err)
		}
		s.reply(outcomeFrame(fhir.IssueException, "the access token could not be checked; try again"))
		return
	}
	if p.Subject != az.subject {
		s.reply(outcomeFrame(fhir.IssueSecurity, "the access token belongs to another principal than the one this socket is authenticated as; the current authorization is kept until it expires"))
		return
	}
	s.queue(&op{kind: opReauth, principal: &p})
}

// addGrant records g, replacing an older grant for the same subscription.
func (s *session) addGrant(g grant) {
	for i := range s.grants {
		if s.grants[i].id == g.id {
			s.grants[i] = g
			return
		}
	}
	s.grants = append(s.grants, g)
}

func (s *session) findGrant(id string) (grant, bool) {
	for _, g := range s.grants {
		if g.id == id {
			return g, true
		}
	}
	return grant{}, false
}

// earliest returns the earlier of two optional instants (zero: none).
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// writeLoop is a writer run: it takes the pending work until there is
// none, then exits (the next notify starts another).
func (s *session) writeLoop() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		bits, ops := s.pending, s.ops
		s.pending, s.ops = 0, nil
		if bits == 0 || s.closing.Load() {
			s.running = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if !s.work(bits, ops) {
			// The session ended: the loop's next round sees closing.
			continue
		}
	}
}

// work runs one round of work; false means the session ended.
func (s *session) work(bits uint8, ops []*op) bool {
	if bits&workShutdown != 0 {
		s.end(ServerShutdown, "server shutting down")
		return false
	}
	for _, o := range ops {
		if !s.run(o) {
			return false
		}
	}
	if bits&workWake != 0 && !s.drain() {
		return false
	}
	if bits&workTick != 0 && !s.onTime() {
		return false
	}
	return true
}

// write sends one text frame under the write deadline. On failure it ends
// the session and returns false.
func (s *session) write(b []byte) bool {
	s.conn.SetWriteDeadline(time.Now().Add(s.hub.cfg.WriteWait))
	err := s.conn.WriteMessage(websocket.TextMessage, b)
	if err == nil {
		return true
	}
	s.writeFailed(err)
	return false
}

func (s *session) writeFailed(err error) {
	if errors.Is(err, websocket.ErrCloseSent) {
		// A close frame went out: whoever sent it (end, or gorilla
		// answering a client close or an oversized message, after which
		// the reader calls end) gives the reason.
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		s.end(WriteTimeout, "")
		return
	}
	s.end(ClientClosed, "")
}

// run executes one control op; false means the session ended.
func (s *session) run(o *op) bool {
	switch o.kind {
	case opFrame:
		return s.write(o.frame)
	case opClose:
		s.end(o.reason, o.text)
		return false
	case opBind:
		return s.bind(o)
	case opReauth:
		return s.reauthorize(o.principal)
	case opUnbind:
		b := s.binding(o.id)
		if b == nil {
			return s.write(outcomeFrame(fhir.IssueNotFound, "Subscription/"+o.id+" is not bound on this socket"))
		}
		s.unbind(b, time.Now())
		return s.write([]byte("unbound " + o.id))
	case opUnbindToken:
		n := 0
		now := time.Now()
		for _, b := range slices.Clone(s.bindings) {
			if b.token == o.token {
				s.unbind(b, now)
				n++
			}
		}
		if n == 0 {
			return s.write(outcomeFrame(fhir.IssueNotFound, "no subscription is bound with this token on this socket"))
		}
	}
	return true
}

// bind binds (or re-binds, or resumes) the subscriptions of o and
// acknowledges each: a handshake Bundle, or `bound <id>` for legacy.
// A new binding starts at the head of the log (live events only); a
// re-bind keeps its cursor, so renewing a token loses nothing; resume sets
// the cursor to o.since and the drain that follows replays the rest.
func (s *session) bind(o *op) bool {
	cfg := &s.hub.cfg
	fresh := 0
	for _, sub := range o.subs {
		if s.binding(sub.ID) == nil {
			fresh++
		}
	}
	if len(s.bindings)+fresh > cfg.MaxBindingsPerSocket {
		msg := "at most " + strconv.Itoa(cfg.MaxBindingsPerSocket) + " subscriptions may be bound on one socket"
		if !s.write(outcomeFrame(issueTooCostly, msg)) {
			return false
		}
		s.end(PolicyViolation, "too many bindings")
		return false
	}
	s.renew(o)
	ids := make([]string, len(o.subs))
	for i, sub := range o.subs {
		ids[i] = sub.ID
	}
	heads, err := s.hub.b.EventHeads(s.hub.ctx, ids)
	if err != nil {
		if s.hub.ctx.Err() == nil {
			s.logf(slog.LevelError, "read event heads", "err", err)
		}
		return s.write(outcomeFrame(fhir.IssueTransient, "the event log is unavailable; bind again later"))
	}
	now := time.Now()
	for _, sub := range o.subs {
		hd, ok := heads[sub.ID]
		if !ok {
			hd = subscription.EventHead{Last: 0, FirstRetained: 1}
		}
		if o.resume {
			if o.since > hd.Last {
				if !s.write(outcomeFrame(fhir.IssueInvalid, "resume Subscription/"+sub.ID+" from event "+itoa(o.since)+
					": its last event is "+itoa(hd.Last))) {
					return false
				}
				continue
			}
			if o.since < hd.FirstRetained-1 {
				return s.tooFarBehind(sub.ID, o.since, hd.FirstRetained)
			}
		}
		b := s.binding(sub.ID)
		if b == nil {
			b = &binding{st: s.hub.attach(s, sub.ID), cursor: hd.Last, dialect: o.dialect}
			s.bindings = append(s.bindings, b)
		} else if !o.resume {
			b.dialect = o.dialect
		}
		if o.resume {
			b.cursor = o.since
		}
		b.sub, b.token = sub, o.token
		b.st.raise(hd.Last)
		var ok2 bool
		if b.dialect == legacy {
			ok2 = s.write([]byte("bound " + sub.ID))
		} else {
			ok2 = s.sendStatus(b, fhir.NotifyHandshake, "active", hd.Last, nil)
		}
		if !ok2 {
			return false
		}
		b.lastSend = now
		s.logf(slog.LevelDebug, "bound", "subscription_id", sub.ID, "event_number", b.cursor)
	}
	s.reschedule(now)
	s.wakeUp() // resumed or re-bound bindings may be behind
	return true
}

// renew moves the session's expiry to a grant's AuthExpires when that is
// later and the grant covers every subscription bound on the socket: the
// token issuer checked each of them against a fresher access token of the
// same principal (admit checked the subject). This is the Backport IG's
// renewal (a new bind-with-token before the old one ends); a grant that
// covers only some bindings binds under the current expiry.
func (s *session) renew(o *op) {
	if o.renewTo.IsZero() {
		return
	}
	for _, b := range s.bindings {
		if !slices.Contains(o.grantIDs, b.st.id) {
			return
		}
	}
	s.mu.Lock()
	if !s.az.expires.IsZero() && o.renewTo.After(s.az.expires) {
		s.az.expires = o.renewTo
	}
	s.mu.Unlock()
}

// reauthorize runs an in-band re-authentication (opReauth): if p may keep
// every binding (mayBind), the session adopts p and its expiry, and each
// backport binding gets a query-status Bundle carrying the new
// auth-expires; cursors are untouched, so nothing is lost or repeated.
// Otherwise the client gets an OperationOutcome naming each refusal and
// the old authorization stands until it expires. Legacy bindings get no
// Bundle: their dialect has none.
func (s *session) reauthorize(p *auth.Principal) bool {
	var refused []fhir.Issue
	for _, b := range s.bindings {
		if why := s.hub.mayBind(*p, b.sub); why != "" {
			refused = append(refused, fhir.Issue{Severity: "error", Code: fhir.IssueSecurity, Diagnostics: why})
		}
	}
	if len(refused) > 0 {
		refused[0].Diagnostics = "re-authentication refused, the current authorization is kept until it expires: " + refused[0].Diagnostics
		return s.write(fhir.MarshalOutcome(&fhir.OperationOutcome{ResourceType: "OperationOutcome", Issue: refused}))
	}
	s.mu.Lock()
	s.az.principal, s.az.expires = p, p.Expires
	s.mu.Unlock()
	now := time.Now()
	for _, b := range s.bindings {
		if b.dialect != backport {
			continue
		}
		if !s.sendStatus(b, fhir.NotifyQueryStatus, subscription.StatusActive, max(b.st.head.Load(), b.cursor), nil) {
			return false
		}
		b.lastSend = now
	}
	s.logf(slog.LevelDebug, "websocket re-authenticated", "principal", *p)
	s.reschedule(now)
	return true
}

// binding returns the binding of subscription id, or nil.
func (s *session) binding(id string) *binding {
	for _, b := range s.bindings {
		if b.st.id == id {
			return b
		}
	}
	return nil
}

// unbind removes a binding.
func (s *session) unbind(b *binding, now time.Time) {
	if i := slices.Index(s.bindings, b); i >= 0 {
		s.bindings = slices.Delete(s.bindings, i, i+1)
	}
	s.hub.detach(s, b.st)
	if len(s.bindings) == 0 {
		s.unboundSince = now
		s.reschedule(now)
	}
}

// batch is how many events a drain reads per binding per pass; other
// bindings and control ops get their turn in between.
const batch = 128

// drain sends every binding what lies between its cursor and its
// subscription's head, at most batch events per binding per call (it wakes
// itself again when more remain). False means the session ended.
func (s *session) drain() bool {
	more := false
	for _, b := range s.bindings {
		id := b.st.id
		head := b.st.head.Load()
		if b.cursor >= head {
			continue
		}
		if sub, ok := s.hub.b.ActiveSubscription(id); ok {
			b.sub = sub // content or max-count may have changed
		}
		per := max(b.sub.MaxCount, 1)
		limit := per * max(batch/per, 1)
		evs := b.st.recentAfter(b.cursor, limit)
		var err error
		if evs == nil {
			evs, err = s.hub.b.Events(s.hub.ctx, id, b.cursor, 0, limit)
		}
		if err != nil {
			if s.hub.ctx.Err() == nil {
				s.logf(slog.LevelError, "read events", "subscription_id", id, "err", err)
			}
			s.retry = true
			continue
		}
		if len(evs) == 0 || evs[0].Number != b.cursor+1 {
			heads, err := s.hub.b.EventHeads(s.hub.ctx, []string{id})
			if err != nil {
				s.retry = true
				continue
			}
			if first := heads[id].FirstRetained; first > b.cursor+1 {
				return s.tooFarBehind(id, b.cursor, first)
			}
			// The head moved past the log (not expected): resync.
			s.logf(slog.LevelWarn, "event log behind its head", "subscription_id", id, "event_number", b.cursor)
			b.st.head.Store(heads[id].Last)
			continue
		}
		if !s.sendEvents(b, evs) {
			return false
		}
		if b.st.raise(b.cursor) {
			// The log held events no wake-up had announced yet (they
			// committed before their Publish arrived). That Publish will
			// find the head already raised and wake nobody, so the other
			// sessions on this subscription must be woken here.
			s.hub.wakeOthers(b.st, s)
		}
		if b.cursor < b.st.head.Load() {
			more = true
		}
	}
	if more {
		s.wakeUp()
	}
	if s.retry {
		s.reschedule(time.Now())
	}
	return true
}

// tooFarBehind explains and closes with 4429: the events after cursor are
// no longer in the log.
func (s *session) tooFarBehind(id string, cursor, first int64) bool {
	msg := "Subscription/" + id + ": events " + itoa(cursor+1) + " to " + itoa(first-1) +
		" are no longer retained; recover with $events from " + itoa(first) + " and resume, or bind again"
	if s.write(outcomeFrame(fhir.IssueProcessing, msg)) {
		s.end(TooFarBehind, "too far behind")
	}
	return false
}

// sendEvents sends evs (consecutive, after b.cursor) and advances the
// cursor after each frame: backport Bundles of up to MaxCount events, or
// one `ping <id>` per event for legacy.
func (s *session) sendEvents(b *binding, evs []subscription.Event) bool {
	now := time.Now()
	if b.dialect == legacy {
		frame := []byte("ping " + b.sub.ID)
		for _, ev := range evs {
			if !s.write(frame) {
				return false
			}
			b.cursor, b.lastSend = ev.Number, now
		}
		return true
	}
	per := max(b.sub.MaxCount, 1)
	nevs := make([]fhir.NotificationEvent, 0, min(per, len(evs)))
	for len(evs) > 0 {
		chunk := evs[:min(per, len(evs))]
		evs = evs[len(chunk):]
		nevs = nevs[:0]
		for i := range chunk {
			nevs = append(nevs, subscription.NotificationEvent(chunk[i]))
		}
		last := chunk[len(chunk)-1].Number
		if !s.sendStatus(b, fhir.NotifyEvent, "active", last, nevs) {
			return false
		}
		b.cursor, b.lastSend = last, now
	}
	return true
}

// sendStatus builds and sends one notification Bundle for b.
func (s *session) sendStatus(b *binding, typ, status string, since int64, evs []fhir.NotificationEvent) bool {
	st := fhir.Status{
		Subscription:     "Subscription/" + b.sub.ID,
		Topic:            b.sub.TopicURL,
		Status:           status,
		Type:             typ,
		EventsSinceStart: since,
		Events:           evs,
	}
	if exp := s.authExpires(); !exp.IsZero() {
		st.Extensions = []fhir.Extension{fhir.AuthExpires(exp)}
	}
	if status == subscription.StatusError {
		st.Errors = []fhir.CodeableConcept{{Text: "the authorization of this socket expired; resume on a new socket with a fresh token or ticket"}}
	}
	bp := s.hub.getBuf()
	defer s.hub.putBuf(bp)
	out, err := fhir.AppendBackportNotification((*bp)[:0], st, b.sub.Content, s.base, "", time.Now())
	if err != nil {
		// A bug (the inputs come from the engine): skip the frame, keep
		// the socket.
		s.logf(slog.LevelError, "build notification", "subscription_id", b.sub.ID, "err", err)
		return true
	}
	*bp = out
	return s.write(out)
}

// heartbeatPeriod is b's heartbeat period at now: every 10 s during the
// last minute of the session's authorization (ending at exp), as a
// warning.
func (s *session) heartbeatPeriod(b *binding, now, exp time.Time) time.Duration {
	p := b.sub.HeartbeatPeriod
	if p <= 0 {
		p = s.hub.cfg.DefaultHeartbeat
	}
	if !exp.IsZero() && exp.Sub(now) <= authWarning {
		p = min(p, authWarningPeriod)
	}
	return p
}

// issueTooCostly is the issue type of a request refused for its cost.
const issueTooCostly = "too-costly"

const (
	authWarning       = time.Minute
	authWarningPeriod = 10 * time.Second
)

// early is how much before a periodic deadline it may fire: a twentieth
// of the period, at most a second, so that heartbeats are never late and
// deadlines of one socket coalesce.
func early(p time.Duration) time.Duration { return min(p/20, time.Second) }

func (s *session) pingPeriod() time.Duration { return s.hub.cfg.PongWait * 9 / 10 }

// onTime acts on every deadline that passed: bind timeout, ping, expired
// authorizations, heartbeats. False means the session ended.
func (s *session) onTime() bool {
	now := time.Now()
	s.scheduled = time.Time{} // the scheduler dropped the entry that fired
	cfg := &s.hub.cfg
	if len(s.bindings) == 0 && !now.Before(s.unboundSince.Add(cfg.BindTimeout)) {
		s.end(BindTimeout, "no subscription bound in time")
		return false
	}
	if pp := s.pingPeriod(); !now.Before(s.lastPing.Add(pp - early(pp))) {
		if err := s.conn.WriteControl(websocket.PingMessage, nil, now.Add(cfg.WriteWait)); err != nil {
			s.writeFailed(err)
			return false
		}
		s.lastPing = now
	}
	exp := s.authExpires()
	if !exp.IsZero() && !now.Before(exp) {
		// One authorization per session: when it ends, every backport
		// binding gets a final query-status with status error and the
		// socket closes with 4001. The events go on being logged, so a
		// resume on a new socket recovers them.
		for _, b := range s.bindings {
			if b.dialect == backport && !s.sendStatus(b, fhir.NotifyQueryStatus, subscription.StatusError, max(b.st.head.Load(), b.cursor), nil) {
				return false
			}
		}
		s.end(TokenExpired, "authorization expired")
		return false
	}
	for _, b := range slices.Clone(s.bindings) { // unbind edits s.bindings
		id := b.st.id
		if b.dialect != backport {
			continue
		}
		hp := s.heartbeatPeriod(b, now, exp)
		if now.Before(b.lastSend.Add(hp - early(hp))) {
			continue
		}
		status := subscription.StatusActive
		sub, ok := s.hub.b.ActiveSubscription(id)
		if ok {
			b.sub = sub
		} else {
			status = subscription.StatusOff // deleted or turned off: say so, and stop
		}
		if !s.sendStatus(b, fhir.NotifyHeartbeat, status, max(b.st.head.Load(), b.cursor), nil) {
			return false
		}
		b.lastSend = now
		if !ok {
			s.unbind(b, now)
		}
	}
	if s.retry {
		s.retry = false
		s.wakeUp()
	}
	s.reschedule(now)
	return true
}

// reschedule gives the scheduler this session's earliest deadline.
func (s *session) reschedule(now time.Time) {
	cfg := &s.hub.cfg
	pp := s.pingPeriod()
	next := s.lastPing.Add(pp - early(pp))
	if len(s.bindings) == 0 {
		next = earliest(next, s.unboundSince.Add(cfg.BindTimeout))
	}
	exp := s.authExpires()
	if !exp.IsZero() {
		next = earliest(next, exp)
		if w := exp.Add(-authWarning); w.After(now) && len(s.bindings) > 0 {
			next = earliest(next, w) // heartbeats speed up from here
		}
	}
	for _, b := range s.bindings {
		if b.dialect == backport {
			hp := s.heartbeatPeriod(b, now, exp)
			next = earliest(next, b.lastSend.Add(hp-early(hp)))
		}
	}
	if s.retry {
		next = earliest(next, now.Add(time.Second))
	}
	if !next.Equal(s.scheduled) {
		s.scheduled = next
		s.hub.sched.set(s, next)
	}
}

// outcomeFrame encodes an OperationOutcome with one issue.
func outcomeFrame(code, diag string) []byte {
	return fhir.MarshalOutcome(fhir.NewOutcome(code, diag))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// getBuf returns a buffer for building one notification.
func (h *Hub) getBuf() *[]byte {
	if bp, ok := h.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 4096)
	return &b
}

// putBuf recycles a buffer unless it grew huge (one big resource must not
// pin memory for good).
func (h *Hub) putBuf(bp *[]byte) {
	if cap(*bp) <= 1<<20 {
		h.bufs.Put(bp)
	}
}
