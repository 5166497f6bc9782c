package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/notify"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/memstore"
	"github.com/fhirbell/fhirbell/subscription/subhttp"
	"github.com/go-chi/chi/v5"
)

func TestParseListenConfig(t *testing.T) {
	env := func(string) string { return "" }
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--subscription", "abc"}, ""},
		{[]string{"--criteria", "Observation", "--base-url", "https://x.org/"}, ""},
		{nil, "exactly one"},
		{[]string{"--subscription", "a", "--criteria", "Observation"}, "exactly one"},
		{[]string{"--subscription", "a", "--base-url", "ftp://x"}, "not an absolute http(s) URL"},
		{[]string{"--subscription", "a", "extra"}, "unexpected argument"},
	} {
		_, err := parseListenConfig(tc.args, env, &strings.Builder{})
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("parseListenConfig(%q) error = %v, want %q", tc.args, err, tc.wantErr)
		}
	}
	cfg, err := parseListenConfig([]string{"--subscription", "a"}, func(k string) string {
		return map[string]string{"FHIRBELL_BASE_URL": "http://h:1/", "FHIRBELL_TOKEN": "tok"}[k]
	}, &strings.Builder{})
	if err != nil || !slices.Equal(cfg.BaseURLs, []string{"http://h:1"}) || cfg.Token != "tok" {
		t.Errorf("env fallback: %+v, %v", cfg, err)
	}
	cfg, err = parseListenConfig([]string{"--subscription", "a", "--base-url", "http://a:1/, http://b:2"}, env, &strings.Builder{})
	if err != nil || !slices.Equal(cfg.BaseURLs, []string{"http://a:1", "http://b:2"}) {
		t.Errorf("two nodes: %+v, %v", cfg, err)
	}
	if _, err := parseListenConfig([]string{"--subscription", "a", "--base-url", "http://a:1,"}, env, &strings.Builder{}); err == nil {
		t.Errorf("an empty base URL in the list was accepted")
	}
}

// TestListenRetryWait: with three nodes the two after a failed one are
// tried at once; once all three failed in a row the wait doubles from 1 s
// to the cap.
func TestListenRetryWait(t *testing.T) {
	l := &listener{cfg: listenConfig{BaseURLs: []string{"a", "b", "c"}, MaxBackoff: 5 * time.Second}}
	for _, tc := range []struct {
		fails    int
		min, max time.Duration
	}{
		{1, 0, 100 * time.Millisecond},
		{2, 0, 100 * time.Millisecond},
		{3, time.Second, time.Second},
		{4, 2 * time.Second, 2 * time.Second},
		{5, 4 * time.Second, 4 * time.Second},
		{6, 5 * time.Second, 5 * time.Second},
		{60, 5 * time.Second, 5 * time.Second},
	} {
		if got := l.retryWait(tc.fails); got < tc.min || got > tc.max {
			t.Errorf("retryWait(%d) = %v, want %v…%v", tc.fails, got, tc.min, tc.max)
		}
	}
}

func TestSummaryAndRedaction(t *testing.T) {
	st := fhir.Status{Subscription: "Subscription/s1", Status: "active", Type: fhir.NotifyEvent, EventsSinceStart: 7,
		Events: []fhir.NotificationEvent{{Number: 6, Focus: &fhir.Reference{Reference: "Observation/o1"}}, {Number: 7, Focus: &fhir.Reference{Reference: "Observation/o2"}}}}
	b, err := fhir.BackportNotification(st, fhir.ContentIDOnly, "http://h/fhir", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	n, ok := fhir.ReadNotification(b)
	if !ok {
		t.Fatal("ReadNotification: not a notification")
	}
	want := "event-notification Subscription/s1 status=active events-since-start=7 events=6,7 focus=http://h/fhir/Observation/o1,http://h/fhir/Observation/o2"
	if got := summary(n); got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	if got := redactTicket("ws://h/ws/SECRET"); got != "ws://h/ws/REDACTED" {
		t.Errorf("redactTicket = %q", got)
	}
}

// TestListenEndToEnd runs `fhirbell listen` against a server made of the
// REST handler and the WebSocket hub, cuts its connection, writes while it
// is away, and checks that it resumes with every event exactly once.
func TestListenEndToEnd(t *testing.T) {
	store := memstore.New()
	svc := subscription.NewService(store)
	hub := notify.NewHub(svc, notify.Config{})
	svc.SetPublisher(hub)
	if err := svc.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Mount("/fhir", subhttp.NewHandler(svc, subhttp.Config{}))
	r.Handle("/ws", hub.Handler())
	r.Handle("/ws/*", hub.Handler())
	var mu sync.Mutex
	var hijacked []net.Conn
	srv := httptest.NewUnstartedServer(r)
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateHijacked {
			mu.Lock()
			hijacked = append(hijacked, c)
			mu.Unlock()
		}
	}
	srv.Start()
	hctx, stopHub := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { hub.Run(hctx) })
	defer func() {
		hub.Shutdown(context.Background())
		srv.Close()
		stopHub()
		wg.Wait()
	}()

	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// The first node of the list is down (nothing listens on port 1):
		// the listener creates the subscription and connects on the next.
		done <- runWith(ctx, []string{"listen", "--base-url", "http://127.0.0.1:1," + srv.URL, "--criteria", "Observation?code=http://loinc.org|8867-4"},
			func(string) string { return "" }, &stdout, &stderr, nil)
	}()
	waitOutput := func(what string, n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(stdout.String(), what) < n {
			if time.Now().After(deadline) {
				t.Fatalf("no %d× %q in the output:\n%s\nstderr:\n%s", n, what, stdout.String(), stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	write := func(n int) {
		for range n {
			res, err := fhir.ParseResource([]byte(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]}}`))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Create(t.Context(), res); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitOutput("handshake Subscription/", 1)
	write(1)
	waitOutput("events=1 ", 1)

	// Cut the connection from the server side, and write while the
	// listener is away.
	mu.Lock()
	for _, c := range hijacked {
		c.Close()
	}
	mu.Unlock()
	write(3)
	waitOutput("events=4 ", 1) // after a reconnect through a new ticket, and a resume
	write(1)
	waitOutput("events=5 ", 1)
	for _, e := range []string{"events=1 ", "events=2 ", "events=3 ", "events=4 "} {
		if strings.Count(stdout.String(), e) != 1 {
			t.Errorf("%q printed %d times, want once:\n%s", e, strings.Count(stdout.String(), e), stdout.String())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("listen returned %v", err)
	}
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	if strings.Contains(stdout.String()+stderr.String(), "/ws/") && !strings.Contains(stderr.String(), "REDACTED") {
		t.Errorf("a ticket URL was printed:\n%s\n%s", stdout.String(), stderr.String())
	}
}
