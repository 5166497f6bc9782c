package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
)

// The Medplum clients live in testdata/medplum: a Node script run with
// @medplum/core, and a React page using @medplum/react-hooks'
// useSubscription, both built with Vite into testdata/medplum/dist and
// committed (rebuild with `make medplum`), so that these tests need node
// and Chromium but no network.
const medplumDir = "testdata/medplum"

// nodePath finds node. Without it the test skips, unless
// FHIRBELL_REQUIRE_BROWSER=1 (CI) makes that a failure.
func nodePath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("node"); err == nil {
		return p
	}
	if os.Getenv("FHIRBELL_REQUIRE_BROWSER") == "1" {
		t.Fatal("no node on PATH but FHIRBELL_REQUIRE_BROWSER=1")
	}
	t.Skip("no node on PATH")
	return ""
}

// devMedplumToken is an access token for auth mode none (which ignores
// tokens): the Medplum SDK fetches its profile from auth/me, and so
// subscribes at all, only for tokens with a login_id claim.
func devMedplumToken() string {
	claims, _ := json.Marshal(map[string]string{"login_id": "dev", "sub": "dev"})
	return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(claims) + ".x"
}

// medplumResult is the Node script's last line.
type medplumResult struct {
	Step   string `json:"step"`
	Msg    string `json:"msg"`
	Counts struct {
		Connect, Heartbeat, MasterMessage, Message, Error int
	} `json:"counts"`
	Numbers []int64 `json:"numbers"`
}

// runMedplumNode runs the Medplum SDK script against base and returns its
// result line.
func runMedplumNode(t *testing.T, node, base, token string, events int) medplumResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(medplumDir, "dist", "node", "main.mjs"))
	cmd.Env = append(os.Environ(), "FHIRBELL_URL="+base+"/", "FHIRBELL_TOKEN="+token,
		"FHIRBELL_EVENTS="+strconv.Itoa(events), "FHIRBELL_TIMEOUT_MS=45000")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var last medplumResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		t.Logf("node: %s", sc.Text())
		json.Unmarshal(sc.Bytes(), &last)
	}
	if err != nil || last.Step != "done" {
		t.Fatalf("node: %v (last step %q %s)\nstderr:\n%s", err, last.Step, last.Msg, stderr.String())
	}
	return last
}

// checkMedplumCounts: one connect, one message per event on the
// per-criteria emitter (and the master's), with real event numbers, at
// least one heartbeat and never a heartbeat or handshake as a message.
func checkMedplumCounts(t *testing.T, r medplumResult, events int) {
	t.Helper()
	c := r.Counts
	if c.Connect != 1 || c.Message != events || c.MasterMessage != events || c.Error != 0 || c.Heartbeat < 1 {
		t.Errorf("counts %+v: want 1 connect, %d messages on both emitters, no error, at least one heartbeat", c, events)
	}
	for i, n := range r.Numbers {
		if n != int64(i+1) {
			t.Errorf("event numbers %v, want 1..%d", r.Numbers, events)
			break
		}
	}
}

// TestMedplumSDKInNode: @medplum/core with its defaults (base URL only,
// fhir/R4/ and ws/subscriptions-r4) creates, searches and subscribes; the
// per-criteria emitter fires once per event and never on a heartbeat. In
// auth mode none and in auth mode jwt.
func TestMedplumSDKInNode(t *testing.T) {
	if testing.Short() {
		t.Skip("node test in -short mode")
	}
	node := nodePath(t)
	const events = 3
	t.Run("auth none", func(t *testing.T) {
		s := mustRunServe(t, nil)
		checkMedplumCounts(t, runMedplumNode(t, node, s.URL, devMedplumToken(), events), events)
	})
	t.Run("auth jwt", func(t *testing.T) {
		s, is := authServer(t)
		tok := is.token(t, "dr-who", "user/*.cruds openid fhirUser", "", time.Hour, func(c jwt.MapClaims) {
			c["login_id"] = "login-1"
			c["fhirUser"] = "Practitioner/dr-who"
		})
		checkMedplumCounts(t, runMedplumNode(t, node, s.URL, tok, events), events)
		// Without the token the SDK gets nothing.
		wantStatus(t, do(t, "GET", s.URL+"/fhir/R4/Patient", ""), http.StatusUnauthorized)
	})
}

// TestMedplumReactInChromium: a React page with MedplumProvider and
// useSubscription, served from another origin, loaded in headless
// Chromium: the callback fires once per event, with the Observation, and
// never on a heartbeat.
func TestMedplumReactInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	chrome := chromiumPath(t)
	page := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(medplumDir, "dist", "web"))))
	defer page.Close()
	s := mustRunServe(t, nil, "--allowed-origins", page.URL)

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

	q := url.Values{"base": {s.URL + "/"}, "token": {devMedplumToken()}, "code": {"8867-4"}}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(page.URL+"/index.html?"+q.Encode()),
		chromedp.WaitVisible(`[data-testid=count]`),
	); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	subID, err := chromedp.Run(ctx, chromedp.Poll[string](`document.querySelector('[data-testid=connected]').textContent`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil || subID == "" {
		errs, _ := chromedp.Run(ctx, chromedp.Text(`[data-testid=errors]`))
		t.Fatalf("the page did not subscribe: %v (errors: %q)\nserver logs:\n%s", err, errs, s.Logs)
	}

	// A short heartbeat, so that heartbeats come during the test.
	sub := do(t, "GET", s.URL+"/fhir/Subscription/"+subID, "")
	wantStatus(t, sub, 200)
	ch := sub.Body["channel"].(map[string]any)
	ch["extension"] = []any{map[string]any{"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period", "valueUnsignedInt": 1}}
	body, _ := json.Marshal(sub.Body)
	wantStatus(t, do(t, "PUT", s.URL+"/fhir/Subscription/"+subID, string(body)), 200)

	const events = 3
	for range events {
		wantStatus(t, do(t, "POST", s.URL+"/fhir/Observation",
			`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]}}`), 201)
		wantStatus(t, do(t, "POST", s.URL+"/fhir/Observation",
			`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"0000-0"}]}}`), 201)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.querySelectorAll('[data-testid=event]').length === %d`, events),
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("wait for the events: %v\nserver logs:\n%s", err, s.Logs)
	}
	// Heartbeats after the events must not reach the callback.
	beats, err := chromedp.Run(ctx, chromedp.Poll[string](`Number(document.body.dataset.heartbeats || 0) >= 2 && document.body.dataset.heartbeats`,
		chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("wait for heartbeats: %v\nserver logs:\n%s", err, s.Logs)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]map[string]string](`[...document.querySelectorAll('[data-testid=event]')].map(li => ({type: li.dataset.type, focus: li.dataset.focus, numbers: li.textContent}))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != events {
		t.Fatalf("callback fired %d times, want %d: %v", len(got), events, got)
	}
	for i, e := range got {
		if e["type"] != "event-notification" || e["focus"] != "Observation" || e["numbers"] != strconv.Itoa(i+1) {
			t.Errorf("callback %d got %v, want event-notification %d with the Observation", i, e, i+1)
		}
	}
	t.Logf("heartbeats seen by the page: %s", beats)
}
