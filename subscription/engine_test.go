package subscription_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/memstore"
	"github.com/fhirbell/fhirbell/subscription/postgres"
	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
	"github.com/google/uuid"
)

// The engine tests run on both stores: numbering and atomicity are the
// store's job, matching the Service's, and both must hold together.
func TestEngineMemstore(t *testing.T) {
	runEngineTests(t, func(t *testing.T) subscription.Store { return memstore.New() })
}

func TestEnginePostgres(t *testing.T) {
	runEngineTests(t, openPostgres)
}

// openPostgres returns a Postgres store on a fresh, migrated schema (see
// pgtest.NewSchema), closed in t.Cleanup; it skips without a test database.
func openPostgres(t *testing.T) subscription.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), pgtest.NewSchema(t))
	if err != nil {
		t.Fatalf("open test store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate test store: %v", err)
	}
	return s
}

// recorder is a Publisher that remembers what it was told.
type recorder struct {
	mu   sync.Mutex
	refs []subscription.EventRef
}

func (r *recorder) Publish(refs []subscription.EventRef) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refs = append(r.refs, refs...)
}

func (r *recorder) got() []subscription.EventRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.refs)
}

type env struct {
	t     *testing.T
	store subscription.Store
	svc   *subscription.Service
	pub   *recorder
}

func newEnv(t *testing.T, newStore func(*testing.T) subscription.Store, opts ...subscription.Option) *env {
	t.Helper()
	store := newStore(t)
	pub := &recorder{}
	svc := subscription.NewService(store, opts...)
	svc.SetPublisher(pub)
	if err := svc.Load(t.Context()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return &env{t: t, store: store, svc: svc, pub: pub}
}

func (e *env) create(body string) subscription.Resource {
	e.t.Helper()
	r, err := fhir.ParseResource([]byte(body))
	if err != nil {
		e.t.Fatalf("parse %s: %v", body, err)
	}
	res, err := e.svc.Create(e.t.Context(), r)
	if err != nil {
		e.t.Fatalf("create %s: %v", body, err)
	}
	return res
}

func (e *env) update(body string) subscription.Resource {
	e.t.Helper()
	r, err := fhir.ParseResource([]byte(body))
	if err != nil {
		e.t.Fatalf("parse %s: %v", body, err)
	}
	res, _, err := e.svc.Update(e.t.Context(), r, 0)
	if err != nil {
		e.t.Fatalf("update %s: %v", body, err)
	}
	return res
}

func (e *env) events(subID string) []subscription.Event {
	e.t.Helper()
	evs, err := e.store.Events(e.t.Context(), subID, 0, 0, 0, 0)
	if err != nil {
		e.t.Fatalf("Events(%s): %v", subID, err)
	}
	return evs
}

func numbers(evs []subscription.Event) []int64 {
	out := []int64{}
	for _, ev := range evs {
		out = append(out, ev.Number)
	}
	return out
}

func wantNumbers(t *testing.T, evs []subscription.Event, want ...int64) {
	t.Helper()
	if got := numbers(evs); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("event numbers = %v, want %v", got, want)
	}
}

const criteriaSub = `{"resourceType":"Subscription","status":"requested","reason":"r",
 "criteria":"Observation?code=http://loinc.org|8867-4&subject=Patient/p1",
 "channel":{"type":"websocket","payload":"application/fhir+json"}}`

// obs returns an Observation; an empty id leaves the id out (for create).
func obs(id, code, patient string) string {
	return fmt.Sprintf(`{"resourceType":"Observation",%s"status":"final",
 "code":{"coding":[{"system":"http://loinc.org","code":%q}]},"subject":{"reference":"Patient/%s"}}`, idMember(id), code, patient)
}

func idMember(id string) string {
	if id == "" {
		return ""
	}
	return fmt.Sprintf(`"id":%q,`, id)
}

func runEngineTests(t *testing.T, newStore func(*testing.T) subscription.Store) {
	t.Run("criteria subscription numbers matching writes", func(t *testing.T) {
		e := newEnv(t, newStore)
		sub := e.create(criteriaSub)
		if !strings.Contains(string(sub.Body), `"active"`) {
			t.Fatalf("stored subscription is not active: %s", sub.Body)
		}
		o1 := e.create(obs("", "8867-4", "p1"))
		e.create(obs("", "8867-4", "p2"))    // other patient
		e.create(obs("", "1234-5", "p1"))    // other code
		e.update(obs(o1.ID, "8867-4", "p1")) // update matches again
		evs := e.events(sub.ID)
		wantNumbers(t, evs, 1, 2)
		ev := evs[0]
		if ev.FocusType != "Observation" || ev.FocusID != o1.ID || ev.FocusVersion != 1 || ev.Interaction != "create" {
			t.Errorf("event 1 = %+v", ev)
		}
		if evs[1].FocusVersion != 2 || evs[1].Interaction != "update" {
			t.Errorf("event 2 = %+v", evs[1])
		}
		if len(ev.Resource) == 0 {
			t.Errorf("full-resource event has no snapshot")
		}
		if got := e.pub.got(); len(got) != 2 || got[1] != (subscription.EventRef{SubscriptionID: sub.ID, Number: 2}) {
			t.Errorf("published %v", got)
		}
	})

	t.Run("a transaction numbers its matching writes in order with one append", func(t *testing.T) {
		appends := 0
		e := newEnv(t, func(t *testing.T) subscription.Store { return &countingStore{Store: newStore(t), appends: &appends} })
		sub := e.create(criteriaSub)
		e.create(obs("b0", "8867-4", "p1"))
		before := appends
		var want []string
		err := e.svc.Transaction(t.Context(), func(w *subscription.Writer) error {
			for i, code := range []string{"8867-4", "1234-5", "8867-4", "8867-4", "8867-4"} {
				r, err := fhir.ParseResource([]byte(obs("", code, "p1")))
				if err != nil {
					return err
				}
				res, err := w.CreateWithID(t.Context(), r, fmt.Sprintf("t%d", 9-i)) // ids against the write order
				if err != nil {
					return err
				}
				if code == "8867-4" {
					want = append(want, res.ID)
				}
			}
			r, _ := fhir.ParseResource([]byte(obs("b0", "8867-4", "p1")))
			_, _, err := w.Update(t.Context(), r, 0)
			want = append(want, "b0")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := appends - before; n != 1 {
			t.Errorf("the transaction appended events %d times, want once", n)
		}
		evs := e.events(sub.ID)
		wantNumbers(t, evs, 1, 2, 3, 4, 5, 6)
		var got []string
		for _, ev := range evs[1:] {
			got = append(got, ev.FocusID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("events 2-6 are of %v, want the write order %v", got, want)
		}
		for i := 1; i < len(evs); i++ {
			if evs[i].Time.Before(evs[i-1].Time) {
				t.Errorf("event %d is timed %v, before event %d (%v): times must follow numbers", evs[i].Number, evs[i].Time, evs[i-1].Number, evs[i-1].Time)
			}
		}
		if refs := e.pub.got(); len(refs) != 6 || refs[5].Number != 6 {
			t.Errorf("published %v, want numbers 1 to 6", refs)
		}
	})

	t.Run("invalid subscription is refused and stores nothing", func(t *testing.T) {
		e := newEnv(t, newStore)
		r, _ := fhir.ParseResource([]byte(`{"resourceType":"Subscription","status":"active","criteria":"Observation?colour=blue","channel":{"type":"websocket"}}`))
		_, err := e.svc.Create(t.Context(), r)
		var ve *fhir.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("Create = %v, want a ValidationError", err)
		}
		found, err := e.store.Search(t.Context(), "Subscription", func([]byte) (bool, error) { return true, nil })
		if err != nil || len(found) != 0 {
			t.Fatalf("Search = %d, %v; want none stored", len(found), err)
		}
	})

	t.Run("topic subscription with filter and encounter-start transition", func(t *testing.T) {
		e := newEnv(t, newStore)
		sub := e.create(`{"resourceType":"Subscription","status":"requested","reason":"r",
 "criteria":"` + subscription.EncounterStartTopic + `",
 "_criteria":{"extension":[{"url":"` + subscription.ExtFilterCriteria + `","valueString":"Encounter?patient=Patient/p1"}]},
 "channel":{"type":"websocket","payload":"application/fhir+json",
  "_payload":{"extension":[{"url":"` + subscription.ExtPayloadContent + `","valueCode":"id-only"}]}}}`)
		enc := func(id, status, patient string) string {
			return fmt.Sprintf(`{"resourceType":"Encounter",%s"status":%q,"class":{"code":"IMP"},"subject":{"reference":"Patient/%s"}}`, idMember(id), status, patient)
		}
		e1 := e.create(enc("", "planned", "p1"))     // not started: no event
		e.update(enc(e1.ID, "in-progress", "p1"))    // starts: event 1
		e.update(enc(e1.ID, "in-progress", "p1"))    // still in progress: none
		e.create(enc("", "in-progress", "p2"))       // other patient: none
		e3 := e.create(enc("", "in-progress", "p1")) // created in progress: event 2
		evs := e.events(sub.ID)
		wantNumbers(t, evs, 1, 2)
		if evs[0].FocusID != e1.ID || evs[1].FocusID != e3.ID {
			t.Errorf("focus ids = %s, %s; want %s, %s", evs[0].FocusID, evs[1].FocusID, e1.ID, e3.ID)
		}
		if evs[0].Resource != nil {
			t.Errorf("id-only event carries a snapshot")
		}
		if !slices.Contains(evs[0].AdditionalContext, "Patient/p1") {
			t.Errorf("additional context = %v, want Patient/p1", evs[0].AdditionalContext)
		}
	})

	t.Run("changed topic fires on delete without snapshot", func(t *testing.T) {
		e := newEnv(t, newStore)
		sub := e.create(`{"resourceType":"Subscription","status":"active","reason":"r",
 "criteria":"` + subscription.ChangedTopic("Patient") + `",
 "channel":{"type":"websocket","payload":"application/fhir+json",
  "_payload":{"extension":[{"url":"` + subscription.ExtPayloadContent + `","valueCode":"full-resource"}]}}}`)
		p := e.create(`{"resourceType":"Patient","active":true}`)
		if _, err := e.svc.Delete(t.Context(), "Patient", p.ID, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Delete(t.Context(), "Patient", p.ID, 0); err != nil { // deleting again changes nothing
			t.Fatal(err)
		}
		evs := e.events(sub.ID)
		wantNumbers(t, evs, 1, 2)
		if evs[1].Interaction != "delete" || evs[1].Resource != nil || evs[1].FocusVersion != 2 {
			t.Errorf("delete event = %+v", evs[1])
		}
	})

	t.Run("rolled back write appends nothing and leaves no gap", func(t *testing.T) {
		e := newEnv(t, newStore)
		sub := e.create(criteriaSub)
		boom := errors.New("boom")
		err := e.svc.Transaction(t.Context(), func(w *subscription.Writer) error {
			r, _ := fhir.ParseResource([]byte(obs("", "8867-4", "p1")))
			if _, err := w.Create(t.Context(), r); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Transaction = %v, want boom", err)
		}
		wantNumbers(t, e.events(sub.ID))
		if len(e.pub.got()) != 0 {
			t.Fatalf("rolled-back events were published: %v", e.pub.got())
		}
		e.create(obs("", "8867-4", "p1"))
		wantNumbers(t, e.events(sub.ID), 1)
	})

	t.Run("authorizer veto numbers nothing", func(t *testing.T) {
		deny := denyPatient("p2")
		e := newEnv(t, newStore, subscription.WithAuthorizer(deny))
		sub := e.create(`{"resourceType":"Subscription","status":"active","criteria":"Observation","channel":{"type":"websocket"}}`)
		e.create(obs("", "1", "p1"))
		e.create(obs("", "1", "p2"))
		e.create(obs("", "1", "p1"))
		evs := e.events(sub.ID)
		wantNumbers(t, evs, 1, 2)
	})

	t.Run("subscriptions survive a restart", func(t *testing.T) {
		e := newEnv(t, newStore)
		sub := e.create(criteriaSub)
		e.create(obs("", "8867-4", "p1"))
		// A second Service on the same store, as after a restart.
		svc2 := subscription.NewService(e.store)
		if err := svc2.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, ok := svc2.ActiveSubscription(sub.ID); !ok {
			t.Fatalf("subscription %s not loaded", sub.ID)
		}
		r, _ := fhir.ParseResource([]byte(obs("", "8867-4", "p1")))
		if _, err := svc2.Create(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		wantNumbers(t, e.events(sub.ID), 1, 2)
	})

	t.Run("deleted or turned off subscriptions stop matching", func(t *testing.T) {
		e := newEnv(t, newStore)
		a := e.create(criteriaSub)
		b := e.create(criteriaSub)
		if _, err := e.svc.Delete(t.Context(), "Subscription", a.ID, 0); err != nil {
			t.Fatal(err)
		}
		e.update(strings.Replace(strings.Replace(criteriaSub, `"requested"`, `"off"`, 1), `{"resourceType":"Subscription",`, `{"resourceType":"Subscription","id":"`+b.ID+`",`, 1))
		e.create(obs("", "8867-4", "p1"))
		wantNumbers(t, e.events(a.ID))
		wantNumbers(t, e.events(b.ID))
	})

	t.Run("built-in topics are stored and immutable", func(t *testing.T) {
		e := newEnv(t, newStore)
		r, err := e.svc.Read(t.Context(), "SubscriptionTopic", "Observation-changed")
		if err != nil {
			t.Fatalf("read built-in topic: %v", err)
		}
		tr, _ := fhir.ParseResource(r.Body)
		_, _, err = e.svc.Update(t.Context(), tr, 0)
		var ve *fhir.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("update built-in = %v, want a ValidationError", err)
		}
		if _, err := e.svc.Delete(t.Context(), "SubscriptionTopic", "Observation-changed", 0); !errors.As(err, &ve) {
			t.Fatalf("delete built-in = %v, want a ValidationError", err)
		}
		// Loading twice (a second node, a restart) stores nothing new.
		if err := e.svc.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		h, _ := e.svc.History(t.Context(), "SubscriptionTopic", "Observation-changed")
		if len(h) != 1 {
			t.Fatalf("built-in topic has %d versions, want 1", len(h))
		}
	})

	t.Run("user topic drives subscriptions and cannot be deleted while used", func(t *testing.T) {
		e := newEnv(t, newStore)
		e.create(`{"resourceType":"SubscriptionTopic","url":"http://example.org/fhir/SubscriptionTopic/task-done","status":"active",
 "resourceTrigger":[{"resource":"Task","supportedInteraction":["update"],"fhirPathCriteria":"%previous.status != 'completed' and %current.status = 'completed'"}]}`)
		topic, _ := e.svc.Topics().Topic("http://example.org/fhir/SubscriptionTopic/task-done")
		if topic == nil {
			t.Fatal("user topic not registered")
		}
		sub := e.create(`{"resourceType":"Subscription","status":"active","criteria":"http://example.org/fhir/SubscriptionTopic/task-done","channel":{"type":"websocket","payload":"application/fhir+json"}}`)
		task := e.create(`{"resourceType":"Task","status":"in-progress","intent":"order"}`)
		e.update(`{"resourceType":"Task","id":"` + task.ID + `","status":"completed","intent":"order"}`)
		wantNumbers(t, e.events(sub.ID), 1)
		_, err := e.svc.Delete(t.Context(), "SubscriptionTopic", topic.ID, 0)
		if !errors.Is(err, subscription.ErrConflict) {
			t.Fatalf("delete used topic = %v, want ErrConflict", err)
		}
	})

	t.Run("end turns a subscription off and past events are pruned", func(t *testing.T) {
		clock := &fakeClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
		e := newEnv(t, newStore, subscription.WithClock(clock.now), subscription.WithRetention(time.Hour))
		sub := e.create(`{"resourceType":"Subscription","status":"active","end":"2026-05-01T13:00:00Z","criteria":"Observation","channel":{"type":"websocket"}}`)
		e.create(obs("", "1", "p1"))
		wantNumbers(t, e.events(sub.ID), 1)

		clock.advance(2 * time.Hour) // past the end, and event 1 is past retention
		if err := e.svc.Maintain(t.Context()); err != nil {
			t.Fatalf("Maintain: %v", err)
		}
		cur, err := e.svc.Read(t.Context(), "Subscription", sub.ID)
		if err != nil || !strings.Contains(string(cur.Body), `"off"`) {
			t.Fatalf("after end: %s, %v; want status off", cur.Body, err)
		}
		if _, ok := e.svc.ActiveSubscription(sub.ID); ok {
			t.Fatal("ended subscription is still active")
		}
		e.create(obs("", "1", "p1"))
		wantNumbers(t, e.events(sub.ID)) // pruned, and nothing new
		heads, err := e.svc.EventHeads(t.Context(), []string{sub.ID})
		if err != nil || heads[sub.ID].Last != 1 || heads[sub.ID].FirstRetained != 2 {
			t.Fatalf("EventHeads = %+v, %v; want Last 1, FirstRetained 2", heads, err)
		}
	})

	t.Run("concurrent writers get gap-free numbers", func(t *testing.T) {
		e := newEnv(t, newStore)
		s1 := e.create(`{"resourceType":"Subscription","status":"active","criteria":"Observation","channel":{"type":"websocket"}}`)
		s2 := e.create(criteriaSub)
		const writers, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for range writers {
			wg.Go(func() {
				for range each {
					r, _ := fhir.ParseResource([]byte(obs("", "8867-4", "p1")))
					if _, err := e.svc.Create(context.WithoutCancel(t.Context()), r); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, id := range []string{s1.ID, s2.ID} {
			evs := e.events(id)
			for i, ev := range evs {
				if ev.Number != int64(i+1) {
					t.Fatalf("subscription %s: event %d has number %d", id, i, ev.Number)
				}
			}
			if len(evs) != writers*each {
				t.Fatalf("subscription %s has %d events, want %d", id, len(evs), writers*each)
			}
		}
	})
}

// denyPatient is an Authorizer that hides one patient's resources.
type denyPatient string

func (d denyPatient) MayRead(_ context.Context, _ *subscription.Subscription, _ string, body []byte) (bool, error) {
	return !strings.Contains(string(body), `"Patient/`+string(d)+`"`), nil
}

// fakeClock is a settable time source.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingStore counts the AppendEvents calls of its transactions.
type countingStore struct {
	subscription.Store
	appends *int
}

func (s *countingStore) Tx(ctx context.Context, fn func(subscription.Tx) error) error {
	return s.Store.Tx(ctx, func(tx subscription.Tx) error { return fn(&countingTx{Tx: tx, appends: s.appends}) })
}

type countingTx struct {
	subscription.Tx
	appends *int
}

func (t *countingTx) AppendEvents(ctx context.Context, evs []subscription.Event) ([]subscription.Event, error) {
	*t.appends++
	return t.Tx.AppendEvents(ctx, evs)
}

// Server-assigned ids are version 7 UUIDs in the order they were made, so
// the id-keyed indexes grow at their right edge (see newID).
func TestNewIDsGrowWithTime(t *testing.T) {
	svc := subscription.NewService(memstore.New())
	prev := ""
	for range 2000 {
		id := svc.NewID()
		u, err := uuid.Parse(id)
		if err != nil || u.Version() != 7 {
			t.Fatalf("NewID() = %q (version %v, %v), want a version 7 UUID", id, u.Version(), err)
		}
		if id <= prev {
			t.Fatalf("NewID() = %s after %s: ids must grow", id, prev)
		}
		prev = id
	}
}
