package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/endpoint"
	"github.com/fhirbell/fhirbell/fhir"

	"github.com/gorilla/websocket"
)

// listenConfig is the configuration of `fhirbell listen`.
type listenConfig struct {
	BaseURL      string // server base, e.g. http://127.0.0.1:8080 (the FHIR base is BaseURL+endpoint.FHIRPath)
	Subscription string // an existing Subscription id
	Criteria     string // or criteria for a Subscription to create
	JSON         bool   // print whole Bundles instead of summary lines
	Token        string // bearer token for the REST calls; never printed
	MaxBackoff   time.Duration
}

const listenUsage = `Usage: fhirbell listen --base-url URL (--subscription ID | --criteria CRITERIA) [--json] [--token BEARER]

Subscribes over a WebSocket and prints one line per notification (or each
Bundle with --json). With --criteria it first creates a websocket
Subscription (e.g. --criteria 'Observation?code=http://loinc.org|8867-4').
It connects through $websocket-ticket and, after a disconnect, reconnects
with a new ticket and resumes from the last event it saw, so nothing is
lost. Environment: FHIRBELL_BASE_URL, FHIRBELL_TOKEN.

`

// parseListenConfig parses the flags of `fhirbell listen`.
func parseListenConfig(args []string, getenv func(string) string, out io.Writer) (listenConfig, error) {
	cfg := listenConfig{BaseURL: getenv("FHIRBELL_BASE_URL"), Token: getenv("FHIRBELL_TOKEN"), MaxBackoff: 30 * time.Second}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://127.0.0.1:8080"
	}
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		io.WriteString(out, listenUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.BaseURL, "base-url", cfg.BaseURL, "server base URL (env FHIRBELL_BASE_URL)")
	fs.StringVar(&cfg.Subscription, "subscription", "", "id of an existing websocket Subscription")
	fs.StringVar(&cfg.Criteria, "criteria", "", "criteria of a Subscription to create (search URL or topic canonical)")
	fs.BoolVar(&cfg.JSON, "json", false, "print every Bundle as JSON, one per line")
	fs.StringVar(&cfg.Token, "token", cfg.Token, "bearer token for the REST calls (env FHIRBELL_TOKEN)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, flagHelp
		}
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if (cfg.Subscription == "") == (cfg.Criteria == "") {
		return cfg, errors.New("give exactly one of --subscription and --criteria")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, fmt.Errorf("--base-url %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return cfg, nil
}

// runListen is `fhirbell listen`.
func runListen(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var flagOut strings.Builder
	cfg, err := parseListenConfig(args, getenv, &flagOut)
	if err != nil {
		io.WriteString(stderr, flagOut.String())
		if errors.Is(err, flagHelp) {
			return nil
		}
		return fmt.Errorf("listen: %w", err)
	}
	l := &listener{cfg: cfg, http: &http.Client{Timeout: 30 * time.Second}, out: stdout, errOut: stderr}
	return l.run(ctx)
}

// listener is one `fhirbell listen` run.
type listener struct {
	cfg    listenConfig
	http   *http.Client
	out    io.Writer
	errOut io.Writer

	subID   string
	last    int64 // the highest event number seen
	hasLast bool  // last is meaningful (a handshake or event was seen)
}

// errSubscriptionGone ends the listener: the server closed with 4004.
var errSubscriptionGone = errors.New("the subscription is not active (close 4004)")

func (l *listener) run(ctx context.Context) error {
	l.subID = l.cfg.Subscription
	if l.subID == "" {
		id, err := l.createSubscription(ctx)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		l.subID = id
		fmt.Fprintf(l.errOut, "created Subscription/%s\n", id)
	}
	backoff := time.Second
	for {
		start := time.Now()
		err := l.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errSubscriptionGone) {
			return fmt.Errorf("listen: %w", err)
		}
		if time.Since(start) > time.Minute {
			backoff = time.Second // the connection was healthy: retry quickly
		}
		fmt.Fprintf(l.errOut, "disconnected: %v; reconnecting in %v\n", err, backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, l.cfg.MaxBackoff)
	}
}

// createSubscription POSTs a websocket Subscription with the criteria and
// returns its id.
func (l *listener) createSubscription(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"resourceType": "Subscription",
		"status":       "requested",
		"reason":       "fhirbell listen",
		"criteria":     l.cfg.Criteria,
		"channel":      map[string]any{"type": "websocket", "payload": "application/fhir+json"},
	})
	var created struct {
		ID string `json:"id"`
	}
	if err := l.call(ctx, http.MethodPost, l.cfg.BaseURL+endpoint.FHIRPath+"/Subscription", body, &created); err != nil {
		return "", fmt.Errorf("create subscription: %w", err)
	}
	if created.ID == "" {
		return "", errors.New("create subscription: the response has no id")
	}
	return created.ID, nil
}

// ticket calls $websocket-ticket and returns the websocket-url.
func (l *listener) ticket(ctx context.Context) (string, error) {
	var params struct {
		Parameter []struct {
			Name     string `json:"name"`
			ValueURL string `json:"valueUrl"`
		} `json:"parameter"`
	}
	u := l.cfg.BaseURL + endpoint.FHIRPath + "/Subscription/" + url.PathEscape(l.subID) + "/$websocket-ticket"
	if err := l.call(ctx, http.MethodGet, u, nil, &params); err != nil {
		return "", fmt.Errorf("get ticket: %w", err)
	}
	for _, p := range params.Parameter {
		if p.Name == "websocket-url" && p.ValueURL != "" {
			return p.ValueURL, nil
		}
	}
	return "", errors.New("get ticket: no websocket-url in the response")
}

// call does one FHIR REST call and decodes the JSON answer into out.
func (l *listener) call(ctx context.Context, method, u string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if l.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+l.cfg.Token)
	}
	resp, err := l.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, redactTicket(u), resp.StatusCode, fhir.OutcomeText(b))
	}
	return json.Unmarshal(b, out)
}

// session connects once and prints notifications until the socket ends.
func (l *listener) session(ctx context.Context) error {
	wsURL, err := l.ticket(ctx)
	if err != nil {
		return err
	}
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
	if err != nil {
		return fmt.Errorf("connect: %v", redactErr(err, wsURL))
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() {
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second))
		conn.Close()
	})
	defer stop()
	resumed := false
	if l.hasLast {
		// The ticket bound the subscription at the head of its log; resume
		// replays what was missed. Anything seen twice is skipped below.
		if err := conn.WriteMessage(websocket.TextMessage, []byte("resume "+l.subID+" "+strconv.FormatInt(l.last, 10))); err != nil {
			return err
		}
		resumed = true
	}
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				switch ce.Code {
				case 4004:
					return errSubscriptionGone
				case 4429:
					// Events were pruned: start again from the live head.
					l.hasLast = false
					return fmt.Errorf("too far behind (close 4429); some events were lost, continuing with live events")
				}
			}
			return err
		}
		l.handle(b, resumed)
	}
}

// handle prints one frame and tracks the last event number. Events at or
// below it are duplicates of a resume and are skipped.
func (l *listener) handle(b []byte, resumed bool) {
	n, ok := fhir.ReadNotification(b)
	if !ok {
		if bytes.Contains(b, []byte(`"OperationOutcome"`)) {
			fmt.Fprintf(l.errOut, "server: %s\n", fhir.OutcomeText(b))
			return
		}
		fmt.Fprintf(l.out, "%s\n", b) // legacy text or pong
		return
	}
	switch n.Type {
	case "handshake":
		if !l.hasLast && !resumed {
			l.last, l.hasLast = n.EventsSinceStart, true // live from here
		}
	case "event-notification":
		var fresh []int64
		for _, e := range n.Events {
			if !l.hasLast || e > l.last {
				fresh = append(fresh, e)
			}
		}
		if len(fresh) == 0 {
			return // already printed before the reconnect
		}
		l.last, l.hasLast = fresh[len(fresh)-1], true
	}
	if l.cfg.JSON {
		var buf bytes.Buffer
		if json.Compact(&buf, b) == nil {
			b = buf.Bytes()
		}
		fmt.Fprintf(l.out, "%s\n", b)
		return
	}
	fmt.Fprintln(l.out, summary(n))
}

// summary is the one-line form of a notification.
func summary(n fhir.NotificationSummary) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s Subscription/%s status=%s events-since-start=%d", n.Type, n.SubscriptionID(), n.Status, n.EventsSinceStart)
	if len(n.Events) > 0 {
		nums := make([]string, len(n.Events))
		for i, e := range n.Events {
			nums[i] = strconv.FormatInt(e, 10)
		}
		fmt.Fprintf(&sb, " events=%s", strings.Join(nums, ","))
	}
	if len(n.Focus) > 0 {
		fmt.Fprintf(&sb, " focus=%s", strings.Join(n.Focus, ","))
	}
	return sb.String()
}

// redactTicket hides the ticket of a …/ws/{ticket} URL: it is a credential.
func redactTicket(u string) string {
	if i := strings.LastIndex(u, endpoint.WebSocketPath+"/"); i >= 0 {
		return u[:i] + endpoint.WebSocketPath + "/REDACTED"
	}
	return u
}

// redactErr removes a ticket URL from an error message.
func redactErr(err error, u string) string {
	return strings.ReplaceAll(err.Error(), u, redactTicket(u))
}
