// The writer: a goroutine that runs only while the session has work, and
// the only one that writes data frames or touches the bindings. It runs
// the control ops the reader queued (bind, renew, re-authorize, unbind),
// drains cursors (delivery.go) and acts on deadlines (deadlines.go).

package notify

import (
	"errors"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/gorilla/websocket"
)

// writeLoop is a writer run: it takes the pending work until there is
// none, then exits (the next addWork starts another).
func (s *session) writeLoop() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		bits, ops := s.pending, s.ops
		s.pending, s.ops, s.opsBytes = 0, nil, 0
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
		return s.reauthorize(o.principal, o.secret)
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
	if !s.renew(o) {
		return false
	}
	// Each subscription is judged against the socket's authorization
	// before anything of it (handshake, `bound`) is written.
	var subs []*subscription.Subscription
	var refused []fhir.Issue
	for _, sub := range o.subs {
		if why := s.refusal(sub); why != "" {
			refused = append(refused, fhir.Issue{Severity: "error", Code: fhir.IssueForbidden, Diagnostics: why + "; it was not bound"})
			continue
		}
		subs = append(subs, sub)
	}
	if len(refused) > 0 {
		if !s.write(fhir.MarshalOutcome(&fhir.OperationOutcome{ResourceType: "OperationOutcome", Issue: refused})) {
			return false
		}
		if o.dialect == legacy && !o.resume {
			s.end(Forbidden, "forbidden") // legacy clients go by close codes
			return false
		}
	}
	if len(subs) == 0 {
		return true
	}
	ids := make([]string, len(subs))
	for i, sub := range subs {
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
	for _, sub := range subs {
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
			b = &binding{cursor: hd.Last, dialect: o.dialect, medplum: o.medplum}
			b.publish()
			b.st = s.hub.attach(s, sub.ID, b)
			s.bindings = append(s.bindings, b)
		} else if !o.resume {
			b.dialect, b.medplum = o.dialect, o.medplum
		}
		if o.resume {
			b.cursor = o.since
		}
		b.publish()
		b.sub, b.token = sub, o.token
		b.st.raise(hd.Last)
		var ok2 bool
		if b.dialect == legacy {
			ok2 = s.write([]byte("bound " + sub.ID))
		} else {
			ok2 = s.sendStatus(b, fhir.NotifyHandshake, "active", hd.Last, nil, "")
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

// renew lets a grant that covers every subscription bound on the socket
// renew its authorization (the Backport IG's renewal: a new
// bind-with-token before the old one ends): the token issuer checked each
// of them against a fresher access token of the same principal (admit
// checked the subject). A renewal replaces the authorization: the grant's
// holder, until its AuthExpires, is what delivery follows from then on,
// and a binding the holder may no longer hold ends (dropUnbindable). A
// grant that covers only some bindings, or that comes to a socket with
// none yet, binds under the current authorization. False means the
// session ended.
func (s *session) renew(o *op) bool {
	if o.renewTo.IsZero() && o.holder == nil {
		return true // auth mode none
	}
	if len(s.bindings) == 0 {
		return true
	}
	for _, b := range s.bindings {
		if !slices.Contains(o.grantIDs, b.st.id) {
			return true
		}
	}
	s.mu.Lock()
	if o.holder != nil {
		s.az.principal, s.az.byToken, s.az.token = o.holder, false, ""
	}
	s.az.expires = o.renewTo
	s.mu.Unlock()
	return s.dropUnbindable("the renewed authorization")
}

// refusal says why the socket's current authorization may not hold a
// binding of sub ("" when it may). Nothing is checked in auth mode none.
func (s *session) refusal(sub *subscription.Subscription) string {
	if s.hub.cfg.Authenticator == nil {
		return ""
	}
	az := s.authz()
	if az.principal == nil {
		return "Subscription/" + sub.ID + ": this socket is not authorised"
	}
	return s.hub.mayBind(*az.principal, sub)
}

// dropUnbindable ends every binding the socket's (new) authorization may
// no longer hold, each with a forbidden OperationOutcome saying why; the
// other bindings stay, cursors untouched. False means the session ended.
func (s *session) dropUnbindable(what string) bool {
	var refused []fhir.Issue
	now := time.Now()
	for _, b := range slices.Clone(s.bindings) {
		why := s.refusal(b.sub)
		if why == "" {
			continue
		}
		refused = append(refused, fhir.Issue{Severity: "error", Code: fhir.IssueForbidden,
			Diagnostics: "Subscription/" + b.sub.ID + " is no longer bound on this socket: " + what + " does not cover it (" + why + ")"})
		s.unbind(b, now)
	}
	if len(refused) == 0 {
		return true
	}
	return s.write(fhir.MarshalOutcome(&fhir.OperationOutcome{ResourceType: "OperationOutcome", Issue: refused}))
}

// reauthorize runs an in-band re-authentication (opReauth). The new
// principal replaces the socket's authorization, narrower or wider:
// delivery follows it from now on, and its expiry is the socket's. A
// binding it may no longer hold (mayBind) ends with a forbidden
// OperationOutcome naming it; every other binding keeps its cursor, so
// nothing is lost or repeated, and gets a query-status Bundle carrying
// the new auth-expires. Legacy bindings get no Bundle: their dialect has
// none.
// tok is the new access token when the hub re-checks tokens.
func (s *session) reauthorize(p *auth.Principal, tok string) bool {
	s.mu.Lock()
	s.az.principal, s.az.byToken, s.az.token, s.az.expires = p, true, tok, p.Expires
	s.mu.Unlock()
	s.hub.obs.Reauth(ReauthSuccess)
	if !s.dropUnbindable("the new access token") {
		return false
	}
	now := time.Now()
	for _, b := range s.bindings {
		if b.dialect == legacy {
			continue
		}
		if !s.sendStatus(b, fhir.NotifyQueryStatus, subscription.StatusActive, max(b.st.head.Load(), b.cursor), nil, "") {
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
