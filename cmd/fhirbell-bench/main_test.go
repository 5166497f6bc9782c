package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// noLookup fails every name lookup: the tests use IP literals only and
// must never send a DNS query.
func noLookup(_ context.Context, host string) ([]net.IPAddr, error) {
	return nil, fmt.Errorf("lookup %s: disabled in tests", host)
}

// server is a real fhirbell (in-memory store) built from this module and
// started once, on demand, for the smoke tests.
var server struct {
	once sync.Once
	dir  string
	bin  string
	cmd  *exec.Cmd
	base string // FHIR base URL
	pid  int
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if server.cmd != nil {
		server.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { server.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			server.cmd.Process.Kill()
		}
	}
	if server.dir != "" {
		os.RemoveAll(server.dir)
	}
	os.Exit(code)
}

// startServer builds cmd/fhirbell (package main cannot be imported) and
// runs it on a free loopback port.
func startServer(t *testing.T) (base string, pid int) {
	t.Helper()
	server.once.Do(func() { server.err = bootServer() })
	if server.err != nil {
		t.Fatalf("start fhirbell: %v", server.err)
	}
	return server.base, server.pid
}

// binary is the fhirbell server binary, built once for every test.
var binary struct {
	once sync.Once
	path string
	err  error
}

// fhirbellBinary builds cmd/fhirbell into the tests' temporary directory,
// once; FHIRBELL_BENCH_SERVER names a prebuilt binary to use instead.
func fhirbellBinary() (string, error) {
	binary.once.Do(func() {
		if bin := os.Getenv("FHIRBELL_BENCH_SERVER"); bin != "" {
			binary.path = bin
			return
		}
		if server.dir == "" {
			dir, err := os.MkdirTemp("", "fhirbell-bench-test")
			if err != nil {
				binary.err = err
				return
			}
			server.dir = dir
		}
		bin := filepath.Join(server.dir, "fhirbell")
		var out bytes.Buffer
		build := exec.Command("go", "build", "-o", bin, "github.com/fhirbell/fhirbell/cmd/fhirbell")
		build.Stdout, build.Stderr = &out, &out
		if err := build.Run(); err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out.String())
			return
		}
		binary.path = bin
	})
	return binary.path, binary.err
}

func bootServer() error {
	bin, err := fhirbellBinary()
	if err != nil {
		return err
	}
	server.bin = bin
	cmd, base, err := launch(bin, "")
	if cmd != nil {
		server.cmd = cmd
		server.pid = cmd.Process.Pid
	}
	server.base = base
	return err
}

// launch starts the server binary on a free loopback port, on the
// in-memory store or (dbURL non-empty) on Postgres, and returns its FHIR
// base once it listens.
func launch(bin, dbURL string) (*exec.Cmd, string, error) {
	args := []string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json", "--database-url", dbURL}
	args = append(args, abuseLimitFlags(bin)...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "FHIRBELL_DATABASE_URL="+dbURL, "FHIRBELL_REST_HOOK_ALLOW=127.0.0.1/8")
	logs, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
				break
			}
		}
		io.Copy(io.Discard, logs)
	}()
	select {
	case a := <-addr:
		return cmd, "http://" + a + "/fhir", nil
	case <-time.After(60 * time.Second):
		return cmd, "", errors.New("no listening line within 60s")
	}
}

// abuseLimitFlags lifts the server's per-client limits (sockets per
// principal, token and upgrade rates) that a load generator on one address
// would hit, when the server has them.
func abuseLimitFlags(bin string) []string {
	var help bytes.Buffer
	h := exec.Command(bin, "serve", "-h")
	h.Stdout, h.Stderr = &help, &help
	h.Run() // -h may exit non-zero; only the text matters
	var out []string
	for _, f := range [][2]string{
		{"max-sockets-per-principal", "1000000"},
		{"token-rate", "1000000"},
		{"upgrade-rate", "1000000"},
		{"max-conns-per-ip", "0"},
	} {
		if strings.Contains(help.String(), "-"+f[0]) {
			out = append(out, "--"+f[0], f[1])
		}
	}
	return out
}

// runJSON runs the generator and decodes its JSON report.
func runJSON(t *testing.T, args ...string) (*Report, string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.json")
	args = append(args, "--json", path, "--quiet")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := run(ctx, args, &stdout, &stderr, noLookup)
	b, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatalf("%v: no JSON report (%v); run error %v; stderr:\n%s", args, rerr, err, stderr.String())
	}
	var rep Report
	if jerr := json.Unmarshal(b, &rep); jerr != nil {
		t.Fatalf("%v: decode report: %v", args, jerr)
	}
	return &rep, stdout.String(), err
}

// TestSmoke runs every scenario at a small size against a real fhirbell
// and checks that the results are complete and add up. It asserts no
// timing.
func TestSmoke(t *testing.T) {
	base, pid := startServer(t)
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, r *Report)
	}{
		{"idle", []string{"idle", "--sockets", "200", "--settle", "100ms", "--server-pid", strconv.Itoa(pid)}, func(t *testing.T, r *Report) {
			i := r.Idle
			if i == nil || i.Bound != 200 || i.Subscriptions != 200 || i.LostAfterBinding != 0 {
				t.Fatalf("idle = %+v, want 200 bound, 200 subscriptions, 0 lost", i)
			}
			if i.ServerRSSStart <= 0 || i.ServerRSSBound <= 0 || i.GenRSSBound <= 0 {
				t.Errorf("idle memory readings = %d/%d/%d KiB, want all > 0", i.ServerRSSStart, i.ServerRSSBound, i.GenRSSBound)
			}
			if r.Frames["handshake"] < 200 {
				t.Errorf("handshakes = %d, want ≥ 200", r.Frames["handshake"])
			}
		}},
		{"idle shared over two sources", []string{"idle", "--sockets", "200", "--shared", "--sources", "2", "--settle", "0s", "--server-pid", strconv.Itoa(pid)}, func(t *testing.T, r *Report) {
			if i := r.Idle; i == nil || i.Bound != 200 || i.Subscriptions != 1 || i.Sources != 2 {
				t.Fatalf("idle = %+v, want 200 bound on 1 subscription from 2 sources", i)
			}
		}},
		{"fanout shared", []string{"fanout", "--sockets", "50", "--shared", "--rounds", "2"}, func(t *testing.T, r *Report) {
			if f := r.FanOut; f == nil || f.Subscriptions != 1 || f.Expected != 100 || f.Delivered != 100 {
				t.Fatalf("fanout = %+v, want 100 of 100 over 2 rounds on 1 subscription", f)
			}
		}},
		{"fanout", []string{"fanout", "--sockets", "200", "--rounds", "2"}, func(t *testing.T, r *Report) {
			f := r.FanOut
			if f == nil || f.Expected != 400 || f.Delivered != 400 || len(f.Rounds) != 2 || f.All.N != 400 || f.Last.N != 2 {
				t.Fatalf("fanout = %+v, want 400 of 400 over 2 rounds", f)
			}
			for i, rd := range f.Rounds {
				if rd.Delivered != 200 || rd.FromResponse.N != 200 || rd.FromRequest.Min < 0 {
					t.Errorf("round %d = %+v, want 200 delivered, none before the request", i+1, rd)
				}
			}
			if r.Frames["event-notification"] != 400 {
				t.Errorf("event frames = %d, want 400", r.Frames["event-notification"])
			}
		}},
		{"throughput", []string{"throughput", "--subscriptions", "100", "--writers", "4", "--duration", "1s", "--writes", "400", "--match-rate", "1", "--mix", "mixed", "--unpinned", "0.1"}, func(t *testing.T, r *Report) {
			th := r.Throughput
			if th == nil || th.Writes == 0 || th.Errors != 0 || th.BoundSockets != 100 || th.Unpinned != 10 {
				t.Fatalf("throughput = %+v, want writes, no errors, 100 bound, 10 unpinned", th)
			}
			if th.Matching != th.Writes || th.Notifications != th.Expected || th.Expected != th.Matching || th.HTTP.N != int(th.Writes) {
				t.Errorf("throughput = %+v, want every write matching and notified once", th)
			}
		}},
		{"throughput over two bases", []string{"throughput", "--subscriptions", "20", "--writers", "2", "--duration", "500ms", "--writes", "100", "--match-rate", "1", "--nodes", base + "," + base}, func(t *testing.T, r *Report) {
			th := r.Throughput
			if th == nil || th.Writes == 0 || th.Errors != 0 || th.BoundSockets != 20 || th.Notifications != th.Matching || r.Params["nodes"] != float64(2) {
				t.Fatalf("throughput = %+v (params %v), want 20 sockets over two pools, every write notified once", th, r.Params)
			}
		}},
		{"throughput unbound", []string{"throughput", "--subscriptions", "50", "--writers", "2", "--duration", "500ms", "--writes", "100", "--bind=false", "--match-rate", "0.5"}, func(t *testing.T, r *Report) {
			if th := r.Throughput; th == nil || th.Writes == 0 || th.Errors != 0 || th.BoundSockets != 0 || th.Notifications != 0 {
				t.Fatalf("throughput = %+v, want writes and no sockets", th)
			}
		}},
		{"resthook", []string{"resthook", "--subscriptions", "5", "--writers", "2", "--duration", "500ms", "--writes", "200", "--max-count", "3"}, func(t *testing.T, r *Report) {
			h := r.RestHook
			if h == nil || h.Handshakes != 5 || h.Writes == 0 || h.Received != h.Expected || h.Expected != 5*h.Writes || h.FromRequest.N != int(h.Expected) || h.FromRequest.Min < 0 {
				t.Fatalf("resthook = %+v, want 5 handshakes and every write's event on all 5, none before its write", h)
			}
		}},
		{"latency", []string{"latency", "--samples", "100", "--warmup", "5"}, func(t *testing.T, r *Report) {
			l := r.Latency
			if l == nil || l.Received != 100 || l.Timeouts != 0 || l.FromRequest.N != 100 || l.HTTP.N != 100 || l.FromRequest.Min < 0 {
				t.Fatalf("latency = %+v, want 100 received, none before its request", l)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args, "--fhir-base", base)
			r, table, err := runJSON(t, args...)
			if err != nil {
				t.Fatalf("run %v: %v\n%s", args, err, table)
			}
			if !r.Complete || len(r.Problems) > 0 {
				t.Errorf("run %v: complete=%v problems=%q", args, r.Complete, r.Problems)
			}
			if !strings.Contains(table, "complete") || !strings.Contains(table, tt.args[0]) {
				t.Errorf("table lacks the scenario or its verdict:\n%s", table)
			}
			tt.check(t, r)
		})
	}
}

// TestDialects binds with every dialect fhirbell speaks.
func TestDialects(t *testing.T) {
	base, _ := startServer(t)
	for _, d := range []string{dialectBackport, dialectMedplum, dialectTicket, dialectLegacy} {
		t.Run(d, func(t *testing.T) {
			r, _, err := runJSON(t, "latency", "--fhir-base", base, "--dialect", d, "--samples", "20", "--warmup", "0")
			if err != nil || r.Latency == nil || r.Latency.Received != 20 {
				t.Fatalf("latency --dialect %s = %+v, %v; want 20 received", d, r.Latency, err)
			}
		})
	}
}

func TestRefusesNonLoopbackTarget(t *testing.T) {
	tests := []string{
		"http://192.0.2.1:8080/fhir",
		"http://[2001:db8::1]/fhir",
		"http://bench.example/fhir", // resolution disabled: refused, not dialled
	}
	for _, base := range tests {
		var out bytes.Buffer
		err := run(context.Background(), []string{"latency", "--fhir-base", base, "--samples", "1"}, &out, &out, noLookup)
		if err == nil {
			t.Errorf("run latency --fhir-base %s = nil, want refusal", base)
		}
		if out.Len() > 0 && strings.Contains(out.String(), "complete") {
			t.Errorf("run latency --fhir-base %s ran a scenario:\n%s", base, out.String())
		}
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"latency", "--fhir-base", "http://127.0.0.1:1/fhir", "--dialect", "legacy", "--ws-url", "ws://192.0.2.1/ws"}, &out, &out, noLookup)
	if !errors.Is(err, errNotLoopback) {
		t.Errorf("run with --ws-url ws://192.0.2.1/ws = %v, want errNotLoopback", err)
	}
}

// TestRefusesNonLoopbackWebSocketURL: a loopback server that hands out a
// websocket-url elsewhere does not get the generator to connect there.
func TestRefusesNonLoopbackWebSocketURL(t *testing.T) {
	var mu sync.Mutex
	var deleted int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/fhir/Subscription":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"resourceType":"Subscription","id":"s1"}`)
		case strings.HasSuffix(r.URL.Path, "/$get-ws-binding-token"):
			io.WriteString(w, `{"resourceType":"Parameters","parameter":[{"name":"token","valueString":"t"},{"name":"websocket-url","valueUrl":"ws://192.0.2.1:9/ws"}]}`)
		case r.Method == http.MethodDelete:
			mu.Lock()
			deleted++
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	r, _, err := runJSON(t, "latency", "--fhir-base", srv.URL+"/fhir", "--samples", "1")
	if !errors.Is(err, errNotLoopback) {
		t.Fatalf("run against a server handing out ws://192.0.2.1 = %v, want errNotLoopback", err)
	}
	if r.Complete {
		t.Errorf("report complete = true, want false")
	}
	mu.Lock()
	defer mu.Unlock()
	if deleted != 1 {
		t.Errorf("deleted %d subscriptions, want the 1 created", deleted)
	}
}

func TestParseOptionsBounds(t *testing.T) {
	tests := []struct {
		args []string
		ok   bool
	}{
		{[]string{"idle"}, true},
		{[]string{"idle", "--sockets", "0"}, false},
		{[]string{"idle", "--sockets", "200001"}, false},
		{[]string{"idle", "--sources", "255"}, false},
		{[]string{"fanout", "--rounds", "0"}, false},
		{[]string{"fanout", "--rounds", "1001"}, false},
		{[]string{"throughput", "--writers", "0"}, false},
		{[]string{"throughput", "--duration", "11m"}, false},
		{[]string{"throughput", "--match-rate", "1.5"}, false},
		{[]string{"throughput", "--mix", "random"}, false},
		{[]string{"throughput", "--mix", "mixed", "--unpinned", "0.05"}, true},
		{[]string{"resthook", "--subscriptions", "0"}, false},
		{[]string{"resthook", "--max-count", "0"}, false},
		{[]string{"resthook", "--subscriptions", "20"}, true},
		{[]string{"failover", "--nodes", "http://127.0.0.1:1/fhir,http://127.0.0.1:2/fhir", "--kill-pid", "99"}, true},
		{[]string{"failover", "--nodes", "http://127.0.0.1:1/fhir", "--kill-pid", "99"}, false},
		{[]string{"failover", "--nodes", "http://127.0.0.1:1/fhir,http://127.0.0.1:2/fhir"}, true},
		{[]string{"failover", "--nodes", "http://127.0.0.1:1/fhir,http://127.0.0.1:2/fhir", "--kill-pid", "-3"}, false},
		{[]string{"failover", "--nodes", "http://127.0.0.1:1/fhir,http://127.0.0.1:2/fhir", "--kill-pid", "99", "--kill-node", "2"}, false},
		{[]string{"failover", "--nodes", "http://127.0.0.1:1/fhir,http://127.0.0.1:2/fhir", "--kill-pid", "99", "--rate", "0"}, false},
		{[]string{"latency", "--samples", "0"}, false},
		{[]string{"latency", "--max-time", "2h"}, false},
		{[]string{"latency", "--max-time", "0s"}, false},
		{[]string{"latency", "--dialect", "socketio"}, false},
		{[]string{"latency", "--dialect", "medplum"}, true},
		{[]string{"latency", "--sockets", "5"}, false}, // not a latency flag
		{[]string{"latency", "extra"}, false},
	}
	for _, tt := range tests {
		_, err := parseOptions(tt.args[0], tt.args[1:], io.Discard)
		if (err == nil) != tt.ok {
			t.Errorf("parseOptions(%q) = %v, want ok=%v", tt.args, err, tt.ok)
		}
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args []string
		err  error
	}{
		{nil, errUsage},
		{[]string{"stress"}, errUsage},
		{[]string{"help"}, nil},
		{[]string{"latency", "-h"}, nil},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := run(context.Background(), tt.args, &out, &out, noLookup); !errors.Is(err, tt.err) {
			t.Errorf("run(%q) = %v, want %v", tt.args, err, tt.err)
		}
	}
}
