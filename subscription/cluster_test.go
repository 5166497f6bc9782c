package subscription_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/memstore"
)

// The cluster tests run two Services ("nodes") over one store, as two
// fhirbell processes share one Postgres database.
func TestClusterMemstore(t *testing.T) {
	runClusterTests(t, func(t *testing.T) subscription.Store { return memstore.New() })
}

func TestClusterPostgres(t *testing.T) {
	runClusterTests(t, openPostgres)
}

// changeRecorder is a Broadcaster that remembers every Change, and checks
// that each arrives after its transaction committed: what it names must
// already be readable outside the transaction.
type changeRecorder struct {
	t     *testing.T
	store subscription.Store

	mu      sync.Mutex
	changes []subscription.Change
}

func (r *changeRecorder) Broadcast(c subscription.Change) {
	for _, id := range c.Subscriptions {
		if _, err := r.store.Read(context.Background(), "Subscription", id); errors.Is(err, subscription.ErrNotFound) {
			r.t.Errorf("Broadcast(%v) before Subscription/%s committed", c, id)
		}
	}
	for _, ref := range c.Events {
		evs, err := r.store.Events(context.Background(), ref.SubscriptionID, ref.Number-1, ref.Number, 0, 0)
		if err != nil || len(evs) != 1 {
			r.t.Errorf("Broadcast(%v) before event %v committed: %d events, %v", c, ref, len(evs), err)
		}
	}
	c.Events = slices.Clone(c.Events)
	c.Subscriptions = slices.Clone(c.Subscriptions)
	c.Topics = slices.Clone(c.Topics)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
}

// take returns the changes recorded so far and forgets them.
func (r *changeRecorder) take() []subscription.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.changes
	r.changes = nil
	return out
}

const taskTopic = `{"resourceType":"SubscriptionTopic","id":"task-done","url":"http://example.org/fhir/SubscriptionTopic/task-done","status":"active",
 "resourceTrigger":[{"resource":"Task","supportedInteraction":["update","create"],"fhirPathCriteria":"%current.status = 'completed'"}]}`

const taskSub = `{"resourceType":"Subscription","id":"task-sub","status":"active","reason":"r",
 "criteria":"http://example.org/fhir/SubscriptionTopic/task-done","channel":{"type":"websocket","payload":"application/fhir+json"}}`

func runClusterTests(t *testing.T, newStore func(*testing.T) subscription.Store) {
	// twoNodes returns node a, which broadcasts to rec, and node b, which
	// hears nothing unless the test refreshes it.
	twoNodes := func(t *testing.T) (a, b *env, rec *changeRecorder) {
		store := newStore(t)
		same := func(*testing.T) subscription.Store { return store }
		rec = &changeRecorder{t: t, store: store}
		a = newEnv(t, same)
		a.svc.SetBroadcaster(rec)
		b = newEnv(t, same)
		return a, b, rec
	}

	t.Run("broadcast after commit names events, subscriptions and topics", func(t *testing.T) {
		a, _, rec := twoNodes(t)
		a.create(`{"resourceType":"Patient"}`)
		if got := rec.take(); len(got) != 0 {
			t.Fatalf("a write that changed nothing of interest broadcast %v", got)
		}
		sub := a.create(criteriaSub)
		got := rec.take()
		if len(got) != 1 || !slices.Equal(got[0].Subscriptions, []string{sub.ID}) || len(got[0].Events) != 0 || len(got[0].Topics) != 0 {
			t.Fatalf("subscription create broadcast %+v, want one Change{Subscriptions: [%s]}", got, sub.ID)
		}
		a.create(obs("", "8867-4", "p1"))
		a.create(obs("", "8867-4", "p1"))
		got = rec.take()
		want := []subscription.EventRef{{SubscriptionID: sub.ID, Number: 1}, {SubscriptionID: sub.ID, Number: 2}}
		if len(got) != 2 || !slices.Equal(append(got[0].Events, got[1].Events...), want) {
			t.Fatalf("matching writes broadcast %+v, want events %v", got, want)
		}
		a.update(taskTopic)
		if got := rec.take(); len(got) != 1 || !slices.Equal(got[0].Topics, []string{"task-done"}) {
			t.Fatalf("topic create broadcast %+v, want Topics [task-done]", got)
		}
		if _, err := a.svc.Delete(t.Context(), "Subscription", sub.ID, 0); err != nil {
			t.Fatal(err)
		}
		if got := rec.take(); len(got) != 1 || !slices.Equal(got[0].Subscriptions, []string{sub.ID}) {
			t.Fatalf("subscription delete broadcast %+v, want Subscriptions [%s]", got, sub.ID)
		}
		if _, err := a.svc.Delete(t.Context(), "SubscriptionTopic", "task-done", 0); err != nil {
			t.Fatal(err)
		}
		if got := rec.take(); len(got) != 1 || !slices.Equal(got[0].Topics, []string{"task-done"}) {
			t.Fatalf("topic delete broadcast %+v, want Topics [task-done]", got)
		}
	})

	t.Run("a transaction that fails broadcasts nothing", func(t *testing.T) {
		a, _, rec := twoNodes(t)
		boom := errors.New("boom")
		err := a.svc.Transaction(t.Context(), func(w *subscription.Writer) error {
			r, _ := fhir.ParseResource([]byte(criteriaSub))
			if _, err := w.Create(t.Context(), r); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Transaction = %v, want boom", err)
		}
		if got := rec.take(); len(got) != 0 {
			t.Fatalf("failed transaction broadcast %+v", got)
		}
	})

	t.Run("one transaction writing several resources broadcasts one change", func(t *testing.T) {
		a, _, rec := twoNodes(t)
		err := a.svc.Transaction(t.Context(), func(w *subscription.Writer) error {
			crit := `{"resourceType":"Subscription","id":"crit","status":"active","criteria":"Observation","channel":{"type":"websocket"}}`
			for _, body := range []string{taskTopic, crit, crit} {
				r, _ := fhir.ParseResource([]byte(body))
				if _, _, err := w.Update(t.Context(), r, 0); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got := rec.take()
		if len(got) != 1 || !slices.Equal(got[0].Topics, []string{"task-done"}) || !slices.Equal(got[0].Subscriptions, []string{"crit"}) {
			t.Fatalf("broadcast %+v, want one Change with topic task-done and subscription crit once", got)
		}
	})

	t.Run("refresh makes another node match a new subscription and topic", func(t *testing.T) {
		a, b, _ := twoNodes(t)
		a.update(taskTopic)
		a.update(taskSub)
		if _, ok := b.svc.ActiveSubscription("task-sub"); ok {
			t.Fatal("node b knows task-sub before any refresh; the test proves nothing")
		}
		task := b.create(`{"resourceType":"Task","status":"completed","intent":"order"}`)
		wantNumbers(t, b.events("task-sub")) // b cannot match it yet
		if err := b.svc.Refresh(t.Context(), []string{"task-sub"}, []string{"task-done"}); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if _, ok := b.svc.Topics().Topic("http://example.org/fhir/SubscriptionTopic/task-done"); !ok {
			t.Fatal("topic not known after Refresh")
		}
		if _, ok := b.svc.ActiveSubscription("task-sub"); !ok {
			t.Fatal("subscription not active after Refresh")
		}
		b.update(`{"resourceType":"Task","id":"` + task.ID + `","status":"completed","intent":"order"}`)
		wantNumbers(t, b.events("task-sub"), 1)
	})

	t.Run("refresh removes subscriptions turned off or deleted elsewhere", func(t *testing.T) {
		a, b, _ := twoNodes(t)
		s1 := a.create(criteriaSub)
		s2 := a.create(criteriaSub)
		if err := b.svc.Refresh(t.Context(), []string{s1.ID, s2.ID}, nil); err != nil {
			t.Fatal(err)
		}
		a.update(`{"resourceType":"Subscription","id":"` + s1.ID + `","status":"off","reason":"r","criteria":"Observation","channel":{"type":"websocket"}}`)
		if _, err := a.svc.Delete(t.Context(), "Subscription", s2.ID, 0); err != nil {
			t.Fatal(err)
		}
		if err := b.svc.Refresh(t.Context(), []string{s1.ID, s2.ID, "never-existed"}, nil); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		for _, id := range []string{s1.ID, s2.ID} {
			if _, ok := b.svc.ActiveSubscription(id); ok {
				t.Errorf("ActiveSubscription(%q) after Refresh = true, want false", id)
			}
		}
		b.create(obs("", "8867-4", "p1"))
		wantNumbers(t, b.events(s1.ID))
	})

	t.Run("refresh follows a topic whose url changed and one deleted", func(t *testing.T) {
		a, b, _ := twoNodes(t)
		a.update(taskTopic)
		if err := b.svc.Refresh(t.Context(), nil, []string{"task-done"}); err != nil {
			t.Fatal(err)
		}
		a.update(`{"resourceType":"SubscriptionTopic","id":"task-done","url":"http://example.org/fhir/SubscriptionTopic/task-done-v2","status":"active",
 "resourceTrigger":[{"resource":"Task","fhirPathCriteria":"%current.status = 'completed'"}]}`)
		if err := b.svc.Refresh(t.Context(), nil, []string{"task-done"}); err != nil {
			t.Fatal(err)
		}
		topics := b.svc.Topics()
		if _, ok := topics.Topic("http://example.org/fhir/SubscriptionTopic/task-done"); ok {
			t.Error("old canonical still known after the url changed")
		}
		if _, ok := topics.Topic("http://example.org/fhir/SubscriptionTopic/task-done-v2"); !ok {
			t.Error("new canonical not known")
		}
		if _, err := a.svc.Delete(t.Context(), "SubscriptionTopic", "task-done", 0); err != nil {
			t.Fatal(err)
		}
		if err := b.svc.Refresh(t.Context(), nil, []string{"task-done", "Observation-changed"}); err != nil {
			t.Fatal(err)
		}
		if _, ok := topics.Topic("http://example.org/fhir/SubscriptionTopic/task-done-v2"); ok {
			t.Error("deleted topic still known")
		}
		if len(topics.All()) != len(subscription.BuiltinTopics()) {
			t.Errorf("topics = %d, want the %d built-in ones", len(topics.All()), len(subscription.BuiltinTopics()))
		}
	})

	t.Run("reload makes memory equal the store, removals included", func(t *testing.T) {
		a, b, _ := twoNodes(t)
		gone := a.create(criteriaSub)
		if err := b.svc.Refresh(t.Context(), []string{gone.ID}, nil); err != nil {
			t.Fatal(err)
		}
		b.update(`{"resourceType":"SubscriptionTopic","id":"old-topic","url":"http://example.org/fhir/SubscriptionTopic/old","status":"active",
 "resourceTrigger":[{"resource":"Task"}]}`)
		// Node b misses all of these.
		if _, err := a.svc.Delete(t.Context(), "Subscription", gone.ID, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := a.svc.Delete(t.Context(), "SubscriptionTopic", "old-topic", 0); err != nil {
			t.Fatal(err)
		}
		a.update(taskTopic)
		a.update(taskSub)
		kept := a.create(criteriaSub)

		if err := b.svc.Reload(t.Context()); err != nil {
			t.Fatalf("Reload: %v", err)
		}
		if _, ok := b.svc.ActiveSubscription(gone.ID); ok {
			t.Error("deleted subscription still active after Reload")
		}
		for _, id := range []string{kept.ID, "task-sub"} {
			if _, ok := b.svc.ActiveSubscription(id); !ok {
				t.Errorf("ActiveSubscription(%q) after Reload = false, want true", id)
			}
		}
		if _, ok := b.svc.Topics().Topic("http://example.org/fhir/SubscriptionTopic/old"); ok {
			t.Error("deleted topic still known after Reload")
		}
		for _, bt := range subscription.BuiltinTopics() {
			if _, ok := b.svc.Topics().Topic(bt.URL); !ok {
				t.Errorf("built-in topic %s lost by Reload", bt.URL)
			}
		}
		b.create(`{"resourceType":"Task","status":"completed","intent":"order"}`)
		wantNumbers(t, b.events("task-sub"), 1)
	})

	t.Run("lookup active refreshes on a miss", func(t *testing.T) {
		a, b, _ := twoNodes(t)
		sub := a.create(criteriaSub)
		got, ok, err := b.svc.LookupActive(t.Context(), sub.ID)
		if err != nil || !ok || got.ID != sub.ID {
			t.Fatalf("LookupActive(%q) = %v, %v, %v; want the subscription", sub.ID, got, ok, err)
		}
		if _, ok, err := b.svc.LookupActive(t.Context(), "nope"); ok || err != nil {
			t.Fatalf("LookupActive(nope) = %v, %v; want false, nil", ok, err)
		}
	})
}
