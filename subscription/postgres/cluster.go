package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// This file is the engine between the nodes of a cluster (docs/operations.md): a
// Broadcaster sends one NOTIFY per committed change, a Listener on every node
// LISTENs and also polls, so that a lost notification only delays what it
// announced, never loses it. Events are recovered by the WebSocket hub's
// own poll of the heads of the subscriptions bound on the node; changed
// Subscription and SubscriptionTopic resources by the Listener's poll of
// resource_heads; everything after a reconnection by OnResync.

// DefaultChannel is the notification channel of a deployment whose tables
// are in the public schema.
const DefaultChannel = "fhirbell"

// maxPayload is the largest NOTIFY payload sent. Postgres refuses payloads
// of 8000 bytes or more (in the default build); a little margin remains.
const maxPayload = 7900

// pollHint is the bare payload that only says "poll": something happened
// that did not fit in a payload.
const pollHint = "poll"

// ChannelFor returns the channel on which the nodes sharing pool's
// database and schema talk: DefaultChannel for the public schema, and
// "fhirbell_<schema>" for any other, so that deployments (or tests) in
// different schemas of one database do not hear each other. Every node
// must compute it the same way, which it does from the same DSN.
func ChannelFor(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	var schema string
	if err := pool.QueryRow(ctx, `SELECT coalesce(current_schema(), '')`).Scan(&schema); err != nil {
		return "", fmt.Errorf("current schema: %w", translate(err))
	}
	return channelForSchema(schema), nil
}

func channelForSchema(schema string) string {
	if schema == "" || schema == "public" {
		return DefaultChannel
	}
	ch := DefaultChannel + "_" + schema
	if len(ch) > 63 { // Postgres truncates identifiers to 63 bytes
		sum := sha256.Sum256([]byte(schema))
		ch = DefaultChannel + "_" + hex.EncodeToString(sum[:12])
	}
	return ch
}

// payload is the JSON form of a notification:
//
//	{"n":"<node id>","e":{"<subscription id>":<highest event number>,…},
//	 "a":<unix milliseconds>,
//	 "s":["<Subscription id>",…],"t":["<SubscriptionTopic id>",…],
//	 "p":true,"r":true}
//
// a is when the sender was handed the oldest change in the payload (just
// after its commit), so that receivers can measure how late the NOTIFY
// came (on their own clock, so skew between nodes adds to it).
// Every member is optional. Events are coalesced to the highest number per
// subscription, which is all a wake-up needs (a woken binding reads its log
// from its cursor). p asks receivers to poll the heads of their bindings
// (events did not fit); r asks them to reload every subscription and topic
// (too many ids were pending to list). The bare string "poll" is a payload
// too, equal to {"p":true}.
type payload struct {
	Node   string           `json:"n,omitempty"`
	Events map[string]int64 `json:"e,omitempty"`
	At     int64            `json:"a,omitempty"`
	Subs   []string         `json:"s,omitempty"`
	Topics []string         `json:"t,omitempty"`
	Poll   bool             `json:"p,omitempty"`
	Reload bool             `json:"r,omitempty"`
}

// decodePayload parses a notification payload. It never panics, whatever
// the input (a notification on the channel may come from anything that can
// connect to the database).
func decodePayload(s string) (payload, error) {
	if s == pollHint {
		return payload{Poll: true}, nil
	}
	var p payload
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return payload{}, fmt.Errorf("notification payload: %w", err)
	}
	return p, nil
}

// change is the subscription.Change a payload carries, events sorted by
// subscription id.
func (p payload) change() subscription.Change {
	c := subscription.Change{Subscriptions: p.Subs, Topics: p.Topics}
	if p.At > 0 {
		c.Sent = time.UnixMilli(p.At)
	}
	for _, id := range slices.Sorted(maps.Keys(p.Events)) {
		c.Events = append(c.Events, subscription.EventRef{SubscriptionID: id, Number: p.Events[id]})
	}
	return c
}

// batch is what a Broadcaster has been told and not sent yet.
type batch struct {
	events       map[string]int64    // highest event number per subscription
	subs, topics map[string]struct{} // ids changed
	poll, reload bool
	since        time.Time // when the oldest change was added
}

func (b *batch) empty() bool {
	return len(b.events) == 0 && len(b.subs) == 0 && len(b.topics) == 0 && !b.poll && !b.reload
}

// add merges c into b, keeping b within limit entries per kind: beyond it
// the events collapse into a poll hint and the ids into a reload hint, so
// memory stays bounded however slow the database is.
func (b *batch) add(c subscription.Change, limit int) {
	if b.events == nil {
		b.events, b.subs, b.topics = map[string]int64{}, map[string]struct{}{}, map[string]struct{}{}
	}
	if b.since.IsZero() {
		b.since = time.Now()
	}
	if !b.poll {
		for _, ref := range c.Events {
			if ref.Number > b.events[ref.SubscriptionID] {
				b.events[ref.SubscriptionID] = ref.Number
			}
		}
		if len(b.events) > limit {
			b.poll, b.events = true, map[string]int64{}
		}
	} else if len(c.Events) > 0 {
		b.poll = true
	}
	if !b.reload {
		for _, id := range c.Subscriptions {
			b.subs[id] = struct{}{}
		}
		for _, id := range c.Topics {
			b.topics[id] = struct{}{}
		}
		if len(b.subs)+len(b.topics) > limit {
			b.reload, b.subs, b.topics = true, map[string]struct{}{}, map[string]struct{}{}
		}
	}
}

// payloads encodes b as notification payloads of at most max bytes each:
// one when it fits (the usual case); otherwise the events give way to a
// poll hint (the bare "poll" when nothing else is left) and the ids are
// spread over as many payloads as they need.
func (b *batch) payloads(node string, max int) []string {
	p := payload{Node: node, Events: b.events, Poll: b.poll, Reload: b.reload,
		Subs: slices.Sorted(maps.Keys(b.subs)), Topics: slices.Sorted(maps.Keys(b.topics))}
	if len(p.Events) > 0 {
		p.At = b.since.UnixMilli()
		if s := mustJSON(p); len(s) <= max {
			return []string{s}
		}
		p.Events, p.Poll, p.At = nil, true, 0
	}
	if len(p.Subs)+len(p.Topics) == 0 && !p.Reload {
		return []string{pollHint}
	}
	if s := mustJSON(p); len(s) <= max {
		return []string{s}
	}
	var out []string
	cur := payload{Node: node, Poll: p.Poll, Reload: p.Reload}
	// Room for the envelope and for both (possibly empty) id arrays.
	overhead := func() int { return len(mustJSON(cur)) + len(`,"s":[],"t":[]`) }
	size := overhead()
	for i, ids := range [][]string{p.Subs, p.Topics} {
		for _, id := range ids {
			n := len(mustJSON(id)) + 1
			if size+n > max {
				if len(cur.Subs)+len(cur.Topics) == 0 {
					// An id longer than a payload (no valid FHIR id is):
					// ask for a reload rather than lose it.
					cur.Reload = true
					continue
				}
				out = append(out, mustJSON(cur))
				cur = payload{Node: node}
				size = overhead()
			}
			if i == 0 {
				cur.Subs = append(cur.Subs, id)
			} else {
				cur.Topics = append(cur.Topics, id)
			}
			size += n
		}
	}
	if len(cur.Subs)+len(cur.Topics) > 0 || cur.Reload {
		out = append(out, mustJSON(cur))
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // strings, maps of strings and bools always marshal
	}
	return string(b)
}

// BroadcasterConfig configures a Broadcaster. Zero values take the defaults named
// on each field.
type BroadcasterConfig struct {
	// Channel is the notification channel (default DefaultChannel; see
	// ChannelFor).
	Channel string
	// NodeID names this node in its notifications, so that its own
	// Listener can skip the events it published locally (default: a random
	// UUID).
	NodeID string
	// Disabled turns NOTIFY off entirely: Broadcast does nothing, and other
	// nodes learn of changes only by polling. For tests that prove polling
	// alone delivers everything, and as an escape hatch.
	Disabled bool
	// MaxPending bounds what waits to be sent: distinct subscriptions with
	// new events, and changed Subscription and SubscriptionTopic ids, each
	// (default 10,000). Beyond it the events become a poll hint and the ids
	// a reload hint.
	MaxPending int
	// SendTimeout bounds one NOTIFY (default 5 s).
	SendTimeout time.Duration
	// Logger receives failures to send (default: discard).
	Logger *slog.Logger
}

// Broadcaster is the subscription.Broadcaster of a Postgres deployment: after
// each commit it sends one NOTIFY on the cluster's channel (SELECT
// pg_notify on a pooled connection, never inside the write's transaction)
// naming the events appended and the Subscription and SubscriptionTopic
// resources changed.
//
// Broadcast never waits for the database: it merges the change into a
// pending batch and wakes the sender goroutine (Run), which sends what has
// accumulated while the previous NOTIFY was in flight as one (coalescing).
// A write's latency therefore never includes a NOTIFY round trip, and a
// slow or absent database never blocks a writer. The pending batch is
// bounded (BroadcasterConfig.MaxPending). A notification that cannot be sent
// is dropped and logged: receivers poll, so it costs delay, not delivery.
// Notifications sent from one Broadcaster arrive in the order they were sent
// (Postgres delivers a session's notifications in commit order).
type Broadcaster struct {
	pool *pgxpool.Pool
	cfg  BroadcasterConfig

	wake chan struct{} // capacity 1: "the batch is not empty"

	mu      sync.Mutex
	pending batch // guarded by mu

	queued, sent, failed atomic.Int64
	lastWarn             atomic.Int64 // unix nanoseconds of the last failure logged
}

var _ subscription.Broadcaster = (*Broadcaster)(nil)

// NewBroadcaster returns a Broadcaster that sends on pool; call Run to start
// sending.
func NewBroadcaster(pool *pgxpool.Pool, cfg BroadcasterConfig) *Broadcaster {
	if cfg.Channel == "" {
		cfg.Channel = DefaultChannel
	}
	if cfg.NodeID == "" {
		cfg.NodeID = uuid.NewString()
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 10_000
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Broadcaster{pool: pool, cfg: cfg, wake: make(chan struct{}, 1)}
}

// NodeID returns the id this Broadcaster puts in its notifications.
func (n *Broadcaster) NodeID() string { return n.cfg.NodeID }

// Broadcast queues c for the next NOTIFY; it never blocks on the database.
func (n *Broadcaster) Broadcast(c subscription.Change) {
	if n.cfg.Disabled || c.Empty() {
		return
	}
	n.queued.Add(1)
	n.mu.Lock()
	n.pending.add(c, n.cfg.MaxPending)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default: // the sender is already due to look
	}
}

// Sent returns how many notifications were sent and how many failed.
func (n *Broadcaster) Sent() (sent, failed int64) { return n.sent.Load(), n.failed.Load() }

// Queued returns how many changes Broadcast was given (one per committed
// write that changed something another node must hear of); against Sent,
// how much coalescing saved.
func (n *Broadcaster) Queued() int64 { return n.queued.Load() }

// Run sends pending notifications until ctx ends, then makes one last
// attempt (bounded by SendTimeout) to send what is still pending, so that a
// node shutting down gracefully announces its last writes. It returns nil.
func (n *Broadcaster) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			n.flush(context.WithoutCancel(ctx))
			return nil
		case <-n.wake:
			n.flush(ctx)
		}
	}
}

// flush sends the pending batch.
func (n *Broadcaster) flush(ctx context.Context) {
	n.mu.Lock()
	b := n.pending
	n.pending = batch{}
	n.mu.Unlock()
	if b.empty() {
		return
	}
	for _, p := range b.payloads(n.cfg.NodeID, maxPayload) {
		n.send(ctx, p)
	}
}

func (n *Broadcaster) send(ctx context.Context, p string) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.SendTimeout)
	defer cancel()
	if _, err := n.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, n.cfg.Channel, p); err != nil {
		n.failed.Add(1)
		// At most one line per 10 s: while the database is away every
		// write would fail here too.
		now := time.Now().UnixNano()
		if last := n.lastWarn.Load(); now-last > int64(10*time.Second) && n.lastWarn.CompareAndSwap(last, now) {
			n.cfg.Logger.Warn("cluster notification not sent; other nodes will poll", "err", translate(err))
		}
		return
	}
	n.sent.Add(1)
}

// ListenerConfig configures a Listener. Zero values take the defaults
// named on each field. The callbacks run one at a time on the Listener's
// goroutine; while one runs, notifications wait in the connection.
type ListenerConfig struct {
	// Channel is the notification channel (default DefaultChannel; see
	// ChannelFor).
	Channel string
	// NodeID is this node's Broadcaster's id: the events of this node's own
	// notifications are not reported (the Service published them locally
	// already); its Subscription and SubscriptionTopic ids are, since
	// refreshing them is what makes a node's memory converge when its
	// local update raced a remote one.
	NodeID string
	// PollInterval is how often the Listener, between notifications,
	// checks that its connection is alive and whether any Subscription or
	// SubscriptionTopic changed without a notification reaching it (a
	// node that died between its commit and its NOTIFY, a notification
	// dropped under load, NOTIFY disabled). Default 1 s.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts, which doubles from MinBackoff (default 100 ms) up to
	// MaxBackoff (default 5 s), with jitter.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives connection losses and recoveries (default: discard).
	Logger *slog.Logger

	// OnChange receives the changes other nodes announced, and the
	// Subscription and SubscriptionTopic changes the poll found. An error
	// from a change the poll found makes the poll report it again next
	// time.
	OnChange func(subscription.Change) error
	// OnPoll is called when a notification asks every node to poll the
	// heads of its bound subscriptions (its events did not fit).
	OnPoll func()
	// OnResync is called after every (re)connection, once LISTEN is in
	// place, and when a notification asks for a reload: the node may have
	// missed changes and must re-read every subscription and topic and
	// poll its bindings. An error makes the Listener call it again at the
	// next poll.
	OnResync func() error
}

// Listener keeps a dedicated connection (not from the pool: LISTEN is a
// session property and the connection blocks while it waits) LISTENing on
// the cluster's channel, and turns what arrives into ListenerConfig
// callbacks. It reconnects with backoff whenever the connection fails and
// resynchronises after each connection; between notifications it polls,
// so that nothing depends on a notification arriving.
type Listener struct {
	connCfg *pgx.ConnConfig // set at construction
	cfg     ListenerConfig  // set at construction

	// Owned by Run.
	known  map[headKey]int64 // version of every Subscription and SubscriptionTopic head
	fp     [2]int64          // count and sum of the versions in known
	resync bool              // OnResync failed and must be retried

	connects atomic.Int64 // successful connections, for tests
}

type headKey struct{ typ, id string }

// NewListener returns a Listener that connects with connCfg (typically
// store.Pool().Config().ConnConfig, so that it reaches the same database
// and schema as the pool). Call Run to start it.
func NewListener(connCfg *pgx.ConnConfig, cfg ListenerConfig) *Listener {
	if cfg.Channel == "" {
		cfg.Channel = DefaultChannel
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(5*time.Second, cfg.MinBackoff)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	nop := func() error { return nil }
	if cfg.OnChange == nil {
		cfg.OnChange = func(subscription.Change) error { return nil }
	}
	if cfg.OnPoll == nil {
		cfg.OnPoll = func() {}
	}
	if cfg.OnResync == nil {
		cfg.OnResync = nop
	}
	return &Listener{connCfg: connCfg.Copy(), cfg: cfg}
}

// Connects returns how many times the Listener has connected (and so
// called OnResync after a connection).
func (l *Listener) Connects() int64 { return l.connects.Load() }

// Run listens until ctx ends, reconnecting as needed, and returns nil.
func (l *Listener) Run(ctx context.Context) error {
	backoff := l.cfg.MinBackoff
	for ctx.Err() == nil {
		start := time.Now()
		err := l.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > 10*l.cfg.PollInterval {
			backoff = l.cfg.MinBackoff // it had been working: retry soon
		}
		l.cfg.Logger.Warn("cluster listener disconnected; reconnecting", "err", err, "backoff", backoff.String())
		jitter := time.Duration(rand.Int64N(int64(backoff)/2 + 1))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff/2 + jitter):
		}
		backoff = min(2*backoff, l.cfg.MaxBackoff)
	}
	return nil
}

// session runs one connection: connect, LISTEN, resynchronise, then wait
// for notifications and poll until something fails.
func (l *Listener) session(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, l.connCfg)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", translate(err))
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx) // the connection is finished with either way
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.cfg.Channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", translate(err))
	}
	// LISTEN first, then read: a change committed after this point is
	// notified, and one committed before is in what Resync reads.
	if err := l.readHeads(ctx, conn); err != nil {
		return err
	}
	l.connects.Add(1)
	l.cfg.Logger.Info("cluster listener connected", "channel", l.cfg.Channel)
	l.doResync()
	next := time.Now().Add(l.cfg.PollInterval)
	for {
		wctx, cancel := context.WithDeadline(ctx, next)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil:
			l.handle(n.Payload)
			continue
		case !pgconn.Timeout(err) && !errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("wait for notification: %w", translate(err))
		}
		// Poll time. A query also proves the connection is alive, which
		// waiting alone cannot (a dead peer may send no RST).
		if err := l.poll(ctx, conn); err != nil {
			return err
		}
		next = time.Now().Add(l.cfg.PollInterval)
	}
}

// handle acts on one notification.
func (l *Listener) handle(s string) {
	p, err := decodePayload(s)
	if err != nil {
		l.cfg.Logger.Warn("cluster notification ignored", "err", err)
		return
	}
	if p.Node == l.cfg.NodeID && l.cfg.NodeID != "" {
		p.Events = nil // published locally already
	}
	if p.Reload {
		l.doResync()
	}
	if c := p.change(); !c.Empty() {
		// An error is not retried here: the poll finds the same
		// Subscription and SubscriptionTopic changes, and the hub's own
		// poll the same events.
		if err := l.cfg.OnChange(c); err != nil {
			l.cfg.Logger.Warn("cluster change not applied; the poll will retry", "err", err)
		}
	}
	if p.Poll {
		l.cfg.OnPoll()
	}
}

func (l *Listener) doResync() {
	if err := l.cfg.OnResync(); err != nil {
		l.resync = true
		l.cfg.Logger.Warn("cluster resync failed; retrying at the next poll", "err", err)
		return
	}
	l.resync = false
}

// trackedTypes are the resource types whose changes every node follows.
var trackedTypes = []string{"Subscription", "SubscriptionTopic"}

const fingerprintSQL = `SELECT count(*), coalesce(sum(version), 0)::bigint FROM resource_heads WHERE type = ANY($1)`

// readHeads reads the version of every tracked head into l.known.
func (l *Listener) readHeads(ctx context.Context, conn *pgx.Conn) error {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rows, err := conn.Query(qctx, `SELECT type, id, version FROM resource_heads WHERE type = ANY($1)`, trackedTypes)
	if err != nil {
		return fmt.Errorf("read heads: %w", translate(err))
	}
	known := map[headKey]int64{}
	var sum int64
	for rows.Next() {
		var k headKey
		var v int64
		if err := rows.Scan(&k.typ, &k.id, &v); err != nil {
			rows.Close()
			return fmt.Errorf("read heads: %w", translate(err))
		}
		known[k] = v
		sum += v
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read heads: %w", translate(err))
	}
	l.known, l.fp = known, [2]int64{int64(len(known)), sum}
	return nil
}

// poll checks the tracked heads against what the Listener knows and reports
// the differences to OnChange. Every write of a resource adds one to its
// head's version (deletions included) and heads are never removed, so the
// count and sum of versions change exactly when a head did: one cheap
// aggregate per interval, and the full list only after a change.
func (l *Listener) poll(ctx context.Context, conn *pgx.Conn) error {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var fp [2]int64
	if err := conn.QueryRow(qctx, fingerprintSQL, trackedTypes).Scan(&fp[0], &fp[1]); err != nil {
		return fmt.Errorf("poll heads: %w", translate(err))
	}
	if l.resync {
		l.doResync()
	}
	if fp == l.fp {
		return nil
	}
	old := l.known
	if err := l.readHeads(ctx, conn); err != nil {
		return err
	}
	var c subscription.Change
	for k, v := range l.known {
		if old[k] != v {
			if k.typ == "Subscription" {
				c.Subscriptions = append(c.Subscriptions, k.id)
			} else {
				c.Topics = append(c.Topics, k.id)
			}
		}
	}
	for k := range old {
		if _, ok := l.known[k]; !ok { // only if a head was removed by hand
			if k.typ == "Subscription" {
				c.Subscriptions = append(c.Subscriptions, k.id)
			} else {
				c.Topics = append(c.Topics, k.id)
			}
		}
	}
	if c.Empty() {
		return nil
	}
	slices.Sort(c.Subscriptions)
	slices.Sort(c.Topics)
	if err := l.cfg.OnChange(c); err != nil {
		// Report these again next time.
		l.known, l.fp = old, [2]int64{-1, -1}
		l.cfg.Logger.Warn("cluster change not applied; retrying at the next poll", "err", err)
	}
	return nil
}
