package notify

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/endpoint"
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
	// or subscription.ErrTokenExpired when it cannot be used. accept (may
	// be nil) judges the grant first; its error is returned and nothing is
	// consumed.
	RedeemToken(ctx context.Context, kind, secret string, accept func(subscription.Grant) error) (subscription.Grant, error)
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
	Events(ctx context.Context, subID string, after, until int64, limit int, maxBytes int64) ([]subscription.Event, error)
	// EventHeads returns the head of each named subscription's log.
	EventHeads(ctx context.Context, ids []string) (map[string]subscription.EventHead, error)
	// Bindable decides whether principal p may hold a binding of sub
	// (an auth.ErrForbidden saying why not); asked at every bind and at
	// every renewal of a socket's authorization, before anything of the
	// binding is written.
	Bindable(p auth.Principal, sub *subscription.Subscription) error
	// Deliverable reports whether p may receive ev: the guard of REST
	// reads, applied to the event's focus. Asked for every event before
	// it is written to a socket.
	Deliverable(ctx context.Context, p auth.Principal, ev subscription.Event) bool
}

// Config tunes a Hub. Zero values take the defaults named on each field.
type Config struct {
	// Base gives the public server base of each upgrade request, which
	// the fullUrls of the socket's notifications start with. Give the hub
	// the Base the REST API has, so that both hand out the same URLs; the
	// zero value derives it from the request (scheme from TLS, host from
	// Host).
	Base endpoint.Base
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
	// MaxBatchBytes bounds the events one drain of one binding holds
	// (and so one notification frame) by their bytes (Event.Size), as
	// batch bounds their count; always at least one event (default
	// subscription.DefaultBatchBytes).
	MaxBatchBytes int64
	// Recheck, when positive, is how often the access token of every open
	// socket authenticated with one (upgrade or in-band renewal) is
	// checked again with the Authenticator: set it to the introspection
	// cache interval in auth mode introspect, so that a revoked token
	// stops a socket as soon as it stops a REST call. An inactive token
	// ends the socket as an expiry does (query-status error, 4001); a
	// token whose scopes changed renews the socket with them; an
	// unreachable authorization server changes nothing. A socket
	// authenticated by a grant alone has no token to re-check, so its
	// authorization lasts at most Recheck from each grant (renew in band,
	// or with a new binding token). Zero: never (auth mode jwt, where a
	// token cannot be revoked before its exp).
	Recheck time.Duration
	// MaxSocketsPerPrincipal caps the sockets one principal subject holds
	// open on this node; the socket that would exceed it is told why and
	// closed with 1008 (default 50).
	MaxSocketsPerPrincipal int
	// Logger receives session lifecycle lines (default: discard).
	Logger *slog.Logger
	// Observer is told what the hub does, for metrics (default:
	// NopObserver). See observe.go.
	Observer Observer
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
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = subscription.DefaultBatchBytes
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
	if c.Observer == nil {
		c.Observer = NopObserver{}
	}
}

// Hub owns the WebSocket sessions of one node: it serves the endpoint,
// knows which sessions are bound to which subscription, and wakes them
// when their subscriptions get events. mu is taken before any session's
// lock, never after (see session); a subscription's head is an atomic,
// read by writers without a lock.
type Hub struct {
	b     Backend
	cfg   Config
	log   *slog.Logger
	obs   Observer
	upg   websocket.Upgrader
	sched scheduler
	bufs  sync.Pool // *[]byte for building notifications
	warns warnLimiter

	pollNow chan struct{}   // capacity 1: Poll asks the poll loop to run now
	preNow  chan struct{}   // capacity 1: a subscription waits for the prefetch (prefetch.go)
	ctx     context.Context // canceled by Shutdown; Backend calls use it
	cancel  context.CancelFunc
	nextID  atomic.Uint64
	// held is the bytes of events sessions have read and not yet sent
	// (hold), heldPeak its highest value: bounded by MaxBatchBytes plus
	// one event per session, whatever the clients read.
	held, heldPeak atomic.Int64
	wg             sync.WaitGroup // one per live session
	// storeDown is when the poll found the Backend unreachable (unix
	// nanoseconds), 0 while it answers; see store.go.
	storeDown atomic.Int64

	mu         sync.Mutex
	closing    bool                  // guarded by mu
	sessions   map[*session]struct{} // guarded by mu
	subs       map[string]*subState  // guarded by mu; subscriptions bound here
	bindings   int                   // guarded by mu; total bindings
	perSubject map[string]int        // guarded by mu; sockets per principal subject
	pre        prefetchState         // guarded by mu
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
	// sessions bound to it, with their binding; guarded by Hub.mu.
	sessions map[*session]*binding
}

var _ subscription.EventsPublisher = (*Hub)(nil)

// writeBufferPool is shared by every socket: a gorilla write buffer is held
// only while a message is written, so idle sockets hold none.
var writeBufferPool sync.Pool

// NewHub returns a Hub over b. It starts no goroutine: call Run for
// heartbeats, pings, bind timeouts and polling, serve Handler, and call
// Shutdown at the end.
//
// The Hub needs the Service (its Backend) and the Service needs the Hub
// (its Publisher): build the Service, then the Hub over it, then call the
// Service's SetPublisher with the Hub before Load. Mount Handler on
// endpoint.WebSocketPath and endpoint.WebSocketPath+"/*" at the router
// root, and run Run in a goroutine.
func NewHub(b Backend, cfg Config) *Hub {
	cfg.setDefaults()
	h := &Hub{
		b:          b,
		cfg:        cfg,
		log:        cfg.Logger,
		obs:        cfg.Observer,
		sessions:   map[*session]struct{}{},
		subs:       map[string]*subState{},
		perSubject: map[string]int{},
		pollNow:    make(chan struct{}, 1),
		preNow:     make(chan struct{}, 1),
		pre:        prefetchState{pending: map[*subState]int64{}},
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

// attach records that s is bound to subscription id by b and returns the
// subscription's state.
func (h *Hub) attach(s *session, id string, b *binding) *subState {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.subs[id]
	if st == nil {
		st = &subState{id: id, sessions: map[*session]*binding{}}
		h.subs[id] = st
	}
	if _, ok := st.sessions[s]; !ok {
		st.sessions[s] = b
		h.bindings++
		h.obs.Bound(Dialect(b.dialect))
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
	b := st.sessions[s]
	delete(st.sessions, s)
	h.bindings--
	h.obs.Unbound(Dialect(b.dialect))
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
	if h.cfg.Recheck > 0 && h.cfg.Authenticator != nil {
		wg.Go(func() { h.recheckLoop(ctx) })
	}
	if br, ok := h.b.(BatchReader); ok {
		h.mu.Lock()
		h.pre.on = true
		h.mu.Unlock()
		wg.Go(func() { h.prefetchLoop(ctx, br) })
	}
	if h.cfg.PollInterval > 0 {
		h.pollLoop(ctx)
	}
	wg.Wait()
	return nil
}

// Shutdown refuses new upgrades (503), makes every session send close
// 1001 and waits for them to end until ctx is done; then it closes the
// remaining connections and returns ctx's error. It also cancels the
// context of Backend calls. http.Server.Shutdown does not wait for
// hijacked connections, so call Hub.Shutdown after it, and stop Run after
// that.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	for s := range h.sessions {
		s.addWork(workShutdown) // its writer sends 1001
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
