package postgres

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
)

// tokenNow is the clock of these tests; lookups never use the wall clock.
var tokenNow = time.Date(2031, 5, 17, 9, 30, 0, 0, time.UTC)

// openNodes returns n stores with pools of their own on one fresh, migrated
// schema, as n fhirbell nodes would be.
func openNodes(t *testing.T, n int) []*Store {
	t.Helper()
	dsn := pgtest.NewSchema(t)
	ctx := t.Context()
	nodes := make([]*Store, n)
	for i := range nodes {
		s, err := Open(ctx, dsn, WithMaxConns(4))
		if err != nil {
			t.Fatalf("open node %d: %v", i, err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("migrate node %d: %v", i, err)
		}
		nodes[i] = s
	}
	return nodes
}

func TestTokensAcrossNodes(t *testing.T) {
	nodes := openNodes(t, 2)
	ctx := t.Context()

	// A binding token issued on node 0 binds on node 1, as often as needed.
	bind := subscription.StoredToken{Hash: subscription.HashToken("binding"), Grant: subscription.Grant{
		Kind: subscription.KindBindingToken, SubscriptionIDs: []string{"s1", "s2"},
		Expires: tokenNow.Add(10 * time.Minute), Subject: "alice",
	}}
	if err := nodes[0].PutToken(ctx, bind); err != nil {
		t.Fatalf("PutToken on node 0: %v", err)
	}
	for i := range 2 {
		if g, err := nodes[1].LookupToken(ctx, bind.Hash, false, tokenNow); err != nil || g.Subject != "alice" || len(g.SubscriptionIDs) != 2 {
			t.Fatalf("node 1 lookup #%d of node 0's binding token = %+v, %v; want its grant", i+1, g, err)
		}
	}

	// A ticket issued on node 0 and presented to both nodes at once, many
	// times over, is accepted exactly once.
	const rounds, racersPerNode = 10, 8
	for round := range rounds {
		h := subscription.HashToken(fmt.Sprintf("ticket-%d", round))
		tk := subscription.StoredToken{Hash: h, Grant: subscription.Grant{
			Kind: subscription.KindTicket, SubscriptionIDs: []string{"s1"}, Expires: tokenNow.Add(time.Minute),
		}}
		if err := nodes[0].PutToken(ctx, tk); err != nil {
			t.Fatalf("round %d: PutToken: %v", round, err)
		}
		go1 := make(chan struct{})
		var mu sync.Mutex
		wins := map[int]int{} // node → successful consumes
		var wg sync.WaitGroup
		for n, s := range nodes {
			for range racersPerNode {
				wg.Go(func() {
					<-go1
					_, err := s.LookupToken(ctx, h, true, tokenNow)
					switch {
					case err == nil:
						mu.Lock()
						wins[n]++
						mu.Unlock()
					case !errors.Is(err, subscription.ErrTokenInvalid):
						t.Errorf("round %d: node %d consume err = %v, want nil or ErrTokenInvalid", round, n, err)
					}
				})
			}
		}
		close(go1)
		wg.Wait()
		if total := wins[0] + wins[1]; total != 1 {
			t.Fatalf("round %d: ticket accepted %d times (per node %v), want exactly once", round, total, wins)
		}
	}
}

func TestTokenStoredHashed(t *testing.T) {
	s := OpenTestStore(t)
	ctx := t.Context()
	const secret = "s3cret-ticket-value"
	h := subscription.HashToken(secret)
	g := subscription.Grant{Kind: subscription.KindTicket, SubscriptionIDs: []string{"s1"}, Expires: tokenNow.Add(time.Minute)}
	if err := s.PutToken(ctx, subscription.StoredToken{Hash: h, Grant: g}); err != nil {
		t.Fatalf("PutToken: %v", err)
	}
	var hash []byte
	var authExpiresNull bool
	err := s.pool.QueryRow(ctx, `SELECT hash, auth_expires_at IS NULL FROM ws_tokens`).Scan(&hash, &authExpiresNull)
	if err != nil {
		t.Fatalf("read ws_tokens: %v", err)
	}
	if string(hash) != string(h[:]) {
		t.Errorf("stored hash = %x, want %x", hash, h)
	}
	if !authExpiresNull {
		t.Errorf("auth_expires_at of a grant without auth expiry is not NULL")
	}

	// The same hash twice is a caller's bug, reported as a conflict and
	// without the key in the message.
	err = s.PutToken(ctx, subscription.StoredToken{Hash: h, Grant: g})
	if !errors.Is(err, subscription.ErrConflict) {
		t.Fatalf("second PutToken err = %v, want ErrConflict", err)
	}
	if msg := strings.ToLower(err.Error()); strings.Contains(msg, hex.EncodeToString(h[:])) {
		t.Errorf("PutToken error %q names the hash", msg)
	}
}

func TestTokensClosed(t *testing.T) {
	s := OpenTestStore(t)
	ctx := t.Context()
	_ = s.Close()
	h := subscription.HashToken("x")
	if err := s.PutToken(ctx, subscription.StoredToken{Hash: h}); !errors.Is(err, subscription.ErrUnavailable) {
		t.Errorf("PutToken after Close err = %v, want ErrUnavailable", err)
	}
	if _, err := s.LookupToken(ctx, h, true, tokenNow); !errors.Is(err, subscription.ErrUnavailable) {
		t.Errorf("LookupToken after Close err = %v, want ErrUnavailable", err)
	}
	if _, err := s.PruneTokens(ctx, tokenNow); !errors.Is(err, subscription.ErrUnavailable) {
		t.Errorf("PruneTokens after Close err = %v, want ErrUnavailable", err)
	}
}
