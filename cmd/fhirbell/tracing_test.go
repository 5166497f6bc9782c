package main

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/fhirbell/fhirbell/resthook/resthooktest"
)

// collector is an OTLP/HTTP trace receiver on loopback: it keeps every
// span it is sent, with the service.instance.id of the node that sent it.
type collector struct {
	URL string

	mu    sync.Mutex
	spans []gotSpan
}

type gotSpan struct {
	node string
	*tracepb.Span
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		if err != nil {
			t.Errorf("collector: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, rs := range req.ResourceSpans {
			node := ""
			for _, a := range rs.GetResource().GetAttributes() {
				if a.Key == "service.instance.id" {
					node = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					c.spans = append(c.spans, gotSpan{node, s})
				}
			}
		}
		c.mu.Unlock()
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

// wait returns the spans once cond holds of them (15 s bound on a hang).
func (c *collector) wait(t *testing.T, what string, cond func([]gotSpan) bool) []gotSpan {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c.mu.Lock()
		spans := append([]gotSpan(nil), c.spans...)
		c.mu.Unlock()
		if cond(spans) {
			return spans
		}
		if time.Now().After(deadline) {
			var names []string
			for _, s := range spans {
				names = append(names, s.Name)
			}
			t.Fatalf("no %s among the exported spans %v", what, names)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tracingEnv(c *collector) map[string]string {
	return map[string]string{"FHIRBELL_OTLP_ENDPOINT": c.URL, "FHIRBELL_OTLP_BATCH_TIMEOUT": "100ms"}
}

func spanAttr(s *tracepb.Span, key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.GetValue().GetStringValue()
		}
	}
	return ""
}

// findSpan returns the first span named name in trace tid ("" matches any
// trace).
func findSpan(spans []gotSpan, name, tid string) (gotSpan, bool) {
	for _, s := range spans {
		if s.Name == name && (tid == "" || hex.EncodeToString(s.TraceId) == tid) {
			return s, true
		}
	}
	return gotSpan{}, false
}

// TestTracingAcrossNodes: a write on node 0 that carries a traceparent is
// a server span under that parent, marked with the event it appended; the
// frame that node 1 writes to a socket is a delivery span of the same
// trace, child of the write's span, exported by node 1 — the trace crosses
// nodes through the event row.
func TestTracingAcrossNodes(t *testing.T) {
	col := newCollector(t)
	nodes := startNodes(t, 2, tracingEnv(col))
	sub := createSub(t, nodes[0].URL)
	waitKnown(t, nodes, sub)
	u, r := ticketURL(t, nodes[1].URL, sub)
	if u == "" {
		t.Fatalf("ticket refused: %d %s", r.Status, r.Raw)
	}
	conn := dialWS(t, u)
	expectHandshake(t, conn)

	const tid, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	wantStatus(t, do(t, "POST", nodes[0].URL+"/fhir/Observation", clusterObs, "traceparent", "00-"+tid+"-"+parent+"-01"), 201)
	if got := readEvents(t, conn, nil, 1); len(got) != 1 {
		t.Fatalf("events = %v, want [1]", got)
	}

	spans := col.wait(t, "write and delivery spans of the trace", func(s []gotSpan) bool {
		_, w := findSpan(s, "POST /fhir/{type}", tid)
		_, d := findSpan(s, "fhirbell.deliver", tid)
		return w && d
	})
	write, _ := findSpan(spans, "POST /fhir/{type}", tid)
	deliver, _ := findSpan(spans, "fhirbell.deliver", tid)
	if got := hex.EncodeToString(write.ParentSpanId); got != parent {
		t.Errorf("write span's parent = %s, want the request's traceparent %s", got, parent)
	}
	if write.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("write span kind = %v, want server", write.Kind)
	}
	marked := false
	for _, ev := range write.Events {
		if ev.Name == "fhirbell.event" {
			for _, a := range ev.Attributes {
				marked = marked || (a.Key == "fhirbell.subscription.id" && a.GetValue().GetStringValue() == sub)
			}
		}
	}
	if !marked {
		t.Errorf("write span events = %v, want a fhirbell.event for Subscription/%s", write.Events, sub)
	}
	if string(deliver.ParentSpanId) != string(write.SpanId) {
		t.Errorf("delivery span's parent = %x, want the write span %x", deliver.ParentSpanId, write.SpanId)
	}
	if deliver.node == "" || deliver.node == write.node {
		t.Errorf("delivery exported by node %q, write by %q: want two different nodes", deliver.node, write.node)
	}
	if spanAttr(deliver.Span, "fhirbell.channel") != "websocket" || spanAttr(deliver.Span, "fhirbell.subscription.id") != sub ||
		spanAttr(deliver.Span, "fhirbell.event.number") != "1" {
		t.Errorf("delivery span attributes = %v", deliver.Attributes)
	}
	if deliver.EndTimeUnixNano < deliver.StartTimeUnixNano {
		t.Errorf("delivery span ends before it starts")
	}
	// The socket upgrade is not a span (its request lives as long as the
	// socket), and no span names a raw path (ids, ticket secrets).
	for _, s := range spans {
		if strings.Contains(s.Name, sub) || strings.HasPrefix(s.Name, "GET /ws") {
			t.Errorf("span %q names a raw path or the socket", s.Name)
		}
	}
}

// TestTracingRestHook: on the memory store, a write without a traceparent
// starts a trace of its own, and the rest-hook POST of its event is a
// delivery span in it.
func TestTracingRestHook(t *testing.T) {
	col := newCollector(t)
	rcv := resthooktest.MustNew(t)
	env := tracingEnv(col)
	env["FHIRBELL_REST_HOOK_ALLOW"] = "127.0.0.1/8"
	srv := mustRunServe(t, env)
	id := createRestHook(t, srv.URL, restHookSub(rcv.URL, 0))
	waitStatus(t, srv.URL, id, "active", func(s hookStatus) bool { return s.Status == "active" })
	writeObs(t, srv.URL)
	wantAcked(t, rcv, 1)

	spans := col.wait(t, "a rest-hook delivery span", func(s []gotSpan) bool {
		d, ok := findSpan(s, "fhirbell.deliver", "")
		return ok && spanAttr(d.Span, "fhirbell.channel") == "rest-hook"
	})
	deliver, _ := findSpan(spans, "fhirbell.deliver", "")
	write, ok := findSpan(spans, "POST /fhir/{type}", hex.EncodeToString(deliver.TraceId))
	if !ok {
		t.Fatalf("no write span in the delivery's trace")
	}
	if len(write.ParentSpanId) != 0 {
		t.Errorf("write without a traceparent has parent %x, want a root span", write.ParentSpanId)
	}
	if string(deliver.ParentSpanId) != string(write.SpanId) {
		t.Errorf("delivery span's parent = %x, want the write span %x", deliver.ParentSpanId, write.SpanId)
	}
}
