package main

import (
	"context"
	"os"
	"os/exec"
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

// TestConsoleInBrowser drives the web console in headless Chromium the way
// a person would: subscribe from the page, write an Observation elsewhere,
// and see the notification arrive over the ticket-authenticated WebSocket.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	chrome := chromiumPath(t)
	s := mustRunServe(t, nil)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(`[data-testid=create]`),
		chromedp.SetValue(`[data-testid=criteria]`, "Observation?code=http://loinc.org|8867-4"),
		chromedp.Click(`[data-testid=create]`),
		chromedp.WaitVisible(`#feed li[data-kind=handshake]`),
	)
	if err != nil {
		t.Fatalf("subscribe from the console: %v\nserver logs:\n%s", err, s.Logs)
	}
	conn, err := chromedp.Run(ctx, chromedp.Text(`[data-testid=conn]`))
	if err != nil || !strings.HasPrefix(conn, "listening to Subscription/") {
		t.Fatalf("connection line = %q, %v", conn, err)
	}

	wantStatus(t, do(t, "POST", s.URL+"/fhir/Observation",
		`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]}}`), 201)
	wantStatus(t, do(t, "POST", s.URL+"/fhir/Observation",
		`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"0000-0"}]}}`), 201)

	if err := chromedp.Do(ctx, chromedp.WaitVisible(`#feed li[data-kind=event-notification]`)); err != nil {
		t.Fatalf("wait for the notification: %v\nserver logs:\n%s", err, s.Logs)
	}
	event, err := chromedp.Run(ctx, chromedp.Text(`#feed li[data-kind=event-notification] .meta`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(event, "events 1") || !strings.Contains(event, "/fhir/Observation/") {
		t.Errorf("notification line = %q, want event 1 with the Observation's URL", event)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("[data-testid=sockets]").textContent === "1"`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("the console never showed 1 live socket: %v", err)
	}
	// Give a wrongly matched second notification time to arrive, then count.
	time.Sleep(300 * time.Millisecond)
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#feed li[data-kind=event-notification]").length`))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("feed shows %d notifications, want 1 (the second Observation does not match)", n)
	}
}
