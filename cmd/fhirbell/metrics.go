package main

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fhirbell/fhirbell/notify"
	"github.com/fhirbell/fhirbell/resthook"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/postgres"
)

// metrics is the Prometheus surface of a node, served at GET /metrics and
// explained metric by metric in docs/operations.md. Only this package
// imports Prometheus: the packages that do the work report through an
// interface of their own (notify.Observer) or a snapshot (Hub.Stats,
// Service.MaintenanceStats, pool stats, the node report), and the code
// here turns those into metrics. Labels are enums or route patterns,
// never ids, tokens or URLs, so the number of series is bounded.
//
// To add metrics for another part (a delivery channel, say): give it an
// observer interface or a stats snapshot in its own package, implement or
// read it here with vectors registered on m.reg in newMetrics, and
// document each metric in docs/operations.md.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	events   prometheus.Counter
	hub      *hubObserver
	// report is this node's latest report (nodes.go), for the lag gauges;
	// nil until the first one.
	report atomic.Pointer[subscription.NodeReport]
	rows   atomic.Int64 // event-log rows at the latest report; -1: unknown
	nodes  atomic.Int64 // live nodes at the latest report

	restHook *restHookMetrics
}

// latencyBuckets spans a local delivery (sub-millisecond) to a client many
// seconds behind.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// newMetrics builds the registry. Give m.hub to the hub as its Observer,
// then call watchHub.
func newMetrics(svc *subscription.Service) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), restHook: newRestHookMetrics()}
	m.rows.Store(-1)
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fhirbell_http_requests_total", Help: "HTTP requests by method, route pattern and status.",
	}, []string{"method", "route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "fhirbell_http_request_seconds", Help: "HTTP request latency by method and route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"method", "route"})
	m.events = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "fhirbell_events_appended_total", Help: "Subscription events appended to the event log by writes on this node.",
	})
	m.hub = newHubObserver()
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.latency, m.events,
		m.restHook.posts, m.restHook.duration, m.restHook.latency, m.restHook.events,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fhirbell_topics", Help: "SubscriptionTopics known (built-in and user-defined)."},
			func() float64 { return float64(len(svc.Topics().All())) }),
		maintenanceCollector{svc},
		lagCollector{m},
	)
	m.hub.register(m.reg)
	return m
}

// publisher counts appended events on their way to the hub and the
// rest-hook deliverer, keeping their EventsPublisher side (the events
// themselves, not just their refs).
func (m *metrics) publisher(hub *notify.Hub, rh *resthook.Deliverer) subscription.EventsPublisher {
	return countingPublisher{hub: hub, restHook: rh, events: m.events}
}

type countingPublisher struct {
	hub      *notify.Hub
	restHook *resthook.Deliverer
	events   prometheus.Counter
}

func (p countingPublisher) Publish(refs []subscription.EventRef) {
	p.events.Add(float64(len(refs)))
	p.hub.Publish(refs)
	p.restHook.Publish(refs)
}

func (p countingPublisher) PublishEvents(evs []subscription.Event) {
	p.events.Add(float64(len(evs)))
	p.hub.PublishEvents(evs)
	p.restHook.PublishEvents(evs)
}

// restHookMetrics count rest-hook POSTs by kind and outcome, and time them
// and the write-to-acknowledgement latency of their events. Labels hold no
// ids or URLs.
type restHookMetrics struct {
	posts    *prometheus.CounterVec   // kind, result (delivered | failed), code
	duration *prometheus.HistogramVec // kind
	latency  prometheus.Histogram
	events   prometheus.Counter
}

func newRestHookMetrics() *restHookMetrics {
	return &restHookMetrics{
		posts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbell_rest_hook_posts_total",
			Help: "Rest-hook POSTs by notification kind, result (delivered: 2xx, failed) and subscription-error code.",
		}, []string{"kind", "result", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fhirbell_rest_hook_post_seconds", Help: "Rest-hook POST duration by notification kind.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 30},
		}, []string{"kind"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "fhirbell_rest_hook_event_latency_seconds", Help: "Time from an event's write to the 2xx of the rest-hook POST carrying it.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60, 600},
		}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fhirbell_rest_hook_events_delivered_total", Help: "Events acknowledged (2xx) by rest-hook endpoints, from this node.",
		}),
	}
}

// observeRestHook is the deliverer's Observe hook.
func (m *metrics) observeRestHook(a resthook.Attempt) {
	result := "delivered"
	if !a.OK {
		result = "failed"
	}
	m.restHook.posts.WithLabelValues(a.Kind, result, a.ErrorCode).Inc()
	m.restHook.duration.WithLabelValues(a.Kind).Observe(a.Duration.Seconds())
	if a.OK {
		now := time.Now()
		for _, ev := range a.Events {
			m.restHook.latency.Observe(now.Sub(ev.Time).Seconds())
		}
		m.restHook.events.Add(float64(len(a.Events)))
	}
}

// watchBroadcaster exports how many changes this node asked the cluster's
// Broadcaster to announce and how many NOTIFYs that took: the difference is
// what coalescing saved.
func (m *metrics) watchBroadcaster(b *postgres.Broadcaster) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "fhirbell_cluster_changes_total", Help: "Committed changes this node queued for the other nodes (one per write that appended events or changed a Subscription or SubscriptionTopic).",
	}, func() float64 { return float64(b.Queued()) }))
	notifies := func(failed bool) func() float64 {
		return func() float64 {
			s, f := b.Sent()
			if failed {
				return float64(f)
			}
			return float64(s)
		}
	}
	for _, r := range []string{"sent", "failed"} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "fhirbell_cluster_notifications_total", Help: "NOTIFYs this node sent to the other nodes (each carries every change queued while the previous one was in flight), by result.",
			ConstLabels: prometheus.Labels{"result": r},
		}, notifies(r == "failed")))
	}
}

// watchRestHook exports the deliverer's gauges.
func (m *metrics) watchRestHook(d *resthook.Deliverer) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "fhirbell_rest_hook_leased_subscriptions", Help: "Rest-hook subscriptions this node holds the delivery lease of.",
	}, func() float64 { return float64(d.Stats().Leased) }))
}

// hubObserver is the hub's notify.Observer: counters and histograms with
// every label value resolved once, so that the hot path (a frame written)
// costs a few atomic adds.
type hubObserver struct {
	delivered, frames [2]prometheus.Counter
	latency           [2]prometheus.Observer
	reads             [2]prometheus.Counter
	readEvents        [2]prometheus.Counter
	binds, unbinds    [2]prometheus.Counter
	closes            *prometheus.CounterVec
	heartbeats        prometheus.Counter
	reauth            [4]prometheus.Counter
	wakeups           [3]prometheus.Counter
	wakeDelay         [3]prometheus.Observer
	collectors        []prometheus.Collector
}

var _ notify.Observer = (*hubObserver)(nil)

func newHubObserver() *hubObserver {
	o := &hubObserver{}
	vec := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		o.collectors = append(o.collectors, v)
		return v
	}
	hist := func(name, help string, labels ...string) *prometheus.HistogramVec {
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets}, labels)
		o.collectors = append(o.collectors, v)
		return v
	}
	delivered := vec("fhirbell_events_delivered_total", "Events written to sockets, by binding dialect.", "dialect")
	frames := vec("fhirbell_delivery_frames_total", "Notification frames (delivery batches) written to sockets, by dialect: a backport Bundle carries up to max-count events, a legacy ping one.", "dialect")
	latency := hist("fhirbell_delivery_latency_seconds", "Time from an event's write to the frame carrying it written to a socket, by dialect (one observation per event and socket).", "dialect")
	reads := vec("fhirbell_delivery_reads_total", "Event reads by delivery, by source: memory (events just written on this node) or the event log.", "source")
	readEvents := vec("fhirbell_delivery_read_events_total", "Events read by delivery, by source.", "source")
	binds := vec("fhirbell_ws_binds_total", "Subscription bindings made on sockets, by dialect.", "dialect")
	unbinds := vec("fhirbell_ws_unbinds_total", "Subscription bindings ended (unbind, or the socket closed), by dialect.", "dialect")
	for _, d := range notify.Dialects {
		o.delivered[d] = delivered.WithLabelValues(d.String())
		o.frames[d] = frames.WithLabelValues(d.String())
		o.latency[d] = latency.WithLabelValues(d.String())
		o.binds[d] = binds.WithLabelValues(d.String())
		o.unbinds[d] = unbinds.WithLabelValues(d.String())
	}
	for _, src := range []notify.ReadSource{notify.ReadMemory, notify.ReadLog} {
		o.reads[src] = reads.WithLabelValues(src.String())
		o.readEvents[src] = readEvents.WithLabelValues(src.String())
	}
	o.closes = vec("fhirbell_ws_closes_total", "Sockets closed, by close code sent (0: none could be sent) and reason; slow_consumer is 1008, too_far_behind is 4429.", "code", "reason")
	for r := notify.ClientClosed; r <= notify.TooManySockets; r++ {
		o.closes.WithLabelValues(strconv.Itoa(r.CloseCode()), r.String()) // zeros show
	}
	o.heartbeats = vec("fhirbell_ws_heartbeats_total", "Heartbeat Bundles sent.").WithLabelValues()
	reauth := vec("fhirbell_ws_reauth_total", "In-band re-authentications by outcome (success, refused, unavailable), and authorizations that expired (expired, closed with 4001).", "outcome")
	for _, r := range notify.ReauthOutcomes {
		o.reauth[r] = reauth.WithLabelValues(r.String())
	}
	wakeups := vec("fhirbell_wakeups_total", "Wake-ups that raised the known head of a subscription bound here, by path: local (a write on this node), notify (another node's NOTIFY), poll (the hub's poll of event heads).", "path")
	delay := hist("fhirbell_wakeup_delay_seconds", "How long after the write a wake-up came, by path.", "path")
	for _, p := range notify.WakePaths {
		o.wakeups[p] = wakeups.WithLabelValues(p.String())
		o.wakeDelay[p] = delay.WithLabelValues(p.String())
	}
	return o
}

// watchHub adds the hub's gauges (sockets, bindings) to the metrics.
func (m *metrics) watchHub(hub *notify.Hub) { m.reg.MustRegister(hubCollector{hub}) }

func (o *hubObserver) register(reg *prometheus.Registry) { reg.MustRegister(o.collectors...) }

func (o *hubObserver) Delivered(d notify.Dialect, evs []subscription.Event, written time.Time) {
	o.delivered[d].Add(float64(len(evs)))
	o.frames[d].Inc()
	for i := range evs {
		o.latency[d].Observe(max(written.Sub(evs[i].Time), 0).Seconds())
	}
}

func (o *hubObserver) Read(src notify.ReadSource, n int) {
	o.reads[src].Inc()
	o.readEvents[src].Add(float64(n))
}

func (o *hubObserver) Bound(d notify.Dialect)   { o.binds[d].Inc() }
func (o *hubObserver) Unbound(d notify.Dialect) { o.unbinds[d].Inc() }
func (o *hubObserver) Closed(r notify.CloseReason) {
	o.closes.WithLabelValues(strconv.Itoa(r.CloseCode()), r.String()).Inc()
}
func (o *hubObserver) Heartbeat()                    { o.heartbeats.Inc() }
func (o *hubObserver) Reauth(r notify.ReauthOutcome) { o.reauth[r].Inc() }
func (o *hubObserver) Woken(p notify.WakePath, d time.Duration) {
	o.wakeups[p].Inc()
	if d > 0 {
		o.wakeDelay[p].Observe(d.Seconds())
	}
}

// hubCollector reads the hub's Stats at scrape time.
type hubCollector struct{ hub *notify.Hub }

var (
	socketsDesc  = prometheus.NewDesc("fhirbell_ws_sockets", "Open WebSocket connections on this node, by auth mode and the dialects of their bindings (backport, legacy, mixed, none).", []string{"auth_mode", "dialect"}, nil)
	bindingsDesc = prometheus.NewDesc("fhirbell_ws_bindings", "Subscription bindings on this node's sockets, by dialect.", []string{"dialect"}, nil)
)

func (hubCollector) Describe(ch chan<- *prometheus.Desc) { ch <- socketsDesc; ch <- bindingsDesc }

func (c hubCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.hub.Stats()
	for _, a := range notify.AuthModes {
		for _, d := range []string{"backport", "legacy", "mixed", "none"} {
			ch <- prometheus.MustNewConstMetric(socketsDesc, prometheus.GaugeValue, float64(st.SocketsBy[notify.SocketClass{Auth: a, Dialect: d}]), a.String(), d)
		}
	}
	for _, d := range notify.Dialects {
		ch <- prometheus.MustNewConstMetric(bindingsDesc, prometheus.GaugeValue, float64(st.BindingsBy[d]), d.String())
	}
}

// maintenanceCollector reads the Service's maintenance counts.
type maintenanceCollector struct{ svc *subscription.Service }

var (
	pruneRunsDesc = prometheus.NewDesc("fhirbell_event_prune_runs_total", "Event-log prune passes by this node's maintenance, by result.", []string{"result"}, nil)
	prunedDesc    = prometheus.NewDesc("fhirbell_events_pruned_total", "Events deleted from the log by this node's prunes (past the retention).", nil, nil)
)

func (maintenanceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pruneRunsDesc
	ch <- prunedDesc
}

func (c maintenanceCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.svc.MaintenanceStats()
	ch <- prometheus.MustNewConstMetric(pruneRunsDesc, prometheus.CounterValue, float64(st.PruneRuns), "ok")
	ch <- prometheus.MustNewConstMetric(pruneRunsDesc, prometheus.CounterValue, float64(st.PruneFailures), "error")
	ch <- prometheus.MustNewConstMetric(prunedDesc, prometheus.CounterValue, float64(st.EventsPruned))
}

// lagCollector turns this node's latest report (taken every report
// interval, nodes.go) into the lag metrics: reading cursors and the log at
// every scrape would tie scrape cost to the number of bindings.
type lagCollector struct{ m *metrics }

var (
	lagDesc      = prometheus.NewDesc("fhirbell_delivery_lag_events", "Events each binding on this node is behind its subscription's log, over bindings, as of the node's latest report.", nil, nil)
	lagMaxDesc   = prometheus.NewDesc("fhirbell_delivery_lag_events_max", "The most events any binding on this node is behind, as of the latest report.", nil, nil)
	lagAgeDesc   = prometheus.NewDesc("fhirbell_delivery_oldest_undelivered_seconds", "Age of the oldest event a binding on this node has not received yet (0: none behind), as of the latest report.", nil, nil)
	behindDesc   = prometheus.NewDesc("fhirbell_delivery_bindings_behind", "Bindings on this node with at least one event not yet sent, as of the latest report.", nil, nil)
	rowsDesc     = prometheus.NewDesc("fhirbell_event_log_rows", "Events retained in the event log, over every subscription (the cluster's log, an estimate when large).", nil, nil)
	nodesDesc    = prometheus.NewDesc("fhirbell_cluster_nodes", "Live nodes (those that published a report within the node timeout), as this node last saw them.", nil, nil)
	reportAtDesc = prometheus.NewDesc("fhirbell_node_report_timestamp_seconds", "When this node last published its report.", nil, nil)
)

// lagBuckets are the bucket bounds of fhirbell_delivery_lag_events.
var lagBuckets = []float64{0, 1, 2, 5, 10, 50, 100, 1000, 10000, 100000}

func (lagCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{lagDesc, lagMaxDesc, lagAgeDesc, behindDesc, rowsDesc, nodesDesc, reportAtDesc} {
		ch <- d
	}
}

func (c lagCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.m.report.Load()
	if r == nil {
		return
	}
	buckets := make(map[float64]uint64, len(lagBuckets))
	var count uint64
	var sum float64
	var maxLag int64
	var oldest time.Time
	behind := 0
	for _, sub := range r.Subscriptions {
		// Bindings lists at most MaxReportedBindings; the rest are at
		// most as far behind as the last one listed.
		for i := 0; i < sub.BindingCount; i++ {
			var lag int64
			if i < len(sub.Bindings) {
				lag = sub.Bindings[i].Lag
			} else if n := len(sub.Bindings); n > 0 {
				lag = sub.Bindings[n-1].Lag
			}
			count++
			sum += float64(lag)
			for _, b := range lagBuckets {
				if float64(lag) <= b {
					buckets[b]++
				}
			}
			if lag > 0 {
				behind++
			}
		}
		maxLag = max(maxLag, sub.MaxLag)
		if !sub.OldestUndelivered.IsZero() && (oldest.IsZero() || sub.OldestUndelivered.Before(oldest)) {
			oldest = sub.OldestUndelivered
		}
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(r.Reported.Sub(oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstHistogram(lagDesc, count, sum, buckets)
	ch <- prometheus.MustNewConstMetric(lagMaxDesc, prometheus.GaugeValue, float64(maxLag))
	ch <- prometheus.MustNewConstMetric(lagAgeDesc, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(behindDesc, prometheus.GaugeValue, float64(behind))
	ch <- prometheus.MustNewConstMetric(reportAtDesc, prometheus.GaugeValue, float64(r.Reported.UnixMilli())/1000)
	if v := c.m.rows.Load(); v >= 0 {
		ch <- prometheus.MustNewConstMetric(rowsDesc, prometheus.GaugeValue, float64(v))
	}
	ch <- prometheus.MustNewConstMetric(nodesDesc, prometheus.GaugeValue, float64(c.m.nodes.Load()))
}

// poolCollector exports a pgx pool's statistics.
type poolCollector struct{ pool *pgxpool.Pool }

var (
	poolConnsDesc   = prometheus.NewDesc("fhirbell_pg_pool_connections", "Postgres pool connections by state (acquired, idle, constructing).", []string{"state"}, nil)
	poolMaxDesc     = prometheus.NewDesc("fhirbell_pg_pool_max_connections", "The Postgres pool's maximum size.", nil, nil)
	poolAcqDesc     = prometheus.NewDesc("fhirbell_pg_pool_acquires_total", "Connections acquired from the Postgres pool.", nil, nil)
	poolEmptyDesc   = prometheus.NewDesc("fhirbell_pg_pool_empty_acquires_total", "Acquires that had to wait because the pool had no idle connection.", nil, nil)
	poolCancelDesc  = prometheus.NewDesc("fhirbell_pg_pool_canceled_acquires_total", "Acquires canceled by their context while waiting.", nil, nil)
	poolWaitDesc    = prometheus.NewDesc("fhirbell_pg_pool_acquire_wait_seconds_total", "Total time spent waiting for a Postgres pool connection.", nil, nil)
	poolNewDesc     = prometheus.NewDesc("fhirbell_pg_pool_new_connections_total", "Connections the Postgres pool opened.", nil, nil)
	poolDestroyDesc = prometheus.NewDesc("fhirbell_pg_pool_closed_connections_total", "Connections the Postgres pool closed, by reason (lifetime, idle).", []string{"reason"}, nil)
)

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConnsDesc, poolMaxDesc, poolAcqDesc, poolEmptyDesc, poolCancelDesc, poolWaitDesc, poolNewDesc, poolDestroyDesc} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(poolConnsDesc, float64(st.AcquiredConns()), "acquired")
	gauge(poolConnsDesc, float64(st.IdleConns()), "idle")
	gauge(poolConnsDesc, float64(st.ConstructingConns()), "constructing")
	gauge(poolMaxDesc, float64(st.MaxConns()))
	counter(poolAcqDesc, float64(st.AcquireCount()))
	counter(poolEmptyDesc, float64(st.EmptyAcquireCount()))
	counter(poolCancelDesc, float64(st.CanceledAcquireCount()))
	counter(poolWaitDesc, st.AcquireDuration().Seconds())
	counter(poolNewDesc, float64(st.NewConnsCount()))
	counter(poolDestroyDesc, float64(st.MaxLifetimeDestroyCount()), "lifetime")
	counter(poolDestroyDesc, float64(st.MaxIdleDestroyCount()), "idle")
}

// watchPool adds the pool's statistics to the metrics (Postgres store only).
func (m *metrics) watchPool(pool *pgxpool.Pool) { m.reg.MustRegister(poolCollector{pool}) }

// instrument counts and times requests by their route pattern (never the
// raw path: it holds ids and ticket secrets).
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil {
			if p := rc.RoutePattern(); p != "" {
				route = p
			}
		}
		m.requests.WithLabelValues(r.Method, route, strconv.Itoa(sw.status)).Inc()
		m.latency.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
	})
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// statusWriter remembers the status a handler wrote. It passes Hijack
// through (gorilla's upgrader asserts http.Hijacker), so WebSocket upgrades
// still work behind it; Unwrap serves http.ResponseController.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.status = http.StatusSwitchingProtocols
	return http.NewResponseController(w.ResponseWriter).Hijack()
}
