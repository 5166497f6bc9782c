package storetest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// Run runs the conformance suite against the stores newStore returns, one
// fresh empty store per subtest.
func Run(t *testing.T, newStore func(t *testing.T) subscription.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s subscription.Store)
	}{
		{"CreateRead", testCreateRead},
		{"CreateConflict", testCreateConflict},
		{"PutCreates", testPutCreates},
		{"PutUpdates", testPutUpdates},
		{"IfMatch", testIfMatch},
		{"Delete", testDelete},
		{"DeleteNeverExisted", testDeleteNeverExisted},
		{"DeleteTwice", testDeleteTwice},
		{"PutAfterDelete", testPutAfterDelete},
		{"VRead", testVRead},
		{"History", testHistory},
		{"VersionsOrderAndPaging", testVersionsOrderAndPaging},
		{"VersionsKeysetUnderWrites", testVersionsKeysetUnderWrites},
		{"VersionsSince", testVersionsSince},
		{"VersionsAt", testVersionsAt},
		{"VersionsBadCursor", testVersionsBadCursor},
		{"KeepsClientMembers", testKeepsClientMembers},
		{"KeepsClientLayout", testKeepsClientLayout},
		{"Search", testSearch},
		{"SearchOrder", testSearchOrder},
		{"SearchMatchError", testSearchMatchError},
		{"FindMatchesMatcher", testFindMatchesMatcher},
		{"FindChains", testFindChains},
		{"FindSort", testFindSort},
		{"FindTotals", testFindTotals},
		{"FindKeysetUnderWrites", testFindKeysetUnderWrites},
		{"FindIndexFollowsWrites", testFindIndexFollowsWrites},
		{"FindReturnsBodies", testFindReturnsBodies},
		{"TxRollbackOnError", testTxRollbackOnError},
		{"TxRollbackOnPanic", testTxRollbackOnPanic},
		{"TxCancelledContext", testTxCancelledContext},
		{"TxReadsOwnWrites", testTxReadsOwnWrites},
		{"TxUncommittedInvisible", testTxUncommittedInvisible},
		{"TxMultiResourceAtomic", testTxMultiResourceAtomic},
		{"ConcurrentPutsSameID", testConcurrentPutsSameID},
		{"ConcurrentPutsNewID", testConcurrentPutsNewID},
		{"ConcurrentCreatesDistinct", testConcurrentCreatesDistinct},
		{"ConcurrentCreatesSameID", testConcurrentCreatesSameID},
		{"ConcurrentIfMatch", testConcurrentIfMatch},
		{"Ping", testPing},
		{"LockExcludes", testLockExcludes},
		{"ConditionalCreateRace", testConditionalCreateRace},
		{"EventsRoundTrip", testEventsRoundTrip},
		{"EventsContinueAcrossTx", testEventsContinueAcrossTx},
		{"EventsRollback", testEventsRollback},
		{"EventsSeveralSubscriptions", testEventsSeveralSubscriptions},
		{"EventsBounds", testEventsBounds},
		{"EventsOf", testEventsOf},
		{"EventsOfRetention", testEventsOfRetention},
		{"EventHeads", testEventHeads},
		{"PruneEvents", testPruneEvents},
		{"PruneEventsKeepsRangeContiguous", testPruneEventsKeepsRangeContiguous},
		{"EventsConcurrent", testEventsConcurrent},
		{"EventsConcurrentRollbacks", testEventsConcurrentRollbacks},
		{"Nodes", testNodes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
	t.Run("Tokens", func(t *testing.T) { runTokens(t, newStore) })
	t.Run("Delivery", func(t *testing.T) { runDelivery(t, newStore) })
}

// errTest is what test transactions return to force a rollback.
var errTest = errors.New("storetest: rollback please")

// newResource parses a resource of type typ and id with extra members
// (a JSON object's inside, e.g. `"active":true`), failing t on bad input.
func newResource(t *testing.T, typ, id, members string) *fhir.Resource {
	t.Helper()
	body := fmt.Sprintf(`{"resourceType":%q,"id":%q`, typ, id)
	if members != "" {
		body += "," + members
	}
	r, err := fhir.ParseResource([]byte(body + "}"))
	if err != nil {
		t.Fatalf("ParseResource(%s): %v", body, err)
	}
	return r
}

// create stores typ/id as a new resource in its own transaction.
func create(t *testing.T, s subscription.Store, typ, id, members string) subscription.Resource {
	t.Helper()
	var res subscription.Resource
	err := s.Tx(t.Context(), func(tx subscription.Tx) error {
		var err error
		res, err = tx.Create(t.Context(), newResource(t, typ, id, members))
		return err
	})
	if err != nil {
		t.Fatalf("create %s/%s: %v", typ, id, err)
	}
	return res
}

// put stores the next version of typ/id in its own transaction.
func put(t *testing.T, s subscription.Store, typ, id, members string, ifMatch int64) (subscription.Resource, bool, error) {
	t.Helper()
	var res subscription.Resource
	var created bool
	err := s.Tx(t.Context(), func(tx subscription.Tx) error {
		var err error
		res, created, err = tx.Put(t.Context(), newResource(t, typ, id, members), ifMatch)
		return err
	})
	return res, created, err
}

// mustPut is put that fails t on error.
func mustPut(t *testing.T, s subscription.Store, typ, id, members string) (subscription.Resource, bool) {
	t.Helper()
	res, created, err := put(t, s, typ, id, members, 0)
	if err != nil {
		t.Fatalf("put %s/%s: %v", typ, id, err)
	}
	return res, created
}

// del deletes typ/id in its own transaction.
func del(t *testing.T, s subscription.Store, typ, id string, ifMatch int64) (subscription.Resource, error) {
	t.Helper()
	var res subscription.Resource
	err := s.Tx(t.Context(), func(tx subscription.Tx) error {
		var err error
		res, err = tx.Delete(t.Context(), typ, id, ifMatch)
		return err
	})
	return res, err
}

// stampedBody is the part of a stored body the store is responsible for.
type stampedBody struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		VersionID   string `json:"versionId"`
		LastUpdated string `json:"lastUpdated"`
	} `json:"meta"`
}

// checkVersion fails t unless r is version v of typ/id, a deletion when
// deleted, with LastUpdated in UTC at millisecond precision and a body
// stamped to agree with the fields.
func checkVersion(t *testing.T, r subscription.Resource, typ, id string, v int64, deleted bool) {
	t.Helper()
	if r.Type != typ || r.ID != id || r.VersionID != v || r.Deleted != deleted {
		t.Fatalf("got %s/%s version %d deleted %v, want %s/%s version %d deleted %v",
			r.Type, r.ID, r.VersionID, r.Deleted, typ, id, v, deleted)
	}
	if r.LastUpdated.IsZero() || r.LastUpdated.Location() != time.UTC || !r.LastUpdated.Equal(r.LastUpdated.Truncate(time.Millisecond)) {
		t.Errorf("%s/%s/_history/%d: LastUpdated = %v, want a UTC time truncated to milliseconds", typ, id, v, r.LastUpdated)
	}
	if deleted {
		if r.Body != nil {
			t.Errorf("%s/%s/_history/%d: deletion has body %s, want nil", typ, id, v, r.Body)
		}
		return
	}
	var b stampedBody
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatalf("%s/%s/_history/%d: body %s: %v", typ, id, v, r.Body, err)
	}
	want := stampedBody{ResourceType: typ, ID: id}
	want.Meta.VersionID = strconv.FormatInt(v, 10)
	want.Meta.LastUpdated = fhir.FormatInstant(r.LastUpdated)
	if b != want {
		t.Errorf("%s/%s/_history/%d: body stamps %+v, want %+v", typ, id, v, b, want)
	}
}

// sameVersion fails t unless a read returned exactly what the write did.
func sameVersion(t *testing.T, got, want subscription.Resource) {
	t.Helper()
	if got.Type != want.Type || got.ID != want.ID || got.VersionID != want.VersionID ||
		got.Deleted != want.Deleted || !got.LastUpdated.Equal(want.LastUpdated) || !bytes.Equal(got.Body, want.Body) {
		t.Errorf("read %s/%s/_history/%d (deleted %v, %v, %s),\nwant what the write returned: %s/%s/_history/%d (deleted %v, %v, %s)",
			got.Type, got.ID, got.VersionID, got.Deleted, got.LastUpdated, got.Body,
			want.Type, want.ID, want.VersionID, want.Deleted, want.LastUpdated, want.Body)
	}
}

// member returns the decoded value of a top-level member of a JSON body.
func member(t *testing.T, body []byte, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return m[name]
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func testCreateRead(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	w := create(t, s, "Patient", "p1", `"active":true`)
	checkVersion(t, w, "Patient", "p1", 1, false)
	if got := member(t, w.Body, "active"); got != true {
		t.Errorf("created body active = %v, want true", got)
	}
	r, err := s.Read(ctx, "Patient", "p1")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	sameVersion(t, r, w)
	// Another type with the same id is another resource.
	if _, err := s.Read(ctx, "Observation", "p1"); !errors.Is(err, subscription.ErrNotFound) {
		t.Errorf("Read(Observation/p1) err = %v, want ErrNotFound", err)
	}
	if _, err := s.Read(ctx, "Patient", "nope"); !errors.Is(err, subscription.ErrNotFound) {
		t.Errorf("Read(Patient/nope) err = %v, want ErrNotFound", err)
	}
}

func testCreateConflict(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	create(t, s, "Patient", "p1", "")
	err := s.Tx(ctx, func(tx subscription.Tx) error {
		_, err := tx.Create(ctx, newResource(t, "Patient", "p1", ""))
		return err
	})
	wantErr(t, "Create(existing)", err, subscription.ErrConflict)

	// Any version counts, a deletion included: ids are not reused by Create.
	if _, err := del(t, s, "Patient", "p1", 0); err != nil {
		t.Fatalf("delete: %v", err)
	}
	err = s.Tx(ctx, func(tx subscription.Tx) error {
		_, err := tx.Create(ctx, newResource(t, "Patient", "p1", ""))
		return err
	})
	wantErr(t, "Create(deleted)", err, subscription.ErrConflict)
	if h, err := s.History(ctx, "Patient", "p1"); err != nil || len(h) != 2 {
		t.Errorf("History after failed creates: %d versions, err %v; want 2, nil", len(h), err)
	}
}

func testPutCreates(t *testing.T, s subscription.Store) {
	w, created := mustPut(t, s, "Patient", "p1", `"active":false`)
	if !created {
		t.Errorf("Put(new) created = false, want true")
	}
	checkVersion(t, w, "Patient", "p1", 1, false)
	r, err := s.Read(t.Context(), "Patient", "p1")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	sameVersion(t, r, w)
}

func testPutUpdates(t *testing.T, s subscription.Store) {
	v1 := create(t, s, "Patient", "p1", `"active":false`)
	w, created := mustPut(t, s, "Patient", "p1", `"active":true`)
	if created {
		t.Errorf("Put(existing) created = true, want false")
	}
	checkVersion(t, w, "Patient", "p1", 2, false)
	if w.LastUpdated.Before(v1.LastUpdated) {
		t.Errorf("version 2 LastUpdated %v is before version 1's %v", w.LastUpdated, v1.LastUpdated)
	}
	if got := member(t, w.Body, "active"); got != true {
		t.Errorf("version 2 body active = %v, want true", got)
	}
	r, err := s.Read(t.Context(), "Patient", "p1")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	sameVersion(t, r, w)
}

func testIfMatch(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	create(t, s, "Patient", "p1", "")
	mustPut(t, s, "Patient", "p1", "") // version 2

	cases := []struct {
		name    string
		ifMatch int64
		want    error
	}{
		{"stale", 1, subscription.ErrPreconditionFailed},
		{"future", 3, subscription.ErrPreconditionFailed},
		{"current", 2, nil},
	}
	for _, c := range cases {
		_, _, err := put(t, s, "Patient", "p1", "", c.ifMatch)
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("Put(ifMatch %d, %s) err = %v, want %v", c.ifMatch, c.name, err, c.want)
		}
	}
	if r, err := s.Read(ctx, "Patient", "p1"); err != nil || r.VersionID != 3 {
		t.Fatalf("after If-Match puts: version %d, err %v; want 3, nil", r.VersionID, err)
	}

	// Nothing exists to match: the precondition fails, nothing is created.
	_, _, err := put(t, s, "Patient", "p2", "", 1)
	wantErr(t, "Put(new, ifMatch 1)", err, subscription.ErrPreconditionFailed)
	if _, err := s.Read(ctx, "Patient", "p2"); !errors.Is(err, subscription.ErrNotFound) {
		t.Errorf("Read after failed conditional create err = %v, want ErrNotFound", err)
	}

	_, err = del(t, s, "Patient", "p1", 2)
	wantErr(t, "Delete(ifMatch stale)", err, subscription.ErrPreconditionFailed)
	d, err := del(t, s, "Patient", "p1", 3)
	if err != nil {
		t.Fatalf("Delete(ifMatch current): %v", err)
	}
	checkVersion(t, d, "Patient", "p1", 4, true)
	// Deleting again is idempotent, but a stale If-Match still fails.
	_, err = del(t, s, "Patient", "p1", 3)
	wantErr(t, "Delete(deleted, ifMatch stale)", err, subscription.ErrPreconditionFailed)
	// The deletion is the current version, so it is what If-Match names.
	w, created, err := put(t, s, "Patient", "p1", "", 4)
	if err != nil || !created {
		t.Fatalf("Put(deleted, ifMatch 4) created %v, err %v; want true, nil", created, err)
	}
	checkVersion(t, w, "Patient", "p1", 5, false)
}

func testDelete(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	create(t, s, "Patient", "p1", "")
	d, err := del(t, s, "Patient", "p1", 0)
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	checkVersion(t, d, "Patient", "p1", 2, true)
	r, err := s.Read(ctx, "Patient", "p1")
	wantErr(t, "Read(deleted)", err, subscription.ErrGone)
	checkVersion(t, r, "Patient", "p1", 2, true)
	sameVersion(t, r, d)

	// The same inside a transaction.
	err = s.Tx(ctx, func(tx subscription.Tx) error {
		r, err := tx.Read(ctx, "Patient", "p1")
		wantErr(t, "Tx.Read(deleted)", err, subscription.ErrGone)
		sameVersion(t, r, d)
		_, err = tx.Read(ctx, "Patient", "nope")
		wantErr(t, "Tx.Read(never existed)", err, subscription.ErrNotFound)
		return nil
	})
	if err != nil {
		t.Fatalf("Tx: %v", err)
	}
}

func testDeleteNeverExisted(t *testing.T, s subscription.Store) {
	_, err := del(t, s, "Patient", "nope", 0)
	wantErr(t, "Delete(never existed)", err, subscription.ErrNotFound)
	_, err = s.History(t.Context(), "Patient", "nope")
	wantErr(t, "History after Delete(never existed)", err, subscription.ErrNotFound)
}

func testDeleteTwice(t *testing.T, s subscription.Store) {
	create(t, s, "Patient", "p1", "")
	d1, err := del(t, s, "Patient", "p1", 0)
	if err != nil {
		t.Fatalf("first Delete: %v", err)
	}
	d2, err := del(t, s, "Patient", "p1", 0)
	if err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	sameVersion(t, d2, d1)
	h, err := s.History(t.Context(), "Patient", "p1")
	if err != nil || len(h) != 2 {
		t.Errorf("History after two deletes: %d versions, err %v; want 2, nil", len(h), err)
	}
}

func testPutAfterDelete(t *testing.T, s subscription.Store) {
	create(t, s, "Patient", "p1", "")
	if _, err := del(t, s, "Patient", "p1", 0); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	w, created := mustPut(t, s, "Patient", "p1", `"active":true`)
	if !created {
		t.Errorf("Put(deleted) created = false, want true")
	}
	checkVersion(t, w, "Patient", "p1", 3, false)
	r, err := s.Read(t.Context(), "Patient", "p1")
	if err != nil {
		t.Fatalf("Read after recreate: %v", err)
	}
	sameVersion(t, r, w)
}

// writeHistory makes Patient/p1 versions 1 (create), 2 (update), 3
// (deletion), 4 (recreate) and returns them oldest first.
func writeHistory(t *testing.T, s subscription.Store) []subscription.Resource {
	t.Helper()
	v1 := create(t, s, "Patient", "p1", `"gender":"female"`)
	v2, _ := mustPut(t, s, "Patient", "p1", `"gender":"male"`)
	v3, err := del(t, s, "Patient", "p1", 0)
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	v4, _ := mustPut(t, s, "Patient", "p1", `"gender":"other"`)
	return []subscription.Resource{v1, v2, v3, v4}
}

func testVRead(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	written := writeHistory(t, s)
	for _, w := range written {
		r, err := s.VRead(ctx, "Patient", "p1", w.VersionID)
		if w.Deleted {
			wantErr(t, fmt.Sprintf("VRead(%d)", w.VersionID), err, subscription.ErrGone)
		} else if err != nil {
			t.Fatalf("VRead(%d): %v", w.VersionID, err)
		}
		checkVersion(t, r, "Patient", "p1", w.VersionID, w.Deleted)
		sameVersion(t, r, w)
	}
	missing := []struct {
		typ, id string
		vid     int64
	}{
		{"Patient", "p1", 0},
		{"Patient", "p1", -1},
		{"Patient", "p1", 5},
		{"Patient", "nope", 1},
		{"Observation", "p1", 1},
	}
	for _, m := range missing {
		_, err := s.VRead(ctx, m.typ, m.id, m.vid)
		wantErr(t, fmt.Sprintf("VRead(%s/%s/_history/%d)", m.typ, m.id, m.vid), err, subscription.ErrNotFound)
	}
}

func testHistory(t *testing.T, s subscription.Store) {
	written := writeHistory(t, s)
	h, err := s.History(t.Context(), "Patient", "p1")
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if len(h) != len(written) {
		t.Fatalf("History has %d versions, want %d", len(h), len(written))
	}
	for i, r := range h {
		w := written[len(written)-1-i] // newest first
		checkVersion(t, r, "Patient", "p1", w.VersionID, w.Deleted)
		sameVersion(t, r, w)
	}
	for i := 1; i < len(h); i++ {
		if h[i].LastUpdated.After(h[i-1].LastUpdated) {
			t.Errorf("version %d LastUpdated %v is after version %d's %v", h[i].VersionID, h[i].LastUpdated, h[i-1].VersionID, h[i-1].LastUpdated)
		}
	}
	_, err = s.History(t.Context(), "Patient", "nope")
	wantErr(t, "History(never existed)", err, subscription.ErrNotFound)
}

func testKeepsClientMembers(t *testing.T, s subscription.Store) {
	// A client's meta members other than versionId and lastUpdated survive,
	// stale stamps are replaced, and every other member is kept as a JSON
	// value.
	members := `"meta":{"versionId":"77","lastUpdated":"2001-01-01T00:00:00Z","tag":[{"code":"t"}]},` +
		`"name":[{"family":"Ünïcødé","given":["a","b"]}],"birthDate":"1970-01-01","multipleBirthInteger":3,` +
		`"extension":[{"url":"http://example.org/x","valueDecimal":1.50}]`
	w := create(t, s, "Patient", "p1", members)
	checkVersion(t, w, "Patient", "p1", 1, false)
	var got, want map[string]any
	if err := json.Unmarshal(w.Body, &got); err != nil {
		t.Fatalf("body %s: %v", w.Body, err)
	}
	wantBody := fmt.Sprintf(`{"resourceType":"Patient","id":"p1","meta":{"versionId":"1","lastUpdated":%q,"tag":[{"code":"t"}]},`,
		fhir.FormatInstant(w.LastUpdated)) + members[strings.Index(members, `"name"`):] + "}"
	if err := json.Unmarshal([]byte(wantBody), &want); err != nil {
		t.Fatalf("test body %s: %v", wantBody, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored body\n%s\nwant (as JSON)\n%s", w.Body, wantBody)
	}
}

func testKeepsClientLayout(t *testing.T, s subscription.Store) {
	// The bytes, not only the JSON value: resourceType, id and meta first,
	// then the client's members in the client's order, compact, and the
	// same bytes from the write, a read, a vread and a history.
	members := `"name":[{"family":"Z"}],"gender":"male","active":true,"address":[{"city":"A&B"}]`
	w := create(t, s, "Patient", "p1", members)
	want := fmt.Sprintf(`{"resourceType":"Patient","id":"p1","meta":{"versionId":"1","lastUpdated":%q},`, fhir.FormatInstant(w.LastUpdated)) + members + "}"
	if string(w.Body) != want {
		t.Errorf("write returned\n%s\nwant\n%s", w.Body, want)
	}
	r, err := s.Read(t.Context(), "Patient", "p1")
	if err != nil || string(r.Body) != want {
		t.Errorf("read returned\n%s (%v)\nwant\n%s", r.Body, err, want)
	}
	v, err := s.VRead(t.Context(), "Patient", "p1", 1)
	if err != nil || string(v.Body) != want {
		t.Errorf("vread returned\n%s (%v)\nwant\n%s", v.Body, err, want)
	}
	h, err := s.History(t.Context(), "Patient", "p1")
	if err != nil || len(h) != 1 || string(h[0].Body) != want {
		t.Errorf("history returned %v (%v), want one version\n%s", h, err, want)
	}
}

// gender is a match function over Patient.gender.
func gender(want string) func([]byte) (bool, error) {
	return func(body []byte) (bool, error) {
		var p struct {
			Gender string `json:"gender"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return false, err
		}
		return p.Gender == want, nil
	}
}

func ids(rs []subscription.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID + "/" + strconv.FormatInt(r.VersionID, 10)
	}
	return out
}

func testSearch(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	create(t, s, "Patient", "p1", `"gender":"female"`)
	create(t, s, "Patient", "p2", `"gender":"male"`)
	create(t, s, "Patient", "p3", `"gender":"female"`)
	create(t, s, "Patient", "gone", `"gender":"female"`)
	create(t, s, "Observation", "o1", `"status":"final"`)
	mustPut(t, s, "Patient", "p2", `"gender":"female"`) // version 2 matches, version 1 did not
	mustPut(t, s, "Patient", "p3", `"gender":"male"`)   // version 2 no longer matches
	if _, err := del(t, s, "Patient", "gone", 0); err != nil {
		t.Fatalf("Delete: %v", err)
	}

	var seen []string
	got, err := s.Search(ctx, "Patient", func(body []byte) (bool, error) {
		seen = append(seen, fmt.Sprint(member(t, body, "id"))+"/"+fmt.Sprint(member(t, body, "meta").(map[string]any)["versionId"]))
		return gender("female")(body)
	})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	// Only current, live versions of the type are offered to match.
	slices.Sort(seen)
	if want := []string{"p1/1", "p2/2", "p3/2"}; !slices.Equal(seen, want) {
		t.Errorf("Search offered %v to match, want %v", seen, want)
	}
	gotIDs := ids(got)
	slices.Sort(gotIDs)
	if want := []string{"p1/1", "p2/2"}; !slices.Equal(gotIDs, want) {
		t.Errorf("Search(gender=female) = %v, want %v", gotIDs, want)
	}
	checkSorted(t, got)
	for _, r := range got {
		checkVersion(t, r, "Patient", r.ID, r.VersionID, false)
		cur, err := s.Read(ctx, "Patient", r.ID)
		if err != nil {
			t.Fatalf("Read(%s): %v", r.ID, err)
		}
		sameVersion(t, r, cur)
	}

	all, err := s.Search(ctx, "Observation", func([]byte) (bool, error) { return true, nil })
	if err != nil || len(all) != 1 || all[0].ID != "o1" {
		t.Errorf("Search(Observation) = %v, %v; want [o1/1], nil", ids(all), err)
	}
	none, err := s.Search(ctx, "Encounter", func([]byte) (bool, error) { return true, nil })
	if err != nil || len(none) != 0 {
		t.Errorf("Search(Encounter) = %v, %v; want [], nil", ids(none), err)
	}
}

// checkSorted fails t unless rs is ordered by LastUpdated, then ID in byte
// order.
func checkSorted(t *testing.T, rs []subscription.Resource) {
	t.Helper()
	if !slices.IsSortedFunc(rs, func(a, b subscription.Resource) int {
		return cmp.Or(a.LastUpdated.Compare(b.LastUpdated), cmp.Compare(a.ID, b.ID))
	}) {
		var desc []string
		for _, r := range rs {
			desc = append(desc, fmt.Sprintf("%s@%s", r.ID, fhir.FormatInstant(r.LastUpdated)))
		}
		t.Errorf("Search order %v, want by LastUpdated then ID (byte order)", desc)
	}
}

func testSearchOrder(t *testing.T, s subscription.Store) {
	// Written in one transaction, so many share a millisecond and the ID
	// decides; the IDs differ where byte order and natural-language
	// collations disagree (case, punctuation).
	idList := []string{"b", "B", "a", "A.1", "-z", "a-b", "ab", "10", "9", "Z"}
	err := s.Tx(t.Context(), func(tx subscription.Tx) error {
		for _, id := range idList {
			if _, err := tx.Create(t.Context(), newResource(t, "Patient", id, "")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Tx: %v", err)
	}
	got, err := s.Search(t.Context(), "Patient", func([]byte) (bool, error) { return true, nil })
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(got) != len(idList) {
		t.Fatalf("Search returned %d resources, want %d", len(got), len(idList))
	}
	checkSorted(t, got)
}

func testSearchMatchError(t *testing.T, s subscription.Store) {
	for _, id := range []string{"p1", "p2", "p3"} {
		create(t, s, "Patient", id, "")
	}
	boom := errors.New("boom")
	calls := 0
	_, err := s.Search(t.Context(), "Patient", func([]byte) (bool, error) {
		calls++
		if calls == 2 {
			return false, boom
		}
		return true, nil
	})
	wantErr(t, "Search with a failing match", err, boom)
	if calls != 2 {
		t.Errorf("match called %d times, want 2 (the search ends at the error)", calls)
	}
}

func testTxRollbackOnError(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	create(t, s, "Patient", "kept", "")
	err := s.Tx(ctx, func(tx subscription.Tx) error {
		if _, err := tx.Create(ctx, newResource(t, "Patient", "p1", "")); err != nil {
			return err
		}
		if _, _, err := tx.Put(ctx, newResource(t, "Patient", "kept", ""), 0); err != nil {
			return err
		}
		if _, err := tx.Delete(ctx, "Patient", "kept", 0); err != nil {
			return err
		}
		return errTest
	})
	wantErr(t, "Tx", err, errTest)
	checkUntouched(t, s)
}

// checkUntouched fails t unless Patient/kept is at version 1 and Patient/p1
// does not exist: what a rolled-back transaction of the Tx tests leaves.
func checkUntouched(t *testing.T, s subscription.Store) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.Read(ctx, "Patient", "p1"); !errors.Is(err, subscription.ErrNotFound) {
		t.Errorf("Read(rolled-back create) err = %v, want ErrNotFound", err)
	}
	if h, err := s.History(ctx, "Patient", "kept"); err != nil || len(h) != 1 {
		t.Errorf("History(kept) after rollback: %v, err %v; want 1 version", ids(h), err)
	}
	got, err := s.Search(ctx, "Patient", func([]byte) (bool, error) { return true, nil })
	if err != nil || len(got) != 1 || got[0].ID != "kept" || got[0].VersionID != 1 {
		t.Errorf("Search after rollback = %v, %v; want [kept/1]", ids(got), err)
	}
}

func testTxRollbackOnPanic(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	create(t, s, "Patient", "kept", "")
	func() {
		defer func() {
			if p := recover(); p != "storetest panic" {
				t.Errorf("recovered %v, want the panic of fn", p)
			}
		}()
		_ = s.Tx(ctx, func(tx subscription.Tx) error {
			if _, err := tx.Create(ctx, newResource(t, "Patient", "p1", "")); err != nil {
				return err
			}
			if _, _, err := tx.Put(ctx, newResource(t, "Patient", "kept", ""), 0); err != nil {
				return err
			}
			panic("storetest panic")
		})
	}()
	checkUntouched(t, s)
	// The store is still usable (no lock or connection left behind).
	create(t, s, "Patient", "after", "")
}

func testTxCancelledContext(t *testing.T, s subscription.Store) {
	create(t, s, "Patient", "kept", "")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Tx(ctx, func(tx subscription.Tx) error {
		if _, err := tx.Create(ctx, newResource(t, "Patient", "p1", "")); err != nil {
			return err
		}
		_, _, err := tx.Put(ctx, newResource(t, "Patient", "kept", ""), 0)
		return err
	})
	if err == nil {
		t.Fatalf("Tx with a cancelled context succeeded")
	}
	checkUntouched(t, s)
}

func testTxReadsOwnWrites(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	create(t, s, "Patient", "old", "")
	var created, updated, deleted subscription.Resource
	err := s.Tx(ctx, func(tx subscription.Tx) error {
		var err error
		if created, err = tx.Create(ctx, newResource(t, "Patient", "new", "")); err != nil {
			return err
		}
		r, err := tx.Read(ctx, "Patient", "new")
		if err != nil {
			return fmt.Errorf("read own create: %w", err)
		}
		sameVersion(t, r, created)

		if updated, _, err = tx.Put(ctx, newResource(t, "Patient", "new", `"active":true`), 1); err != nil {
			return err
		}
		if r, err = tx.Read(ctx, "Patient", "new"); err != nil {
			return fmt.Errorf("read own update: %w", err)
		}
		sameVersion(t, r, updated)

		if deleted, err = tx.Delete(ctx, "Patient", "old", 1); err != nil {
			return err
		}
		r, err = tx.Read(ctx, "Patient", "old")
		wantErr(t, "Tx.Read(own delete)", err, subscription.ErrGone)
		sameVersion(t, r, deleted)
		return nil
	})
	if err != nil {
		t.Fatalf("Tx: %v", err)
	}
	// Committed as written.
	r, err := s.Read(ctx, "Patient", "new")
	if err != nil {
		t.Fatalf("Read(new): %v", err)
	}
	sameVersion(t, r, updated)
	if h, err := s.History(ctx, "Patient", "new"); err != nil || len(h) != 2 {
		t.Errorf("History(new): %v, %v; want 2 versions", ids(h), err)
	}
	r, err = s.Read(ctx, "Patient", "old")
	wantErr(t, "Read(old)", err, subscription.ErrGone)
	sameVersion(t, r, deleted)
}

func testTxUncommittedInvisible(t *testing.T, s subscription.Store) {
	// A reader on another goroutine, started while the transaction is
	// open, must not see its writes: it runs either during the transaction
	// (and must see the committed state) or after the rollback (and sees the
	// same). Nothing here waits for the reader inside fn, since a store may
	// block readers until the transaction ends.
	ctx := t.Context()
	create(t, s, "Patient", "kept", "")
	type result struct {
		r   subscription.Resource
		err error
	}
	newRead := make(chan result, 1)
	keptRead := make(chan result, 1)
	search := make(chan []subscription.Resource, 1)
	err := s.Tx(ctx, func(tx subscription.Tx) error {
		if _, err := tx.Create(ctx, newResource(t, "Patient", "p1", "")); err != nil {
			return err
		}
		if _, _, err := tx.Put(ctx, newResource(t, "Patient", "kept", ""), 0); err != nil {
			return err
		}
		go func() {
			r, err := s.Read(ctx, "Patient", "p1")
			newRead <- result{r, err}
			r, err = s.Read(ctx, "Patient", "kept")
			keptRead <- result{r, err}
			all, err := s.Search(ctx, "Patient", func([]byte) (bool, error) { return true, nil })
			if err != nil {
				t.Errorf("Search: %v", err)
			}
			search <- all
		}()
		return errTest
	})
	wantErr(t, "Tx", err, errTest)
	if got := <-newRead; !errors.Is(got.err, subscription.ErrNotFound) {
		t.Errorf("concurrent Read of an uncommitted create: version %d, err %v; want ErrNotFound", got.r.VersionID, got.err)
	}
	if got := <-keptRead; got.err != nil || got.r.VersionID != 1 {
		t.Errorf("concurrent Read of an uncommitted update: version %d, err %v; want version 1", got.r.VersionID, got.err)
	}
	if got := <-search; len(got) != 1 || got[0].VersionID != 1 {
		t.Errorf("concurrent Search during an uncommitted transaction = %v, want [kept/1]", ids(got))
	}
	checkUntouched(t, s)
}

func testTxMultiResourceAtomic(t *testing.T, s subscription.Store) {
	ctx := t.Context()
	create(t, s, "Patient", "kept", "")

	// A failing write ends the transaction; the writes before it go too.
	err := s.Tx(ctx, func(tx subscription.Tx) error {
		if _, err := tx.Create(ctx, newResource(t, "Patient", "p1", "")); err != nil {
			return err
		}
		if _, _, err := tx.Put(ctx, newResource(t, "Patient", "kept", ""), 0); err != nil {
			return err
		}
		_, err := tx.Create(ctx, newResource(t, "Patient", "kept", ""))
		return err
	})
	wantErr(t, "Tx ending in a conflicting create", err, subscription.ErrConflict)
	checkUntouched(t, s)

	// And all commit together.
	err = s.Tx(ctx, func(tx subscription.Tx) error {
		for _, id := range []string{"a", "b", "c"} {
			if _, err := tx.Create(ctx, newResource(t, "Observation", id, "")); err != nil {
				return err
			}
		}
		if _, _, err := tx.Put(ctx, newResource(t, "Patient", "kept", ""), 1); err != nil {
			return err
		}
		_, err := tx.Delete(ctx, "Observation", "c", 1)
		return err
	})
	if err != nil {
		t.Fatalf("Tx: %v", err)
	}
	obs, err := s.Search(ctx, "Observation", func([]byte) (bool, error) { return true, nil })
	if got := ids(obs); err != nil || len(got) != 2 {
		t.Errorf("Search(Observation) after commit = %v, %v; want a/1 and b/1", got, err)
	}
	if r, err := s.Read(ctx, "Patient", "kept"); err != nil || r.VersionID != 2 {
		t.Errorf("Read(kept) after commit: version %d, err %v; want 2", r.VersionID, err)
	}
	if r, err := s.Read(ctx, "Observation", "c"); !errors.Is(err, subscription.ErrGone) || r.VersionID != 2 {
		t.Errorf("Read(c) after commit: version %d, err %v; want 2, ErrGone", r.VersionID, err)
	}
}

func testPing(t *testing.T, s subscription.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Ping(ctx); err == nil {
		t.Errorf("Ping(cancelled context) = nil, want an error")
	}
}
