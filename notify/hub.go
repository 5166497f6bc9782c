package notify

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	// ActiveSubscription returns the subscription id if it is active.
	ActiveSubscription(id string) (*subscription.Subscription, bool)
	// Events returns the retained events of subID numbered in (after,
	// until] (until <= 0: no bound), ascending, at most limit.
	Events(ctx context.Context, subID string, after, until int64, limit int) ([]subscription.Event, error)
	// EventHeads returns the head of each named subscription's log.
	EventHeads(ctx context.Context, ids []string) (map[string]subscription.EventHead, error)
}

// Principal is who an upgrade request authenticated as, through
// Config.Authenticate.
type Principal struct {
	// Subject identifies the principal in logs ("" for anonymous).
	Subject string
	// Expires is when the principal's authorization ends; zero means
	// never.
	Expires time.Time
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
	// for any active subscription without a token or ticket (auth mode
	// none). Otherwise they need a grant for <id> on this socket.
	AllowAnonymousBind bool
	// Authenticate, when set, authenticates every upgrade request (e.g.
	// from an Authorization header); an error refuses the upgrade with 401.
	// Nil means anonymous upgrades. This is the seam for the auth stage.
	Authenticate func(r *http.Request) (Principal, error)
	// CheckOrigin decides whether a browser Origin may upgrade; a refusal
	// is a 403. Nil allows requests without Origin and those whose Origin
	// host equals the request's Host.
	CheckOrigin func(r *http.Request) bool
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

	mu       sync.Mutex
	closing  bool                  // guarded by mu
	sessions map[*session]struct{} // guarded by mu
	subs     map[string]*subState  // guarded by mu; subscriptions bound here
	bindings int                   // guarded by mu; total bindings
}

// subState is a subscription bound on this node.
type subState struct {
	id string
	// head is the highest event number known to exist (from Publish, the
	// poll, or a bind's EventHeads); sessions read it without the hub lock.
	head atomic.Int64
	// sessions bound to it; guarded by Hub.mu.
	sessions map[*session]struct{}
}

// Stats is a snapshot of a hub's load.
type Stats struct {
	Sockets  int // open sessions
	Bindings int // (session, subscription) bindings
}

var _ subscription.Publisher = (*Hub)(nil)

// writeBufferPool is shared by every socket: a gorilla write buffer is held
// only while a message is written, so idle sockets hold none.
var writeBufferPool sync.Pool

// NewHub returns a Hub over b. It starts no goroutine: call Run for
// heartbeats, pings, bind timeouts and polling, serve Handler, and call
// Shutdown at the end.
func NewHub(b Backend, cfg Config) *Hub {
	cfg.setDefaults()
	h := &Hub{
		b:        b,
		cfg:      cfg,
		log:      cfg.Logger,
		sessions: map[*session]struct{}{},
		subs:     map[string]*subState{},
		pollNow:  make(chan struct{}, 1),
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.sched.init()
	h.upg = websocket.Upgrader{
		HandshakeTimeout: cfg.WriteWait,
		ReadBufferSize:   256, // client messages are tiny; a bigger one is read in pieces
		WriteBufferSize:  1024,
		WriteBufferPool:  &writeBufferPool,
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

// serveHTTP checks the request, redeems a ticket if the path has one,
// upgrades, and serves the session in this goroutine (its reader). It
// never logs the path or query: a ticket is a credential.
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
	if !h.checkOrigin(r) {
		httpOutcome(w, http.StatusForbidden, fhir.IssueForbidden, "origin not allowed")
		return
	}
	var p Principal
	if h.cfg.Authenticate != nil {
		var err error
		if p, err = h.cfg.Authenticate(r); err != nil {
			httpOutcome(w, http.StatusUnauthorized, fhir.IssueLogin, "authentication failed")
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
	if grant != nil {
		s.bindGrant(*grant, [32]byte{}) // queued before serve starts: cannot fail
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

// checkOrigin applies Config.CheckOrigin, or by default allows requests
// without Origin and same-host origins.
func (h *Hub) checkOrigin(r *http.Request) bool {
	if h.cfg.CheckOrigin != nil {
		return h.cfg.CheckOrigin(r)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
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
