package main

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fhirbell/fhirbell/notify"
	"github.com/fhirbell/fhirbell/subscription"
)

// metrics is the Prometheus surface of a node, served at GET /metrics. It
// carries no tokens, ids or URLs in its labels: routes are chi patterns.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	events   prometheus.Counter
}

func newMetrics(hub *notify.Hub, svc *subscription.Service) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
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
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.latency, m.events,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fhirbell_ws_sockets", Help: "Open WebSocket connections on this node."},
			func() float64 { return float64(hub.Stats().Sockets) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fhirbell_ws_bindings", Help: "Subscription bindings on this node's sockets."},
			func() float64 { return float64(hub.Stats().Bindings) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fhirbell_topics", Help: "SubscriptionTopics known (built-in and user-defined)."},
			func() float64 { return float64(len(svc.Topics().All())) }),
	)
	return m
}

// publisher counts appended events on their way to the hub, keeping the
// hub's EventsPublisher side (the events themselves, not just their refs).
func (m *metrics) publisher(hub *notify.Hub) subscription.EventsPublisher {
	return countingPublisher{hub: hub, events: m.events}
}

type countingPublisher struct {
	hub    *notify.Hub
	events prometheus.Counter
}

func (p countingPublisher) Publish(refs []subscription.EventRef) {
	p.events.Add(float64(len(refs)))
	p.hub.Publish(refs)
}

func (p countingPublisher) PublishEvents(evs []subscription.Event) {
	p.events.Add(float64(len(evs)))
	p.hub.PublishEvents(evs)
}

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
