package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
	"github.com/fhirbell/fhirbell/subscription/storetest"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) subscription.Store { return OpenTestStore(t) })
}

func mustParse(t *testing.T, body string) *fhir.Resource {
	t.Helper()
	r, err := fhir.ParseResource([]byte(body))
	if err != nil {
		t.Fatalf("ParseResource(%s): %v", body, err)
	}
	return r
}

func mustPut(t *testing.T, s subscription.Store, typ, id string) subscription.Resource {
	t.Helper()
	var res subscription.Resource
	err := s.Tx(t.Context(), func(tx subscription.Tx) error {
		var err error
		res, _, err = tx.Put(t.Context(), mustParse(t, fmt.Sprintf(`{"resourceType":%q,"id":%q}`, typ, id)), 0)
		return err
	})
	if err != nil {
		t.Fatalf("put %s/%s: %v", typ, id, err)
	}
	return res
}

func all([]byte) (bool, error) { return true, nil }

func TestSearchPages(t *testing.T) {
	s := OpenTestStore(t)
	want := []string{}
	for i := range 7 {
		id := fmt.Sprintf("p%d", i)
		mustPut(t, s, "Patient", id)
		want = append(want, id)
	}
	for _, size := range []int{1, 2, 3, 7, 8, 500} {
		s.pageSize = size
		got, err := s.Search(t.Context(), "Patient", all)
		if err != nil {
			t.Fatalf("Search with pages of %d: %v", size, err)
		}
		var gotIDs []string
		for _, r := range got {
			gotIDs = append(gotIDs, r.ID)
		}
		if strings.Join(gotIDs, ",") != strings.Join(want, ",") {
			t.Errorf("Search with pages of %d = %v, want %v", size, gotIDs, want)
		}
	}
}

func TestSearchOneSnapshot(t *testing.T) {
	// An update made while the search runs moves the resource to the end of
	// the (last_updated, id) order; read page by page without one snapshot
	// it would be matched twice.
	s := OpenTestStore(t)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		mustPut(t, s, "Patient", id)
	}
	s.pageSize = 2
	updated := false
	got, err := s.Search(t.Context(), "Patient", func([]byte) (bool, error) {
		if !updated {
			updated = true
			mustPut(t, s, "Patient", "a")
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	var desc []string
	for _, r := range got {
		desc = append(desc, fmt.Sprintf("%s/%d", r.ID, r.VersionID))
	}
	if want := "a/1,b/1,c/1,d/1,e/1"; strings.Join(desc, ",") != want {
		t.Errorf("Search during an update = %v, want %s", desc, want)
	}
}

func TestUncommittedInvisible(t *testing.T) {
	// Unlike memstore, reads do not wait for writers: check from inside the
	// transaction that another connection sees only committed state.
	s := OpenTestStore(t)
	ctx := t.Context()
	mustPut(t, s, "Patient", "kept")
	err := s.Tx(ctx, func(tx subscription.Tx) error {
		if _, err := tx.Create(ctx, mustParse(t, `{"resourceType":"Patient","id":"new"}`)); err != nil {
			return err
		}
		if _, _, err := tx.Put(ctx, mustParse(t, `{"resourceType":"Patient","id":"kept"}`), 0); err != nil {
			return err
		}
		if _, err := s.Read(ctx, "Patient", "new"); !errors.Is(err, subscription.ErrNotFound) {
			t.Errorf("Read(uncommitted create) err = %v, want ErrNotFound", err)
		}
		if r, err := s.Read(ctx, "Patient", "kept"); err != nil || r.VersionID != 1 {
			t.Errorf("Read(uncommitted update): version %d, err %v; want 1", r.VersionID, err)
		}
		if h, err := s.History(ctx, "Patient", "kept"); err != nil || len(h) != 1 {
			t.Errorf("History(uncommitted update): %d versions, err %v; want 1", len(h), err)
		}
		if got, err := s.Search(ctx, "Patient", all); err != nil || len(got) != 1 || got[0].VersionID != 1 {
			t.Errorf("Search during the transaction: %d results, err %v; want kept/1", len(got), err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Tx: %v", err)
	}
	if r, err := s.Read(ctx, "Patient", "kept"); err != nil || r.VersionID != 2 {
		t.Errorf("Read after commit: version %d, err %v; want 2", r.VersionID, err)
	}
}

func TestTwoNodes(t *testing.T) {
	// Two stores with pools of their own on one schema, as two fhirbell
	// nodes would be.
	dsn := pgtest.NewSchema(t)
	ctx := t.Context()
	var nodes [2]*Store
	for i := range nodes {
		s, err := Open(ctx, dsn, WithMaxConns(3))
		if err != nil {
			t.Fatalf("open node %d: %v", i, err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("migrate node %d: %v", i, err)
		}
		nodes[i] = s
	}
	w := mustPut(t, nodes[0], "Patient", "p1")
	r, err := nodes[1].Read(ctx, "Patient", "p1")
	if err != nil || r.VersionID != 1 || string(r.Body) != string(w.Body) {
		t.Fatalf("node 1 Read of node 0's write: %+v, %v", r, err)
	}

	// Both nodes write one resource at once: versions stay gap-free.
	const perNode = 15
	var wg sync.WaitGroup
	for _, s := range nodes {
		for range 3 {
			wg.Go(func() {
				for range perNode / 3 {
					err := s.Tx(ctx, func(tx subscription.Tx) error {
						_, _, err := tx.Put(ctx, mustParse(t, `{"resourceType":"Patient","id":"p1"}`), 0)
						return err
					})
					if err != nil {
						t.Errorf("put: %v", err)
					}
				}
			})
		}
	}
	wg.Wait()
	h, err := nodes[0].History(ctx, "Patient", "p1")
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if len(h) != 1+2*perNode {
		t.Fatalf("History has %d versions, want %d", len(h), 1+2*perNode)
	}
	for i, r := range h {
		if want := int64(len(h) - i); r.VersionID != want {
			t.Errorf("History[%d] is version %d, want %d", i, r.VersionID, want)
		}
	}
}

func TestDeadlockRetried(t *testing.T) {
	// Two transactions write A and B in opposite orders and wait for each
	// other on their first attempt, so Postgres must abort one as a
	// deadlock victim; Tx runs it again and both commit.
	dsn := pgtest.NewSchema(t)
	ctx := t.Context()
	fast := WithConfig(func(c *pgxpool.Config) {
		c.ConnConfig.RuntimeParams["deadlock_timeout"] = "20ms" // needs a superuser; else the default 1 s
	})
	s, err := Open(ctx, dsn, fast)
	if err != nil {
		s, err = Open(ctx, dsn)
	}
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	mustPut(t, s, "Patient", "a")
	mustPut(t, s, "Patient", "b")

	var attempts atomic.Int32
	locked := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	write := func(me int, first, second string) error {
		tries := 0
		return s.Tx(ctx, func(tx subscription.Tx) error {
			tries++
			attempts.Add(1)
			if _, _, err := tx.Put(ctx, mustParse(t, `{"resourceType":"Patient","id":"`+first+`"}`), 0); err != nil {
				return err
			}
			if tries == 1 {
				close(locked[me])
				<-locked[1-me]
			}
			_, _, err := tx.Put(ctx, mustParse(t, `{"resourceType":"Patient","id":"`+second+`"}`), 0)
			return err
		})
	}
	var errs [2]error
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = write(0, "a", "b") })
	wg.Go(func() { errs[1] = write(1, "b", "a") })
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d: %v", i, err)
		}
	}
	if got := attempts.Load(); got != 3 {
		t.Errorf("fn ran %d times, want 3 (one deadlock victim retried once)", got)
	}
	for _, id := range []string{"a", "b"} {
		if r, err := s.Read(ctx, "Patient", id); err != nil || r.VersionID != 3 {
			t.Errorf("Read(%s): version %d, err %v; want 3", id, r.VersionID, err)
		}
	}
}

func TestRejectsNUL(t *testing.T) {
	// U+0000 is no FHIR character (and jsonb, which older rows used, cannot
	// hold it); the client gets a validation error rather than a 500. fhir.ParseObject refuses such a body before it gets
	// here, so the test sets the member raw: this is the store's backstop.
	s := OpenTestStore(t)
	r := mustParse(t, `{"resourceType":"Patient","id":"p1"}`)
	r.Obj.SetRaw("name", []byte(`[{"text":"a\u0000b"}]`))
	err := s.Tx(t.Context(), func(tx subscription.Tx) error {
		_, err := tx.Create(t.Context(), r)
		return err
	})
	if _, ok := errors.AsType[*fhir.ValidationError](err); !ok {
		t.Errorf("Create with \\u0000 err = %v, want a *fhir.ValidationError", err)
	}
}

// TestRefusedVersionLeavesNoHead: a version the store refuses (here for a
// \u0000) queues nothing, so a caller that ignores the error and commits
// leaves no head without a version, for a create, a create by Put and an
// update.
func TestRefusedVersionLeavesNoHead(t *testing.T) {
	s := OpenTestStore(t)
	ctx := t.Context()
	mustPut(t, s, "Patient", "p2")
	bad := func(id string) *fhir.Resource {
		r := mustParse(t, `{"resourceType":"Patient","id":"`+id+`"}`)
		r.Obj.SetRaw("name", []byte(`[{"text":"a\u0000b"}]`))
		return r
	}
	err := s.Tx(ctx, func(tx subscription.Tx) error {
		if _, err := tx.Create(ctx, bad("p1")); err == nil {
			t.Error("Create with \\u0000 succeeded")
		}
		if _, _, err := tx.Put(ctx, bad("p3"), 0); err == nil {
			t.Error("Put creating with \\u0000 succeeded")
		}
		if _, _, err := tx.Put(ctx, bad("p2"), 0); err == nil {
			t.Error("Put updating with \\u0000 succeeded")
		}
		return nil // ignores the errors
	})
	if err != nil {
		t.Fatalf("Tx: %v", err)
	}
	for _, id := range []string{"p1", "p3"} {
		if _, err := s.Read(ctx, "Patient", id); !errors.Is(err, subscription.ErrNotFound) {
			t.Errorf("Read(%s) err = %v, want ErrNotFound", id, err)
		}
	}
	if r, err := s.Read(ctx, "Patient", "p2"); err != nil || r.VersionID != 1 {
		t.Errorf("Read(p2) = version %d, %v; want version 1", r.VersionID, err)
	}
	var heads int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM resource_heads h WHERE NOT EXISTS
		(SELECT 1 FROM resource_versions v WHERE v.type = h.type AND v.id = h.id AND v.version = h.version)`).Scan(&heads); err != nil || heads != 0 {
		t.Errorf("heads without their version: %d, %v", heads, err)
	}
}

func TestClockBehind(t *testing.T) {
	// A node whose clock is behind the one that wrote the previous version
	// does not give the next version an earlier lastUpdated.
	s := OpenTestStore(t)
	v1 := mustPut(t, s, "Patient", "p1")
	s.now = func() time.Time { return v1.LastUpdated.Add(-time.Hour) }
	v2 := mustPut(t, s, "Patient", "p1")
	if !v2.LastUpdated.Equal(v1.LastUpdated) {
		t.Errorf("version 2 LastUpdated = %v, want version 1's %v", v2.LastUpdated, v1.LastUpdated)
	}
	if !strings.Contains(string(v2.Body), fhir.FormatInstant(v1.LastUpdated)) {
		t.Errorf("version 2 body %s does not carry lastUpdated %s", v2.Body, fhir.FormatInstant(v1.LastUpdated))
	}
}

func TestClosed(t *testing.T) {
	s := OpenTestStore(t)
	_ = s.Close()
	ctx := t.Context()
	if err := s.Ping(ctx); !errors.Is(err, subscription.ErrUnavailable) {
		t.Errorf("Ping after Close err = %v, want ErrUnavailable", err)
	}
	if _, err := s.Read(ctx, "Patient", "p1"); !errors.Is(err, subscription.ErrUnavailable) {
		t.Errorf("Read after Close err = %v, want ErrUnavailable", err)
	}
	err := s.Tx(ctx, func(subscription.Tx) error { return nil })
	if !errors.Is(err, subscription.ErrUnavailable) {
		t.Errorf("Tx after Close err = %v, want ErrUnavailable", err)
	}
}

func TestOpenErrorsHideSecrets(t *testing.T) {
	// Loopback only: port 1 refuses connections.
	const secret = "s3cr3t-pw"
	cases := []struct {
		name, dsn string
		want      error // nil: any error
	}{
		{"unparsable port", "postgres://fhirbell:" + secret + "@127.0.0.1:notaport/fhirbell", nil},
		{"bad escape", "postgres://fhirbell:" + secret + "%zz@127.0.0.1/fhirbell", nil},
		{"keyword form", "host=127.0.0.1 port=x password=" + secret, nil},
		{"refused", "postgres://fhirbell:" + secret + "@127.0.0.1:1/fhirbell?connect_timeout=2", subscription.ErrUnavailable},
	}
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		s, err := Open(ctx, c.dsn)
		cancel()
		if err == nil {
			_ = s.Close()
			t.Errorf("Open(%s) succeeded, want an error", c.name)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open(%s) error %q contains the password", c.name, err)
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("Open(%s) err = %v, want %v", c.name, err, c.want)
		}
	}
}
