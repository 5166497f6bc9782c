package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink the server goroutine writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a fhirbell process run in-process by calling runWith.
type testServer struct {
	URL  string
	Logs *syncBuffer
	stop func() error
}

// mustRunServe starts `fhirbell serve` on a free loopback port with the
// given environment and stops it when the test ends.
func mustRunServe(t *testing.T, env map[string]string, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	getenv := func(k string) string { return env[k] }
	argv := append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)
	go func() {
		errc <- runWith(ctx, argv, getenv, io.Discard, logs, func(addr string) { addrc <- addr })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		cancel()
		t.Fatalf("serve exited: %v\nlogs:\n%s", err, logs)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve did not start\nlogs:\n%s", logs)
	}
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			stopErr = <-errc
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &testServer{URL: "http://" + addr, Logs: logs, stop: stop}
}

type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

func do(t *testing.T, method, url, body string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1] // the client sends req.Host, not a Host header
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %q", method, url, raw)
		}
	}
	return out
}

func getText(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status = %d, want %d; body %s", r.Status, want, r.Raw)
	}
}

// TestServeCRUDInMemory walks the README's tour against a real server
// started the way `make run` starts it.
func TestServeCRUDInMemory(t *testing.T) {
	s := mustRunServe(t, nil)
	if !strings.Contains(s.Logs.String(), "nothing persists") {
		t.Errorf("no in-memory warning in logs:\n%s", s.Logs)
	}
	exerciseCRUD(t, s.URL)
}

// exerciseCRUD creates, reads, updates, searches and deletes a Patient and
// returns its id (deleted at the end).
func exerciseCRUD(t *testing.T, base string) string {
	t.Helper()
	wantStatus(t, do(t, "GET", base+"/healthz", ""), 200)
	wantStatus(t, do(t, "GET", base+"/readyz", ""), 200)

	created := do(t, "POST", base+"/fhir/Patient", `{"resourceType":"Patient","name":[{"family":"Chalmers","given":["Peter"]}],"gender":"male"}`)
	wantStatus(t, created, 201)
	id, _ := created.Body["id"].(string)
	if id == "" {
		t.Fatalf("created patient has no id: %s", created.Raw)
	}
	if loc := created.Header.Get("Location"); !strings.Contains(loc, "/fhir/Patient/"+id+"/_history/1") {
		t.Errorf("Location = %q", loc)
	}
	if et := created.Header.Get("ETag"); et != `W/"1"` {
		t.Errorf("ETag = %q, want W/\"1\"", et)
	}

	read := do(t, "GET", base+"/fhir/Patient/"+id, "")
	wantStatus(t, read, 200)

	upd := do(t, "PUT", base+"/fhir/Patient/"+id, `{"resourceType":"Patient","id":"`+id+`","name":[{"family":"Chalmers"}],"gender":"other"}`, "If-Match", `W/"1"`)
	wantStatus(t, upd, 200)
	stale := do(t, "PUT", base+"/fhir/Patient/"+id, `{"resourceType":"Patient","id":"`+id+`"}`, "If-Match", `W/"1"`)
	wantStatus(t, stale, 412)

	found := do(t, "GET", base+"/fhir/Patient?family=chal&gender=other", "")
	wantStatus(t, found, 200)
	if total, _ := found.Body["total"].(float64); total != 1 {
		t.Fatalf("search total = %v, want 1: %s", found.Body["total"], found.Raw)
	}
	none := do(t, "GET", base+"/fhir/Patient?gender=female", "")
	if total, _ := none.Body["total"].(float64); total != 0 {
		t.Fatalf("search gender=female total = %v, want 0", none.Body["total"])
	}
	bad := do(t, "GET", base+"/fhir/Patient?colour=blue", "")
	wantStatus(t, bad, 400)
	if bad.Body["resourceType"] != "OperationOutcome" {
		t.Fatalf("bad search answered %s", bad.Raw)
	}

	wantStatus(t, do(t, "GET", base+"/fhir/Patient/"+id+"/_history/1", ""), 200)
	hist := do(t, "GET", base+"/fhir/Patient/"+id+"/_history", "")
	wantStatus(t, hist, 200)
	if entries, _ := hist.Body["entry"].([]any); len(entries) != 2 {
		t.Fatalf("history has %d entries, want 2", len(entries))
	}
	if md := do(t, "GET", base+"/fhir/metadata", ""); md.Body["resourceType"] != "CapabilityStatement" {
		t.Fatalf("metadata answered %s", md.Raw)
	}
	metricsText := getText(t, base+"/metrics")
	for _, want := range []string{`fhirbell_http_requests_total{code="201",method="POST",route="/fhir/{type}"}`, "fhirbell_ws_sockets{", "go_goroutines "} {
		if !strings.Contains(metricsText, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metricsText, id) {
		t.Error("/metrics labels carry a resource id")
	}
	return id
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{name: "no command", args: nil, wantErr: "usage"},
		{name: "unknown command", args: []string{"frobnicate"}, wantErr: "usage"},
		{name: "bad addr", args: []string{"serve", "--addr", "nope"}, wantErr: "addr"},
		{name: "bad env duration", args: []string{"serve"}, env: map[string]string{"FHIRBELL_SHUTDOWN_TIMEOUT": "soon"}, wantErr: "FHIRBELL_SHUTDOWN_TIMEOUT"},
		{name: "bad log format", args: []string{"serve", "--log-format", "xml"}, wantErr: "log-format"},
		{name: "bad base url", args: []string{"serve", "--base-url", "ftp://x"}, wantErr: "base-url"},
		{name: "migrate without database", args: []string{"migrate"}, wantErr: "no database URL"},
		{name: "stray argument", args: []string{"serve", "extra"}, wantErr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t.Context(), tt.args, func(k string) string { return tt.env[k] }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("run(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

func TestParseConfigPrecedence(t *testing.T) {
	env := map[string]string{"FHIRBELL_ADDR": "127.0.0.1:9999", "FHIRBELL_LOG_FORMAT": "json", "FHIRBELL_BASE_URL": "https://fhir.example.org/"}
	var out strings.Builder
	cfg, err := parseConfig("serve", []string{"--addr", "127.0.0.1:7777"}, func(k string) string { return env[k] }, &out)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:7777" {
		t.Errorf("Addr = %q, want the flag's 127.0.0.1:7777", cfg.Addr)
	}
	if cfg.LogFormat != "json" {
		t.Errorf("LogFormat = %q, want the environment's json", cfg.LogFormat)
	}
	if cfg.BaseURL != "https://fhir.example.org" {
		t.Errorf("BaseURL = %q, want it without the trailing slash", cfg.BaseURL)
	}
	if cfg.MaxBodyBytes != DefaultConfig().MaxBodyBytes {
		t.Errorf("MaxBodyBytes = %d, want the default", cfg.MaxBodyBytes)
	}
}
