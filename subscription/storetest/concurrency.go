package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fhirbell/fhirbell/subscription"
)

// Sizes of the concurrency tests: enough goroutines to queue on one
// resource and exhaust a small connection pool, few enough to stay fast.
const (
	writers          = 20
	writesPerWriter  = 10
	ifMatchRounds    = 5
	ifMatchRacers    = 8
	createsPerWriter = 5
)

// checkGapFree fails t unless typ/id has exactly versions 1..n, newest
// first, each one a live version stamped to agree with its fields.
func checkGapFree(t *testing.T, s subscription.Store, typ, id string, n int64) {
	t.Helper()
	h, err := s.History(t.Context(), typ, id)
	if err != nil {
		t.Fatalf("History(%s/%s): %v", typ, id, err)
	}
	if int64(len(h)) != n {
		t.Fatalf("History(%s/%s) has %d versions, want %d", typ, id, len(h), n)
	}
	for i, r := range h {
		checkVersion(t, r, typ, id, n-int64(i), false)
	}
	r, err := s.Read(t.Context(), typ, id)
	if err != nil || r.VersionID != n {
		t.Errorf("Read(%s/%s): version %d, err %v; want %d", typ, id, r.VersionID, err, n)
	}
}

// start returns a channel that, once closed, releases every goroutine
// waiting on it at once, so that they race.
func start() chan struct{} { return make(chan struct{}) }

func testConcurrentPutsSameID(t *testing.T, s subscription.Store) {
	create(t, s, "Patient", "p1", "")
	go1 := start()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-go1
			for i := range writesPerWriter {
				if _, created, err := put(t, s, "Patient", "p1", fmt.Sprintf(`"gender":"w%d-%d"`, w, i), 0); err != nil || created {
					t.Errorf("writer %d put %d: created %v, err %v; want false, nil", w, i, created, err)
				}
			}
		})
	}
	close(go1)
	wg.Wait()
	checkGapFree(t, s, "Patient", "p1", 1+writers*writesPerWriter)
}

func testConcurrentPutsNewID(t *testing.T, s subscription.Store) {
	// Every writer's first Put may find no version yet: the store must
	// queue them rather than fail on the race to create the resource.
	var createdCount atomic.Int64
	go1 := start()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-go1
			_, created, err := put(t, s, "Patient", "p1", fmt.Sprintf(`"gender":"w%d"`, w), 0)
			if err != nil {
				t.Errorf("writer %d: %v", w, err)
			}
			if created {
				createdCount.Add(1)
			}
		})
	}
	close(go1)
	wg.Wait()
	if got := createdCount.Load(); got != 1 {
		t.Errorf("%d concurrent Puts of a new id reported created, want exactly 1", got)
	}
	checkGapFree(t, s, "Patient", "p1", writers)
}

func testConcurrentCreatesDistinct(t *testing.T, s subscription.Store) {
	go1 := start()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-go1
			for i := range createsPerWriter {
				id := fmt.Sprintf("w%d-%d", w, i)
				err := s.Tx(t.Context(), func(tx subscription.Tx) error {
					_, err := tx.Create(t.Context(), newResource(t, "Observation", id, ""))
					return err
				})
				if err != nil {
					t.Errorf("create %s: %v", id, err)
				}
			}
		})
	}
	close(go1)
	wg.Wait()
	all, err := s.Search(t.Context(), "Observation", func([]byte) (bool, error) { return true, nil })
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	var got []string
	for _, r := range all {
		if r.VersionID != 1 {
			t.Errorf("Observation/%s is at version %d, want 1", r.ID, r.VersionID)
		}
		got = append(got, r.ID)
	}
	slices.Sort(got)
	if n := len(slices.Compact(got)); n != writers*createsPerWriter || len(all) != n {
		t.Errorf("Search found %d resources (%d distinct), want %d", len(all), n, writers*createsPerWriter)
	}
	checkSorted(t, all)
}

func testConcurrentCreatesSameID(t *testing.T, s subscription.Store) {
	var won, conflicts atomic.Int64
	go1 := start()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-go1
			err := s.Tx(t.Context(), func(tx subscription.Tx) error {
				_, err := tx.Create(t.Context(), newResource(t, "Patient", "p1", fmt.Sprintf(`"gender":"w%d"`, w)))
				return err
			})
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, subscription.ErrConflict):
				conflicts.Add(1)
			default:
				t.Errorf("writer %d: err = %v, want nil or ErrConflict", w, err)
			}
		})
	}
	close(go1)
	wg.Wait()
	if won.Load() != 1 || conflicts.Load() != writers-1 {
		t.Errorf("concurrent Creates of one id: %d won, %d conflicts; want 1 and %d", won.Load(), conflicts.Load(), writers-1)
	}
	checkGapFree(t, s, "Patient", "p1", 1)
}

func testConcurrentIfMatch(t *testing.T, s subscription.Store) {
	create(t, s, "Patient", "p1", "")
	for round := range ifMatchRounds {
		v := int64(round + 1) // the current version
		var won, failed atomic.Int64
		go1 := start()
		var wg sync.WaitGroup
		for w := range ifMatchRacers {
			wg.Go(func() {
				<-go1
				_, _, err := put(t, s, "Patient", "p1", fmt.Sprintf(`"gender":"r%d-w%d"`, round, w), v)
				switch {
				case err == nil:
					won.Add(1)
				case errors.Is(err, subscription.ErrPreconditionFailed):
					failed.Add(1)
				default:
					t.Errorf("round %d writer %d: err = %v, want nil or ErrPreconditionFailed", round, w, err)
				}
			})
		}
		close(go1)
		wg.Wait()
		if won.Load() != 1 || failed.Load() != ifMatchRacers-1 {
			t.Fatalf("round %d: %d If-Match writers won, %d failed; want 1 and %d", round, won.Load(), failed.Load(), ifMatchRacers-1)
		}
	}
	checkGapFree(t, s, "Patient", "p1", 1+ifMatchRounds)
}
