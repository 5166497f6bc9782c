package storetest

import (
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// testNodes checks the NodeRegistry: the latest report per node, stamped
// by the registry, dropped after its ttl, deleted by RetireNode.
func testNodes(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := subscription.NodeReport{NodeID: "a", Address: "http://127.0.0.1:1", Started: started, Sockets: 2, Bindings: 3,
		Subscriptions: []subscription.NodeSubscription{{ID: "s1", Head: 7, BindingCount: 1, MaxLag: 2,
			OldestUndelivered: started.Add(time.Minute),
			Bindings:          []subscription.NodeBinding{{Conn: 9, Dialect: "backport", Auth: "ticket", Cursor: 5, Lag: 2, Since: started}}}}}
	before := time.Now().Add(-time.Minute)
	if err := s.PublishNode(ctx, a); err != nil {
		t.Fatalf("PublishNode: %v", err)
	}
	a.Sockets = 4 // a newer report replaces the older
	if err := s.PublishNode(ctx, a); err != nil {
		t.Fatalf("PublishNode again: %v", err)
	}
	if err := s.PublishNode(ctx, subscription.NodeReport{NodeID: "b", Started: started}); err != nil {
		t.Fatalf("PublishNode(b): %v", err)
	}
	got, err := s.LiveNodes(ctx, time.Hour)
	if err != nil {
		t.Fatalf("LiveNodes: %v", err)
	}
	if len(got) != 2 || got[0].NodeID != "a" || got[1].NodeID != "b" {
		t.Fatalf("LiveNodes = %+v, want a then b", got)
	}
	r := got[0]
	if r.Sockets != 4 || r.Bindings != 3 || r.Address != a.Address || !r.Started.Equal(started) {
		t.Errorf("report a = %+v, want the latest one published", r)
	}
	if r.Reported.Before(before) || r.Reported.After(time.Now().Add(time.Minute)) {
		t.Errorf("Reported = %v, want about now", r.Reported)
	}
	if len(r.Subscriptions) != 1 || len(r.Subscriptions[0].Bindings) != 1 {
		t.Fatalf("subscriptions = %+v, want s1 with one binding", r.Subscriptions)
	}
	sub := r.Subscriptions[0]
	if sub.ID != "s1" || sub.Head != 7 || sub.MaxLag != 2 || !sub.OldestUndelivered.Equal(a.Subscriptions[0].OldestUndelivered) ||
		sub.Bindings[0] != (subscription.NodeBinding{Conn: 9, Dialect: "backport", Auth: "ticket", Cursor: 5, Lag: 2, Since: sub.Bindings[0].Since}) ||
		!sub.Bindings[0].Since.Equal(started) {
		t.Errorf("s1 = %+v, want it as published", sub)
	}
	if err := s.RetireNode(ctx, "b"); err != nil {
		t.Fatalf("RetireNode: %v", err)
	}
	if got, _ := s.LiveNodes(ctx, time.Hour); len(got) != 1 || got[0].NodeID != "a" {
		t.Errorf("after RetireNode(b): %+v, want only a", got)
	}
	time.Sleep(50 * time.Millisecond)
	if got, err := s.LiveNodes(ctx, 10*time.Millisecond); err != nil || len(got) != 0 {
		t.Errorf("LiveNodes(10ms) after 50ms of silence = %+v, %v; want none", got, err)
	}
}
