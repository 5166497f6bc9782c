package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/fhirtest"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/memstore"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// *subscription.Service is the Backend the server uses.
var _ Backend = (*subscription.Service)(nil)

// forward is the Service's Publisher: the hub is built after the Service
// (it needs the Service as its Backend), so the Service publishes through
// this forwarder.
type forward struct {
	h        *Hub
	drop     atomic.Bool // lose every wake-up (as a lost NOTIFY would)
	refsOnly atomic.Bool // publish refs only, as another node's NOTIFY does
}

func (f *forward) Publish(refs []subscription.EventRef) {
	if !f.drop.Load() {
		f.h.Publish(refs)
	}
}

// PublishEvents hands the events over as the server does, unless refsOnly
// makes the sessions read them from the log.
func (f *forward) PublishEvents(evs []subscription.Event) {
	switch {
	case f.drop.Load():
	case f.refsOnly.Load():
		refs := make([]subscription.EventRef, len(evs))
		for i, ev := range evs {
			refs[i] = subscription.EventRef{SubscriptionID: ev.SubscriptionID, Number: ev.Number}
		}
		f.h.Publish(refs)
	default:
		f.h.PublishEvents(evs)
	}
}

// env is a running server: memstore, Service, Hub, and httptest server.
type env struct {
	t     testing.TB
	store *memstore.Store
	fw    *forward
	svc   *subscription.Service
	hub   *Hub
	srv   *httptest.Server // nil for newPipeEnv
	ws    string           // ws://127.0.0.1:port
	base  string           // the server's Base.URL

	dialer      *websocket.Dialer
	readTimeout time.Duration // how long a client waits for a frame
}

// newEnv starts a server; cfg.Base.URL is filled in when empty. Cleanup
// shuts everything down in order and waits for it.
func newEnv(tb testing.TB, cfg Config) *env {
	tb.Helper()
	return newEnvWith(tb, cfg, nil)
}

// newEnvWith is newEnv whose hub uses wrap(svc) as its Backend (nil: the
// Service itself), for tests that observe the hub's calls.
func newEnvWith(tb testing.TB, cfg Config, wrap func(*subscription.Service) Backend) *env {
	tb.Helper()
	store := memstore.New()
	fw := &forward{}
	svc := subscription.NewService(store)
	svc.SetPublisher(fw)
	if err := svc.Load(context.Background()); err != nil {
		tb.Fatalf("Load: %v", err)
	}
	srv := httptest.NewUnstartedServer(nil)
	if cfg.Base.URL == "" {
		cfg.Base.URL = "http://" + srv.Listener.Addr().String()
	}
	var b Backend = svc
	if wrap != nil {
		b = wrap(svc)
	}
	hub := NewHub(b, cfg)
	fw.h = hub
	srv.Config.Handler = hub.Handler()
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { hub.Run(ctx) })
	tb.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := hub.Shutdown(sctx); err != nil {
			tb.Errorf("Shutdown: %v", err)
		}
		srv.Close()
		cancel()
		wg.Wait()
	})
	return &env{t: tb, store: store, fw: fw, svc: svc, hub: hub, srv: srv, ws: "ws://" + srv.Listener.Addr().String(),
		base: cfg.Base.URL, dialer: &testDialer, readTimeout: 10 * time.Second}
}

// newPipeEnv is newEnv over in-memory connections (net.Pipe) instead of
// loopback TCP, for tests inside a synctest bubble, where a real network
// would not let time advance.
func newPipeEnv(tb testing.TB, cfg Config) *env {
	tb.Helper()
	store := memstore.New()
	fw := &forward{}
	svc := subscription.NewService(store)
	svc.SetPublisher(fw)
	if err := svc.Load(context.Background()); err != nil {
		tb.Fatalf("Load: %v", err)
	}
	if cfg.Base.URL == "" {
		cfg.Base.URL = "http://fhirbell.test"
	}
	hub := NewHub(svc, cfg)
	fw.h = hub
	l := newPipeListener()
	srv := &http.Server{Handler: hub.Handler()}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(l) })
	wg.Go(func() { hub.Run(ctx) })
	tb.Cleanup(func() {
		if err := hub.Shutdown(context.Background()); err != nil {
			tb.Errorf("Shutdown: %v", err)
		}
		srv.Close()
		cancel()
		wg.Wait()
	})
	d := &websocket.Dialer{NetDialContext: l.dial, ReadBufferSize: 1024, WriteBufferSize: 1024}
	return &env{t: tb, store: store, fw: fw, svc: svc, hub: hub, ws: "ws://fhirbell.test", base: cfg.Base.URL,
		dialer: d, readTimeout: 24 * time.Hour}
}

// pipeListener is a net.Listener whose connections are net.Pipes.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

const observationTopic = "https://fhirbell.dev/fhir/SubscriptionTopic/Observation-changed"

// subOpts describes a test Subscription.
type subOpts struct {
	legacy    bool            // criteria subscription instead of topic
	content   string          // topic: backport-payload-content ("" = full-resource)
	heartbeat int             // seconds; 0 = default
	maxCount  int             // 0 = default
	code      string          // only Observations with this LOINC code ("" = 8867-4)
	owner     *auth.Principal // created by this principal (nil: no owner, as in auth mode none)
	version   string          // topic: the fhirVersion of channel.payload ("" = none)
}

// createSub creates an active websocket Subscription and returns its id.
func (e *env) createSub(o subOpts) string {
	e.t.Helper()
	code := o.code
	if code == "" {
		code = "8867-4"
	}
	var body string
	if o.legacy {
		body = `{"resourceType":"Subscription","status":"requested","reason":"test","criteria":"Observation?code=http://loinc.org|` + code + `","channel":{"type":"websocket"}}`
	} else {
		content := o.content
		if content == "" {
			content = fhir.ContentFullResource
		}
		var exts []string
		if o.heartbeat > 0 {
			exts = append(exts, fmt.Sprintf(`{"url":%q,"valueUnsignedInt":%d}`, subscription.ExtHeartbeatPeriod, o.heartbeat))
		}
		if o.maxCount > 0 {
			exts = append(exts, fmt.Sprintf(`{"url":%q,"valuePositiveInt":%d}`, subscription.ExtMaxCount, o.maxCount))
		}
		payload := "application/fhir+json"
		if o.version != "" {
			payload += "; fhirVersion=" + o.version
		}
		body = `{"resourceType":"Subscription","status":"requested","reason":"test","criteria":"` + observationTopic + `",` +
			`"_criteria":{"extension":[{"url":"` + subscription.ExtFilterCriteria + `","valueString":"Observation?code=http://loinc.org|` + code + `"}]},` +
			`"channel":{"extension":[` + strings.Join(exts, ",") + `],"type":"websocket","payload":"` + payload + `",` +
			`"_payload":{"extension":[{"url":"` + subscription.ExtPayloadContent + `","valueCode":"` + content + `"}]}}}`
	}
	r, err := fhir.ParseResource([]byte(body))
	if err != nil {
		e.t.Fatalf("parse subscription: %v", err)
	}
	ctx := context.Background()
	if o.owner != nil {
		ctx = auth.WithPrincipal(ctx, *o.owner)
	}
	res, err := e.svc.Create(ctx, r)
	if err != nil {
		e.t.Fatalf("create subscription: %v\n%s", err, body)
	}
	return res.ID
}

func observation(code string) string { return observationSized(code, 1) }

// observationSized returns an Observation whose valueString has size bytes.
func observationSized(code string, size int) string {
	if code == "" {
		code = "8867-4"
	}
	return `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"` + code + `"}]},"valueString":"` + strings.Repeat("x", size) + `"}`
}

// write creates n Observations with the code, each in its own transaction.
func (e *env) write(n int, code string) { e.writeSized(n, code, 1) }

// writeSized is write with valueStrings of size bytes.
func (e *env) writeSized(n int, code string, size int) {
	e.t.Helper()
	for range n {
		r, err := fhir.ParseResource([]byte(observationSized(code, size)))
		if err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.svc.Create(context.Background(), r); err != nil {
			e.t.Fatalf("create observation: %v", err)
		}
	}
}

// writeTx creates n Observations in one transaction (one Publish).
func (e *env) writeTx(n int, code string) {
	e.t.Helper()
	err := e.svc.Transaction(context.Background(), func(w *subscription.Writer) error {
		for range n {
			r, err := fhir.ParseResource([]byte(observation(code)))
			if err != nil {
				return err
			}
			if _, err := w.Create(context.Background(), r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("transaction: %v", err)
	}
}

// issue issues a token of kind for ids, as the REST operations do: to
// p's subject, its authorization ending with p's (zero p: auth mode none).
func (e *env) issue(kind string, p auth.Principal, ids ...string) string {
	e.t.Helper()
	tok, _, err := e.svc.IssueToken(context.Background(), kind, ids, p)
	if err != nil {
		e.t.Fatalf("IssueToken: %v", err)
	}
	return tok
}

func (e *env) token(ids ...string) string {
	e.t.Helper()
	return e.issue(subscription.KindBindingToken, auth.Principal{}, ids...)
}

func (e *env) ticket(ids ...string) string {
	e.t.Helper()
	return e.issue(subscription.KindTicket, auth.Principal{}, ids...)
}

// tokenFor issues a binding token to p, as $get-ws-binding-token does.
func (e *env) tokenFor(p auth.Principal, ids ...string) string {
	e.t.Helper()
	return e.issue(subscription.KindBindingToken, p, ids...)
}

// ticketFor issues a ticket to p, as $websocket-ticket does.
func (e *env) ticketFor(p auth.Principal, ids ...string) string {
	e.t.Helper()
	return e.issue(subscription.KindTicket, p, ids...)
}

// expectExpiry reads what a session sends until its authorization
// expires: heartbeats carrying h's auth-expires, at least five of them in
// the last minute at most 10 s apart, then a query-status error exactly at
// expires, then close 4001.
func (c *client) expectExpiry(h note, expires time.Time) {
	c.t.Helper()
	last := time.Now()
	warned := 0
	for {
		n := c.expectNote(fhir.ContentFullResource)
		gap := time.Since(last)
		last = time.Now()
		if n.typ == fhir.NotifyQueryStatus {
			if n.status != "error" || !last.Equal(expires) || n.authExpires != h.authExpires {
				c.t.Errorf("final %s status %s at %v (auth-expires %q), want status error at %v", n.typ, n.status, last, n.authExpires, expires)
			}
			break
		}
		if n.typ != fhir.NotifyHeartbeat || n.authExpires != h.authExpires {
			c.t.Fatalf("got %s with auth-expires %q, want heartbeats carrying %q", n.typ, n.authExpires, h.authExpires)
		}
		if expires.Sub(last) < time.Minute {
			warned++
			if gap > 10*time.Second {
				c.t.Errorf("warning heartbeat %v after the previous, want at most 10s", gap)
			}
		}
	}
	if warned < 5 {
		c.t.Errorf("%d warning heartbeats in the last minute, want at least 5", warned)
	}
	if code := c.expectClose(); code != CodeAuthExpired {
		c.t.Fatalf("close code %d, want %d", code, CodeAuthExpired)
	}
}

// dialResp dials path with extra headers, offering protocols as
// subprotocols, and returns what the dialer returns.
func (e *env) dialResp(path string, h http.Header, protocols ...string) (*websocket.Conn, *http.Response, error) {
	d := *e.dialer
	d.Subprotocols = protocols
	conn, resp, err := d.Dial(e.ws+path, h)
	if err == nil {
		e.t.Cleanup(func() { conn.Close() })
	}
	return conn, resp, err
}

// dialWith is dialResp for an upgrade that must succeed.
func (e *env) dialWith(path string, h http.Header, protocols ...string) *client {
	e.t.Helper()
	conn, resp, err := e.dialResp(path, h, protocols...)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		e.t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	return &client{t: e.t, conn: conn, timeout: e.readTimeout}
}

// bearer is an Authorization header carrying tok.
func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// client is a gorilla client socket with test helpers.
type client struct {
	t       testing.TB
	conn    *websocket.Conn
	timeout time.Duration
	wire    fhir.Version // the version the notifications must be in (R4 unless a test says)
}

var testDialer = websocket.Dialer{HandshakeTimeout: 5 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024}

func (e *env) dial(path string) *client {
	e.t.Helper()
	conn, resp, err := e.dialer.Dial(e.ws+path, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		e.t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	c := &client{t: e.t, conn: conn, timeout: e.readTimeout}
	e.t.Cleanup(func() { conn.Close() })
	return c
}

// dialSmallBuffer dials with a 4 KiB socket receive buffer, so that a
// client that does not read blocks the server's writes early.
func (e *env) dialSmallBuffer(path string) *client {
	e.t.Helper()
	nd := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	d := *e.dialer
	d.NetDialContext = nd.DialContext
	conn, _, err := d.Dial(e.ws+path, nil)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.t.Cleanup(func() { conn.Close() })
	return &client{t: e.t, conn: conn, timeout: e.readTimeout}
}

func (c *client) send(s string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// next returns the next text frame; it fails the test on anything else.
func (c *client) next() []byte {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(c.timeout))
	typ, b, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if typ != websocket.TextMessage {
		c.t.Fatalf("frame type %d, want text", typ)
	}
	return b
}

// expectText reads the next frame and checks it is want.
func (c *client) expectText(want string) {
	c.t.Helper()
	if got := string(c.next()); got != want {
		c.t.Fatalf("got frame %.300q, want %q", got, want)
	}
}

// expectClose reads until the server's close frame and returns its code.
func (c *client) expectClose() int {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(c.timeout))
	for {
		_, b, err := c.conn.ReadMessage()
		if err == nil {
			c.t.Logf("frame before close: %.200s", b)
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		c.t.Fatalf("read: %v, want a close frame", err)
	}
}

// outcome is an OperationOutcome frame.
func (c *client) expectOutcome(code string) fhir.Issue {
	c.t.Helper()
	b := c.next()
	var oo fhir.OperationOutcome
	if err := json.Unmarshal(b, &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		c.t.Fatalf("got %.300s, want an OperationOutcome", b)
	}
	fhirtest.MustValidR4(c.t, b)
	if oo.Issue[0].Code != code {
		c.t.Fatalf("issue code %q (%s), want %q", oo.Issue[0].Code, oo.Issue[0].Diagnostics, code)
	}
	return oo.Issue[0]
}

// note is a received notification Bundle, reduced to what tests check.
type note struct {
	typ, status, sub string // sub: the id
	since            int64
	events           []int64
	focus            []string
	entries          int // after the status entry
	resources        int // entries with a resource
	authExpires      string
	raw              []byte
}

// expectNote reads the next frame, validates it as a notification in
// c.wire's shape at content level content, and parses it.
func (c *client) expectNote(content string) note {
	c.t.Helper()
	b := c.next()
	fhirtest.MustValidVersionContent(c.t, c.wire, b, content)
	return parseNote(c.t, b)
}

func parseNote(tb testing.TB, b []byte) note {
	tb.Helper()
	sum, ok := fhir.ReadNotification(b)
	var bundle struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if !ok || json.Unmarshal(b, &bundle) != nil {
		tb.Fatalf("not a notification: %.300s", b)
	}
	n := note{typ: sum.Type, status: sum.Status, sub: sum.SubscriptionID(), since: sum.EventsSinceStart,
		events: sum.Events, focus: sum.Focus, authExpires: sum.AuthExpires, raw: b, entries: len(bundle.Entry) - 1}
	for _, e := range bundle.Entry[1:] {
		if len(e.Resource) > 0 {
			n.resources++
		}
	}
	return n
}

// expectHandshake reads a handshake for sub.
func (c *client) expectHandshake(sub, content string, since int64) note {
	c.t.Helper()
	n := c.expectNote(content)
	if n.typ != fhir.NotifyHandshake || n.sub != sub || n.since != since || n.status != "active" {
		c.t.Fatalf("got %s/%s for %s since %d, want an active handshake for %s since %d", n.typ, n.status, n.sub, n.since, sub, since)
	}
	return n
}

// expectEvents reads one event-notification for sub and checks its event
// numbers.
func (c *client) expectEvents(sub, content string, numbers ...int64) note {
	c.t.Helper()
	n := c.expectNote(content)
	if n.typ != fhir.NotifyEvent || n.sub != sub || fmt.Sprint(n.events) != fmt.Sprint(numbers) || n.since != numbers[len(numbers)-1] {
		c.t.Fatalf("got %s for %s with events %v since %d, want event-notification for %s with events %v", n.typ, n.sub, n.events, n.since, sub, numbers)
	}
	return n
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dialStatus dials and returns the HTTP status of a refused upgrade and
// its body.
func (e *env) dialStatus(path string) (int, string) {
	e.t.Helper()
	conn, resp, err := e.dialer.Dial(e.ws+path, nil)
	if err == nil {
		conn.Close()
		return http.StatusSwitchingProtocols, ""
	}
	if resp == nil {
		e.t.Fatalf("dial: %v", err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, sb.String()
}
