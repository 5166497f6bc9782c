// The reader: one goroutine per socket, for the socket's lifetime. It reads
// client messages and acts on them (binds, grants, in-band
// re-authentication); whatever must be written, or changes the bindings,
// goes to the writer through the control queue (queue, reply). It owns
// session.grants and session.claimed.

package notify

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/gorilla/websocket"
)

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

// queue hands o to the writer without blocking; a full queue (by count,
// or by the bytes of its frames) ends the session (SlowConsumer).
func (s *session) queue(o *op) {
	if s.closing.Load() {
		return
	}
	s.mu.Lock()
	full := len(s.ops) >= ctrlQueueLen || s.opsBytes+len(o.frame) > ctrlQueueBytes
	if !full {
		s.ops = append(s.ops, o)
		s.opsBytes += len(o.frame)
	}
	s.mu.Unlock()
	if full {
		s.end(SlowConsumer, "too many requests left unanswered")
		return
	}
	s.addWork(workCtrl)
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
		s.bindToken(m.token, m.json)
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

// bindToken redeems a binding token and binds what it grants; medplum says
// the bind came in Medplum's JSON framing.
func (s *session) bindToken(tok string, medplum bool) {
	g, err := s.hub.b.RedeemToken(s.hub.ctx, subscription.KindBindingToken, tok, nil)
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
	s.via.CompareAndSwap(uint32(AuthAnonymous), uint32(AuthBindingToken))
	s.bindGrant(g, subscription.HashToken(tok), medplum)
}

// bindGrant records a grant and queues the binding of its subscriptions
// that are active, with one OperationOutcome naming those that are not.
// token is the hash of the binding token (zero for a ticket). The grant
// authorizes exactly its subscriptions; it must belong to the session's
// principal, if the session has one already.
func (s *session) bindGrant(g subscription.Grant, token [32]byte, medplum bool) {
	if !s.admit(g) {
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
		s.queue(&op{kind: opBind, subs: subs, dialect: backport, medplum: medplum, token: token,
			grantIDs: g.SubscriptionIDs, holder: s.hub.holder(g), renewTo: s.hub.grantExpiry(g.AuthExpires)})
	}
}

// admit checks a grant's principal against the session's: the first
// authentication of a socket fixes its subject, and the grant's holder
// becomes its authorization until the grant's AuthExpires; a later grant
// must have the same subject (it may renew the authorization, see renew).
// False means refused; the client was told.
func (s *session) admit(g subscription.Grant) bool {
	subject := g.Subject
	s.mu.Lock()
	az := s.az
	if !az.authed {
		s.az = authz{authed: true, subject: subject, principal: s.hub.holder(g), expires: s.hub.grantExpiry(g.AuthExpires)}
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
		s.tooManySockets()
		return false
	}
	s.claimed = subject
	return true
}

// tooManySockets tells the client why and closes with 1008.
func (s *session) tooManySockets() {
	s.reply(outcomeFrame(issueTooCostly, "at most "+strconv.Itoa(s.hub.cfg.MaxSocketsPerPrincipal)+
		" sockets may be open for one principal; close one, or bind more subscriptions on one socket"))
	s.queue(&op{kind: opClose, reason: TooManySockets, text: "too many sockets for this principal"})
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
		case !az.byToken && s.hub.cfg.Authenticator != nil:
			why = "Subscription/" + m.id + ": this socket holds no grant for it and no access token; bind it with bind-with-token or a ticket, or authenticate the upgrade"
		case !az.byToken:
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
		h.obs.Reauth(ReauthRefused)
		s.reply(outcomeFrame(fhir.IssueSecurity, "access token not accepted ("+err.Error()+"); the current authorization is kept until it expires"))
		return
	case errors.Is(err, auth.ErrAuthUnavailable):
		h.obs.Reauth(ReauthUnavailable)
		s.reply(outcomeFrame(fhir.IssueTransient, "the authorization server is unavailable; the current authorization is kept until it expires; try again"))
		return
	default:
		h.obs.Reauth(ReauthUnavailable)
		if h.ctx.Err() == nil {
			s.logf(slog.LevelError, "authenticate in-band token", "err", err)
		}
		s.reply(outcomeFrame(fhir.IssueException, "the access token could not be checked; try again"))
		return
	}
	if p.Subject != az.subject {
		h.obs.Reauth(ReauthRefused)
		s.reply(outcomeFrame(fhir.IssueSecurity, "the access token belongs to another principal than the one this socket is authenticated as; the current authorization is kept until it expires"))
		return
	}
	s.queue(&op{kind: opReauth, principal: &p, secret: h.keepToken(tok)})
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
