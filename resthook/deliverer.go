package resthook

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// Backend is what the deliverer needs of the Service (*subscription.Service
// implements it).
type Backend interface {
	RestHookSubscriptions() []*subscription.Subscription
	RestHookSubscription(id string) (*subscription.Subscription, bool)
	Events(ctx context.Context, subID string, after, until int64, limit int, maxBytes int64) ([]subscription.Event, error)
	EventHeads(ctx context.Context, subIDs []string) (map[string]subscription.EventHead, error)
	SetDeliveryStatus(ctx context.Context, id, endpoint, status, errorText string) (bool, error)
}

var _ Backend = (*subscription.Service)(nil)

// Defaults of Config.
const (
	DefaultLeaseTTL     = 10 * time.Second
	DefaultScanInterval = time.Second
	DefaultErrorAfter   = 10 * time.Minute
)

// Notification kinds, as Attempt.Kind and the metrics label them.
const (
	KindHandshake = "handshake"
	KindHeartbeat = "heartbeat"
	KindEvent     = "event-notification"
)

// Attempt describes one POST, for metrics.
type Attempt struct {
	Kind      string // KindHandshake, KindHeartbeat or KindEvent
	OK        bool   // answered 2xx
	ErrorCode string // subscription-error code when not OK
	Duration  time.Duration
	// Events are the events the POST carried (none for a handshake or
	// heartbeat): their Time is their write's, so that write-to-
	// acknowledgement latency can be observed, and their Trace the
	// write's trace.
	Events []subscription.Event
}

// Config configures a Deliverer.
type Config struct {
	Backend Backend
	Store   subscription.DeliveryStore
	Policy  *Policy // nil: ParseAllow("") (public addresses only)
	// BaseURL is the FHIR base notifications refer to, e.g.
	// "https://fhir.example.org/fhir".
	BaseURL string
	// NodeID names this process as a lease holder; unique per process.
	NodeID string
	// LeaseTTL is how long a lease lasts without renewal: how soon another
	// node takes over the subscriptions of one that died (renewals come
	// every third of it).
	LeaseTTL time.Duration
	// ScanInterval is how often the deliverer claims subscriptions nobody
	// delivers, renews its leases and polls the heads of its logs (events
	// written on other nodes arrive by Publish when the cluster broadcasts
	// them, by this poll otherwise).
	ScanInterval time.Duration
	// Backoff spaces retries after failures.
	Backoff Backoff
	// ErrorAfter is the failure window: a subscription whose deliveries
	// have failed for this long goes to status error (a failed handshake
	// does at once). Zero means DefaultErrorAfter; negative, at the first
	// failure.
	ErrorAfter time.Duration
	// MaxResponseBytes caps how much of an answer is read.
	MaxResponseBytes int64
	// TLSConfig adds trusted roots for https endpoints (tests, private
	// CAs); certificates are always verified.
	TLSConfig *tls.Config
	Logger    *slog.Logger
	// Observe, if set, learns of every attempt (metrics). It must not
	// block.
	Observe func(Attempt)
}

// Deliverer delivers the rest-hook subscriptions whose leases this node
// holds, one goroutine (worker) per subscription; see the package doc.
type Deliverer struct {
	cfg     Config
	client  *http.Client
	logger  *slog.Logger
	scanNow chan struct{} // Poll asks for a scan; capacity 1

	mu      sync.Mutex
	workers map[string]*worker // by subscription id; guarded by mu
}

// SetBaseURL sets Config.BaseURL, for a node that learns its address only
// once it listens. Call it before Run.
func (d *Deliverer) SetBaseURL(base string) { d.cfg.BaseURL = base }

// New returns a Deliverer; call Run to start it. Publish and Poll may be
// called before Run (they do nothing until then).
func New(cfg Config) *Deliverer {
	if cfg.Policy == nil {
		cfg.Policy, _ = ParseAllow("")
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.ScanInterval <= 0 {
		cfg.ScanInterval = DefaultScanInterval
	}
	if cfg.Backoff.Base <= 0 || cfg.Backoff.Max < cfg.Backoff.Base {
		cfg.Backoff = DefaultBackoff
	}
	switch {
	case cfg.ErrorAfter < 0:
		cfg.ErrorAfter = 0 // at the first failure
	case cfg.ErrorAfter == 0:
		cfg.ErrorAfter = DefaultErrorAfter
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{
		cfg:     cfg,
		client:  newHTTPClient(cfg.Policy, cfg.TLSConfig),
		logger:  cfg.Logger.With("node_id", cfg.NodeID),
		scanNow: make(chan struct{}, 1),
		workers: map[string]*worker{},
	}
}

// Stats is what a node delivers right now.
type Stats struct {
	Leased int // rest-hook subscriptions whose lease this node holds
}

// Stats returns the node's current figures.
func (d *Deliverer) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return Stats{Leased: len(d.workers)}
}

// Publish wakes the workers of the subscriptions that got events
// (subscription.Publisher); it never blocks.
func (d *Deliverer) Publish(refs []subscription.EventRef) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range refs {
		if w := d.workers[r.SubscriptionID]; w != nil {
			w.raise(r.Number)
		}
	}
}

// PublishEvents is Publish for the events themselves.
func (d *Deliverer) PublishEvents(evs []subscription.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range evs {
		if w := d.workers[evs[i].SubscriptionID]; w != nil {
			w.raise(evs[i].Number)
		}
	}
}

// Poll asks for a scan now: the cluster calls it after it may have missed
// broadcasts.
func (d *Deliverer) Poll() {
	select {
	case d.scanNow <- struct{}{}:
	default:
	}
}

// Run claims, delivers and renews until ctx ends, then stops every worker
// and gives its leases up so that another node can take over at once.
func (d *Deliverer) Run(ctx context.Context) {
	t := time.NewTicker(d.cfg.ScanInterval)
	defer t.Stop()
	for {
		d.scan(ctx)
		select {
		case <-ctx.Done():
			d.stopAll()
			return
		case <-t.C:
		case <-d.scanNow:
		}
	}
}

// scan brings the set of workers in line with the subscriptions and the
// leases: it stops the workers of subscriptions gone or whose lease was
// lost, claims the subscriptions nobody delivers, renews leases due, and
// raises each worker's known head from the log.
func (d *Deliverer) scan(ctx context.Context) {
	now := time.Now()
	live := map[string]*subscription.Subscription{}
	for _, sub := range d.cfg.Backend.RestHookSubscriptions() {
		live[sub.ID] = sub
	}
	d.mu.Lock()
	workers := make(map[string]*worker, len(d.workers))
	for id, w := range d.workers {
		workers[id] = w
	}
	d.mu.Unlock()

	var claim []string
	for id, w := range workers {
		switch {
		case w.exited():
			d.remove(id, false) // lost its lease while saving
			delete(workers, id)
		case live[id] == nil:
			d.remove(id, true)
			delete(workers, id)
		default:
			if now.Sub(w.renewed) >= d.cfg.LeaseTTL/3 {
				claim = append(claim, id)
			}
			if live[id] != w.seen.Load() {
				w.poke() // the subscription changed: let the worker look
			}
		}
	}
	for id := range live {
		if workers[id] == nil {
			claim = append(claim, id)
		}
	}
	if len(claim) > 0 {
		got, err := d.cfg.Store.ClaimDeliveries(ctx, d.cfg.NodeID, d.cfg.LeaseTTL, claim)
		if err != nil {
			if ctx.Err() == nil {
				d.logger.Error("claim rest-hook leases", "err", err)
			}
			// Stop in time whatever may have expired meanwhile: another
			// node may be delivering it by now.
			for id, w := range workers {
				if now.Sub(w.renewed) > d.cfg.LeaseTTL-d.cfg.ScanInterval {
					d.remove(id, false)
					delete(workers, id)
				}
			}
			return
		}
		for _, id := range claim {
			st, ok := got[id]
			w := workers[id]
			switch {
			case ok && w != nil:
				w.renewed = now
			case ok:
				workers[id] = d.start(ctx, id, st, now)
			case w != nil:
				d.logger.Warn("rest-hook lease lost", "subscription_id", id)
				d.remove(id, false)
				delete(workers, id)
			}
		}
	}
	if len(workers) == 0 {
		return
	}
	ids := make([]string, 0, len(workers))
	for id := range workers {
		ids = append(ids, id)
	}
	heads, err := d.cfg.Backend.EventHeads(ctx, ids)
	if err != nil {
		if ctx.Err() == nil {
			d.logger.Error("poll rest-hook heads", "err", err)
		}
		return
	}
	for id, w := range workers {
		w.raise(heads[id].Last)
	}
}

// start runs a worker for subscription id from the claimed state st.
func (d *Deliverer) start(ctx context.Context, id string, st subscription.DeliveryState, now time.Time) *worker {
	wctx, cancel := context.WithCancel(ctx)
	w := &worker{
		d: d, id: id, state: st, renewed: now,
		wake: make(chan struct{}, 1), done: make(chan struct{}), cancel: cancel,
		logger: d.logger.With("subscription_id", id),
	}
	w.head.Store(st.Cursor)
	d.mu.Lock()
	d.workers[id] = w
	d.mu.Unlock()
	d.logger.Info("rest-hook lease taken", "subscription_id", id, "cursor", st.Cursor)
	go w.run(wctx)
	return w
}

// remove stops the worker of id and, when release is set, gives its
// lease up.
func (d *Deliverer) remove(id string, release bool) {
	d.mu.Lock()
	w := d.workers[id]
	delete(d.workers, id)
	d.mu.Unlock()
	if w == nil {
		return
	}
	w.cancel()
	<-w.done
	if release {
		d.release(id)
	}
}

func (d *Deliverer) release(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.cfg.Store.ReleaseDelivery(ctx, id, d.cfg.NodeID); err != nil {
		d.logger.Warn("release rest-hook lease", "subscription_id", id, "err", err)
	}
}

// stopAll stops every worker and releases its lease (shutdown).
func (d *Deliverer) stopAll() {
	d.mu.Lock()
	ids := make([]string, 0, len(d.workers))
	for id := range d.workers {
		ids = append(ids, id)
	}
	d.mu.Unlock()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() { d.remove(id, true) })
	}
	wg.Wait()
}

// jitter returns a number in [0, 1).
func jitter() float64 { return rand.Float64() }

// errLeaseLost reports whether err means the worker must stop.
func errLeaseLost(err error) bool { return errors.Is(err, subscription.ErrLeaseLost) }
