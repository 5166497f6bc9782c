package main

// Tracing, off unless --otlp-endpoint is set: OpenTelemetry spans exported
// over OTLP/HTTP for the path of a notification.
//
//   - The FHIR request is a server span (its traceparent header, if any,
//     is its parent), named by the route pattern, never the raw path.
//   - Each event the write appends adds a "fhirbell.event" span event to
//     it, and the event row stores the request's traceparent
//     (subscription.WithEventTrace; the trace column of the event log).
//   - Each delivery of an event, by socket frame or rest-hook POST and on
//     whichever node makes it, is a "fhirbell.deliver" span whose parent is
//     the write's span, from the stored traceparent: it starts at the
//     event's time and ends when the frame was written or the POST
//     answered, so a trace shows write → append → delivery across nodes.
//
// The provider is this server's own, not the global one (tests run many
// servers in one process). Sampling follows a sampled traceparent;
// requests without one are sampled at --trace-sample-ratio. Nothing a span
// carries is a secret: routes are patterns, subscription ids and event
// numbers are not credentials.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/fhirbell/fhirbell/notify"
	"github.com/fhirbell/fhirbell/resthook"
	"github.com/fhirbell/fhirbell/subscription"
)

// TracingConfig is the --otlp-* flags of `fhirbell serve`.
type TracingConfig struct {
	OTLPEndpoint string        // base URL of an OTLP/HTTP collector (…:4318); empty: tracing off
	SampleRatio  float64       // of traces that start here
	BatchTimeout time.Duration // how long spans wait to be exported in a batch
}

// DefaultTracingConfig is tracing off.
func DefaultTracingConfig() TracingConfig {
	return TracingConfig{SampleRatio: 1, BatchTimeout: 5 * time.Second}
}

// Validate reports the first tracing setting that cannot work.
func (c TracingConfig) Validate() error {
	if c.SampleRatio < 0 || c.SampleRatio > 1 {
		return fmt.Errorf("trace-sample-ratio %v: want between 0 and 1", c.SampleRatio)
	}
	if c.BatchTimeout <= 0 {
		return fmt.Errorf("otlp-batch-timeout %s: want > 0", c.BatchTimeout)
	}
	if c.OTLPEndpoint == "" {
		return nil
	}
	u, err := url.Parse(c.OTLPEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("otlp-endpoint %q: want an http(s) URL such as http://127.0.0.1:4318", c.OTLPEndpoint)
	}
	return nil
}

func registerTracingFlags(e *envFlag, c *TracingConfig) {
	e.String(&c.OTLPEndpoint, "otlp-endpoint", "OTLP/HTTP collector base URL, e.g. http://127.0.0.1:4318: turns tracing on (request, event and delivery spans)")
	e.Float(&c.SampleRatio, "trace-sample-ratio", "fraction of traces started here that are sampled (a sampled traceparent is always followed)")
	e.Duration(&c.BatchTimeout, "otlp-batch-timeout", "longest a finished span waits before it is exported")
}

// tracing holds the provider; its zero value (tp nil) is tracing off, and
// every method is then a no-op.
type tracing struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
}

var traceContext propagation.TraceContext

func newTracing(ctx context.Context, c TracingConfig, nodeID string) (*tracing, error) {
	if c.OTLPEndpoint == "" {
		return &tracing{}, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(c.OTLPEndpoint+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("otlp-endpoint: %w", err)
	}
	res := resource.NewSchemaless(
		attribute.String("service.name", "fhirbell"),
		attribute.String("service.instance.id", nodeID),
	)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(c.BatchTimeout)),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(c.SampleRatio))),
	)
	return &tracing{tp: tp, tracer: tp.Tracer("github.com/fhirbell/fhirbell")}, nil
}

func (t *tracing) on() bool { return t.tp != nil }

// shutdown exports what is left; after the server stopped.
func (t *tracing) shutdown(ctx context.Context) error {
	if !t.on() {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// middleware wraps the FHIR API (not the socket upgrade, whose request
// lives as long as the socket) in a server span per request.
func (t *tracing) middleware(next http.Handler) http.Handler {
	if !t.on() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method)))
		defer span.End()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			span.SetName(r.Method + " " + rc.RoutePattern())
			span.SetAttributes(attribute.String("http.route", rc.RoutePattern()))
		}
		span.SetAttributes(attribute.Int("http.response.status_code", sw.status))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.status))
		}
	})
}

// eventTrace is the Service's WithEventTrace hook: it marks the append on
// the write's span and returns the traceparent the event row keeps ("" when
// the write is not sampled: nothing would join it).
func (t *tracing) eventTrace(ctx context.Context, subscriptionID string) string {
	span := trace.SpanFromContext(ctx)
	if !span.SpanContext().IsSampled() {
		return ""
	}
	span.AddEvent("fhirbell.event", trace.WithAttributes(attribute.String("fhirbell.subscription.id", subscriptionID)))
	c := propagation.MapCarrier{}
	traceContext.Inject(ctx, c)
	return c["traceparent"]
}

// delivered records one "fhirbell.deliver" span per traced event in evs,
// ended at done.
func (t *tracing) delivered(channel string, evs []subscription.Event, done time.Time, attrs ...attribute.KeyValue) {
	for _, ev := range evs {
		if ev.Trace == "" {
			continue
		}
		parent := traceContext.Extract(context.Background(), propagation.MapCarrier{"traceparent": ev.Trace})
		if !trace.SpanContextFromContext(parent).IsValid() {
			continue
		}
		_, span := t.tracer.Start(parent, "fhirbell.deliver", trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithTimestamp(ev.Time),
			trace.WithAttributes(append(attrs,
				attribute.String("fhirbell.channel", channel),
				attribute.String("fhirbell.subscription.id", ev.SubscriptionID),
				attribute.String("fhirbell.event.number", strconv.FormatInt(ev.Number, 10)),
			)...))
		span.End(trace.WithTimestamp(done))
	}
}

// observeRestHook is the rest-hook half of delivery spans.
func (t *tracing) observeRestHook(a resthook.Attempt) {
	if !t.on() || len(a.Events) == 0 {
		return
	}
	attrs := []attribute.KeyValue{attribute.Bool("fhirbell.delivered", a.OK)}
	if a.ErrorCode != "" {
		attrs = append(attrs, attribute.String("fhirbell.error", a.ErrorCode))
	}
	t.delivered("rest-hook", a.Events, time.Now(), attrs...)
}

// observer wraps the hub's Observer so that socket frames make delivery
// spans too.
func (t *tracing) observer(next notify.Observer) notify.Observer {
	if !t.on() {
		return next
	}
	return tracingObserver{Observer: next, t: t}
}

type tracingObserver struct {
	notify.Observer
	t *tracing
}

func (o tracingObserver) Delivered(d notify.Dialect, evs []subscription.Event, written time.Time) {
	o.Observer.Delivered(d, evs, written)
	o.t.delivered("websocket", evs, written, attribute.String("fhirbell.dialect", d.String()))
}
