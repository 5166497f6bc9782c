package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// paramParts returns the parts of every parameter named name in a
// Parameters (or in the status Parameters of a $status Bundle), each as a
// map from part name to its values (value[x] as text; nested parts as
// their own maps under "part:<name>").
type parts map[string][]any

func collectParams(v any, name string, out *[]parts) {
	switch v := v.(type) {
	case map[string]any:
		if v["name"] == name {
			*out = append(*out, toParts(v["part"]))
			return
		}
		for _, x := range v {
			collectParams(x, name, out)
		}
	case []any:
		for _, x := range v {
			collectParams(x, name, out)
		}
	}
}

func toParts(v any) parts {
	p := parts{}
	list, _ := v.([]any)
	for _, x := range list {
		m, _ := x.(map[string]any)
		name, _ := m["name"].(string)
		if sub, ok := m["part"]; ok {
			p[name] = append(p[name], toParts(sub))
			continue
		}
		for k, val := range m {
			if strings.HasPrefix(k, "value") {
				if ref, ok := val.(map[string]any); ok {
					val = ref["reference"]
				}
				p[name] = append(p[name], fmt.Sprint(val))
			}
		}
	}
	return p
}

func (p parts) str(name string) string {
	if len(p[name]) == 0 {
		return ""
	}
	s, _ := p[name][0].(string)
	return s
}

func (p parts) num(name string) int64 {
	n, _ := strconv.ParseInt(p.str(name), 10, 64)
	return n
}

func (p parts) children(name string) []parts {
	var out []parts
	for _, x := range p[name] {
		if c, ok := x.(parts); ok {
			out = append(out, c)
		}
	}
	return out
}

// nodesOf returns the fhirbell-node parameters of base's $status of sub.
func statusNodes(t *testing.T, base, sub string) []parts {
	t.Helper()
	r := do(t, "GET", base+"/fhir/Subscription/"+sub+"/$status", "")
	wantStatus(t, r, 200)
	var out []parts
	collectParams(r.Body, "fhirbell-node", &out)
	return out
}

// clusterNodes returns the node parameters of base's $nodes.
func clusterNodes(t *testing.T, base string) []parts {
	t.Helper()
	r := do(t, "GET", base+"/fhir/Subscription/$nodes", "")
	wantStatus(t, r, 200)
	var out []parts
	collectParams(r.Body, "node", &out)
	return out
}

// waitUntil polls cond every 50 ms for up to 15 s (a bound on a hang, not
// a timing assertion).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metricValue returns the value of the series named exactly series (name
// and labels as /metrics prints them), or -1 when absent.
func metricValue(t *testing.T, base, series string) float64 {
	t.Helper()
	text := getText(t, base+"/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: %v", series, err)
	}
	return v
}

// TestClusterView: a socket on node 0 bound to a subscription created on
// node 1 shows up in node 1's $status and $nodes with node 0's id, address,
// cursor and lag; the delivery shows in node 0's metrics; a node that
// stops leaves the view.
func TestClusterView(t *testing.T) {
	nodes := startNodes(t, 2, map[string]string{"FHIRBELL_CLUSTER_REPORT_INTERVAL": "100ms"})
	sub := createSub(t, nodes[1].URL)
	waitKnown(t, nodes, sub)
	ticket, r := ticketURL(t, nodes[1].URL, sub)
	if ticket == "" {
		t.Fatalf("ticket: %d %s", r.Status, r.Raw)
	}
	conn := dialWS(t, nodes[0].URL+"/ws/"+ticket[strings.LastIndex(ticket, "/")+1:])
	expectHandshake(t, conn)
	writeObs(t, nodes[1].URL)
	writeObs(t, nodes[1].URL)
	wantSequence(t, readEvents(t, conn, nil, 2), 2)

	var view parts
	waitUntil(t, "node 1's $status to show node 0's binding at cursor 2", func() bool {
		for _, n := range statusNodes(t, nodes[1].URL, sub) {
			bs := n.children("binding")
			if n.str("address") == nodes[0].URL && len(bs) == 1 && bs[0].num("cursor") == 2 {
				view = n
				return true
			}
		}
		return false
	})
	b := view.children("binding")[0]
	if view.num("head") != 2 || view.num("max-lag") != 0 || b.num("lag") != 0 || b.str("dialect") != "backport" ||
		b.str("auth") != "ticket" || view.str("node-id") == "" || view.str("oldest-undelivered") != "" {
		t.Errorf("node 0's part of $status = %v, want head 2, lag 0, one backport ticket binding", view)
	}

	waitUntil(t, "$nodes to list both nodes", func() bool { return len(clusterNodes(t, nodes[0].URL)) == 2 })
	for _, n := range clusterNodes(t, nodes[0].URL) {
		if n.str("address") != nodes[0].URL {
			continue
		}
		subs := n.children("subscription")
		if n.num("sockets") != 1 || len(subs) != 1 || subs[0].str("subscription") != "Subscription/"+sub {
			t.Errorf("$nodes entry of node 0 = %v, want 1 socket bound to Subscription/%s", n, sub)
		}
	}

	for series, min := range map[string]float64{
		`fhirbell_events_delivered_total{dialect="backport"}`:         2,
		`fhirbell_delivery_frames_total{dialect="backport"}`:          2,
		`fhirbell_delivery_latency_seconds_count{dialect="backport"}`: 2,
		`fhirbell_ws_binds_total{dialect="backport"}`:                 1,
		`fhirbell_ws_sockets{auth_mode="ticket",dialect="backport"}`:  1,
		`fhirbell_ws_bindings{dialect="backport"}`:                    1,
		`fhirbell_pg_pool_max_connections`:                            1,
		`fhirbell_cluster_nodes`:                                      2,
		`fhirbell_delivery_lag_events_count`:                          1,
		`fhirbell_event_log_rows`:                                     2,
	} {
		if v := metricValue(t, nodes[0].URL, series); v < min {
			t.Errorf("node 0: %s = %v, want at least %v", series, v, min)
		}
	}
	// The events were written on node 1: node 0 woke by NOTIFY or poll.
	if v := metricValue(t, nodes[0].URL, `fhirbell_wakeups_total{path="notify"}`) + metricValue(t, nodes[0].URL, `fhirbell_wakeups_total{path="poll"}`); v < 1 {
		t.Errorf("node 0 counted no cluster wake-up (notify + poll = %v)", v)
	}
	if v := metricValue(t, nodes[0].URL, `fhirbell_delivery_lag_events_max`); v != 0 {
		t.Errorf("fhirbell_delivery_lag_events_max = %v, want 0", v)
	}

	conn.Close()
	if err := nodes[0].stop(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the stopped node to leave $nodes", func() bool { return len(clusterNodes(t, nodes[1].URL)) == 1 })
	if v := metricValue(t, nodes[0+1].URL, `fhirbell_ws_closes_total{code="0",reason="client_closed"}`); v != 0 {
		t.Errorf("node 1 counted closes it never had: %v", v)
	}
}

// TestClusterViewInMemory: the single node of the in-memory store reports
// itself, and a socket's lag is in $status and /metrics.
func TestClusterViewInMemory(t *testing.T) {
	s := mustRunServe(t, nil, "--cluster-report-interval", "100ms")
	sub := createSub(t, s.URL)
	ticket, _ := ticketURL(t, s.URL, sub)
	conn := dialWS(t, s.URL+"/ws/"+ticket[strings.LastIndex(ticket, "/")+1:])
	expectHandshake(t, conn)
	writeObs(t, s.URL)
	wantSequence(t, readEvents(t, conn, nil, 1), 1)
	waitUntil(t, "$status to show the binding at cursor 1", func() bool {
		ns := statusNodes(t, s.URL, sub)
		return len(ns) == 1 && len(ns[0].children("binding")) == 1 && ns[0].children("binding")[0].num("cursor") == 1
	})
	if n := clusterNodes(t, s.URL); len(n) != 1 || n[0].str("address") != s.URL {
		t.Errorf("$nodes = %v, want this node", n)
	}
	conn.Close()
	waitUntil(t, "the close to be counted", func() bool {
		return metricValue(t, s.URL, `fhirbell_ws_closes_total{code="0",reason="client_closed"}`) == 1
	})
}
