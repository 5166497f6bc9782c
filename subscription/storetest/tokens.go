package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// Sizes of the ticket race: enough consumers to exhaust a small pool and
// queue on one row, enough rounds that a store which consumes with a read
// and a separate delete is caught, few enough to stay fast.
const (
	ticketRacers = 16
	ticketRounds = 10
)

// tokenT0 is the suite's clock: tokens expire relative to it, and every
// lookup passes a time derived from it, never the wall clock.
var tokenT0 = time.Date(2031, 5, 17, 9, 30, 15, 123_000_000, time.UTC)

// runTokens runs the subscription.TokenStore tests, one fresh store each.
// Every store in this repository keeps tokens, so a store that does not
// fails rather than skips.
func runTokens(t *testing.T, newStore func(t *testing.T) subscription.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s subscription.TokenStore)
	}{
		{"RoundTrip", testTokenRoundTrip},
		{"NoAliasing", testTokenNoAliasing},
		{"Unknown", testTokenUnknown},
		{"Reusable", testTokenReusable},
		{"ConsumeOnce", testTokenConsumeOnce},
		{"Expiry", testTokenExpiry},
		{"ExpiredTicketGone", testTokenExpiredTicketGone},
		{"ConsumeRace", testTokenConsumeRace},
		{"Prune", testTokenPrune},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			ts, ok := s.(subscription.TokenStore)
			if !ok {
				t.Fatalf("%T does not implement subscription.TokenStore", s)
			}
			tc.fn(t, ts)
		})
	}
}

// tokenHash returns the hash of a test secret named name.
func tokenHash(name string) [sha256.Size]byte { return subscription.HashToken("storetest-" + name) }

// ticket returns a ticket grant for one subscription that expires at exp.
func ticket(exp time.Time) subscription.Grant {
	return subscription.Grant{Kind: subscription.KindTicket, SubscriptionIDs: []string{"sub1"}, Expires: exp}
}

// putToken stores g under the hash of name, failing t on error.
func putToken(t *testing.T, s subscription.TokenStore, name string, g subscription.Grant) [sha256.Size]byte {
	t.Helper()
	h := tokenHash(name)
	if err := s.PutToken(t.Context(), subscription.StoredToken{Hash: h, Grant: g}); err != nil {
		t.Fatalf("PutToken(%s): %v", name, err)
	}
	return h
}

// lookup calls LookupToken with t's context.
func lookup(t *testing.T, s subscription.TokenStore, h [sha256.Size]byte, consume bool, now time.Time) (subscription.Grant, error) {
	return s.LookupToken(t.Context(), h, consume, now)
}

// checkGrant fails t unless got is want: times compared with Equal (a
// store may return another location), zero staying zero.
func checkGrant(t *testing.T, what string, got, want subscription.Grant) {
	t.Helper()
	if got.Kind != want.Kind || !slices.Equal(got.SubscriptionIDs, want.SubscriptionIDs) ||
		!got.Expires.Equal(want.Expires) || got.AuthExpires.IsZero() != want.AuthExpires.IsZero() ||
		!got.AuthExpires.Equal(want.AuthExpires) || got.Subject != want.Subject ||
		got.ClientID != want.ClientID || got.Scope != want.Scope || got.Patient != want.Patient {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func testTokenRoundTrip(t *testing.T, s subscription.TokenStore) {
	tests := []struct {
		name  string
		grant subscription.Grant
	}{
		{"binding token with auth", subscription.Grant{
			Kind:            subscription.KindBindingToken,
			SubscriptionIDs: []string{"a", "b-2", "c.3"},
			Expires:         tokenT0.Add(10 * time.Minute),
			AuthExpires:     tokenT0.Add(time.Hour + 7*time.Millisecond),
			Subject:         "Practitioner/dr-ünïcode",
			ClientID:        "app-1",
			Scope:           "patient/Observation.rs patient/Subscription.cruds launch/patient",
			Patient:         "p-42",
		}},
		{"ticket without auth", subscription.Grant{
			Kind:            subscription.KindTicket,
			SubscriptionIDs: []string{"only"},
			Expires:         tokenT0.Add(time.Minute),
		}},
		{"order kept", subscription.Grant{
			Kind:            subscription.KindBindingToken,
			SubscriptionIDs: []string{"z", "a", "m"},
			Expires:         tokenT0.Add(time.Minute),
			Subject:         "client-1",
		}},
		{"other location", subscription.Grant{
			Kind:            subscription.KindTicket,
			SubscriptionIDs: []string{"s"},
			Expires:         tokenT0.Add(time.Minute).In(time.FixedZone("UTC+5:30", 5*3600+1800)),
			AuthExpires:     tokenT0.Add(2 * time.Minute).In(time.FixedZone("UTC-8", -8*3600)),
		}},
	}
	for _, tc := range tests {
		h := putToken(t, s, tc.name, tc.grant)
		for _, consume := range []bool{false, true} {
			g, err := lookup(t, s, h, consume, tokenT0)
			if err != nil {
				t.Fatalf("LookupToken(%s, consume %v): %v", tc.name, consume, err)
			}
			checkGrant(t, fmt.Sprintf("LookupToken(%s, consume %v)", tc.name, consume), g, tc.grant)
		}
	}
}

func testTokenNoAliasing(t *testing.T, s subscription.TokenStore) {
	// Neither the caller's slice nor a returned one is the stored one.
	ids := []string{"s1", "s2"}
	g := subscription.Grant{Kind: subscription.KindBindingToken, SubscriptionIDs: ids, Expires: tokenT0.Add(time.Minute)}
	h := putToken(t, s, "alias", g)
	ids[0] = "changed-after-put"
	got, err := lookup(t, s, h, false, tokenT0)
	if err != nil {
		t.Fatalf("LookupToken: %v", err)
	}
	if want := []string{"s1", "s2"}; !slices.Equal(got.SubscriptionIDs, want) {
		t.Fatalf("SubscriptionIDs after the caller changed its slice = %v, want %v", got.SubscriptionIDs, want)
	}
	got.SubscriptionIDs[1] = "changed-after-lookup"
	got, err = lookup(t, s, h, false, tokenT0)
	if err != nil {
		t.Fatalf("second LookupToken: %v", err)
	}
	if want := []string{"s1", "s2"}; !slices.Equal(got.SubscriptionIDs, want) {
		t.Errorf("SubscriptionIDs after the caller changed a returned slice = %v, want %v", got.SubscriptionIDs, want)
	}
}

func testTokenUnknown(t *testing.T, s subscription.TokenStore) {
	putToken(t, s, "known", ticket(tokenT0.Add(time.Minute)))
	for _, consume := range []bool{false, true} {
		if _, err := lookup(t, s, tokenHash("unknown"), consume, tokenT0); !errors.Is(err, subscription.ErrTokenInvalid) {
			t.Errorf("LookupToken(unknown, consume %v) err = %v, want ErrTokenInvalid", consume, err)
		}
	}
	// The zero hash is not special.
	if _, err := lookup(t, s, [sha256.Size]byte{}, false, tokenT0); !errors.Is(err, subscription.ErrTokenInvalid) {
		t.Errorf("LookupToken(zero hash) err = %v, want ErrTokenInvalid", err)
	}
}

func testTokenReusable(t *testing.T, s subscription.TokenStore) {
	g := subscription.Grant{Kind: subscription.KindBindingToken, SubscriptionIDs: []string{"s1"}, Expires: tokenT0.Add(10 * time.Minute)}
	h := putToken(t, s, "binding", g)
	for i, now := range []time.Time{tokenT0, tokenT0.Add(time.Minute), tokenT0.Add(10*time.Minute - time.Millisecond)} {
		got, err := lookup(t, s, h, false, now)
		if err != nil {
			t.Fatalf("LookupToken #%d (not consuming): %v", i+1, err)
		}
		checkGrant(t, fmt.Sprintf("LookupToken #%d", i+1), got, g)
	}
}

func testTokenConsumeOnce(t *testing.T, s subscription.TokenStore) {
	g := ticket(tokenT0.Add(time.Minute))
	h := putToken(t, s, "ticket", g)
	other := putToken(t, s, "other", g)
	got, err := lookup(t, s, h, true, tokenT0)
	if err != nil {
		t.Fatalf("first consume: %v", err)
	}
	checkGrant(t, "first consume", got, g)
	for _, consume := range []bool{true, false} {
		if _, err := lookup(t, s, h, consume, tokenT0); !errors.Is(err, subscription.ErrTokenInvalid) {
			t.Errorf("LookupToken(consumed, consume %v) err = %v, want ErrTokenInvalid", consume, err)
		}
	}
	// Consuming one token leaves the others.
	if _, err := lookup(t, s, other, true, tokenT0); err != nil {
		t.Errorf("consume of another ticket: %v", err)
	}
}

func testTokenExpiry(t *testing.T, s subscription.TokenStore) {
	exp := tokenT0.Add(time.Minute)
	tests := []struct {
		name    string
		now     time.Time
		expired bool
	}{
		{"long before", tokenT0, false},
		{"1ms before", exp.Add(-time.Millisecond), false},
		{"at Expires", exp, true},
		{"1ms after", exp.Add(time.Millisecond), true},
		{"long after", exp.Add(24 * time.Hour), true},
		{"at Expires in another location", exp.In(time.FixedZone("UTC+2", 7200)), true},
	}
	for _, tc := range tests {
		for _, consume := range []bool{false, true} {
			name := fmt.Sprintf("%s/consume=%v", tc.name, consume)
			h := putToken(t, s, name, ticket(exp))
			_, err := lookup(t, s, h, consume, tc.now)
			switch {
			case tc.expired && !errors.Is(err, subscription.ErrTokenExpired):
				t.Errorf("LookupToken(%s) err = %v, want ErrTokenExpired", name, err)
			case !tc.expired && err != nil:
				t.Errorf("LookupToken(%s) err = %v, want nil", name, err)
			}
		}
	}
}

func testTokenExpiredTicketGone(t *testing.T, s subscription.TokenStore) {
	// A ticket presented too late is deleted anyway: going back in time
	// (a node whose clock is behind) cannot revive it.
	exp := tokenT0.Add(time.Minute)
	h := putToken(t, s, "late", ticket(exp))
	if _, err := lookup(t, s, h, true, exp.Add(time.Second)); !errors.Is(err, subscription.ErrTokenExpired) {
		t.Fatalf("late consume err = %v, want ErrTokenExpired", err)
	}
	for _, consume := range []bool{true, false} {
		if _, err := lookup(t, s, h, consume, tokenT0); !errors.Is(err, subscription.ErrTokenInvalid) {
			t.Errorf("LookupToken(expired consumed ticket, consume %v, earlier now) err = %v, want ErrTokenInvalid", consume, err)
		}
	}

	// A reusable token looked up after it expired may be deleted or kept,
	// but it is never accepted again.
	b := putToken(t, s, "late-binding", subscription.Grant{Kind: subscription.KindBindingToken, SubscriptionIDs: []string{"s1"}, Expires: exp})
	if _, err := lookup(t, s, b, false, exp); !errors.Is(err, subscription.ErrTokenExpired) {
		t.Fatalf("late lookup err = %v, want ErrTokenExpired", err)
	}
	if _, err := lookup(t, s, b, false, exp.Add(time.Second)); !errors.Is(err, subscription.ErrTokenExpired) && !errors.Is(err, subscription.ErrTokenInvalid) {
		t.Errorf("second late lookup err = %v, want ErrTokenExpired or ErrTokenInvalid", err)
	}
}

func testTokenConsumeRace(t *testing.T, s subscription.TokenStore) {
	for round := range ticketRounds {
		name := fmt.Sprintf("race-%d", round)
		h := putToken(t, s, name, ticket(tokenT0.Add(time.Minute)))
		go1 := start()
		var wg sync.WaitGroup
		errs := make([]error, ticketRacers)
		for i := range ticketRacers {
			wg.Go(func() {
				<-go1
				_, errs[i] = s.LookupToken(t.Context(), h, true, tokenT0)
			})
		}
		close(go1)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, subscription.ErrTokenInvalid):
				t.Errorf("%s: racer %d err = %v, want nil or ErrTokenInvalid", name, i, err)
			}
		}
		if won != 1 {
			t.Fatalf("%s: %d of %d concurrent consumers got the ticket, want exactly 1", name, won, ticketRacers)
		}
	}
}

func testTokenPrune(t *testing.T, s subscription.TokenStore) {
	ctx := t.Context()
	tokens := []struct {
		name   string
		exp    time.Time
		pruned bool
	}{
		{"long expired", tokenT0.Add(-time.Hour), true},
		{"just expired", tokenT0.Add(-time.Millisecond), true},
		{"expires at the cut", tokenT0, false},
		{"live", tokenT0.Add(time.Minute), false},
	}
	for _, tk := range tokens {
		putToken(t, s, tk.name, ticket(tk.exp))
	}
	n, err := s.PruneTokens(ctx, tokenT0)
	if err != nil {
		t.Fatalf("PruneTokens: %v", err)
	}
	if n != 2 {
		t.Errorf("PruneTokens(t0) = %d, want 2", n)
	}
	// Look up as of long before, when none had expired: a pruned token is
	// gone, not merely expired.
	for _, tk := range tokens {
		_, err := lookup(t, s, tokenHash(tk.name), false, tokenT0.Add(-2*time.Hour))
		switch {
		case tk.pruned && !errors.Is(err, subscription.ErrTokenInvalid):
			t.Errorf("LookupToken(%s) after prune err = %v, want ErrTokenInvalid", tk.name, err)
		case !tk.pruned && err != nil:
			t.Errorf("LookupToken(%s) after prune err = %v, want nil", tk.name, err)
		}
	}
	if n, err := s.PruneTokens(ctx, tokenT0); err != nil || n != 0 {
		t.Errorf("second PruneTokens(t0) = %d, %v; want 0, nil", n, err)
	}
}
