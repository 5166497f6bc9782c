package subscription

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
)

// mustTopic parses a topic or fails the test.
func mustTopic(tb testing.TB, body string) *Topic {
	tb.Helper()
	t, err := ParseTopic([]byte(body))
	if err != nil {
		tb.Fatalf("ParseTopic: %v", err)
	}
	return t
}

// mustTopicFile parses testdata/name.
func mustTopicFile(tb testing.TB, name string) *Topic {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return mustTopic(tb, string(b))
}

// wantValidation checks that err is a *fhir.ValidationError with path and
// code.
func wantValidation(t *testing.T, name string, err error, path, code string) {
	t.Helper()
	var ve *fhir.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("%s: err = %v, want a *fhir.ValidationError at %s", name, err, path)
	}
	if ve.Path != path || ve.IssueCode() != code {
		t.Errorf("%s: error at %q (%s): %s; want at %q (%s)", name, ve.Path, ve.IssueCode(), ve.Msg, path, code)
	}
}

func TestParseTopicExamples(t *testing.T) {
	t.Run("encounter-start example", func(t *testing.T) {
		tp := mustTopicFile(t, "topic-encounter-start-example.json")
		if tp.URL != "http://example.org/fhir/SubscriptionTopic/encounter-start" || tp.ID != "encounter-start" || tp.Status != "active" {
			t.Errorf("URL, ID, Status = %q, %q, %q", tp.URL, tp.ID, tp.Status)
		}
		if len(tp.Triggers) != 1 {
			t.Fatalf("len(Triggers) = %d, want 1", len(tp.Triggers))
		}
		tr := tp.Triggers[0]
		if tr.Resource != "Encounter" {
			t.Errorf("Resource = %q, want Encounter (normalised from the StructureDefinition URL)", tr.Resource)
		}
		if !slices.Equal(tr.Interactions, []string{"create", "update"}) {
			t.Errorf("Interactions = %v", tr.Interactions)
		}
		want := QueryCriteria{Previous: "status:not=in-progress", Current: "status=in-progress", ResultForCreate: TestPasses, ResultForDelete: TestFails, RequireBoth: true}
		if q := tr.Query; q == nil || q.Previous != want.Previous || q.Current != want.Current || q.ResultForCreate != want.ResultForCreate || q.ResultForDelete != want.ResultForDelete || q.RequireBoth != want.RequireBoth {
			t.Errorf("Query = %+v, want %+v", tr.Query, want)
		}
		if len(tp.CanFilterBy) != 2 || tp.CanFilterBy[0].FilterParameter != "patient" || !slices.Equal(tp.CanFilterBy[1].Modifiers, []string{"not"}) {
			t.Errorf("CanFilterBy = %+v", tp.CanFilterBy)
		}
		if len(tp.Shapes) != 1 || tp.Shapes[0].Resource != "Encounter" || !slices.Equal(tp.Shapes[0].Include, []string{"Encounter:patient"}) {
			t.Errorf("Shapes = %+v", tp.Shapes)
		}
		if len(tp.Raw) == 0 {
			t.Error("Raw is empty")
		}
	})
	t.Run("fhirpath example", func(t *testing.T) {
		tp := mustTopicFile(t, "topic-encounter-complete-fhirpath.json")
		if tp.Version != "1.0.0-beta.1" || tp.Triggers[0].FHIRPath == "" || tp.Triggers[0].Query != nil {
			t.Errorf("Version = %q, trigger = %+v", tp.Version, tp.Triggers[0])
		}
	})
	t.Run("versioned url", func(t *testing.T) {
		tp := mustTopic(t, `{"resourceType":"SubscriptionTopic","url":"http://x.org/t|2","resourceTrigger":[{"resource":"Patient"}]}`)
		if tp.URL != "http://x.org/t" || tp.Version != "2" {
			t.Errorf("URL, Version = %q, %q, want http://x.org/t, 2", tp.URL, tp.Version)
		}
	})
}

func TestParseTopicInvalid(t *testing.T) {
	const trig = `"resourceTrigger":[{"resource":"Encounter"}]`
	tests := []struct {
		name, body, path, code string
	}{
		{"not json", `{"resourceType":`, "", "invalid"},
		{"array", `[]`, "", "invalid"},
		{"no resourceType", `{"url":"http://x.org/t",` + trig + `}`, "resourceType", "required"},
		{"wrong resourceType", `{"resourceType":"Subscription","url":"http://x.org/t",` + trig + `}`, "resourceType", "invalid"},
		{"bad id", `{"resourceType":"SubscriptionTopic","id":"a b","url":"http://x.org/t",` + trig + `}`, "SubscriptionTopic.id", "invalid"},
		{"no url", `{"resourceType":"SubscriptionTopic",` + trig + `}`, "SubscriptionTopic.url", "required"},
		{"url not a string", `{"resourceType":"SubscriptionTopic","url":7,` + trig + `}`, "SubscriptionTopic.url", "invalid"},
		{"relative url", `{"resourceType":"SubscriptionTopic","url":"topics/t",` + trig + `}`, "SubscriptionTopic.url", "invalid"},
		{"bad status", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t","status":"on",` + trig + `}`, "SubscriptionTopic.status", "invalid"},
		{"no trigger", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t"}`, "SubscriptionTopic.resourceTrigger", "required"},
		{"event trigger only", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t","eventTrigger":[{"resource":"Encounter"}]}`, "SubscriptionTopic.eventTrigger", "not-supported"},
		{"trigger not an array", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t","resourceTrigger":{"resource":"Encounter"}}`, "SubscriptionTopic.resourceTrigger", "invalid"},
		{"trigger without resource", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t","resourceTrigger":[{"resource":"Encounter"},{}]}`, "SubscriptionTopic.resourceTrigger[1].resource", "required"},
		{"unknown resource", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t","resourceTrigger":[{"resource":"Encountr"}]}`, "SubscriptionTopic.resourceTrigger[0].resource", "not-supported"},
		{"unknown interaction", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t","resourceTrigger":[{"resource":"Encounter","supportedInteraction":["create","read"]}]}`, "SubscriptionTopic.resourceTrigger[0].supportedInteraction[1]", "invalid"},
		{"previous unknown param", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t","resourceTrigger":[{"resource":"Encounter","queryCriteria":{"previous":"colour=red"}}]}`, "SubscriptionTopic.resourceTrigger[0].queryCriteria.previous", "not-supported"},
		{"current on another type", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t","resourceTrigger":[{"resource":"Encounter","queryCriteria":{"current":"Patient?active=true"}}]}`, "SubscriptionTopic.resourceTrigger[0].queryCriteria.current", "invalid"},
		{"bad resultForCreate", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t","resourceTrigger":[{"resource":"Encounter","queryCriteria":{"current":"status=finished","resultForCreate":"pass"}}]}`, "SubscriptionTopic.resourceTrigger[0].queryCriteria.resultForCreate", "invalid"},
		{"requireBoth not boolean", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t","resourceTrigger":[{"resource":"Encounter","queryCriteria":{"requireBoth":"yes"}}]}`, "SubscriptionTopic.resourceTrigger[0].queryCriteria.requireBoth", "invalid"},
		{"fhirpath does not compile", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t","resourceTrigger":[{"resource":"Encounter","fhirPathCriteria":"%current.status = = 'x'"}]}`, "SubscriptionTopic.resourceTrigger[0].fhirPathCriteria", "invalid"},
		{"canFilterBy unknown param", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t",` + trig + `,"canFilterBy":[{"resource":"Encounter","filterParameter":"colour"}]}`, "SubscriptionTopic.canFilterBy[0].filterParameter", "not-supported"},
		{"canFilterBy without parameter", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t",` + trig + `,"canFilterBy":[{"resource":"Encounter"}]}`, "SubscriptionTopic.canFilterBy[0].filterParameter", "required"},
		{"canFilterBy untyped unknown", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t",` + trig + `,"canFilterBy":[{"filterParameter":"code"}]}`, "SubscriptionTopic.canFilterBy[0].filterParameter", "not-supported"},
		{"shape without resource", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t",` + trig + `,"notificationShape":[{"include":["Encounter:patient"]}]}`, "SubscriptionTopic.notificationShape[0].resource", "required"},
		{"modifier extension", `{"resourceType":"SubscriptionTopic","url":"http://x.org/t",` + trig + `,"modifierExtension":[{"url":"http://x.org/m","valueBoolean":true}]}`, "SubscriptionTopic.modifierExtension[0]", "not-supported"},
	}
	for _, tt := range tests {
		_, err := ParseTopic([]byte(tt.body))
		wantValidation(t, tt.name, err, tt.path, tt.code)
	}

	// The IG's own example topic offers "_in" (R5 group membership), which
	// an R4 server cannot evaluate, so it is refused with a precise path.
	b, err := os.ReadFile("testdata/topic-ig-r4b-encounter-complete.json")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseTopic(b)
	wantValidation(t, "IG r4b-encounter-complete", err, "SubscriptionTopic.canFilterBy[1].filterParameter", "not-supported")
}

func TestBuiltinTopics(t *testing.T) {
	ts := BuiltinTopics()
	var urls []string
	for _, tp := range ts {
		urls = append(urls, tp.URL)
	}
	want := []string{EncounterStartTopic}
	for _, typ := range []string{"Observation", "Encounter", "Patient", "Condition", "DiagnosticReport", "ServiceRequest", "MedicationRequest", "Task", "Appointment", "Communication"} {
		want = append(want, ChangedTopic(typ))
		tp, ok := NewTopics(ts...).Topic(ChangedTopic(typ))
		if !ok {
			t.Errorf("no built-in topic %s", ChangedTopic(typ))
			continue
		}
		if tp.ID != typ+"-changed" || len(tp.Triggers) != 1 || tp.Triggers[0].Resource != typ || len(tp.Triggers[0].Interactions) != 3 {
			t.Errorf("%s: ID %q, triggers %+v", tp.URL, tp.ID, tp.Triggers)
		}
		if len(tp.Shapes) != 1 || tp.Shapes[0].Resource != typ {
			t.Errorf("%s: shapes %+v", tp.URL, tp.Shapes)
		}
		for _, cf := range tp.CanFilterBy {
			if cf.Resource != typ || !strings.HasPrefix(cf.FilterDefinition, "http://hl7.org/fhir/SearchParameter/") {
				t.Errorf("%s: canFilterBy %+v", tp.URL, cf)
			}
		}
	}
	slices.Sort(want)
	slices.Sort(urls)
	if !slices.Equal(urls, want) {
		t.Errorf("built-in topic URLs = %v, want %v", urls, want)
	}

	// Spot checks of the generated filters.
	obs, _ := NewTopics(ts...).Topic(ChangedTopic("Observation"))
	for _, p := range []string{"code", "subject", "patient", "category", "status", "identifier", "encounter", "performer", "date", "value-quantity", "_id"} {
		if allowedFilter(obs, "Observation", p) == nil {
			t.Errorf("Observation-changed does not offer filter %q", p)
		}
	}
	if cf := allowedFilter(obs, "Observation", "code"); cf == nil || cf.FilterDefinition != "http://hl7.org/fhir/SearchParameter/clinical-code" {
		t.Errorf("Observation code filterDefinition = %+v, want clinical-code", cf)
	}
	es, _ := NewTopics(ts...).Topic(EncounterStartTopic)
	if es == nil || es.Triggers[0].Query == nil || !es.Triggers[0].Query.RequireBoth {
		t.Errorf("encounter-start = %+v", es)
	}
}

// enc is an Encounter of patient p-77 in status.
func enc(status string) []byte {
	return encOf(status, "p-77")
}

func encOf(status, patient string) []byte {
	return fmt.Appendf(nil, `{"resourceType":"Encounter","id":"e1","status":%q,"class":{"code":"IMP"},"subject":{"reference":"Patient/%s"}}`, status, patient)
}

func TestTriggeredEncounterStart(t *testing.T) {
	for _, tp := range []*Topic{mustTopicFile(t, "topic-encounter-start-example.json"), builtin(t, EncounterStartTopic)} {
		tests := []struct {
			name              string
			interaction       string
			previous, current []byte
			want              bool
		}{
			{"create in-progress", "create", nil, enc("in-progress"), true},
			{"create planned", "create", nil, enc("planned"), false},
			{"update planned to in-progress", "update", enc("planned"), enc("in-progress"), true},
			{"update arrived to in-progress", "update", enc("arrived"), enc("in-progress"), true},
			{"update in-progress to in-progress", "update", enc("in-progress"), enc("in-progress"), false},
			{"update in-progress to finished", "update", enc("in-progress"), enc("finished"), false},
			{"update planned to arrived", "update", enc("planned"), enc("arrived"), false},
			{"update without previous", "update", nil, enc("in-progress"), true},
			{"delete in-progress", "delete", enc("in-progress"), nil, false},
			{"other type", "create", nil, []byte(`{"resourceType":"Observation","status":"final"}`), false},
		}
		for _, tt := range tests {
			tr, ok, err := tp.Triggered(tt.interaction, tt.previous, tt.current)
			if err != nil {
				t.Errorf("%s %s: %v", tp.URL, tt.name, err)
				continue
			}
			if ok != tt.want || (ok && tr != &tp.Triggers[0]) {
				t.Errorf("%s: Triggered(%s) = %v, %v, want %v", tp.URL, tt.name, tr != nil, ok, tt.want)
			}
		}
	}
}

// builtin returns the built-in topic url.
func builtin(t *testing.T, url string) *Topic {
	t.Helper()
	tp, ok := NewTopics(BuiltinTopics()...).Topic(url)
	if !ok {
		t.Fatalf("no built-in topic %s", url)
	}
	return tp
}

func TestTriggeredQueryCriteria(t *testing.T) {
	// topic builds an Encounter topic with the given queryCriteria.
	topic := func(qc string) *Topic {
		return mustTopic(t, `{"resourceType":"SubscriptionTopic","url":"http://x.org/t","resourceTrigger":[{"resource":"Encounter","queryCriteria":`+qc+`}]}`)
	}
	const (
		both   = `"previous":"status=planned","current":"status=finished"`
		passes = "test-passes"
		fails  = "test-fails"
	)
	qc := func(criteria, forCreate, forDelete string, requireBoth bool) string {
		s := "{" + criteria
		if forCreate != "" {
			s += `,"resultForCreate":"` + forCreate + `"`
		}
		if forDelete != "" {
			s += `,"resultForDelete":"` + forDelete + `"`
		}
		return s + fmt.Sprintf(`,"requireBoth":%v}`, requireBoth)
	}
	tests := []struct {
		name              string
		criteria          string
		interaction       string
		previous, current []byte
		want              bool
	}{
		// update: both tests run on real versions.
		{"update both pass, requireBoth", qc(both, "", "", true), "update", enc("planned"), enc("finished"), true},
		{"update previous fails, requireBoth", qc(both, "", "", true), "update", enc("arrived"), enc("finished"), false},
		{"update current fails, requireBoth", qc(both, "", "", true), "update", enc("planned"), enc("arrived"), false},
		{"update previous only, either", qc(both, "", "", false), "update", enc("planned"), enc("arrived"), true},
		{"update current only, either", qc(both, "", "", false), "update", enc("arrived"), enc("finished"), true},
		{"update neither, either", qc(both, "", "", false), "update", enc("arrived"), enc("cancelled"), false},
		// create: the previous test takes resultForCreate.
		{"create passes, current passes, requireBoth", qc(both, passes, "", true), "create", nil, enc("finished"), true},
		{"create passes, current fails, requireBoth", qc(both, passes, "", true), "create", nil, enc("arrived"), false},
		{"create fails, current passes, requireBoth", qc(both, fails, "", true), "create", nil, enc("finished"), false},
		{"create fails, current passes, either", qc(both, fails, "", false), "create", nil, enc("finished"), true},
		{"create passes, current fails, either", qc(both, passes, "", false), "create", nil, enc("arrived"), true},
		{"create fails, current fails, either", qc(both, fails, "", false), "create", nil, enc("arrived"), false},
		{"create no resultForCreate: current decides", qc(both, "", "", true), "create", nil, enc("finished"), true},
		{"create no resultForCreate: current fails", qc(both, "", "", true), "create", nil, enc("arrived"), false},
		// delete: the current test takes resultForDelete.
		{"delete passes, previous passes, requireBoth", qc(both, "", passes, true), "delete", enc("planned"), nil, true},
		{"delete passes, previous fails, requireBoth", qc(both, "", passes, true), "delete", enc("arrived"), nil, false},
		{"delete fails, previous passes, requireBoth", qc(both, "", fails, true), "delete", enc("planned"), nil, false},
		{"delete fails, previous passes, either", qc(both, "", fails, false), "delete", enc("planned"), nil, true},
		{"delete passes, previous fails, either", qc(both, "", passes, false), "delete", enc("arrived"), nil, true},
		{"delete fails, previous fails, either", qc(both, "", fails, false), "delete", enc("arrived"), nil, false},
		{"delete no resultForDelete: previous decides", qc(both, "", "", true), "delete", enc("planned"), nil, true},
		// a single criterion.
		{"current only, update pass", qc(`"current":"status=finished"`, "", "", false), "update", enc("planned"), enc("finished"), true},
		{"current only, update fail", qc(`"current":"status=finished"`, "", "", false), "update", enc("finished"), enc("planned"), false},
		{"current only, delete fails", qc(`"current":"status=finished"`, "", fails, false), "delete", enc("finished"), nil, false},
		{"empty criteria fire", `{}`, "delete", enc("finished"), nil, true},
	}
	for _, tt := range tests {
		tp := topic(tt.criteria)
		_, ok, err := tp.Triggered(tt.interaction, tt.previous, tt.current)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if ok != tt.want {
			t.Errorf("Triggered(%s) = %v, want %v", tt.name, ok, tt.want)
		}
	}
}

func TestTriggeredInteractionsAndFHIRPath(t *testing.T) {
	plain := mustTopic(t, `{"resourceType":"SubscriptionTopic","url":"http://x.org/t","resourceTrigger":[
		{"resource":"Patient","supportedInteraction":["delete"]},
		{"resource":"Encounter","supportedInteraction":["create","update"],"fhirPathCriteria":"%previous.status != 'finished' and %current.status = 'finished'"}]}`)
	all := mustTopic(t, `{"resourceType":"SubscriptionTopic","url":"http://x.org/all","resourceTrigger":[{"resource":"Patient"}]}`)
	complete := mustTopicFile(t, "topic-encounter-complete-fhirpath.json")
	pat := []byte(`{"resourceType":"Patient","id":"p"}`)
	tests := []struct {
		name              string
		topic             *Topic
		interaction       string
		previous, current []byte
		want              bool
	}{
		{"delete-only trigger on delete", plain, "delete", pat, nil, true},
		{"delete-only trigger on update", plain, "update", pat, pat, false},
		{"no supportedInteraction means all: create", all, "create", nil, pat, true},
		{"no supportedInteraction means all: delete", all, "delete", pat, nil, true},
		{"fhirpath transition", plain, "update", enc("in-progress"), enc("finished"), true},
		{"fhirpath no transition", plain, "update", enc("finished"), enc("finished"), false},
		{"fhirpath wrong target", plain, "update", enc("planned"), enc("in-progress"), false},
		// %previous is empty on create: "!=" on empty is empty, so the
		// naive expression does not fire, as FHIRPath defines.
		{"fhirpath create with empty previous", plain, "create", nil, enc("finished"), false},
		{"R5 example create finished", complete, "create", nil, enc("finished"), true},
		{"R5 example update to finished", complete, "update", enc("in-progress"), enc("finished"), true},
		{"R5 example update finished again", complete, "update", enc("finished"), enc("finished"), false},
	}
	for _, tt := range tests {
		_, ok, err := tt.topic.Triggered(tt.interaction, tt.previous, tt.current)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if ok != tt.want {
			t.Errorf("Triggered(%s) = %v, want %v", tt.name, ok, tt.want)
		}
	}

	// Topics are shared by every write: evaluate one concurrently under
	// -race.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if _, ok, err := complete.Triggered("update", enc("in-progress"), enc("finished")); !ok || err != nil {
					t.Errorf("concurrent Triggered = %v, %v, want true", ok, err)
					return
				}
			}
		})
	}
	wg.Wait()

	if _, _, err := all.Triggered("read", nil, pat); err == nil {
		t.Error("Triggered(read) did not fail")
	}
	if _, _, err := all.Triggered("create", nil, []byte(`{"id":"x"}`)); err == nil {
		t.Error("Triggered on a resource without resourceType did not fail")
	}
}

func TestTopics(t *testing.T) {
	a := mustTopic(t, `{"resourceType":"SubscriptionTopic","url":"http://x.org/b","resourceTrigger":[{"resource":"Patient"}]}`)
	b := mustTopic(t, `{"resourceType":"SubscriptionTopic","url":"http://x.org/a","resourceTrigger":[{"resource":"Patient"}]}`)
	var s Topics // the zero value is ready
	if _, ok := s.Topic("http://x.org/a"); ok {
		t.Error("empty set has a topic")
	}
	s.Add(a)
	s.Add(b)
	if got, ok := s.Topic("http://x.org/a|3.0"); !ok || got != b {
		t.Errorf("Topic(versioned) = %v, %v, want b", got, ok)
	}
	if all := s.All(); len(all) != 2 || all[0] != b || all[1] != a {
		t.Errorf("All() not sorted by URL: %v", all)
	}
	if !s.Remove("http://x.org/a") || s.Remove("http://x.org/a") {
		t.Error("Remove reported wrongly")
	}
	if _, ok := s.Topic("http://x.org/a"); ok {
		t.Error("removed topic still found")
	}

	// Concurrent use under -race.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				s.Add(mustTopic(t, fmt.Sprintf(`{"resourceType":"SubscriptionTopic","url":"http://x.org/%d-%d","resourceTrigger":[{"resource":"Patient"}]}`, i, j)))
				s.Topic("http://x.org/b")
				_ = s.All()
			}
		})
	}
	wg.Wait()
	if n := len(s.All()); n != 201 {
		t.Errorf("len(All()) = %d, want 201", n)
	}
}

func FuzzParseTopic(f *testing.F) {
	files, _ := filepath.Glob("testdata/topic-*.json")
	builtins, _ := filepath.Glob("topics/*.json")
	for _, name := range append(files, builtins...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"resourceType":"SubscriptionTopic","url":"http://x.org/t","resourceTrigger":[{"resource":"Encounter","fhirPathCriteria":"%current.where("}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tp, err := ParseTopic(body)
		if err != nil {
			var ve *fhir.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ParseTopic error is %T, not a validation error: %v", err, err)
			}
			return
		}
		if tp.URL == "" || len(tp.Triggers) == 0 {
			t.Fatalf("accepted topic without url or trigger: %+v", tp)
		}
		// Evaluating an accepted topic must not panic either.
		_, _, _ = tp.Triggered("update", enc("planned"), enc("in-progress"))
	})
}
