package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
)

// The cluster tests run several fhirbell nodes on one Postgres schema, as a
// deployment behind a load balancer does (docs/operations.md).
// Each node's connections carry an application_name of their own, so a
// test can cut one node off the database with pg_terminate_backend without
// touching the others or the shared server.

func TestClusterConfigFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    ClusterConfig
		wantErr string
	}{
		{name: "defaults", want: ClusterConfig{Notify: "on", PollInterval: time.Second, ReportInterval: 5 * time.Second}},
		{name: "flags", args: []string{"--cluster-notify", "off", "--cluster-poll-interval", "250ms", "--cluster-report-interval", "2s"}, want: ClusterConfig{Notify: "off", PollInterval: 250 * time.Millisecond, ReportInterval: 2 * time.Second}},
		{name: "env", env: map[string]string{"FHIRBELL_CLUSTER_NOTIFY": "off", "FHIRBELL_CLUSTER_POLL_INTERVAL": "2s", "FHIRBELL_CLUSTER_REPORT_INTERVAL": "1m"}, want: ClusterConfig{Notify: "off", PollInterval: 2 * time.Second, ReportInterval: time.Minute}},
		{name: "flag beats env", args: []string{"--cluster-notify", "on"}, env: map[string]string{"FHIRBELL_CLUSTER_NOTIFY": "off"}, want: ClusterConfig{Notify: "on", PollInterval: time.Second, ReportInterval: 5 * time.Second}},
		{name: "report too fast", args: []string{"--cluster-report-interval", "10ms"}, wantErr: "cluster-report-interval"},
		{name: "bad notify", args: []string{"--cluster-notify", "maybe"}, wantErr: "cluster-notify"},
		{name: "poll too fast", args: []string{"--cluster-poll-interval", "1ms"}, wantErr: "cluster-poll-interval"},
		{name: "poll too slow", args: []string{"--cluster-poll-interval", "2m"}, wantErr: "cluster-poll-interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			e := &envFlag{fs: fs, getenv: func(k string) string { return tt.env[k] }}
			got := DefaultClusterConfig()
			registerClusterFlags(e, &got)
			err := errors.Join(append(e.errs, fs.Parse(tt.args))...)
			if err == nil {
				err = got.Validate()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parse(%q) error = %v, want one naming %s", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parse(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
			}
		})
	}
}

// clusterDSN returns dsn with an application_name naming node i of the
// running test.
func clusterDSN(t *testing.T, dsn string, i int) string {
	return dsn + "&application_name=" + url.QueryEscape(appName(t, i))
}

func appName(t *testing.T, i int) string {
	name := regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")
	return fmt.Sprintf("fb-%s-node%d", name, i)
}

// startNodes runs n in-process nodes on one fresh schema.
func startNodes(t *testing.T, n int, env map[string]string) []*testServer {
	t.Helper()
	dsn := pgtest.NewSchema(t)
	nodes := make([]*testServer, n)
	for i := range nodes {
		e := map[string]string{"FHIRBELL_DATABASE_URL": clusterDSN(t, dsn, i), "FHIRBELL_CLUSTER_POLL_INTERVAL": "200ms"}
		for k, v := range env {
			e[k] = v
		}
		nodes[i] = mustRunServe(t, e)
	}
	return nodes
}

const clusterSub = `{"resourceType":"Subscription","status":"requested","reason":"cluster test",
 "criteria":"Observation?code=http://loinc.org|8867-4",
 "channel":{"type":"websocket","payload":"application/fhir+json"}}`

const clusterObs = `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]}}`

// createSub creates a websocket Subscription on base and returns its id.
func createSub(t *testing.T, base string) string {
	t.Helper()
	r := do(t, "POST", base+"/fhir/Subscription", clusterSub)
	wantStatus(t, r, 201)
	return r.Body["id"].(string)
}

// ticketURL asks base for a $websocket-ticket for sub and returns the
// websocket-url, or "" with the response when the node refused.
func ticketURL(t *testing.T, base, sub string) (string, response) {
	t.Helper()
	r := do(t, "GET", base+"/fhir/Subscription/"+sub+"/$websocket-ticket", "")
	if r.Status != 200 {
		return "", r
	}
	params, _ := r.Body["parameter"].([]any)
	for _, p := range params {
		p, _ := p.(map[string]any)
		if p["name"] == "websocket-url" {
			for k, v := range p {
				if s, ok := v.(string); ok && strings.HasPrefix(k, "value") {
					return s, r
				}
			}
		}
	}
	t.Fatalf("$websocket-ticket without websocket-url: %s", r.Raw)
	return "", r
}

// waitKnown waits until every node can issue a ticket for sub, that is
// until each node's memory holds it as active: at once with NOTIFY, within
// a poll interval without.
func waitKnown(t *testing.T, nodes []*testServer, sub string) {
	t.Helper()
	for i, n := range nodes {
		deadline := time.Now().Add(10 * time.Second)
		for {
			u, r := ticketURL(t, n.URL, sub)
			if u != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d does not know Subscription/%s after 10 s: %d %s", i, sub, r.Status, r.Raw)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// dialWS opens a socket on u (an http or ws URL; path included) and closes
// it when the test ends.
func dialWS(t *testing.T, u string) *websocket.Conn {
	t.Helper()
	conn, err := tryDial(t, u)
	if err != nil {
		t.Fatalf("dial %s: %v", hideTicket(u), err)
	}
	return conn
}

func tryDial(t *testing.T, u string) (*websocket.Conn, error) {
	u = strings.Replace(strings.Replace(u, "http://", "ws://", 1), "https://", "wss://", 1)
	conn, res, err := websocket.DefaultDialer.DialContext(t.Context(), u, nil)
	if err != nil {
		if res != nil {
			return nil, fmt.Errorf("%w (HTTP %d)", err, res.StatusCode)
		}
		return nil, err
	}
	t.Cleanup(func() { conn.Close() })
	return conn, nil
}

// hideTicket keeps ticket secrets out of test logs.
func hideTicket(u string) string {
	if i := strings.Index(u, "/ws/"); i >= 0 {
		return u[:i] + "/ws/…"
	}
	return u
}

// frame is what the tests need of one server message.
type frame struct {
	Type    string  // handshake, heartbeat, event-notification, … ("" if not a notification Bundle)
	Events  []int64 // event numbers of an event-notification
	Outcome string  // the text of an OperationOutcome frame
	Raw     string
}

func parseFrame(t *testing.T, data []byte) frame {
	t.Helper()
	f := frame{Raw: string(data)}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return f // legacy text (bound, ping)
	}
	switch m["resourceType"] {
	case "OperationOutcome":
		f.Outcome = string(data)
	case "Bundle":
		entries, _ := m["entry"].([]any)
		if len(entries) == 0 {
			t.Fatalf("notification Bundle without entries: %s", data)
		}
		res, _ := entries[0].(map[string]any)["resource"].(map[string]any)
		params, _ := res["parameter"].([]any)
		for _, p := range params {
			p, _ := p.(map[string]any)
			switch p["name"] {
			case "type":
				f.Type, _ = p["valueCode"].(string)
			case "notification-event":
				parts, _ := p["part"].([]any)
				for _, part := range parts {
					part, _ := part.(map[string]any)
					if part["name"] == "event-number" {
						n, err := strconv.ParseInt(fmt.Sprint(part["valueString"]), 10, 64)
						if err != nil {
							t.Fatalf("bad event-number in %s", data)
						}
						f.Events = append(f.Events, n)
					}
				}
			}
		}
	}
	return f
}

// readFrame reads one frame within 15 s (a bound on a hang, not a timing
// assertion).
func readFrame(conn *websocket.Conn) ([]byte, error) {
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, data, err := conn.ReadMessage()
	return data, err
}

// expectHandshake reads frames up to the first handshake.
func expectHandshake(t *testing.T, conn *websocket.Conn) {
	t.Helper()
	for {
		data, err := readFrame(conn)
		if err != nil {
			t.Fatalf("waiting for handshake: %v", err)
		}
		f := parseFrame(t, data)
		if f.Outcome != "" {
			t.Fatalf("waiting for handshake, got %s", f.Outcome)
		}
		if f.Type == "handshake" {
			return
		}
	}
}

// readEvents reads until it has seen every event number up to last and
// returns the numbers in the order they arrived.
func readEvents(t *testing.T, conn *websocket.Conn, got []int64, last int64) []int64 {
	t.Helper()
	for len(got) == 0 || got[len(got)-1] < last {
		data, err := readFrame(conn)
		if err != nil {
			t.Fatalf("after events %v, waiting for %d: %v", got, last, err)
		}
		f := parseFrame(t, data)
		if f.Outcome != "" {
			t.Fatalf("after events %v: %s", got, f.Outcome)
		}
		got = append(got, f.Events...)
	}
	return got
}

// wantSequence fails unless got is exactly 1..n.
func wantSequence(t *testing.T, got []int64, n int64) {
	t.Helper()
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("event numbers = %v, want 1..%d in order, each once", got, n)
	}
}

func writeObs(t *testing.T, base string) {
	t.Helper()
	wantStatus(t, do(t, "POST", base+"/fhir/Observation", clusterObs), 201)
}

// TestClusterCrossNode: a socket on node 0 receives, in order, the events
// of writes on nodes 1 and 2 of a subscription created on node 2, through
// a ticket node 1 issued; the ticket works exactly once cluster-wide.
func TestClusterCrossNode(t *testing.T) {
	nodes := startNodes(t, 3, nil)
	runCrossNode(t, nodes, 12)
}

// TestClusterPollingOnly is TestClusterCrossNode with NOTIFY off on every
// node: events, subscription changes and all reach the other nodes by
// polling alone.
func TestClusterPollingOnly(t *testing.T) {
	requireClusterFlags(t)
	nodes := startNodes(t, 3, map[string]string{"FHIRBELL_CLUSTER_NOTIFY": "off"})
	for i, n := range nodes {
		if !strings.Contains(n.Logs.String(), "notify=off") {
			t.Fatalf("node %d did not turn NOTIFY off; logs:\n%s", i, n.Logs)
		}
	}
	runCrossNode(t, nodes, 4)
}

// requireClusterFlags skips a test that needs the cluster flags while
// config.go does not register them yet (registerClusterFlags).
func requireClusterFlags(t *testing.T) {
	t.Helper()
	var out strings.Builder
	if _, err := parseConfig("serve", []string{"--cluster-notify", "off"}, func(string) string { return "" }, &out); err != nil {
		t.Skipf("serve has no --cluster-notify flag yet (config.go must call registerClusterFlags): %v", err)
	}
}

func runCrossNode(t *testing.T, nodes []*testServer, writes int) {
	sub := createSub(t, nodes[2].URL)
	waitKnown(t, nodes, sub)

	ticket, r := ticketURL(t, nodes[1].URL, sub)
	if ticket == "" {
		t.Fatalf("ticket from node 1: %d %s", r.Status, r.Raw)
	}
	conn := dialWS(t, nodes[0].URL+"/ws/"+ticket[strings.LastIndex(ticket, "/")+1:])
	expectHandshake(t, conn)
	secret := ticket[strings.LastIndex(ticket, "/")+1:]
	for i, n := range nodes {
		if c, err := tryDial(t, n.URL+"/ws/"+secret); err == nil {
			c.Close()
			t.Fatalf("a used ticket opened a socket on node %d", i)
		}
	}

	// A fresh ticket raced on every node: exactly one socket opens.
	ticket2, _ := ticketURL(t, nodes[1].URL, sub)
	secret2 := ticket2[strings.LastIndex(ticket2, "/")+1:]
	var mu sync.Mutex
	opened := 0
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() {
			if c, err := tryDial(t, n.URL+"/ws/"+secret2); err == nil {
				mu.Lock()
				opened++
				mu.Unlock()
				c.Close()
			}
		})
	}
	wg.Wait()
	if opened != 1 {
		t.Fatalf("one ticket raced on 3 nodes opened %d sockets, want 1", opened)
	}

	for i := range writes {
		writeObs(t, nodes[1+i%2].URL) // nodes 1 and 2
	}
	wantSequence(t, readEvents(t, conn, nil, int64(writes)), int64(writes))

	// A subscription created on node 1 is matched by writes on node 0.
	sub2 := createSub(t, nodes[1].URL)
	waitKnown(t, nodes, sub2)
	writeObs(t, nodes[0].URL)
	ev := do(t, "GET", nodes[2].URL+"/fhir/Subscription/"+sub2+"/$events", "")
	wantStatus(t, ev, 200)
	if !strings.Contains(string(ev.Raw), "notification-event") {
		t.Fatalf("no event for Subscription/%s after a write on another node: %s", sub2, ev.Raw)
	}
}

// TestClusterDatabaseConnectionsDropped: when every database connection of
// node 0 is killed (its pool's and its listener's), the node keeps its
// sockets, answers writes with 201 or a 503 OperationOutcome, reconnects
// by itself and catches up on what it missed.
func TestClusterDatabaseConnectionsDropped(t *testing.T) {
	nodes := startNodes(t, 2, nil)
	sub := createSub(t, nodes[1].URL)
	waitKnown(t, nodes, sub)
	ticket, _ := ticketURL(t, nodes[0].URL, sub)
	conn := dialWS(t, ticket)
	expectHandshake(t, conn)
	writeObs(t, nodes[1].URL)
	got := readEvents(t, conn, nil, 1)

	admin, err := pgx.Connect(t.Context(), pgtest.NewSchema(t)) // any connection to the server will do
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.WithoutCancel(t.Context()))
	var killed int
	if err := admin.QueryRow(t.Context(),
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, appName(t, 0)).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed < 2 {
		t.Fatalf("killed %d connections of node 0, want its pool's and its listener's", killed)
	}

	// Writes on node 0 fail at most transiently, always as FHIR.
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := do(t, "POST", nodes[0].URL+"/fhir/Observation", clusterObs)
		if r.Status == 201 {
			break
		}
		if r.Status != 503 || r.Body["resourceType"] != "OperationOutcome" {
			t.Fatalf("write while reconnecting = %d %s, want 201 or a 503 OperationOutcome", r.Status, r.Raw)
		}
		if time.Now().After(deadline) {
			t.Fatal("node 0 did not recover its database connections within 15 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	writeObs(t, nodes[1].URL)
	// The socket stayed open and receives both, in order.
	wantSequence(t, readEvents(t, conn, got, 3), 3)

	// A subscription created elsewhere after the cut reaches node 0's
	// matcher (its listener reconnected and resynchronised).
	sub2 := createSub(t, nodes[1].URL)
	waitKnown(t, nodes, sub2)
	writeObs(t, nodes[0].URL)
	ev := do(t, "GET", nodes[1].URL+"/fhir/Subscription/"+sub2+"/$events", "")
	if !strings.Contains(string(ev.Raw), "notification-event") {
		t.Fatalf("no event for Subscription/%s written on node 0: %s", sub2, ev.Raw)
	}
	if !strings.Contains(nodes[0].Logs.String(), "cluster listener disconnected") {
		t.Errorf("node 0 never noticed that its listener connection was killed; logs:\n%s", nodes[0].Logs)
	}
}

// procNode is a fhirbell node run as a separate process, so that it can
// be killed with SIGKILL.
type procNode struct {
	URL  string
	cmd  *exec.Cmd
	logs *syncBuffer
}

// buildFhirbell builds the fhirbell binary into a temporary directory.
func buildFhirbell(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fhirbell")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	out, err := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startProcs starts one process per env, all at once (so their migrations
// race, as a rolling deployment's may), and waits until each listens.
func startProcs(t *testing.T, bin string, envs []map[string]string) []*procNode {
	t.Helper()
	nodes := make([]*procNode, len(envs))
	addrs := make([]chan string, len(envs))
	for i, env := range envs {
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start node %d: %v", i, err)
		}
		n := &procNode{cmd: cmd, logs: &syncBuffer{}}
		nodes[i] = n
		addrs[i] = make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				line := sc.Text()
				n.logs.Write([]byte(line + "\n"))
				if m := listeningRE.FindStringSubmatch(line); m != nil {
					addrs[i] <- m[1]
				}
			}
			io.Copy(io.Discard, stderr)
		}()
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	for i, n := range nodes {
		select {
		case addr := <-addrs[i]:
			n.URL = "http://" + addr
		case <-time.After(30 * time.Second):
			t.Fatalf("node %d did not start; logs:\n%s", i, n.logs)
		}
	}
	return nodes
}

// TestClusterNodeKilled: the node holding a subscriber's socket is killed
// with SIGKILL while writes go on elsewhere; the subscriber reconnects to
// another node, resumes from the last event it saw, and gets every event,
// in order, each once.
func TestClusterNodeKilled(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	bin := buildFhirbell(t)
	var envs []map[string]string
	for i := range 3 {
		envs = append(envs, map[string]string{"FHIRBELL_DATABASE_URL": clusterDSN(t, dsn, i), "FHIRBELL_CLUSTER_POLL_INTERVAL": "200ms"})
	}
	procs := startProcs(t, bin, envs)
	servers := make([]*testServer, len(procs))
	for i, p := range procs {
		servers[i] = &testServer{URL: p.URL, Logs: p.logs}
	}
	sub := createSub(t, servers[1].URL)
	waitKnown(t, servers, sub)
	ticket, _ := ticketURL(t, servers[2].URL, sub)
	conn := dialWS(t, servers[0].URL+"/ws/"+ticket[strings.LastIndex(ticket, "/")+1:])
	expectHandshake(t, conn)

	const total = 40
	writeErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		for i := range total {
			base := servers[1+i%2].URL // nodes 1 and 2 survive
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/fhir/Observation", strings.NewReader(clusterObs))
			req.Header.Set("Content-Type", "application/fhir+json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				writeErr <- err
				return
			}
			res.Body.Close()
			if res.StatusCode != 201 {
				writeErr <- fmt.Errorf("write %d on node %d: status %d", i, 1+i%2, res.StatusCode)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		writeErr <- nil
	}()

	got := readEvents(t, conn, nil, 10)
	if err := procs[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill node 0: %v", err)
	}
	// Whatever was already in flight still arrives; then the socket dies
	// without a close frame.
	for {
		data, err := readFrame(conn)
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseGoingAway) {
				t.Fatalf("a killed node sent 1001: it was not killed")
			}
			break
		}
		got = append(got, parseFrame(t, data).Events...)
	}

	last := got[len(got)-1]
	t.Logf("node 0 delivered events 1..%d before it died; resuming on node 2", last)
	conn2 := dialWS(t, servers[2].URL+"/ws")
	if err := conn2.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf("resume %s %d", sub, last))); err != nil {
		t.Fatal(err)
	}
	expectHandshake(t, conn2)
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	wantSequence(t, readEvents(t, conn2, got, total), total)
}

// TestClusterLatency measures the time from a write's HTTP response on one
// node to the notification frame on a socket bound on another, with NOTIFY
// and with polling alone; docs/benchmarks.md reports it. Run with
//
//	FHIRBELL_BENCH_CLUSTER=1 go test -run TestClusterLatency -v ./cmd/fhirbell/
func TestClusterLatency(t *testing.T) {
	if testing.Short() || os.Getenv("FHIRBELL_BENCH_CLUSTER") != "1" {
		t.Skip("a measurement, not a test: set FHIRBELL_BENCH_CLUSTER=1")
	}
	requireClusterFlags(t)
	for _, tc := range []struct {
		notify string
		writes int
	}{{"on", 200}, {"off", 40}} {
		t.Run("notify="+tc.notify, func(t *testing.T) {
			nodes := startNodes(t, 2, map[string]string{"FHIRBELL_CLUSTER_NOTIFY": tc.notify, "FHIRBELL_CLUSTER_POLL_INTERVAL": "1s"})
			sub := createSub(t, nodes[0].URL)
			waitKnown(t, nodes, sub)
			ticket, _ := ticketURL(t, nodes[0].URL, sub)
			conn := dialWS(t, nodes[0].URL+"/ws/"+ticket[strings.LastIndex(ticket, "/")+1:])
			expectHandshake(t, conn)
			var lat, wlat []time.Duration
			var got []int64
			for i := range tc.writes {
				if tc.notify == "off" {
					// Writes at random phases of the 1 s poll: back to back,
					// each would come just after a poll and wait a full one.
					time.Sleep(time.Duration(rand.Int64N(int64(time.Second))))
				}
				sent := time.Now()
				writeObs(t, nodes[1].URL)
				start := time.Now()
				got = readEvents(t, conn, got, int64(i+1))
				lat = append(lat, time.Since(start))
				wlat = append(wlat, start.Sub(sent))
			}
			q := func(d []time.Duration, p float64) time.Duration {
				slices.Sort(d)
				return d[int(p*float64(len(d)-1))].Round(10 * time.Microsecond)
			}
			t.Logf("NOTIFY %s, %d writes: response to notification p50 %v, p90 %v, max %v (the write itself: p50 %v)", tc.notify, tc.writes,
				q(lat, 0.5), q(lat, 0.9), q(lat, 1), q(wlat, 0.5))
		})
	}
}
