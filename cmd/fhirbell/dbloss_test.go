package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
)

// tcpProxy forwards loopback connections to a target address until it is
// cut: then it closes every connection it carries and every new one at
// once, as a database server that went away does, until restored. It lets
// a test lose the shared Postgres server for its own nodes only.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); p.cut(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { p.serve(c) })
		}
	})
	return p
}

func (p *tcpProxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.drop(c)
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		up.Close()
		p.drop(c)
		return
	}
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(up, c); p.drop(up) })
	io.Copy(c, up)
	p.drop(c)
	wg.Wait()
}

func (p *tcpProxy) drop(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// cut closes every connection and refuses new ones until restore.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	p.down = true
	conns := p.conns
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

func (p *tcpProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// viaProxy returns dsn with its host replaced by addr.
func viaProxy(t *testing.T, dsn, addr string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Fatalf("FHIRBELL_TEST_DATABASE_URL must be a postgres:// URL to run through a proxy: %v", err)
	}
	u.Host = addr
	return u.String()
}

// obsWrite is what one write got.
type obsWrite struct {
	status int
	id     string // of a 201
	body   string
}

// postClusterObs creates one clusterObs on base with its own client (safe off the
// test goroutine).
func postClusterObs(base string) obsWrite {
	res, err := http.Post(base+"/fhir/Observation", "application/fhir+json", strings.NewReader(clusterObs))
	if err != nil {
		return obsWrite{status: -1, body: err.Error()}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := obsWrite{status: res.StatusCode, body: string(b)}
	var r struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	json.Unmarshal(b, &r)
	if res.StatusCode == 201 {
		out.id = r.ID
	} else if r.ResourceType != "OperationOutcome" {
		out.status = -2 // not FHIR
	}
	return out
}

// TestDatabaseLost cuts two nodes off Postgres (a proxy between them and
// the shared server closes every connection and refuses new ones) while
// writers keep writing, then restores it. While it is away every write is
// answered 503 with an OperationOutcome (never a 500), /readyz is 503, and
// the subscriber's socket stays open and gets a heartbeat with status
// error saying so; when it is back, a heartbeat with status active, then
// every event of every committed write, in order, once, and no event of a
// write that did not commit: the events are exactly the Observations in
// the database. A transaction that rolls back adds no event either.
func TestDatabaseLost(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	u, _ := url.Parse(dsn)
	proxy := newTCPProxy(t, u.Host)
	pdsn := viaProxy(t, dsn, proxy.ln.Addr().String())
	nodes := make([]*testServer, 2)
	for i := range nodes {
		nodes[i] = mustRunServe(t, map[string]string{"FHIRBELL_DATABASE_URL": clusterDSN(t, pdsn, i), "FHIRBELL_CLUSTER_POLL_INTERVAL": "200ms"})
	}
	sub := createSub(t, nodes[1].URL)
	waitKnown(t, nodes, sub)
	ticket, _ := ticketURL(t, nodes[0].URL, sub)
	conn := dialWS(t, ticket)
	expectHandshake(t, conn)

	// A transaction that rolls back: its Observation matches, but the
	// update beside it fails its precondition.
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
	  {"resource":` + clusterObs + `,"request":{"method":"POST","url":"Observation"}},
	  {"resource":{"resourceType":"Patient","id":"nobody"},"request":{"method":"PUT","url":"Patient/nobody","ifMatch":"W/\"7\""}}]}`
	if r := do(t, "POST", nodes[0].URL+"/fhir", tx); r.Status < 400 || r.Status >= 500 {
		t.Fatalf("a transaction whose update fails its If-Match = %d %s, want a 4xx", r.Status, r.Raw)
	}

	// The socket's reader: every frame, parsed.
	type seen struct {
		typ, status, raw string
		events           []int64
		focus            []string
	}
	frames := make(chan seen, 4096)
	go func() {
		defer close(frames)
		for {
			conn.SetReadDeadline(time.Now().Add(60 * time.Second))
			_, b, err := conn.ReadMessage()
			if err != nil {
				frames <- seen{typ: "closed: " + err.Error()}
				return
			}
			n, _ := fhir.ReadNotification(b)
			frames <- seen{typ: n.Type, status: n.Status, raw: string(b), events: n.Events, focus: n.Focus}
		}
	}()
	var events []int64
	var focus []string
	// next reads frames, collecting events, until want says stop.
	next := func(what string, want func(seen) bool) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case f, ok := <-frames:
				if !ok || strings.HasPrefix(f.typ, "closed") {
					t.Fatalf("waiting for %s: the socket %s", what, f.typ)
				}
				events = append(events, f.events...)
				focus = append(focus, f.focus...)
				if want(f) {
					return
				}
			case <-timeout:
				t.Fatalf("no %s within 30 s (a bound on a hang); events so far %v", what, events)
			}
		}
	}

	var (
		mu       sync.Mutex
		outcomes []obsWrite
		stop     atomic.Bool
		wg       sync.WaitGroup
		acked    atomic.Int64
		refused  atomic.Int64
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				o := postClusterObs(nodes[(w+i)%2].URL)
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				switch o.status {
				case 201:
					acked.Add(1)
				case 503:
					refused.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				stop.Store(true)
				wg.Wait()
				t.Fatalf("%s: not within 30 s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitUntil("20 writes acknowledged", func() bool { return acked.Load() >= 20 })

	proxy.cut()
	next("a heartbeat saying the store is away", func(f seen) bool {
		return f.typ == fhir.NotifyHeartbeat && f.status == "error" && strings.Contains(f.raw, "unreachable")
	})
	// While it is away: writes are refused with 503 (the writers check
	// each), and so are readiness and reads.
	before := refused.Load()
	waitUntil("20 writes refused while the database is away", func() bool { return refused.Load() >= before+20 })
	for i, n := range nodes {
		if r := do(t, "GET", n.URL+"/readyz", ""); r.Status != 503 {
			t.Errorf("node %d /readyz while the database is away = %d, want 503", i, r.Status)
		}
		r := do(t, "GET", n.URL+"/fhir/Observation?code=http://loinc.org|8867-4", "")
		if r.Status != 503 || r.Body["resourceType"] != "OperationOutcome" || r.Header.Get("Retry-After") == "" {
			t.Errorf("node %d search while the database is away = %d %s, want a 503 OperationOutcome with Retry-After", i, r.Status, r.Raw)
		}
	}

	proxy.restore()
	next("a heartbeat saying the store is back", func(f seen) bool {
		return f.typ == fhir.NotifyHeartbeat && f.status == "active"
	})
	after := acked.Load()
	waitUntil("20 more writes acknowledged after the database returned", func() bool { return acked.Load() >= after+20 })
	stop.Store(true)
	wg.Wait()

	mu.Lock()
	var ackedIDs []string
	for _, o := range outcomes {
		switch o.status {
		case 201:
			ackedIDs = append(ackedIDs, o.id)
		case 503:
		default:
			t.Errorf("a write got %d: %.300s; want 201 or a 503 OperationOutcome", o.status, o.body)
		}
	}
	mu.Unlock()

	// What the database holds: the Observations that committed.
	var committed []string
	for page := nodes[1].URL + "/fhir/Observation?code=http://loinc.org|8867-4&_count=100"; page != ""; {
		r := do(t, "GET", page, "")
		wantStatus(t, r, 200)
		entries, _ := r.Body["entry"].([]any)
		for _, e := range entries {
			committed = append(committed, e.(map[string]any)["resource"].(map[string]any)["id"].(string))
		}
		page = ""
		links, _ := r.Body["link"].([]any)
		for _, l := range links {
			if l := l.(map[string]any); l["relation"] == "next" {
				page = l["url"].(string)
			}
		}
	}
	slices.Sort(committed)
	for _, id := range ackedIDs {
		if _, found := slices.BinarySearch(committed, id); !found {
			t.Errorf("acknowledged Observation/%s is not in the database", id)
		}
	}

	// Every committed write's event arrives, in order, once; none other.
	n := int64(len(committed))
	next(fmt.Sprintf("event %d", n), func(seen) bool { return len(events) > 0 && events[len(events)-1] >= n })
	wantSequence(t, events, n)
	st := do(t, "GET", nodes[0].URL+"/fhir/Subscription/"+sub+"/$status", "")
	if head, ok := fhir.ReadNotification(st.Raw); !ok || head.EventsSinceStart != n {
		t.Errorf("the subscription has %d events, the database %d committed Observations; want one event per committed write", head.EventsSinceStart, n)
	}
	var got []string
	for _, f := range focus {
		got = append(got, f[strings.LastIndexByte(f, '/')+1:])
	}
	slices.Sort(got)
	if !slices.Equal(got, committed) {
		t.Errorf("the events' focus ids differ from the committed Observations:\nevents    %v\ncommitted %v", got, committed)
	}
	t.Logf("%d writes acknowledged, %d refused with 503, %d Observations committed, %d events delivered", len(ackedIDs), refused.Load(), n, len(events))
}
