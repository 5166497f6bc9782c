package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// testLockExcludes: a second Lock on a key waits for the first unlock;
// other keys do not wait; a done context ends the wait.
func testLockExcludes(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	unlock, err := s.Lock(ctx, []string{"b", "a", "a"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Lock(ctx, []string{"c"})
	if err != nil {
		t.Fatalf("Lock of another key: %v", err)
	}
	other()

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if u, err := s.Lock(short, []string{"a"}); err == nil {
		u()
		t.Fatal("Lock of a held key returned before unlock")
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock of a held key with a deadline: %v, want DeadlineExceeded", err)
	}

	var got atomic.Bool
	done := make(chan error, 1)
	go func() {
		u, err := s.Lock(ctx, []string{"a", "b"})
		if err == nil {
			got.Store(true)
			u()
		}
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if got.Load() {
		t.Fatal("a held key was locked twice")
	}
	unlock()
	unlock() // a second call is harmless
	if err := <-done; err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
}

// testConditionalCreateRace: concurrent conditional creates with the same
// criteria through a Service make one resource; the others get it.
func testConditionalCreateRace(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	svc := subscription.NewService(s)
	if err := svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	crit, err := subscription.ParseCriteria("Patient", "identifier=http://example.org/mrn|42")
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	ids := make([]string, n)
	created := make([]bool, n)
	errs := make([]error, n)
	go1 := start()
	for i := range n {
		wg.Go(func() {
			<-go1
			r, err := fhir.ParseResource([]byte(`{"resourceType":"Patient","identifier":[{"system":"http://example.org/mrn","value":"42"}]}`))
			if err != nil {
				errs[i] = err
				return
			}
			res, c, err := svc.ConditionalCreate(ctx, r, crit)
			ids[i], created[i], errs[i] = res.ID, c, err
		})
	}
	close(go1)
	wg.Wait()
	nCreated := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("conditional create %d: %v", i, errs[i])
		}
		if created[i] {
			nCreated++
		}
		if ids[i] != ids[0] {
			t.Errorf("conditional create %d answered %s, another %s", i, ids[i], ids[0])
		}
	}
	if nCreated != 1 {
		t.Fatalf("%d of %d concurrent conditional creates created, want 1", nCreated, n)
	}
	found, err := svc.Match(ctx, crit)
	if err != nil || len(found) != 1 {
		t.Fatalf("after the race %d resources match (%v), want 1", len(found), err)
	}
}
