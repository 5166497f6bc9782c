package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"log/slog"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/fhirtest"
	"github.com/gorilla/websocket"
)

// fakeAuth is an auth.Authenticator over a fixed table of tokens.
type fakeAuth map[string]auth.Principal

// tokUnavailable makes fakeAuth fail as an unreachable introspection
// endpoint does.
const tokUnavailable = "as-down"

func (f fakeAuth) Authenticate(_ context.Context, tok string) (auth.Principal, error) {
	switch tok {
	case "":
		return auth.Principal{}, auth.ErrMissingToken
	case tokUnavailable:
		return auth.Principal{}, fmt.Errorf("introspect: %w", auth.ErrAuthUnavailable)
	}
	p, ok := f[tok]
	if !ok {
		return auth.Principal{}, fmt.Errorf("%w: invalid signature", auth.ErrUnauthenticated)
	}
	if p.Expired(time.Now()) {
		return auth.Principal{}, fmt.Errorf("%w: token expired", auth.ErrUnauthenticated)
	}
	return p, nil
}

// userScopes let a user create Observation subscriptions and read what
// they notify about.
var userScopes = []string{"user/Subscription.cruds", "user/Observation.rs"}

func user(subject string, expires time.Time, scopes ...string) auth.Principal {
	return auth.Principal{Kind: auth.KindUser, Method: auth.MethodJWT, Subject: subject, ClientID: "app",
		Scopes: auth.NewScopes(scopes...), Expires: expires}
}

func admin(expires time.Time) auth.Principal {
	return auth.Principal{Kind: auth.KindSystem, Method: auth.MethodJWT, Subject: "ops", ClientID: "ops",
		Scopes: auth.NewScopes("system/*.cruds"), Expires: expires}
}

// reauthBundle is the in-band re-authentication message carrying tok.
func reauthBundle(tok string) string {
	return `{"resourceType":"Bundle","type":"collection","meta":{"extension":[{"url":"` + fhir.AccessTokenURL + `","valueString":"` + tok + `"}]}}`
}

// expectFinal reads notes, skipping heartbeats, and returns the first
// other one.
func (c *client) expectNonHeartbeat(content string) note {
	c.t.Helper()
	for {
		n := c.expectNote(content)
		if n.typ != fhir.NotifyHeartbeat {
			return n
		}
	}
}

func TestUpgradeAuthentication(t *testing.T) {
	alice := user("alice", time.Now().Add(time.Hour), userScopes...)
	e := newEnv(t, Config{Authenticator: fakeAuth{"alice-tok": alice}})
	id := e.createSub(subOpts{owner: &alice})
	for _, tc := range []struct {
		name      string
		header    http.Header
		protocols []string
		status    int
		proto     string // the subprotocol the server chose
		authed    bool   // the socket's principal is alice
	}{
		{"bearer", bearer("alice-tok"), nil, 101, "", true},
		{"bearer and fhirbell", bearer("alice-tok"), []string{"fhirbell"}, 101, "fhirbell", true},
		{"subprotocol", nil, []string{"fhirbell", "fhirbell.bearer.alice-tok"}, 101, "fhirbell", true},
		{"subprotocol first", nil, []string{"fhirbell.bearer.alice-tok", "fhirbell"}, 101, "fhirbell", true},
		{"fhirbell alone", nil, []string{"fhirbell"}, 101, "fhirbell", false},
		{"no token", nil, nil, 101, "", false},
		{"bearer subprotocol without fhirbell", nil, []string{"fhirbell.bearer.alice-tok"}, 400, "", false},
		{"token twice", bearer("alice-tok"), []string{"fhirbell", "fhirbell.bearer.alice-tok"}, 400, "", false},
		{"bad bearer", bearer("forged"), nil, 401, "", false},
		{"bad subprotocol token", nil, []string{"fhirbell", "fhirbell.bearer.forged"}, 401, "", false},
		{"unreadable subprotocol token", nil, []string{"fhirbell", "fhirbell.bearer.a/b"}, 401, "", false},
		{"basic auth", http.Header{"Authorization": {"Basic YWxpY2U6cHc="}}, nil, 401, "", false},
		{"authorization server down", bearer(tokUnavailable), nil, 503, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, resp, err := e.dialResp("/ws", tc.header, tc.protocols...)
			if tc.status != http.StatusSwitchingProtocols {
				if err == nil || resp == nil || resp.StatusCode != tc.status {
					t.Fatalf("upgrade: err %v, resp %v; want HTTP %d", err, resp, tc.status)
				}
				defer resp.Body.Close()
				var body strings.Builder
				buf := make([]byte, 4096)
				for {
					n, err := resp.Body.Read(buf)
					body.WriteString(string(buf[:n]))
					if err != nil {
						break
					}
				}
				fhirtest.MustValidR4(t, []byte(body.String()))
				if got := resp.Header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control %q, want no-store", got)
				}
				ch := resp.Header.Get("WWW-Authenticate")
				if tc.status == http.StatusUnauthorized && !strings.HasPrefix(ch, `Bearer realm="fhirbell", error="invalid_token"`) {
					t.Errorf("WWW-Authenticate %q, want a Bearer invalid_token challenge", ch)
				}
				if strings.Contains(body.String(), "alice-tok") || strings.Contains(body.String(), "forged") {
					t.Errorf("the refusal quotes the token: %s", body.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("upgrade: %v", err)
			}
			if got := conn.Subprotocol(); got != tc.proto {
				t.Errorf("subprotocol %q, want %q", got, tc.proto)
			}
			if got := resp.Header.Values("Sec-Websocket-Protocol"); strings.Contains(strings.Join(got, ","), "bearer") {
				t.Errorf("Sec-WebSocket-Protocol %q echoes the token", got)
			}
			c := &client{t: t, conn: conn, timeout: e.readTimeout}
			c.send("resume " + id + " 0")
			if tc.authed {
				c.expectHandshake(id, fhir.ContentFullResource, 0)
			} else {
				c.expectOutcome(fhir.IssueForbidden)
			}
		})
	}
}

func TestUpgradeOrigin(t *testing.T) {
	e := newEnv(t, Config{Origin: auth.OriginPolicy{Allowed: []string{"https://app.example"}}})
	id := e.createSub(subOpts{})
	tk := e.ticket(id)
	for _, origin := range []string{"https://evil.example", "null", "https://app.example:8443"} {
		_, resp, err := e.dialResp("/ws/"+tk, http.Header{"Origin": {origin}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("upgrade from %s: err %v, resp %v; want 403", origin, err, resp)
		}
		resp.Body.Close()
	}
	// The refusals came before the ticket was redeemed.
	c := e.dialWith("/ws/"+tk, http.Header{"Origin": {"https://APP.example:443"}})
	c.expectHandshake(id, fhir.ContentFullResource, 0)
	e.dialWith("/ws", nil).conn.Close() // native clients send no Origin
}

func TestLegacyBindAndResumeInAuthMode(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	alice, bob, ops := user("alice", exp, userScopes...), user("bob", exp, userScopes...), admin(exp)
	for _, tc := range []struct {
		name, token, msg string // msg: %[1]s is alice's subscription, %[2]s bob's
		legacy           bool   // criteria subscriptions instead of topic ones
		want             string // "bound", "handshake", or an issue code
		close            int    // the close code that follows a refusal; 0: the socket stays
	}{
		{"own legacy bind", "alice-tok", "bind %[1]s", true, "bound", 0},
		{"other's legacy bind", "alice-tok", "bind %[2]s", true, fhir.IssueForbidden, CodeForbidden},
		{"unauthenticated legacy bind", "", "bind %[1]s", true, fhir.IssueForbidden, CodeForbidden},
		{"unknown legacy bind", "alice-tok", "bind nosuch", true, fhir.IssueNotFound, CodeUnknownSubscription},
		{"admin legacy bind", "ops-tok", "bind %[2]s", true, "bound", 0},
		{"own resume", "alice-tok", "resume %[1]s 0", false, "handshake", 0},
		{"other's resume", "alice-tok", "resume %[2]s 0", false, fhir.IssueForbidden, 0},
		{"unauthenticated resume", "", "resume %[1]s 0", false, fhir.IssueForbidden, 0},
		{"admin resume", "ops-tok", "resume %[2]s 0", false, "handshake", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{Authenticator: fakeAuth{"alice-tok": alice, "bob-tok": bob, "ops-tok": ops}})
			mine := e.createSub(subOpts{owner: &alice, legacy: tc.legacy})
			theirs := e.createSub(subOpts{owner: &bob, legacy: tc.legacy})
			e.write(2, "")
			var h http.Header
			if tc.token != "" {
				h = bearer(tc.token)
			}
			c := e.dialWith("/ws", h)
			msg := tc.msg
			if strings.Contains(msg, "%") {
				msg = fmt.Sprintf(msg, mine, theirs)
			}
			c.send(msg)
			id := strings.Fields(msg)[1]
			switch tc.want {
			case "bound":
				c.expectText("bound " + id)
				e.write(1, "")
				c.expectText("ping " + id)
			case "handshake":
				c.expectHandshake(id, fhir.ContentFullResource, 2)
				c.expectEvents(id, fhir.ContentFullResource, 1)
				c.expectEvents(id, fhir.ContentFullResource, 2)
			default:
				c.expectOutcome(tc.want)
				if tc.close != 0 {
					if code := c.expectClose(); code != tc.close {
						t.Fatalf("close code %d, want %d", code, tc.close)
					}
					return
				}
				c.send(`{"type":"ping"}`)
				c.expectText(`{"type":"pong"}`)
			}
		})
	}
}

func TestGrantMustMatchSocketPrincipal(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	alice, bob := user("alice", exp, userScopes...), user("bob", exp, userScopes...)
	e := newEnv(t, Config{Authenticator: fakeAuth{"alice-tok": alice}})
	a := e.createSub(subOpts{owner: &alice})
	b := e.createSub(subOpts{owner: &bob})

	// A socket authenticated as alice binds only alice's grants.
	c := e.dialWith("/ws", bearer("alice-tok"))
	c.send("bind-with-token " + e.tokenFor(bob, b))
	c.expectOutcome(fhir.IssueSecurity)
	c.send("bind-with-token " + e.tokenFor(alice, a))
	c.expectHandshake(a, fhir.ContentFullResource, 0)

	// The ticket of another principal is refused before the upgrade.
	_, resp, err := e.dialResp("/ws/"+e.ticketFor(bob, b), bearer("alice-tok"))
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bob's ticket with alice's token: err %v, resp %v; want 403", err, resp)
	}
	resp.Body.Close()

	// On a socket without a token, the first grant fixes the principal.
	c = e.dial("/ws")
	c.send("bind-with-token " + e.tokenFor(alice, a))
	c.expectHandshake(a, fhir.ContentFullResource, 0)
	c.send("bind-with-token " + e.tokenFor(bob, b))
	c.expectOutcome(fhir.IssueSecurity)
	// The grant for a never lets the socket bind b.
	c.send("resume " + b + " 0")
	c.expectOutcome(fhir.IssueForbidden)
	e.write(1, "")
	c.expectEvents(a, fhir.ContentFullResource, 1)
	c.send("bind " + b)
	c.expectOutcome(fhir.IssueForbidden)
	if code := c.expectClose(); code != CodeForbidden {
		t.Fatalf("close code %d, want %d", code, CodeForbidden)
	}
}

// TestSessionLastsAsLongAsTheAccessToken: warning heartbeats in the last
// minute carry auth-expires; at the expiry a query-status error and 4001;
// the events written meanwhile are recovered with resume on a new socket.
func TestSessionLastsAsLongAsTheAccessToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		expires := time.Now().Add(2 * time.Minute)
		alice := user("alice", expires, userScopes...)
		later := user("alice", expires.Add(time.Hour), userScopes...)
		e := newPipeEnv(t, Config{Authenticator: fakeAuth{"alice-1": alice, "alice-2": later}})
		id := e.createSub(subOpts{owner: &alice})
		legacyID := e.createSub(subOpts{owner: &alice, legacy: true, code: "other"})
		c := e.dialWith("/ws", nil, "fhirbell", "fhirbell.bearer.alice-1")
		c.send("resume " + id + " 0")
		h := c.expectHandshake(id, fhir.ContentFullResource, 0)
		if want := fhir.FormatInstant(expires); h.authExpires != want {
			t.Errorf("handshake auth-expires %q, want the access token's expiry %q", h.authExpires, want)
		}
		c.send("bind " + legacyID) // legacy bindings end with the session too
		c.expectText("bound " + legacyID)
		c.expectExpiry(h, expires)
		waitClosed(e)
		e.write(2, "") // logged while no socket is open
		c = e.dialWith("/ws", bearer("alice-2"))
		c.send("resume " + id + " 0")
		c.expectHandshake(id, fhir.ContentFullResource, 2)
		c.expectEvents(id, fhir.ContentFullResource, 1)
		c.expectEvents(id, fhir.ContentFullResource, 2)
	})
}

// TestReauthKeepsEveryBinding: a re-authentication before the expiry keeps
// both bindings and their cursors; events written after the first token's
// expiry arrive, with no gap and no duplicate.
func TestReauthKeepsEveryBinding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		first := user("alice", t0.Add(2*time.Minute), userScopes...)
		second := user("alice", t0.Add(time.Hour), userScopes...)
		e := newPipeEnv(t, Config{Authenticator: fakeAuth{"alice-1": first, "alice-2": second}})
		a := e.createSub(subOpts{owner: &first})
		b := e.createSub(subOpts{owner: &first, code: "other"})
		c := e.dialWith("/ws", nil, "fhirbell", "fhirbell.bearer.alice-1")
		c.send("bind-with-token " + e.tokenFor(first, a, b))
		c.expectNote(fhir.ContentFullResource)
		c.expectNote(fhir.ContentFullResource)
		events := map[string][]int64{}
		record := func(n note) {
			t.Helper()
			if n.typ != fhir.NotifyEvent {
				t.Fatalf("got %s for %s, want an event-notification", n.typ, n.sub)
			}
			events[n.sub] = append(events[n.sub], n.events...)
		}
		e.write(1, "")
		record(c.expectNonHeartbeat(fhir.ContentFullResource))

		// Renew 30 s before the expiry, during the warning minute.
		for time.Since(t0) < 90*time.Second {
			if n := c.expectNote(fhir.ContentFullResource); n.typ != fhir.NotifyHeartbeat {
				t.Fatalf("got %s, want heartbeats", n.typ)
			}
		}
		c.send(reauthBundle("alice-2"))
		got := map[string]bool{}
		for range 2 {
			n := c.expectNonHeartbeat(fhir.ContentFullResource)
			if n.typ != fhir.NotifyQueryStatus || n.status != "active" || n.authExpires != fhir.FormatInstant(second.Expires) {
				t.Fatalf("got %s/%s auth-expires %q, want an active query-status carrying %q", n.typ, n.status, n.authExpires, fhir.FormatInstant(second.Expires))
			}
			got[n.sub] = true
		}
		if !got[a] || !got[b] {
			t.Fatalf("query-status for %v, want one for %s and one for %s", got, a, b)
		}

		// Past the first token's expiry: no warning, no close.
		for time.Since(t0) < 3*time.Minute {
			n := c.expectNote(fhir.ContentFullResource)
			if n.typ != fhir.NotifyHeartbeat || n.authExpires != fhir.FormatInstant(second.Expires) {
				t.Fatalf("got %s with auth-expires %q, want heartbeats carrying the new expiry", n.typ, n.authExpires)
			}
		}
		e.write(1, "")
		e.write(1, "other")
		record(c.expectNonHeartbeat(fhir.ContentFullResource))
		record(c.expectNonHeartbeat(fhir.ContentFullResource))
		e.write(1, "")
		record(c.expectNonHeartbeat(fhir.ContentFullResource))
		if fmt.Sprint(events[a]) != "[1 2 3]" || fmt.Sprint(events[b]) != "[1]" {
			t.Errorf("events %v, want [1 2 3] for a and [1] for b", events)
		}
	})
}

func TestReauthRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		expires := time.Now().Add(2 * time.Minute)
		alice := user("alice", expires, userScopes...)
		e := newPipeEnv(t, Config{Authenticator: fakeAuth{
			"alice-1": alice,
			"bob":     user("bob", expires.Add(time.Hour), userScopes...),
		}})
		id := e.createSub(subOpts{owner: &alice})

		bare := e.dial("/ws")
		bare.send(reauthBundle("alice-1"))
		bare.expectOutcome(fhir.IssueSecurity) // nothing to renew yet

		c := e.dialWith("/ws", bearer("alice-1"))
		c.send("resume " + id + " 0")
		c.expectHandshake(id, fhir.ContentFullResource, 0)
		for _, tc := range []struct{ name, token, code string }{
			{"another subject", "bob", fhir.IssueSecurity},
			{"unknown token", "forged", fhir.IssueSecurity},
			{"authorization server down", tokUnavailable, fhir.IssueTransient},
		} {
			c.send(reauthBundle(tc.token))
			if iss := c.expectOutcome(tc.code); strings.Contains(iss.Diagnostics, tc.token) {
				t.Errorf("%s: diagnostics %q quote the token", tc.name, iss.Diagnostics)
			}
		}
		// The old authorization stands, and ends on time.
		for {
			n := c.expectNote(fhir.ContentFullResource)
			if n.authExpires != fhir.FormatInstant(expires) {
				t.Fatalf("%s carries auth-expires %q, want the first token's %q", n.typ, n.authExpires, fhir.FormatInstant(expires))
			}
			if n.typ == fhir.NotifyQueryStatus {
				if n.status != "error" || !time.Now().Equal(expires) {
					t.Fatalf("query-status %s at %v, want error at %v", n.status, time.Now(), expires)
				}
				break
			}
		}
		if code := c.expectClose(); code != CodeAuthExpired {
			t.Fatalf("close code %d, want %d", code, CodeAuthExpired)
		}
	})
}

// TestReauthNarrows (issue 14, item 4): a renewal replaces the socket's
// authorization. A new token that no longer covers a binding ends that
// binding with a forbidden OperationOutcome, the others stay with their
// cursors and get the new auth-expires, and delivery follows the new
// token from then on (here: one patient's compartment); the socket stays
// open.
func TestReauthNarrows(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	alice := user("alice", exp, userScopes...)
	patient := user("alice", exp.Add(time.Hour), "patient/Subscription.cruds", "patient/Observation.rs")
	patient.Patient = "p1"
	e := newEnv(t, Config{Authenticator: fakeAuth{
		"alice":         alice,
		"alice-narrow":  user("alice", exp.Add(time.Hour), "user/Subscription.cruds"),
		"alice-patient": patient,
	}})
	mine := e.createSub(subOpts{owner: &alice})
	p1 := e.createSub(subOpts{owner: &patient, code: "other"}) // created in p1's launch context

	c := e.dialWith("/ws", bearer("alice"))
	for _, id := range []string{mine, p1} {
		c.send("resume " + id + " 0")
		c.expectHandshake(id, fhir.ContentFullResource, 0)
	}
	c.send(reauthBundle("alice-patient"))
	if iss := c.expectOutcome(fhir.IssueForbidden); !strings.Contains(iss.Diagnostics, mine) {
		t.Fatalf("the outcome names %q, want Subscription/%s", iss.Diagnostics, mine)
	}
	n := c.expectNote(fhir.ContentFullResource)
	if n.typ != fhir.NotifyQueryStatus || n.sub != p1 || n.authExpires != fhir.FormatInstant(patient.Expires) {
		t.Fatalf("got %s for %s with auth-expires %q, want query-status for %s with the new token's", n.typ, n.sub, n.authExpires, p1)
	}
	e.write(1, "") // mine: no longer bound here
	for _, subject := range []string{"Patient/p2", "Patient/p1"} {
		r, err := fhir.ParseResource([]byte(strings.Replace(observation("other"), `"status"`, `"subject":{"reference":"`+subject+`"},"status"`, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Create(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	// Both events are in the log (this Service's authorizer is open), so
	// the socket's guard alone withholds p2's: only p1's arrives, and
	// nothing of mine.
	if n := c.expectNonHeartbeat(fhir.ContentFullResource); n.typ != fhir.NotifyEvent || n.sub != p1 || fmt.Sprint(n.events) != "[2]" || bytes.Contains(n.raw, []byte("Patient/p2")) {
		t.Fatalf("got %s for %s: %s; want p1's event (2) of %s only", n.typ, n.sub, n.raw, p1)
	}

	// A token without Observation read ends every binding; the socket
	// stays open, and its new authorization decides binds too.
	c = e.dialWith("/ws", bearer("alice"))
	c.send("resume " + mine + " 0")
	c.expectHandshake(mine, fhir.ContentFullResource, 1)
	c.expectEvents(mine, fhir.ContentFullResource, 1)
	c.send(reauthBundle("alice-narrow"))
	c.expectOutcome(fhir.IssueForbidden)
	c.send("resume " + mine + " 0")
	c.expectOutcome(fhir.IssueForbidden)
}

// TestRenewWithBindingToken: a new binding token covering every binding
// renews the session (the Backport IG's renewal); one covering only some
// does not.
func TestRenewWithBindingToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		first := user("alice", t0.Add(2*time.Minute), userScopes...)
		second := user("alice", t0.Add(time.Hour), userScopes...)
		e := newPipeEnv(t, Config{Authenticator: fakeAuth{}})
		a := e.createSub(subOpts{owner: &first})
		b := e.createSub(subOpts{owner: &first, code: "other"})
		c := e.dial("/ws")
		c.send("bind-with-token " + e.tokenFor(first, a, b))
		c.expectNote(fhir.ContentFullResource)
		c.expectNote(fhir.ContentFullResource)

		c.send("bind-with-token " + e.tokenFor(second, a)) // only a: no renewal
		if n := c.expectNonHeartbeat(fhir.ContentFullResource); n.typ != fhir.NotifyHandshake || n.authExpires != fhir.FormatInstant(first.Expires) {
			t.Fatalf("got %s with auth-expires %q, want a handshake still carrying %q", n.typ, n.authExpires, fhir.FormatInstant(first.Expires))
		}
		c.send("bind-with-token " + e.tokenFor(second, a, b))
		for range 2 {
			if n := c.expectNonHeartbeat(fhir.ContentFullResource); n.typ != fhir.NotifyHandshake || n.authExpires != fhir.FormatInstant(second.Expires) {
				t.Fatalf("got %s with auth-expires %q, want a handshake carrying %q", n.typ, n.authExpires, fhir.FormatInstant(second.Expires))
			}
		}
		for time.Since(t0) < 3*time.Minute {
			if n := c.expectNote(fhir.ContentFullResource); n.typ != fhir.NotifyHeartbeat {
				t.Fatalf("got %s, want heartbeats past the first expiry", n.typ)
			}
		}
		e.write(1, "")
		if n := c.expectNonHeartbeat(fhir.ContentFullResource); n.typ != fhir.NotifyEvent || n.sub != a || fmt.Sprint(n.events) != "[1]" {
			t.Fatalf("got %s for %s with events %v, want event 1 for %s", n.typ, n.sub, n.events, a)
		}
	})
}

func TestUpgradeRateLimit(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	fa := fakeAuth{"alice-tok": user("alice", exp, userScopes...), "bob-tok": user("bob", exp, userScopes...)}
	e := newEnv(t, Config{Authenticator: fa, UpgradeLimiter: auth.NewLimiter(0.001, 2, 0)})
	for _, tc := range []struct {
		name   string
		header http.Header
		want   []int
	}{
		{"by client address", nil, []int{101, 101, 429}},
		{"by principal", bearer("alice-tok"), []int{101, 101, 429}},
		{"another principal", bearer("bob-tok"), []int{101}},
	} {
		for i, want := range tc.want {
			conn, resp, err := e.dialResp("/ws", tc.header)
			got := 0
			switch {
			case err == nil:
				got = http.StatusSwitchingProtocols
				conn.Close()
			case resp != nil:
				got = resp.StatusCode
				if got == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
					t.Errorf("%s: 429 without Retry-After", tc.name)
				}
				resp.Body.Close()
			}
			if got != want {
				t.Errorf("%s: upgrade %d: HTTP %d, want %d", tc.name, i+1, got, want)
			}
		}
	}
}

func TestSocketsPerPrincipal(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	alice := user("alice", exp, userScopes...)
	e := newEnv(t, Config{Authenticator: fakeAuth{"alice-tok": alice, "bob-tok": user("bob", exp, userScopes...)}, MaxSocketsPerPrincipal: 2})
	id := e.createSub(subOpts{owner: &alice})
	first := e.dialWith("/ws", bearer("alice-tok"))
	e.dialWith("/ws", bearer("alice-tok"))
	for _, tc := range []struct {
		name   string
		header http.Header
		msg    string
	}{
		{"access token", bearer("alice-tok"), ""},
		{"binding token", nil, "bind-with-token " + e.tokenFor(alice, id)},
	} {
		c := e.dialWith("/ws", tc.header)
		if tc.msg != "" {
			c.send(tc.msg)
		}
		c.expectOutcome(issueTooCostly)
		if code := c.expectClose(); code != websocket.ClosePolicyViolation {
			t.Fatalf("%s: close code %d, want 1008", tc.name, code)
		}
	}
	e.dialWith("/ws", bearer("bob-tok")) // others are not affected
	first.conn.Close()
	waitFor(t, "alice's first socket to be released", func() bool {
		e.hub.mu.Lock()
		defer e.hub.mu.Unlock()
		return e.hub.perSubject["alice"] == 1
	})
	c := e.dialWith("/ws", bearer("alice-tok"))
	c.send("resume " + id + " 0")
	c.expectHandshake(id, fhir.ContentFullResource, 0)
}

// TestSecretsNeverLogged runs sessions with every kind of credential, good
// and bad, with debug logging on, and checks that no log line holds any
// of them, the ticket path or the query string.
func TestSecretsNeverLogged(t *testing.T) {
	var logs logBuffer
	exp := time.Now().Add(time.Hour)
	alice := user("alice", exp, userScopes...)
	const (
		accessTok   = "secret-access-0c8f2a"
		renewTok    = "secret-renew-9d41be"
		badTok      = "secret-forged-77e3c1"
		querySecret = "secret-query-5a6b7c"
	)
	fa := fakeAuth{accessTok: alice, renewTok: user("alice", exp.Add(time.Hour), userScopes...)}
	e := newEnv(t, Config{Authenticator: fa, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	a := e.createSub(subOpts{owner: &alice})
	b := e.createSub(subOpts{owner: &alice, code: "other"})
	ticket, bindTok := e.ticketFor(alice, a), e.tokenFor(alice, b)
	secrets := []string{accessTok, renewTok, badTok, querySecret, ticket, bindTok}

	// Ticket URL (with a query string), then in band: a binding token, a
	// renewal, bad tokens.
	c := e.dialWith("/ws/"+ticket+"?access_token="+querySecret, nil)
	c.expectHandshake(a, fhir.ContentFullResource, 0)
	c.send("bind-with-token " + bindTok)
	c.expectHandshake(b, fhir.ContentFullResource, 0)
	c.send(reauthBundle(renewTok))
	c.expectNote(fhir.ContentFullResource)
	c.expectNote(fhir.ContentFullResource)
	c.send(reauthBundle(badTok))
	c.expectOutcome(fhir.IssueSecurity)
	c.send("bind-with-token " + badTok)
	c.expectOutcome(fhir.IssueSecurity)
	c.send(`{"type":"bind-with-token","payload":{"token":"` + badTok + `"}}`)
	c.expectOutcome(fhir.IssueSecurity)
	c.send("bind-with-token " + badTok + " extra") // unparsable
	c.expectOutcome(fhir.IssueInvalid)
	e.write(1, "")
	c.expectEvents(a, fhir.ContentFullResource, 1)

	// Upgrades: subprotocol and bearer tokens, good and bad.
	s := e.dialWith("/ws?"+querySecret, nil, "fhirbell", "fhirbell.bearer."+accessTok)
	s.send("resume " + a + " 0")
	s.expectHandshake(a, fhir.ContentFullResource, 1)
	s.expectEvents(a, fhir.ContentFullResource, 1)
	for _, h := range []http.Header{bearer(badTok), {"Authorization": {"Basic " + badTok}}} {
		if _, resp, err := e.dialResp("/ws", h); err == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad token: err %v; want 401", err)
		} else {
			resp.Body.Close()
		}
	}
	if _, resp, err := e.dialResp("/ws", nil, "fhirbell", "fhirbell.bearer."+badTok); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad subprotocol token: err %v; want 401", err)
	} else {
		resp.Body.Close()
	}
	if status, _ := e.dialStatus("/ws/" + ticket); status != http.StatusNotFound { // used
		t.Fatalf("reused ticket: HTTP %d, want 404", status)
	}
	c.conn.Close()
	s.conn.Close()
	if err := e.hub.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	out := logs.String()
	if !strings.Contains(out, `"msg":"websocket closed"`) || !strings.Contains(out, `"msg":"websocket authenticated"`) {
		t.Fatalf("the sessions were not logged:\n%s", out)
	}
	for line := range strings.Lines(out) {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %s", line)
		}
	}
	for _, secret := range append(secrets, "/ws/", "access_token") {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
}

// FuzzUpgradeToken checks the reading of access tokens from upgrade
// headers: a token returned is one the headers carry, a bearer
// subprotocol is never accepted without fhirbell, errors are the fixed
// ones, and auth mode none reads no token.
func FuzzUpgradeToken(f *testing.F) {
	for _, seed := range [][2]string{
		{"Bearer abc.def", ""},
		{"", "fhirbell, fhirbell.bearer.xyz"},
		{"", "fhirbell.bearer.xyz"},
		{"", "fhirbell"},
		{"Basic abc", ""},
		{"bearer   a", "fhirbell,fhirbell.bearer.a/b"},
		{"Bearer a", "fhirbell, fhirbell.bearer.a"},
		{"", "fhirbell.bearer., fhirbell"},
	} {
		f.Add(seed[0], seed[1])
	}
	on := NewHub(nil, Config{Authenticator: fakeAuth{}})
	off := NewHub(nil, Config{})
	f.Fuzz(func(t *testing.T, authorization, protocols string) {
		r, _ := http.NewRequest(http.MethodGet, "http://fhirbell.test/ws", nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		if protocols != "" {
			r.Header.Set("Sec-WebSocket-Protocol", protocols)
		}
		offered, bearerEntry := false, false
		for _, p := range websocket.Subprotocols(r) {
			offered = offered || p == auth.Subprotocol
			bearerEntry = bearerEntry || strings.HasPrefix(p, auth.BearerSubprotocolPrefix)
		}
		tok, err := on.upgradeToken(r)
		switch {
		case err != nil:
			if tok != "" {
				t.Errorf("upgradeToken(%q, %q) = %q, %v; want no token with an error", authorization, protocols, tok, err)
			}
			if err != errMalformedToken && err != errBareBearerSubprotocol && err != errTwoTokens {
				t.Errorf("upgradeToken(%q, %q) error %v, want a fixed one", authorization, protocols, err)
			}
		case tok != "" && !strings.Contains(authorization, tok) && !strings.Contains(protocols, auth.BearerSubprotocolPrefix+tok):
			t.Errorf("upgradeToken(%q, %q) = %q, which the headers do not carry", authorization, protocols, tok)
		}
		if bearerEntry && !offered && err != errBareBearerSubprotocol {
			t.Errorf("upgradeToken(%q, %q) = %q, %v; want the bearer subprotocol refused without fhirbell", authorization, protocols, tok, err)
		}
		if tok, _ := off.upgradeToken(r); tok != "" {
			t.Errorf("auth mode none: upgradeToken(%q, %q) = %q, want no token", authorization, protocols, tok)
		}
	})
}
