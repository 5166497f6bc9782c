package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// writeMixedHistory writes versions of several resources of two types, a
// few milliseconds apart so that _since and _at have times to fall
// between, with a deletion and a re-creation, and one transaction that
// writes two resources at once. It returns every version written, oldest
// first.
func writeMixedHistory(t *testing.T, s subscription.Store) []subscription.Resource {
	t.Helper()
	var all []subscription.Resource
	step := func(r subscription.Resource) {
		all = append(all, r)
		time.Sleep(2 * time.Millisecond) // a later write gets a later millisecond
	}
	step(create(t, s, "Patient", "a", `"gender":"female"`))
	step(create(t, s, "Observation", "o1", `"status":"final"`))
	r, _ := mustPut(t, s, "Patient", "a", `"gender":"male"`)
	step(r)
	step(create(t, s, "Patient", "b", `"gender":"other"`))
	d, err := del(t, s, "Patient", "a", 0)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	step(d)
	err = s.Tx(t.Context(), func(tx subscription.Tx) error {
		for _, id := range []string{"c", "d"} {
			r, err := tx.Create(t.Context(), newResource(t, "Patient", id, ""))
			if err != nil {
				return err
			}
			all = append(all, r)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("tx: %v", err)
	}
	time.Sleep(2 * time.Millisecond)
	r, _ = mustPut(t, s, "Patient", "a", `"gender":"unknown"`) // re-created
	step(r)
	r, _ = mustPut(t, s, "Observation", "o1", `"status":"amended"`)
	step(r)
	return all
}

// newestFirst sorts versions in the history order, newest first.
func newestFirst(vs []subscription.Resource) []subscription.Resource {
	out := slices.Clone(vs)
	slices.SortFunc(out, func(a, b subscription.Resource) int {
		return -cmp.Or(a.LastUpdated.Compare(b.LastUpdated), cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID), cmp.Compare(a.VersionID, b.VersionID))
	})
	return out
}

func keep(vs []subscription.Resource, f func(subscription.Resource) bool) []subscription.Resource {
	var out []subscription.Resource
	for _, v := range vs {
		if f(v) {
			out = append(out, v)
		}
	}
	return out
}

func versionKey(v subscription.Resource) string {
	return fmt.Sprintf("%s/%s/_history/%d", v.Type, v.ID, v.VersionID)
}

func versionKeys[T any](vs []T, res func(T) subscription.Resource) string {
	keys := make([]string, len(vs))
	for i, v := range vs {
		keys[i] = versionKey(res(v))
	}
	return strings.Join(keys, " ")
}

// allVersions follows Next from q to the end, count per page, and fails t
// on a page longer than count or a Next on an empty page.
func allVersions(t *testing.T, s subscription.Store, q subscription.HistoryQuery, count int) []subscription.HistoryVersion {
	t.Helper()
	var out []subscription.HistoryVersion
	for range 1000 {
		page, err := s.Versions(t.Context(), q, count)
		if err != nil {
			t.Fatalf("Versions(%+v, %d): %v", q, count, err)
		}
		if len(page.Versions) > count {
			t.Fatalf("Versions(count %d) returned %d versions", count, len(page.Versions))
		}
		out = append(out, page.Versions...)
		if page.Next == "" {
			return out
		}
		if len(page.Versions) == 0 {
			t.Fatalf("Versions returned an empty page with a next cursor")
		}
		q.Cursor = page.Next
	}
	t.Fatalf("Versions did not end after 1000 pages")
	return nil
}

func hv(v subscription.HistoryVersion) subscription.Resource { return v.Resource }
func rv(v subscription.Resource) subscription.Resource       { return v }

func testVersionsOrderAndPaging(t *testing.T, s subscription.Store) {
	written := writeMixedHistory(t, s)
	for _, typ := range []string{"", "Patient", "Observation", "Encounter"} {
		want := newestFirst(keep(written, func(v subscription.Resource) bool { return typ == "" || v.Type == typ }))
		for _, count := range []int{1, 2, 3, 100} {
			got := allVersions(t, s, subscription.HistoryQuery{Type: typ}, count)
			if g, w := versionKeys(got, hv), versionKeys(want, rv); g != w {
				t.Errorf("history of %q, %d per page:\n got %s\nwant %s", typ, count, g, w)
				continue
			}
			for i, g := range got {
				sameVersion(t, g.Resource, want[i])
			}
		}
	}
	// The version before each one: the deletion carries what it deleted,
	// the version after it is marked as a re-creation.
	for _, v := range allVersions(t, s, subscription.HistoryQuery{Type: "Patient"}, 100) {
		if v.Type != "Patient" || v.ID != "a" {
			if v.Recreated || v.Was != nil {
				t.Errorf("%s: Recreated %v, Was %s; want false, nil", versionKey(v.Resource), v.Recreated, v.Was)
			}
			continue
		}
		switch v.VersionID {
		case 3:
			if !v.Deleted || string(member(t, v.Was, "gender").(string)) != "male" {
				t.Errorf("Patient/a/_history/3: Deleted %v, Was %s; want the deletion of version 2 (male)", v.Deleted, v.Was)
			}
		case 4:
			if !v.Recreated || v.Was != nil {
				t.Errorf("Patient/a/_history/4: Recreated %v, Was %s; want a re-creation", v.Recreated, v.Was)
			}
		default:
			if v.Recreated || v.Was != nil {
				t.Errorf("Patient/a/_history/%d: Recreated %v, Was %s; want false, nil", v.VersionID, v.Recreated, v.Was)
			}
		}
	}
	page, err := s.Versions(t.Context(), subscription.HistoryQuery{}, 0)
	if err != nil || len(page.Versions) != 0 || page.Next != "" {
		t.Errorf("Versions(count 0) = %d versions, next %q, %v; want none", len(page.Versions), page.Next, err)
	}
}

func testVersionsKeysetUnderWrites(t *testing.T, s subscription.Store) {
	written := writeMixedHistory(t, s)
	want := newestFirst(written)
	first, err := s.Versions(t.Context(), subscription.HistoryQuery{}, 3)
	if err != nil {
		t.Fatalf("Versions: %v", err)
	}
	// Writes after the first page are newer than all of it: the pages that
	// follow are exactly the rest of what existed.
	mustPut(t, s, "Patient", "b", `"gender":"female"`)
	create(t, s, "Patient", "e", "")
	rest := allVersions(t, s, subscription.HistoryQuery{Cursor: first.Next}, 2)
	got := append(first.Versions, rest...)
	if g, w := versionKeys(got, hv), versionKeys(want, rv); g != w {
		t.Errorf("paging while writing:\n got %s\nwant %s", g, w)
	}
	// A new first page starts with the new writes.
	now := allVersions(t, s, subscription.HistoryQuery{}, 100)
	if len(now) != len(written)+2 || now[0].ID != "e" || now[1].ID != "b" || now[1].VersionID != 2 {
		t.Errorf("history after the writes starts %s; want Patient/e/_history/1 Patient/b/_history/2 then the rest", versionKeys(now[:min(3, len(now))], hv))
	}
}

func testVersionsSince(t *testing.T, s subscription.Store) {
	written := writeMixedHistory(t, s)
	for _, pivot := range []subscription.Resource{written[0], written[3], written[5], written[len(written)-1]} {
		since := pivot.LastUpdated
		for _, typ := range []string{"", "Patient"} {
			want := newestFirst(keep(written, func(v subscription.Resource) bool {
				return !v.LastUpdated.Before(since) && (typ == "" || v.Type == typ)
			}))
			got := allVersions(t, s, subscription.HistoryQuery{Type: typ, Since: since}, 2)
			if g, w := versionKeys(got, hv), versionKeys(want, rv); g != w {
				t.Errorf("history of %q since %v:\n got %s\nwant %s", typ, since, g, w)
			}
		}
	}
	later := written[len(written)-1].LastUpdated.Add(time.Hour)
	if got := allVersions(t, s, subscription.HistoryQuery{Since: later}, 10); len(got) != 0 {
		t.Errorf("history since an hour after the last write: %s, want none", versionKeys(got, hv))
	}
}

// currentDuring reports whether v was current at some moment of [lo, hi):
// written before hi, and its next version (if any) written after lo.
func currentDuring(all []subscription.Resource, v subscription.Resource, lo, hi time.Time) bool {
	if !v.LastUpdated.Before(hi) {
		return false
	}
	for _, n := range all {
		if n.Type == v.Type && n.ID == v.ID && n.VersionID == v.VersionID+1 {
			return n.LastUpdated.After(lo)
		}
	}
	return true
}

func testVersionsAt(t *testing.T, s subscription.Store) {
	written := writeMixedHistory(t, s)
	var instants []time.Time
	for _, v := range written {
		instants = append(instants, v.LastUpdated, v.LastUpdated.Add(-time.Millisecond), v.LastUpdated.Add(time.Millisecond))
	}
	for _, lo := range instants {
		for _, width := range []time.Duration{time.Millisecond, 5 * time.Millisecond} {
			hi := lo.Add(width)
			for _, typ := range []string{"", "Patient"} {
				want := newestFirst(keep(written, func(v subscription.Resource) bool {
					return (typ == "" || v.Type == typ) && currentDuring(written, v, lo, hi)
				}))
				got := allVersions(t, s, subscription.HistoryQuery{Type: typ, AtLo: lo, AtHi: hi}, 2)
				if g, w := versionKeys(got, hv), versionKeys(want, rv); g != w {
					t.Errorf("history of %q at [%v, %v):\n got %s\nwant %s", typ, lo, hi, g, w)
				}
			}
		}
	}
}

func testVersionsBadCursor(t *testing.T, s subscription.Store) {
	writeMixedHistory(t, s)
	page, err := s.Versions(t.Context(), subscription.HistoryQuery{Type: "Observation"}, 1)
	if err != nil || page.Next == "" {
		t.Fatalf("Versions(Observation, 1) = next %q, %v; want a next cursor", page.Next, err)
	}
	for _, q := range []subscription.HistoryQuery{
		{Cursor: "not a cursor"},
		{Cursor: "bm90IGEgY3Vyc29y"},
		{Type: "Patient", Cursor: page.Next}, // another type's cursor
	} {
		_, err := s.Versions(t.Context(), q, 10)
		if !isValidation(err) {
			t.Errorf("Versions(%+v): err = %v, want a validation error", q, err)
		}
	}
	if _, err := s.Versions(t.Context(), subscription.HistoryQuery{Cursor: page.Next}, 10); err != nil {
		t.Errorf("a type-level cursor in the system history: %v, want it accepted", err)
	}
}
