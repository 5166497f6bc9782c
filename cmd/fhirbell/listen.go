package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
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
	// BaseURLs are the server bases, e.g. http://127.0.0.1:8080 (the FHIR
	// base is a BaseURL+endpoint.FHIRPath): one, or every node of a
	// cluster, tried in turn when the current one fails.
	BaseURLs     []string
	Subscription string // an existing Subscription id
	Criteria     string // or criteria for a Subscription to create
	JSON         bool   // print whole Bundles instead of summary lines
	Token        string // bearer token for the REST calls; never printed
	MaxBackoff   time.Duration
}

const listenUsage = `Usage: fhirbell listen --base-url URL[,URL…] (--subscription ID | --criteria CRITERIA) [--json] [--token BEARER]

Subscribes over a WebSocket and prints one line per notification (or each
Bundle with --json). With --criteria it first creates a websocket
Subscription (e.g. --criteria 'Observation?code=http://loinc.org|8867-4').
It connects through $websocket-ticket and, after a disconnect, reconnects
with a new ticket and resumes from the last event it saw, so nothing is
lost. Several comma-separated base URLs name the nodes of a cluster: after
a disconnect it goes to the next one at once (any node serves any
subscription) and waits only when every node has failed in a row.
Environment: FHIRBELL_BASE_URL, FHIRBELL_TOKEN.

`

// parseListenConfig parses the flags of `fhirbell listen`.
func parseListenConfig(args []string, getenv func(string) string, out io.Writer) (listenConfig, error) {
	cfg := listenConfig{Token: getenv("FHIRBELL_TOKEN"), MaxBackoff: 30 * time.Second}
	bases := getenv("FHIRBELL_BASE_URL")
	if bases == "" {
		bases = "http://127.0.0.1:8080"
	}
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		io.WriteString(out, listenUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&bases, "base-url", bases, "server base URL, or the comma-separated base URLs of a cluster's nodes (env FHIRBELL_BASE_URL)")
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
	for b := range strings.SplitSeq(bases, ",") {
		b = strings.TrimSpace(b)
		u, err := url.Parse(b)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cfg, fmt.Errorf("--base-url %q is not an absolute http(s) URL", b)
		}
		cfg.BaseURLs = append(cfg.BaseURLs, strings.TrimRight(b, "/"))
	}
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

	node    int // index in cfg.BaseURLs of the node in use
	subID   string
	last    int64 // the highest event number seen
	hasLast bool  // last is meaningful (a handshake or event was seen)
	live    bool  // the current session got its handshake
}

// base is the base URL of the node in use.
func (l *listener) base() string { return l.cfg.BaseURLs[l.node] }

// errSubscriptionGone ends the listener: the server closed with 4004.
var errSubscriptionGone = errors.New("the subscription is not active (close 4004)")

func (l *listener) run(ctx context.Context) error {
	l.subID = l.cfg.Subscription
	if l.subID == "" {
		// Any node will do; a node that cannot be reached is skipped.
		var errs []error
		for range l.cfg.BaseURLs {
			id, err := l.createSubscription(ctx)
			if err == nil {
				l.subID = id
				break
			}
			errs = append(errs, err)
			if ctx.Err() != nil || !unreachable(err) {
				break
			}
			l.node = (l.node + 1) % len(l.cfg.BaseURLs)
		}
		if l.subID == "" {
			return fmt.Errorf("listen: %w", errors.Join(errs...))
		}
		fmt.Fprintf(l.errOut, "created Subscription/%s on %s\n", l.subID, l.base())
	}
	fails := 0 // sessions in a row that never got their handshake
	for {
		l.live = false
		err := l.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errSubscriptionGone) {
			return fmt.Errorf("listen: %w", err)
		}
		if l.live {
			fails = 0
		}
		fails++
		from := l.base()
		l.node = (l.node + 1) % len(l.cfg.BaseURLs)
		wait := l.retryWait(fails)
		fmt.Fprintf(l.errOut, "disconnected from %s: %v; reconnecting to %s in %v\n", from, err, l.base(), wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// retryWait is the pause before the next connection attempt after fails
// failed or ended sessions in a row. While some node has not been tried
// since the last good session the next one is tried at once (a jitter of
// up to 100 ms spreads the clients of a lost node over time); then the
// wait doubles from 1 s up to MaxBackoff.
func (l *listener) retryWait(fails int) time.Duration {
	if fails < len(l.cfg.BaseURLs) {
		return rand.N(100 * time.Millisecond)
	}
	d := time.Second << min(fails-len(l.cfg.BaseURLs), 10)
	return min(d, l.cfg.MaxBackoff)
}

// unreachable reports whether err is a failure to talk to the node at all
// (as opposed to an HTTP answer), so that another node may be tried.
func unreachable(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue)
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
	if err := l.call(ctx, http.MethodPost, l.base()+endpoint.FHIRPath+"/Subscription", body, &created); err != nil {
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
	u := l.base() + endpoint.FHIRPath + "/Subscription/" + url.PathEscape(l.subID) + "/$websocket-ticket"
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
	// A node that vanishes without closing its connections (a host lost,
	// a partition) sends nothing more: the server pings every minute or
	// less, so two minutes of silence means the connection is dead.
	const silence = 2 * time.Minute
	conn.SetReadDeadline(time.Now().Add(silence))
	conn.SetPingHandler(func(data string) error {
		conn.SetReadDeadline(time.Now().Add(silence))
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(10*time.Second))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	for {
		_, b, err := conn.ReadMessage()
		conn.SetReadDeadline(time.Now().Add(silence))
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
		l.live = true
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
