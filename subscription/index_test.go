package subscription

import (
	"fmt"
	"slices"
	"testing"

	"github.com/fhirbell/fhirbell/fhir/search"
)

func criteriaSub(tb testing.TB, topics TopicSet, id, criteria string) *Subscription {
	tb.Helper()
	s := mustSubscription(tb, fmt.Appendf(nil, `{"resourceType":"Subscription","id":%q,"status":"active","reason":"test",`+
		`"criteria":%q,"channel":{"type":"websocket"}}`, id, criteria), topics)
	s.ID = id
	return s
}

func candidateIDs(t *testing.T, ix *index, body string) []string {
	t.Helper()
	cands, err := ix.candidates("Observation", search.NewTarget([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range cands {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestIndexPutRemove: replacing and removing subscriptions leaves exactly
// the entries of the ones still there, pinned or not.
func TestIndexPutRemove(t *testing.T) {
	topics := testTopics(t)
	ix := newIndex()
	for i := range 5 {
		ix.put(criteriaSub(t, topics, fmt.Sprintf("c%d", i), fmt.Sprintf("Observation?code=http://loinc.org|c%d", i)), topics)
	}
	ix.put(criteriaSub(t, topics, "all", "Observation?status=final"), topics)
	ix.put(criteriaSub(t, topics, "high", "Observation?value-quantity=gt5"), topics) // pins nothing
	ix.put(criteriaSub(t, topics, "pat", "Patient?gender=male"), topics)
	obs := func(code string) string {
		return `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"` + code + `"}]}}`
	}
	if got := candidateIDs(t, ix, obs("c1")); !slices.Equal(got, []string{"all", "c1", "high"}) {
		t.Errorf("candidates of c1 = %v, want [all c1 high]", got)
	}
	ix.remove("high")
	// c1 now follows c9; its c1 entry goes.
	ix.put(criteriaSub(t, topics, "c1", "Observation?code=http://loinc.org|c9"), topics)
	if got := candidateIDs(t, ix, obs("c1")); !slices.Equal(got, []string{"all"}) {
		t.Errorf("candidates of c1 after the move = %v, want [all]", got)
	}
	if got := candidateIDs(t, ix, obs("c9")); !slices.Equal(got, []string{"all", "c1"}) {
		t.Errorf("candidates of c9 = %v, want [all c1]", got)
	}
	ix.remove("all")
	ix.remove("nope")
	if got := candidateIDs(t, ix, obs("c2")); !slices.Equal(got, []string{"c2"}) {
		t.Errorf("candidates of c2 after removing all = %v, want [c2]", got)
	}
	for _, s := range ix.all() {
		ix.remove(s.ID)
	}
	if len(ix.subs) != 0 || len(ix.types) != 0 || len(ix.filed) != 0 {
		t.Errorf("after removing everything: %d subs, %d types, %d filings left", len(ix.subs), len(ix.types), len(ix.filed))
	}
}

// BenchmarkIndexReload puts 50,000 subscriptions with distinct codes into
// an index that holds them already, as a cluster resync does. Removing an
// entry walked every pinned value, which made this quadratic.
func BenchmarkIndexReload(b *testing.B) {
	topics := testTopics(b)
	subs := make([]*Subscription, 50_000)
	for i := range subs {
		subs[i] = criteriaSub(b, topics, fmt.Sprintf("s%d", i), fmt.Sprintf("Observation?code=http://loinc.org|c%d", i))
	}
	ix := newIndex()
	for _, s := range subs {
		ix.put(s, topics)
	}
	for b.Loop() {
		for _, s := range subs {
			ix.put(s, topics)
		}
	}
}
