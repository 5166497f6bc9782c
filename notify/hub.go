package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/gorilla/websocket"
)

// Backend is what the hub needs from the subscription engine;
// *subscription.Service satisfies it. Every method is safe for concurrent
// use.
type Backend interface {
	// RedeemToken returns the grant of a binding token (kind
	// subscription.KindBindingToken, reusable) or consumes a ticket
	// (subscription.KindTicket, single use): subscription.ErrTokenInvalid
	// or subscription.ErrTokenExpired when it cannot be used.
	RedeemToken(ctx context.Context, kind, secret string) (subscription.Grant, error)
	// ActiveSubscription returns the subscription id if it is active, from
	// memory (the delivery path asks it on every drain).
	ActiveSubscription(id string) (*subscription.Subscription, bool)
	// LookupActive is ActiveSubscription that, on a miss, reads the
	// subscription from the store: binding a subscription created on
	// another node a moment ago must not fail because this node has not
	// heard of it yet.
	LookupActive(ctx context.Context, id string) (*subscription.Subscription, bool, error)
	// Events returns the retained events of subID numbered in (after,
	// until] (until <= 0: no bound), ascending, at most limit.
	Events(ctx context.Context, subID string, after, until int64, limit int) ([]subscription.Event, error)
	// EventHeads returns the head of each named subscription's log.
	EventHeads(ctx context.Context, ids []string) (map[string]subscription.EventHead, error)
	// ResourceTypesOf returns the resource types whose writes may notify
	// sub; a principal must be able to read each to keep a binding.
	ResourceTypesOf(sub *subscription.Subscription) []string
}

// Config tunes a Hub. Zero values take the defaults named on each field.
type Config struct {
	// BaseURL is the absolute base of the server, e.g.
	// "http://127.0.0.1:8080"; the FHIR base in notifications is
	// BaseURL+"/fhir". Empty: derived from each upgrade request (scheme
	// from TLS, host from Host), which is right unless a proxy rewrites
	// them.
	BaseURL string
	// BindTimeout is how long a socket may stay without any binding
	// before it is closed with 4008 (default 10 s).
	BindTimeout time.Duration
	// PongWait is how long the reader waits for any frame, pongs included
	// (default 60 s). Pings go out every 9/10 of it.
	PongWait time.Duration
	// WriteWait bounds every write (default 10 s).
	WriteWait time.Duration
	// ReadLimit is the largest client message accepted; a larger one
	// closes the socket with 1009 (default 64 KiB).
	ReadLimit int64
	// MaxBindingsPerSocket caps the subscriptions bound on one socket;
	// binding more closes it with 1008 (default 100).
	MaxBindingsPerSocket int
	// DefaultHeartbeat is the heartbeat period of a subscription that has
	// none (default 30 s; parsed subscriptions always have one).
	DefaultHeartbeat time.Duration
	// PollInterval is how often Run asks the Backend for the heads of the
	// subscriptions bound here, so that delivery does not depend on
	// Publish (default 1 s; negative disables polling).
	PollInterval time.Duration
	// AllowAnonymousBind allows the legacy `bind <id>` and `resume <id> <n>`
	// for any active subscription without a token, ticket or principal
	// (auth mode none). Otherwise they need a grant for <id> on this
	// socket, or an authenticated principal that may manage <id>.
	AllowAnonymousBind bool
	// Authenticator checks the access tokens of sockets: on the upgrade
	// (Authorization: Bearer, or the subprotocol fhirbell.bearer.<token>)
	// and in band (a re-authentication Bundle). Nil (or auth.None) is auth
	// mode none: tokens are ignored, sockets are anonymous until a grant
	// binds, and in-band re-authentication is not supported.
	Authenticator auth.Authenticator
	// Origin decides which browser origins may upgrade (its AllowUpgrade:
	// no Origin, the server's own origin, or an allowed one); others get
	// 403 before any ticket is redeemed. Its Proxies also give the client
	// address that UpgradeLimiter keys on.
	Origin auth.OriginPolicy
	// ClientCerts maps verified mutual-TLS client certificate subjects to
	// scopes (auth.ClientCertPrincipal): an upgrade without an access token
	// over such a connection is authenticated as that system principal.
	ClientCerts map[string]string
	// UpgradeLimiter, when set, limits upgrades per principal subject
	// (when the upgrade carries an access token) or else per client
	// address; an upgrade over the limit gets 429.
	UpgradeLimiter *auth.Limiter
	// MaxSocketsPerPrincipal caps the sockets one principal subject holds
	// open on this node; the socket that would exceed it is told why and
	// closed with 1008 (default 50).
	MaxSocketsPerPrincipal int
	// Logger receives session lifecycle lines (default: discard).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.BindTimeout, 10*time.Second)
	def(&c.PongWait, 60*time.Second)
	def(&c.WriteWait, 10*time.Second)
	def(&c.DefaultHeartbeat, subscription.DefaultHeartbeatPeriod)
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = 64 << 10
	}
	if c.MaxBindingsPerSocket <= 0 {
		c.MaxBindingsPerSocket = 100
	}
	if c.MaxSocketsPerPrincipal <= 0 {
		c.MaxSocketsPerPrincipal = 50
	}
	if _, none := c.Authenticator.(auth.None); none {
		c.Authenticator = nil // mode none: the same as no authenticator
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
}

// Hub owns the WebSocket sessions of one node: it serves the endpoint,
// knows which sessions are bound to which subscription, and wakes them
// when their subscriptions get events. See the package documentation for
// its invariants.
type Hub struct {
	b     Backend
	cfg   Config
	log   *slog.Logger
	upg   websocket.Upgrader
	sched scheduler
	bufs  sync.Pool // *[]byte for building notifications
	warns warnLimiter

	pollNow chan struct{}   // capacity 1: Poll asks the poll loop to run now
	ctx     context.Context // canceled by Shutdown; Backend calls use it
	cancel  context.CancelFunc
	nextID  atomic.Uint64
	wg      sync.WaitGroup // one per live session

	mu         sync.Mutex
	closing    bool                  // guarded by mu
	sessions   map[*session]struct{} // guarded by mu
	subs       map[string]*subState  // guarded by mu; subscriptions bound here
	bindings   int                   // guarded by mu; total bindings
	perSubject map[string]int        // guarded by mu; sockets per principal subject
}

// subState is a subscription bound on this node.
type subState struct {
	id string
	// head is the highest event number known to exist (from Publish, the
	// poll, or a bind's EventHeads); sessions read it without the hub lock.
	head atomic.Int64
	// recent is the last batch of consecutive events published on this
	// node (PublishEvents), so that woken sessions take them from memory
	// instead of each reading the log; immutable once stored.
	recent atomic.Pointer[[]subscription.Event]
	// sessions bound to it; guarded by Hub.mu.
	sessions map[*session]struct{}
}

// Stats is a snapshot of a hub's load.
type Stats struct {
	Sockets  int // open sessions
	Bindings int // (session, subscription) bindings
}

var _ subscription.EventsPublisher = (*Hub)(nil)

// writeBufferPool is shared by every socket: a gorilla write buffer is held
// only while a message is written, so idle sockets hold none.
var writeBufferPool sync.Pool

// NewHub returns a Hub over b. It starts no goroutine: call Run for
// heartbeats, pings, bind timeouts and polling, serve Handler, and call
// Shutdown at the end.
func NewHub(b Backend, cfg Config) *Hub {
	cfg.setDefaults()
	h := &Hub{
		b:          b,
		cfg:        cfg,
		log:        cfg.Logger,
		sessions:   map[*session]struct{}{},
		subs:       map[string]*subState{},
		perSubject: map[string]int{},
		pollNow:    make(chan struct{}, 1),
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.sched.init()
	h.upg = websocket.Upgrader{
		HandshakeTimeout: cfg.WriteWait,
		ReadBufferSize:   256, // client messages are tiny; a bigger one is read in pieces
		WriteBufferSize:  1024,
		WriteBufferPool:  &writeBufferPool,
		// The only subprotocol ever echoed: never a fhirbell.bearer.<token>
		// entry offered beside it.
		Subprotocols: []string{auth.Subprotocol},
		// ServeHTTP checks the origin itself, before redeeming a ticket.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return h
}

// Stats returns the current number of sockets and bindings.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{Sockets: len(h.sessions), Bindings: h.bindings}
}

// Publish records that the events refs exist and wakes the sessions bound
// to their subscriptions. It never blocks on a socket: a wake-up is a
// non-blocking send on a channel of capacity 1, and the events themselves
// are read from the log by each session. Refs of subscriptions not bound
// here are ignored (a later bind reads the head from the Backend).
func (h *Hub) Publish(refs []subscription.EventRef) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range refs {
		st := h.subs[r.SubscriptionID]
		if st == nil || !st.raise(r.Number) {
			continue
		}
		for s := range st.sessions {
			s.wakeUp()
		}
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
			for s := range st.sessions {
				s.wakeUp()
			}
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
// hub holds them all (from cursor+1 up), at most limit; nil otherwise.
func (st *subState) recentAfter(cursor int64, limit int) []subscription.Event {
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
	return run
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

// attach records that s is bound to subscription id and returns its state.
func (h *Hub) attach(s *session, id string) *subState {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.subs[id]
	if st == nil {
		st = &subState{id: id, sessions: map[*session]struct{}{}}
		h.subs[id] = st
	}
	if _, ok := st.sessions[s]; !ok {
		st.sessions[s] = struct{}{}
		h.bindings++
	}
	return st
}

// detach undoes attach.
func (h *Hub) detach(s *session, st *subState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := st.sessions[s]; !ok {
		return
	}
	delete(st.sessions, s)
	h.bindings--
	if len(st.sessions) == 0 && h.subs[st.id] == st {
		delete(h.subs, st.id)
	}
}

// Run runs the hub's timing loop (heartbeats, pings, bind timeouts, the
// expiry of authorizations) and its poll of event heads until ctx ends. It
// must be running while sockets are served; start it before serving and
// stop it after Shutdown. It returns nil.
func (h *Hub) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { h.sched.run(ctx) })
	if h.cfg.PollInterval > 0 {
		h.pollLoop(ctx)
	}
	wg.Wait()
	return nil
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
			heads, err := h.b.EventHeads(ctx, chunk)
			if err != nil {
				if ctx.Err() == nil {
					h.log.Error("poll event heads", "err", err)
				}
				break
			}
			h.mu.Lock()
			for id, hd := range heads {
				if st := h.subs[id]; st != nil && st.raise(hd.Last) {
					for s := range st.sessions {
						s.wakeUp()
					}
				}
			}
			h.mu.Unlock()
		}
	}
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

// Shutdown refuses new upgrades (503), makes every session send close
// 1001 and waits for them to end until ctx is done; then it closes the
// remaining connections and returns ctx's error.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	for s := range h.sessions {
		s.notify(workShutdown) // its writer sends 1001
	}
	h.mu.Unlock()
	h.cancel()
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	h.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(h.sessions))
	for s := range h.sessions {
		conns = append(conns, s.conn)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.Close() // unblocks its session's reader and writer
	}
	<-done
	return ctx.Err()
}

// Handler returns the handler of the WebSocket endpoint: "/ws" and
// "/ws/{ticket}" (mount it on both; any prefix before /ws is ignored).
func (h *Hub) Handler() http.Handler { return http.HandlerFunc(h.serveHTTP) }

// wsPath splits the request path into the endpoint and its ticket.
func wsPath(p string) (ticket string, ok bool) {
	if p == "/ws" || strings.HasSuffix(p, "/ws") || p == "/ws/" {
		return "", true
	}
	i := strings.LastIndex(p, "/ws/")
	if i < 0 {
		return "", false
	}
	ticket = p[i+len("/ws/"):]
	if ticket == "" {
		return "", true
	}
	if strings.Contains(ticket, "/") {
		return "", false
	}
	return ticket, true
}

// serveHTTP checks the request (origin, access token, rate limit),
// redeems a ticket if the path has one, upgrades, and starts the session.
// It never logs the path, the query or any header: a ticket, like an
// access token, is a credential.
func (h *Hub) serveHTTP(w http.ResponseWriter, r *http.Request) {
	ticket, ok := wsPath(r.URL.Path)
	if !ok {
		httpOutcome(w, http.StatusNotFound, fhir.IssueNotFound, "no such WebSocket endpoint")
		return
	}
	h.mu.Lock()
	closing := h.closing
	h.mu.Unlock()
	if closing {
		httpOutcome(w, http.StatusServiceUnavailable, fhir.IssueTransient, "server is shutting down")
		return
	}
	// Checked before the ticket is redeemed, so a link preview or a
	// cross-site page cannot burn it.
	if !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		httpOutcome(w, http.StatusUpgradeRequired, fhir.IssueNotSupported, "this endpoint speaks WebSocket only")
		return
	}
	if !h.originAllowed(r) {
		httpOutcome(w, http.StatusForbidden, fhir.IssueForbidden, "origin not allowed")
		return
	}
	tok, err := h.upgradeToken(r)
	if err != nil {
		h.refuseAuth(w, err)
		return
	}
	var p *auth.Principal
	if tok != "" {
		pr, err := h.cfg.Authenticator.Authenticate(r.Context(), tok)
		if err != nil {
			h.refuseAuth(w, err)
			return
		}
		p = &pr
	} else if h.cfg.Authenticator != nil && len(h.cfg.ClientCerts) > 0 {
		// A system client on mutual TLS: its verified certificate is its
		// credential, as on the REST API.
		if pr, ok := auth.ClientCertPrincipal(r.TLS, h.cfg.ClientCerts); ok {
			p = &pr
		}
	}
	if lim := h.cfg.UpgradeLimiter; lim != nil {
		key := "ip:" + h.cfg.Origin.Proxies.ClientIP(r)
		if p != nil && p.Subject != "" {
			key = "sub:" + p.Subject
		}
		if !lim.Allow(key) {
			w.Header().Set("Retry-After", "1")
			httpOutcome(w, http.StatusTooManyRequests, fhir.IssueThrottled, "too many WebSocket upgrades; slow down")
			return
		}
	}
	var grant *subscription.Grant
	if ticket != "" {
		g, err := h.b.RedeemToken(r.Context(), subscription.KindTicket, ticket)
		switch {
		case errors.Is(err, subscription.ErrTokenExpired):
			httpOutcome(w, http.StatusUnauthorized, fhir.IssueLogin, "ticket expired; request a new one with $websocket-ticket")
			return
		case errors.Is(err, subscription.ErrTokenInvalid):
			httpOutcome(w, http.StatusNotFound, fhir.IssueNotFound, "unknown or already used ticket; request a new one with $websocket-ticket")
			return
		case err != nil:
			h.log.Error("redeem ticket", "err", err)
			httpOutcome(w, http.StatusInternalServerError, fhir.IssueException, "ticket could not be checked")
			return
		}
		if p != nil && g.Subject != p.Subject {
			httpOutcome(w, http.StatusForbidden, fhir.IssueSecurity, "the ticket was issued to another principal than the access token's")
			return
		}
		grant = &g
	}
	conn, err := h.upg.Upgrade(w, r, nil)
	if err != nil {
		return // gorilla has answered with an HTTP error
	}
	s := h.newSession(conn, r, p)
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(h.cfg.WriteWait))
		conn.Close()
		return
	}
	h.sessions[s] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	if p != nil {
		s.logf(slog.LevelDebug, "websocket authenticated", "principal", *p)
	}
	// Queued before serve starts: the control queue cannot be full.
	if p == nil || s.identify(p.Subject) {
		if grant != nil {
			s.bindGrant(*grant, [32]byte{})
		}
	}
	// The session runs in its own goroutine and the handler returns, so
	// that net/http releases what it holds for the connection (its 4 KiB
	// read and write buffers, the request, the handler's grown stack):
	// about 18 KiB per idle socket (see doc.go).
	go func() {
		defer func() {
			h.mu.Lock()
			delete(h.sessions, s)
			h.mu.Unlock()
			h.wg.Done()
		}()
		s.serve()
	}()
}

// originAllowed applies Config.Origin.
func (h *Hub) originAllowed(r *http.Request) bool {
	return h.cfg.Origin.AllowUpgrade(r)
}

// errMalformedToken is the ErrUnauthenticated of an access token offered
// in a form that cannot be read.
var errMalformedToken = fmt.Errorf("%w: malformed Authorization header or bearer subprotocol", auth.ErrUnauthenticated)

// errBareBearerSubprotocol refuses a fhirbell.bearer.<token> subprotocol
// offered without fhirbell: the only subprotocol the server could then
// echo is the token entry, and it never echoes a token.
var errBareBearerSubprotocol = errors.New("offer the subprotocol " + auth.Subprotocol + " beside " + auth.BearerSubprotocolPrefix + "<token>")

// errTwoTokens refuses an upgrade carrying an access token both in
// Authorization and in the subprotocol.
var errTwoTokens = errors.New("send the access token once: in Authorization or in the subprotocol, not both")

// upgradeToken returns the access token an upgrade carries ("" for none):
// from Authorization: Bearer (native clients) or from a
// fhirbell.bearer.<token> subprotocol offered beside fhirbell (browsers,
// which cannot set headers on a WebSocket). In auth mode none tokens are
// ignored, but a bearer subprotocol without fhirbell is still refused.
func (h *Hub) upgradeToken(r *http.Request) (string, error) {
	sp, offered := auth.SubprotocolToken(r)
	bearerEntry := false
	for _, p := range websocket.Subprotocols(r) {
		if strings.HasPrefix(p, auth.BearerSubprotocolPrefix) {
			bearerEntry = true
		}
	}
	if bearerEntry && !offered {
		return "", errBareBearerSubprotocol
	}
	if h.cfg.Authenticator == nil {
		return "", nil
	}
	bt, hasBearer := auth.BearerToken(r)
	switch {
	case !hasBearer && r.Header.Get("Authorization") != "":
		return "", errMalformedToken
	case bearerEntry && sp == "":
		return "", errMalformedToken
	case hasBearer && sp != "":
		return "", errTwoTokens
	case hasBearer:
		return bt, nil
	}
	return sp, nil
}

// refuseAuth answers an upgrade whose credentials cannot be accepted: 401
// with the RFC 6750 challenge, 503 when the authorization server could not
// be asked, 400 for a malformed offer. err never holds token material
// (auth errors carry fixed reasons only).
func (h *Hub) refuseAuth(w http.ResponseWriter, err error) {
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case errors.Is(err, errBareBearerSubprotocol), errors.Is(err, errTwoTokens):
		httpOutcome(w, http.StatusBadRequest, fhir.IssueInvalid, err.Error())
	case errors.Is(err, auth.ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", auth.Challenge("", err))
		httpOutcome(w, http.StatusUnauthorized, fhir.IssueLogin, "access token not accepted ("+err.Error()+")")
	case errors.Is(err, auth.ErrAuthUnavailable):
		w.Header().Set("Retry-After", "5")
		httpOutcome(w, http.StatusServiceUnavailable, fhir.IssueTransient, "the authorization server is unavailable; try again")
	default:
		h.log.Error("authenticate websocket upgrade", "err", err)
		httpOutcome(w, http.StatusInternalServerError, fhir.IssueException, "the access token could not be checked")
	}
}

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
// returns "": p must manage sub (its owner, or an admin) and be able to
// read every resource type sub notifies about; when only patient/ scopes
// allow a type, p's patient must be the one sub was created for.
func (h *Hub) mayBind(p auth.Principal, sub *subscription.Subscription) string {
	if !sub.Owner.MayManage(p) {
		return "Subscription/" + sub.ID + " belongs to another principal"
	}
	for _, typ := range h.b.ResourceTypesOf(sub) {
		ok, patientOnly := p.Scopes.CanRead(typ)
		if !ok {
			return "the granted scopes do not allow reading " + typ + ", which Subscription/" + sub.ID + " notifies about"
		}
		if patientOnly && (p.Patient == "" || p.Patient != sub.Owner.Patient) {
			return "the granted scopes allow reading " + typ + " only in another patient's compartment than Subscription/" + sub.ID + "'s"
		}
	}
	return ""
}

// fhirBase returns the FHIR base URL for a session's notifications.
func (h *Hub) fhirBase(r *http.Request) string {
	if h.cfg.BaseURL != "" {
		return h.cfg.BaseURL + "/fhir"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/fhir"
}

// httpOutcome answers a refused upgrade with an OperationOutcome.
func httpOutcome(w http.ResponseWriter, status int, code, diag string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	w.Write(fhir.MarshalOutcome(fhir.NewOutcome(code, diag)))
}
