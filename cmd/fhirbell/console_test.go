package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds a Chromium to drive. Without one the browser test
// skips, unless FHIRBELL_REQUIRE_BROWSER=1 (CI) makes that a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("FHIRBELL_REQUIRE_BROWSER") == "1" {
		t.Fatal("no chromium on PATH but FHIRBELL_REQUIRE_BROWSER=1")
	}
	t.Skip("no chromium on PATH")
	return ""
}

// newBrowser starts headless Chromium and returns a context driving one
// tab of it, for at most a minute.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	chrome := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox,
		chromedp.WindowSize(1400, 900),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// screenshot saves the page as dir/name.png when dir is set
// (FHIRBELL_SCREENSHOTS, how docs/console-*.png are made).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("FHIRBELL_SCREENSHOTS")
	if dir == "" {
		return
	}
	if err := chromedp.Do(ctx, chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// poll waits until the JavaScript expression cond is true in the page.
func poll(t *testing.T, ctx context.Context, what, cond string, s *testServer) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		banner, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("[data-testid=banner]").textContent`))
		t.Fatalf("%s: %v (banner %q)\nserver logs:\n%s", what, err, banner, s.Logs)
	}
}

// TestConsoleInBrowser drives the console in headless Chromium the way an
// operator would: create a subscription from a topic with a filter built
// from canFilterBy, watch its handshake arrive, send a test write from the
// page, see the event in the live feed and in the event log, see the
// binding on this node with its cursor and the lag back at 0, and find the
// node on the nodes page. A write that does not match the filter must not
// show up.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	ctx := newBrowser(t)
	s := mustRunServe(t, nil, "--cluster-report-interval", "200ms")

	err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/#/new"),
		chromedp.WaitVisible(`[data-testid=topic][data-loaded=true]`),
		chromedp.Click(`[data-testid=add-filter]`),
	)
	if err != nil {
		t.Fatalf("open the new-subscription page: %v\nserver logs:\n%s", err, s.Logs)
	}
	poll(t, ctx, "the Observation topic to be preselected", `document.querySelector("[data-testid=topic]").value.endsWith("/Observation-changed")`, s)
	// Choose the code filter among the topic's canFilterBy, then type.
	chosen, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const sel = document.querySelector("[data-testid=filter-param]");
		const opt = [...sel.options].find(o => o.text.startsWith("code "));
		if (!opt) return false;
		sel.value = opt.value;
		sel.dispatchEvent(new Event("change"));
		return true;
	})()`))
	if err != nil || !chosen {
		t.Fatalf("the topic offers no code filter (%v)", err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(`[data-testid=filter-value]`, "http://loinc.org|8867-4")); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the filter preview", `document.querySelector("[data-testid=filter-preview]").textContent === "Observation?code=http://loinc.org|8867-4"`, s)
	screenshot(t, ctx, "console-new")

	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=create]`)); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the subscription page", `location.hash.startsWith("#/subscriptions/")`, s)
	poll(t, ctx, "the subscription to be active", `(document.querySelector("[data-testid=status]") || {}).textContent === "active"`, s)
	poll(t, ctx, "the handshake in the feed", `!!document.querySelector("#feed li[data-kind=handshake]")`, s)
	hash, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash`))
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(hash, "#/subscriptions/")

	// The stored subscription is a topic subscription with the filter.
	sub := do(t, "GET", s.URL+"/fhir/Subscription/"+id, "")
	wantStatus(t, sub, 200)
	if !strings.Contains(string(sub.Raw), "Observation-changed") || !strings.Contains(string(sub.Raw), `"valueString":"Observation?code=http://loinc.org|8867-4"`) {
		t.Fatalf("created Subscription = %s, want the Observation topic with the code filter", sub.Raw)
	}

	// A write that does not match, then the page's test write, which does.
	wantStatus(t, do(t, "POST", s.URL+"/fhir/Observation",
		`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"0000-0"}]}}`), 201)
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=test-write]`)); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the test write to be created", `document.querySelector("[data-testid=test-result]").textContent.startsWith("created Observation/")`, s)
	poll(t, ctx, "the event in the feed", `!!document.querySelector("#feed li[data-kind=event-notification]")`, s)
	meta, err := chromedp.Run(ctx, chromedp.Text(`#feed li[data-kind=event-notification] .meta`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(meta, "events 1") || !strings.Contains(meta, "/fhir/Observation/") {
		t.Errorf("feed line = %q, want event 1 with the Observation's URL", meta)
	}
	poll(t, ctx, "the binding at cursor 1 with lag 0",
		`(() => { const b = document.querySelector("[data-testid=binding]"); return !!b && b.querySelector("[data-testid=cursor]").textContent === "1" && b.querySelector("[data-testid=lag]").textContent === "0"; })()`, s)
	binding, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=binding]`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(binding, s.URL) || !strings.Contains(binding, "ticket") {
		t.Errorf("binding row = %q, want this node's address and a ticket socket", binding)
	}
	poll(t, ctx, "event 1 in the event log", `[...document.querySelectorAll("[data-testid=event]")].some(r => r.firstChild.textContent === "1")`, s)
	// Give a wrongly matched notification time to arrive, then count.
	time.Sleep(300 * time.Millisecond)
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#feed li[data-kind=event-notification]").length`))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("feed shows %d notifications, want 1 (the other Observation does not match the filter)", n)
	}
	poll(t, ctx, "the header to count the socket", `document.querySelector("[data-testid=sockets]").textContent === "1"`, s)
	screenshot(t, ctx, "console-subscription")

	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/#/")); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the list to show the subscription with 1 event, 1 socket, lag 0",
		`(() => { const r = document.querySelector("[data-testid='sub-`+id+`']"); if (!r) return false; const c = [...r.cells].map(c => c.textContent); return c[3] === "1" && c[5] === "0"; })()`, s)
	screenshot(t, ctx, "console-subscriptions")

	// A socket of another client, for the nodes page to show.
	ticket, r := ticketURL(t, s.URL, id)
	if ticket == "" {
		t.Fatalf("ticket: %d %s", r.Status, r.Raw)
	}
	expectHandshake(t, dialWS(t, ticket))
	if err := chromedp.Do(ctx, chromedp.Click(`[data-testid=nav-nodes]`)); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "this node on the nodes page with the socket bound to the subscription",
		`[...document.querySelectorAll("[data-testid=node]")].some(r => r.textContent.includes("`+s.URL+`") && r.cells[4].textContent === "1" && r.textContent.includes("`+id+`"))`, s)
	screenshot(t, ctx, "console-nodes")
}
