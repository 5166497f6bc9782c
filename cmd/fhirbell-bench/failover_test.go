package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
)

// node is one `fhirbell serve` process of a test cluster.
type node struct {
	base string // FHIR base URL
	cmd  *exec.Cmd
	logs *lockedBuffer
}

// lockedBuffer is a bytes.Buffer safe for one writer and many readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startCluster runs n `fhirbell serve` processes on one fresh Postgres
// schema and waits until each listens. They are killed when the test ends.
func startCluster(t *testing.T, n int) []*node {
	t.Helper()
	dsn := pgtest.NewSchema(t)
	bin, err := fhirbellBinary()
	if err != nil {
		t.Fatal(err)
	}
	nodes := make([]*node, n)
	for i := range nodes {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, abuseLimitFlags(bin)...)
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "FHIRBELL_DATABASE_URL="+dsn, "FHIRBELL_CLUSTER_POLL_INTERVAL=200ms")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		nd := &node{cmd: cmd, logs: &lockedBuffer{}}
		nodes[i] = nd
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		addr := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				nd.logs.Write(append(sc.Bytes(), '\n'))
				var line struct {
					Msg  string `json:"msg"`
					Addr string `json:"addr"`
				}
				if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
					addr <- line.Addr
				}
			}
			io.Copy(io.Discard, stderr)
		}()
		select {
		case a := <-addr:
			nd.base = "http://" + a + "/fhir"
		case <-time.After(60 * time.Second):
			t.Fatalf("node %d did not start; logs:\n%s", i, nd.logs)
		}
	}
	return nodes
}

// listenProc is one `fhirbell listen` process.
type listenProc struct {
	out, errOut *lockedBuffer
}

var eventsRE = regexp.MustCompile(` events=([0-9,]+)`)

// events returns every event number the listener printed, in order.
func (l *listenProc) events() []int64 {
	var out []int64
	for _, m := range eventsRE.FindAllStringSubmatch(l.out.String(), -1) {
		for f := range strings.SplitSeq(m[1], ",") {
			n, _ := strconv.ParseInt(f, 10, 64)
			out = append(out, n)
		}
	}
	return out
}

// TestFailover kills one of three nodes with SIGKILL while the bench's
// sockets and three `fhirbell listen` clients are bound across them and
// writes go on: every client reconnects to another node and resumes, and
// none misses or repeats an event (the bench checks its sockets against
// the log heads; the test checks what each listener printed). It asserts
// no timing.
func TestFailover(t *testing.T) {
	nodes := startCluster(t, 3)
	bin, _ := fhirbellBinary()
	root := func(i int) string { return strings.TrimSuffix(nodes[i].base, "/fhir") }

	// One subscription to every Observation for the listeners: every
	// write of the bench matches it.
	res, err := http.Post(nodes[1].base+"/Subscription", "application/fhir+json", strings.NewReader(
		`{"resourceType":"Subscription","status":"requested","reason":"failover test","criteria":"Observation",
		  "channel":{"type":"websocket","payload":"application/fhir+json"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		ID string `json:"id"`
	}
	json.NewDecoder(res.Body).Decode(&created)
	res.Body.Close()
	if res.StatusCode != 201 || created.ID == "" {
		t.Fatalf("create subscription: %d", res.StatusCode)
	}
	// Every node must know it before a listener asks it for a ticket.
	for i := range nodes {
		deadline := time.Now().Add(10 * time.Second)
		for {
			r, err := http.Get(nodes[i].base + "/Subscription/" + created.ID + "/$websocket-ticket")
			if err == nil {
				r.Body.Close()
				if r.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d does not know Subscription/%s", i, created.ID)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Listener i starts on node i and knows the others.
	listeners := make([]*listenProc, 3)
	for i := range listeners {
		urls := []string{root(i), root((i + 1) % 3), root((i + 2) % 3)}
		l := &listenProc{out: &lockedBuffer{}, errOut: &lockedBuffer{}}
		cmd := exec.Command(bin, "listen", "--base-url", strings.Join(urls, ","), "--subscription", created.ID)
		cmd.Env = os.Environ()
		cmd.Stdout, cmd.Stderr = l.out, l.errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		listeners[i] = l
	}
	for i, l := range listeners {
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(l.out.String(), "handshake") {
			if time.Now().After(deadline) {
				t.Fatalf("listener %d not bound; stderr:\n%s", i, l.errOut)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// A steady run first: one hot subscription on sockets over the three
	// nodes, nothing killed.
	hot, table, err := runJSON(t, "failover", "--nodes", nodes[0].base+","+nodes[1].base+","+nodes[2].base,
		"--sockets", "30", "--subscriptions", "1", "--rate", "20", "--before", "500ms", "--after", "500ms", "--timeout", "20s")
	if h := hot.Failover; err != nil || !hot.Complete || h == nil || h.Bound != 30 || h.Dropped != 0 || h.Missing != 0 || h.Duplicates != 0 ||
		h.Expected == 0 || h.ServerDeliveries < float64(h.Expected) || h.ServerLatencyP99Ms <= 0 {
		t.Fatalf("hot run = %+v, %v; want 30 sockets, nothing dropped, every event once, the servers' latency read\n%s", h, err, table)
	}

	r, table, err := runJSON(t, "failover", "--nodes", nodes[0].base+","+nodes[1].base+","+nodes[2].base,
		"--kill-pid", strconv.Itoa(nodes[0].cmd.Process.Pid), "--kill-node", "0",
		"--sockets", "60", "--subscriptions", "3", "--rate", "20", "--before", "1s", "--after", "3s", "--timeout", "20s")
	if err != nil {
		t.Fatalf("failover: %v\n%s", err, table)
	}
	t.Logf("failover:\n%s", table)
	f := r.Failover
	if !r.Complete || f == nil || f.Bound != 60 || f.OnKilledNode != 20 || f.Dropped != 20 || f.Reconnected != 20 ||
		f.Missing != 0 || f.Duplicates != 0 || f.OutOfOrder != 0 || f.Expected == 0 || f.Received != f.Expected {
		t.Fatalf("failover = %+v (complete %v, problems %q), want 60 bound, the 20 on node 0 dropped and resumed, every event once\n%s",
			f, r.Complete, r.Problems, table)
	}
	if err := nodes[0].cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("node 0 ended with %v, want killed", err)
	}

	// The listeners: every event of the subscription, in order, once.
	st, err := http.Get(nodes[2].base + "/Subscription/" + created.ID + "/$status")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	io.Copy(&buf, st.Body)
	st.Body.Close()
	head := eventsSinceStart(t, buf.Bytes())
	if want := hot.Failover.Writes + f.Writes; head != want {
		t.Errorf("the listeners' subscription has %d events, want one per acknowledged write (%d)", head, want)
	}
	for i, l := range listeners {
		deadline := time.Now().Add(20 * time.Second)
		var got []int64
		for {
			got = l.events()
			if len(got) > 0 && got[len(got)-1] >= head || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		want := make([]int64, head)
		for j := range want {
			want[j] = int64(j + 1)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("listener %d printed events %v, want 1..%d once each, in order; stderr:\n%s", i, got, head, l.errOut)
		}
	}
	if s := listeners[0].errOut.String(); !strings.Contains(s, "disconnected from "+root(0)) {
		t.Errorf("listener 0 (on the killed node) never reconnected; stderr:\n%s", s)
	}
}

// eventsSinceStart reads events-since-subscription-start from a $status
// answer.
func eventsSinceStart(t *testing.T, b []byte) int64 {
	t.Helper()
	n, ok := fhir.ReadNotification(b)
	if !ok {
		t.Fatalf("$status answered %s", b)
	}
	return n.EventsSinceStart
}

// TestKillTargetGuard: the scenario kills only a `fhirbell serve` process.
func TestKillTargetGuard(t *testing.T) {
	for _, pid := range []int{0, 1, os.Getpid()} {
		if err := checkKillTarget(pid); err == nil {
			t.Errorf("checkKillTarget(%d) accepted a process that is not a fhirbell server", pid)
		}
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if err := checkKillTarget(cmd.Process.Pid); err == nil {
		t.Errorf("checkKillTarget accepted `sleep`")
	}
}

// TestFanOutAcrossProcesses: a --passive generator binds and records while
// another with the same --code writes; the passive one sees every round on
// every socket, after the write's request began (wall clocks of one
// machine).
func TestFanOutAcrossProcesses(t *testing.T) {
	base, _ := startServer(t)
	code := "shared-" + randomRunID()
	var stderr lockedBuffer
	type result struct {
		rep *Report
		err error
	}
	done := make(chan result, 1)
	path := t.TempDir() + "/passive.json"
	go func() {
		err := run(t.Context(), []string{"fanout", "--fhir-base", base, "--sockets", "50", "--rounds", "2", "--code", code, "--passive", "--json", path, "--max-time", "1m"},
			io.Discard, &stderr, noLookup)
		var rep Report
		b, _ := os.ReadFile(path)
		json.Unmarshal(b, &rep)
		done <- result{&rep, err}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "passive: 50 sockets bound") {
		if time.Now().After(deadline) {
			t.Fatalf("the passive generator did not bind; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	active, table, err := runJSON(t, "fanout", "--fhir-base", base, "--sockets", "10", "--rounds", "2", "--code", code)
	if err != nil || !active.Complete {
		t.Fatalf("active: %v\n%s", err, table)
	}
	res := <-done
	p := res.rep.FanOut
	if res.err != nil || !res.rep.Complete || p == nil || p.Delivered != 100 || len(p.Rounds) != 2 {
		t.Fatalf("passive = %+v, %v (problems %q); want 2 rounds of 50", p, res.err, res.rep.Problems)
	}
	for i, rd := range p.Rounds {
		if a := active.FanOut.Rounds[i]; rd.Delivered != 50 || rd.LastUnixMs < a.RequestUnixMs || rd.FirstUnixMs < a.RequestUnixMs {
			t.Errorf("round %d: passive %+v, active request at %.3f; want 50 arrivals, none before the request", i+1, rd, a.RequestUnixMs)
		}
	}
}
