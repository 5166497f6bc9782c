package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// runDelivery checks the subscription.DeliveryStore side of a store: the
// rest-hook cursor, failure record and lease.
func runDelivery(t *testing.T, newStore func(t *testing.T) subscription.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s subscription.DeliveryStore)
	}{
		{"ClaimFresh", testClaimFresh},
		{"LeaseExclusive", testLeaseExclusive},
		{"SaveRoundTrip", testSaveRoundTrip},
		{"CursorNeverBack", testCursorNeverBack},
		{"Release", testRelease},
		{"LeaseExpires", testLeaseExpires},
		{"ConcurrentClaims", testConcurrentClaims},
		{"ClaimSeveral", testClaimSeveral},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, ok := newStore(t).(subscription.DeliveryStore)
			if !ok {
				t.Fatal("the store does not implement subscription.DeliveryStore")
			}
			tc.fn(t, ds)
		})
	}
}

const leaseTTL = time.Minute

// claim claims the one lease sub for holder.
func claim(t *testing.T, s subscription.DeliveryStore, sub, holder string, ttl time.Duration) (subscription.DeliveryState, bool, error) {
	t.Helper()
	got, err := s.ClaimDeliveries(t.Context(), holder, ttl, []string{sub})
	st, ok := got[sub]
	if len(got) > 1 {
		t.Errorf("ClaimDeliveries(%s) returned %d states", sub, len(got))
	}
	return st, ok, err
}

func mustClaim(t *testing.T, s subscription.DeliveryStore, sub, holder string) subscription.DeliveryState {
	t.Helper()
	st, ok, err := claim(t, s, sub, holder, leaseTTL)
	if err != nil || !ok {
		t.Fatalf("ClaimDelivery(%s, %s) = %v, %v; want the lease", sub, holder, ok, err)
	}
	return st
}

func testClaimFresh(t *testing.T, s subscription.DeliveryStore) {
	st := mustClaim(t, s, "s1", "node-a")
	if st != (subscription.DeliveryState{SubscriptionID: "s1"}) {
		t.Errorf("first claim state = %+v, want a zero state naming s1", st)
	}
	got, err := s.DeliveryStates(t.Context(), []string{"s1", "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["nobody"]; ok || len(got) != 1 {
		t.Errorf("DeliveryStates = %v, want s1 only", got)
	}
}

func testLeaseExclusive(t *testing.T, s subscription.DeliveryStore) {
	mustClaim(t, s, "s1", "node-a")
	if _, ok, err := claim(t, s, "s1", "node-b", leaseTTL); err != nil || ok {
		t.Fatalf("node-b claimed a lease node-a holds: %v, %v", ok, err)
	}
	mustClaim(t, s, "s1", "node-a") // renewal
	mustClaim(t, s, "s2", "node-b") // other subscriptions are independent
	err := s.SaveDelivery(t.Context(), "node-b", subscription.DeliveryState{SubscriptionID: "s1", Cursor: 5})
	if !errors.Is(err, subscription.ErrLeaseLost) {
		t.Errorf("SaveDelivery by a non-holder = %v, want ErrLeaseLost", err)
	}
	if err := s.SaveDelivery(t.Context(), "node-a", subscription.DeliveryState{SubscriptionID: "nobody"}); !errors.Is(err, subscription.ErrLeaseLost) {
		t.Errorf("SaveDelivery without any claim = %v, want ErrLeaseLost", err)
	}
}

func sampleState(id string) subscription.DeliveryState {
	at := time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
	return subscription.DeliveryState{
		SubscriptionID: id, Cursor: 42, Handshake: true,
		Notifications: 40, Events: 42, Failures: 3, ConsecutiveFailures: 2,
		FailingSince: at, NextAttempt: at.Add(4 * time.Second),
		Error: "POST answered 503", ErrorCode: subscription.ErrorResponse,
		LastSuccess: at.Add(-time.Minute),
	}
}

func testSaveRoundTrip(t *testing.T, s subscription.DeliveryStore) {
	mustClaim(t, s, "s1", "node-a")
	want := sampleState("s1")
	if err := s.SaveDelivery(t.Context(), "node-a", want); err != nil {
		t.Fatal(err)
	}
	got, err := s.DeliveryStates(t.Context(), []string{"s1"})
	if err != nil {
		t.Fatal(err)
	}
	if !sameState(got["s1"], want) {
		t.Errorf("stored %+v\n read back %+v", want, got["s1"])
	}
	if st := mustClaim(t, s, "s1", "node-a"); !sameState(st, want) {
		t.Errorf("renewal returned %+v, want %+v", st, want)
	}
	// Success clears the failure record, zero times included.
	want.ConsecutiveFailures, want.FailingSince, want.NextAttempt, want.Error, want.ErrorCode = 0, time.Time{}, time.Time{}, "", ""
	if err := s.SaveDelivery(t.Context(), "node-a", want); err != nil {
		t.Fatal(err)
	}
	got, _ = s.DeliveryStates(t.Context(), []string{"s1"})
	if !sameState(got["s1"], want) {
		t.Errorf("after clearing: %+v, want %+v", got["s1"], want)
	}
}

// sameState compares states with times as instants.
func sameState(a, b subscription.DeliveryState) bool {
	eq := func(x, y time.Time) bool { return x.Equal(y) }
	ok := eq(a.FailingSince, b.FailingSince) && eq(a.NextAttempt, b.NextAttempt) && eq(a.LastSuccess, b.LastSuccess)
	a.FailingSince, a.NextAttempt, a.LastSuccess = time.Time{}, time.Time{}, time.Time{}
	b.FailingSince, b.NextAttempt, b.LastSuccess = time.Time{}, time.Time{}, time.Time{}
	return ok && a == b
}

func testCursorNeverBack(t *testing.T, s subscription.DeliveryStore) {
	mustClaim(t, s, "s1", "node-a")
	for _, c := range []int64{7, 3} {
		if err := s.SaveDelivery(t.Context(), "node-a", subscription.DeliveryState{SubscriptionID: "s1", Cursor: c}); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.DeliveryStates(t.Context(), []string{"s1"})
	if got["s1"].Cursor != 7 {
		t.Errorf("cursor after saving 7 then 3 = %d, want 7", got["s1"].Cursor)
	}
}

func testRelease(t *testing.T, s subscription.DeliveryStore) {
	mustClaim(t, s, "s1", "node-a")
	want := sampleState("s1")
	if err := s.SaveDelivery(t.Context(), "node-a", want); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseDelivery(t.Context(), "s1", "node-b"); err != nil { // not its lease: no effect
		t.Fatal(err)
	}
	if _, ok, _ := claim(t, s, "s1", "node-b", leaseTTL); ok {
		t.Fatal("a release by a non-holder freed the lease")
	}
	if err := s.ReleaseDelivery(t.Context(), "s1", "node-a"); err != nil {
		t.Fatal(err)
	}
	if st := mustClaim(t, s, "s1", "node-b"); !sameState(st, want) {
		t.Errorf("the new holder got %+v, want the state node-a saved %+v", st, want)
	}
	if err := s.SaveDelivery(t.Context(), "node-a", want); !errors.Is(err, subscription.ErrLeaseLost) {
		t.Errorf("SaveDelivery after release = %v, want ErrLeaseLost", err)
	}
}

func testLeaseExpires(t *testing.T, s subscription.DeliveryStore) {
	if _, ok, err := claim(t, s, "s1", "node-a", time.Millisecond); err != nil || !ok {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, ok, err := claim(t, s, "s1", "node-b", leaseTTL)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an expired lease was never taken over")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.SaveDelivery(t.Context(), "node-a", subscription.DeliveryState{SubscriptionID: "s1", Cursor: 1}); !errors.Is(err, subscription.ErrLeaseLost) {
		t.Errorf("SaveDelivery by the expired holder = %v, want ErrLeaseLost", err)
	}
}

func testConcurrentClaims(t *testing.T, s subscription.DeliveryStore) {
	const n = 8
	var won atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			got, err := s.ClaimDeliveries(t.Context(), fmt.Sprintf("node-%d", i), leaseTTL, []string{"s1"})
			_, ok := got["s1"]
			if err != nil {
				errs <- err
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if won.Load() != 1 {
		t.Errorf("%d of %d concurrent claims won, want exactly 1", won.Load(), n)
	}
}

func testClaimSeveral(t *testing.T, s subscription.DeliveryStore) {
	mustClaim(t, s, "s2", "node-b")
	mustClaim(t, s, "s3", "node-a")
	if err := s.SaveDelivery(t.Context(), "node-a", sampleState("s3")); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimDeliveries(t.Context(), "node-a", leaseTTL, []string{"s3", "s2", "s1", "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["s2"]; ok || len(got) != 2 {
		t.Fatalf("ClaimDeliveries = %v, want s1 and s3 (node-b holds s2)", got)
	}
	if !sameState(got["s3"], sampleState("s3")) || got["s1"] != (subscription.DeliveryState{SubscriptionID: "s1"}) {
		t.Errorf("claimed states = %+v", got)
	}
	if got, err := s.ClaimDeliveries(t.Context(), "node-a", leaseTTL, nil); err != nil || len(got) != 0 {
		t.Errorf("ClaimDeliveries(none) = %v, %v", got, err)
	}
}
