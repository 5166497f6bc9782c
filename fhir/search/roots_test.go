package search

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
)

func TestExprRoots(t *testing.T) {
	cases := []struct {
		expr  string
		roots []string // nil: not a union of paths
	}{
		{"Observation.code", []string{"code"}},
		{"Observation.code | Observation.component.code", []string{"code", "component"}},
		{"Observation.valueString | (Observation.value as CodeableConcept).text", []string{"valueString", "value"}},
		{"Observation.subject.where(resolve() is Patient)", []string{"subject"}},
		{"Resource.meta.lastUpdated", []string{"meta"}},
		{"Bundle.entry[0].resource", []string{"entry"}},
		{"Condition.abatement.as(Age) | Condition.abatement.ofType(Range)", []string{"abatement"}},
		{"Patient.telecom.where(system='phone')", []string{"telecom"}},
		{"Patient.telecom.where(system='a|b)(' and use.where(x = 'c').exists())", []string{"telecom"}},
		{"Patient.deceased.exists() and Patient.deceased != false", nil},
		{"Patient.name.first()", nil},
		{"Patient.telecom.where(system='phone'", nil},
		{"Patient.name.family + 'x'", nil},
		{"Patient.extension('http://x').value", nil},
		{"%resource.id", nil},
		{"", nil},
	}
	for _, tc := range cases {
		roots, ok := exprRoots(tc.expr)
		if ok != (tc.roots != nil) || !slices.Equal(roots, tc.roots) {
			t.Errorf("exprRoots(%q) = %q, %v; want %q", tc.expr, roots, ok, tc.roots)
		}
	}
}

// TestRegistryRoots: nearly every R4 expression is a union of paths, so
// nearly every absent parameter costs nothing to extract.
func TestRegistryRoots(t *testing.T) {
	paths, chains, other := 0, 0, []string{}
	for _, rt := range fhir.ResourceTypes() {
		for _, p := range searchRegistry().sorted[rt] {
			if p.chains != nil {
				chains++
			}
			if p.pathOnly {
				paths++
			} else {
				other = append(other, rt+"."+p.Code+": "+p.Expression)
			}
		}
	}
	t.Logf("%d parameters are unions of paths, %d of them member chains walk reads; evaluated always: %q", paths, chains, other)
	if chains < paths/2 {
		t.Errorf("only %d of %d parameters are member chains; exprChains reads fewer expressions than it should", chains, paths)
	}
	if !slices.Contains(other, "Patient.deceased: Patient.deceased.exists() and Patient.deceased != false") {
		t.Errorf("Patient.deceased (false, not empty, when absent) must always be evaluated")
	}
	if len(other) > 10 {
		t.Errorf("%d parameters are evaluated always; exprRoots reads fewer expressions than it should", len(other))
	}
}

// extractBoth extracts resource with and without skipping absent roots.
func extractBoth(t *testing.T, resource []byte) (skip, all *Values, ok bool) {
	t.Helper()
	a := NewTarget(resource)
	mr, err := a.resource()
	if err != nil {
		return nil, nil, false
	}
	mr.evalAll = true
	all, errAll := a.Extract()
	skip, errSkip := NewTarget(resource).Extract()
	if (errAll == nil) != (errSkip == nil) {
		t.Fatalf("Extract(%s): error %v with every expression evaluated, %v when skipping absent elements", resource, errAll, errSkip)
	}
	return skip, all, errAll == nil
}

// Skipping the parameters whose elements are absent extracts exactly what
// evaluating every expression does.
func TestSkippingAbsentRootsChangesNothing(t *testing.T) {
	for _, res := range rootsCorpus() {
		skip, all, ok := extractBoth(t, []byte(res))
		if !ok {
			t.Fatalf("Extract(%s) failed", resourceLabel(res))
		}
		if !reflect.DeepEqual(skip, all) {
			t.Errorf("%s: skipping absent elements extracts\n%+v\nevaluating every expression\n%+v", resourceLabel(res), skip, all)
		}
		if len(all.Params) == 0 {
			t.Errorf("%s: extracts nothing; the fixture proves nothing", resourceLabel(res))
		}
	}
}

func FuzzSkippingAbsentRoots(f *testing.F) {
	for _, res := range rootsCorpus() {
		f.Add(res)
	}
	f.Add(`{"resourceType":"Patient","_birthDate":{"extension":[]},"deceasedBoolean":false}`)
	f.Add(`{"resourceType":"Observation","val\u0075eQuantity":{"value":1},"status":"final"}`)
	f.Fuzz(func(t *testing.T, res string) {
		// Every resource a store holds was parsed when written; on broken
		// JSON the engine's lenient reads and the member scan may see
		// different members.
		if !json.Valid([]byte(res)) {
			return
		}
		skip, all, ok := extractBoth(t, []byte(res))
		if ok && !reflect.DeepEqual(skip, all) {
			t.Errorf("%s: skipping absent elements extracts\n%+v\nevaluating every expression\n%+v", res, skip, all)
		}
	})
}

func rootsCorpus() []string {
	return []string{obsJSON, obsGroupJSON, patientJSON, encounterJSON, conditionJSON, diagnosticReportJSON,
		serviceRequestJSON, medicationRequestJSON, taskJSON, appointmentJSON, communicationJSON, subscriptionJSON, riskJSON,
		`{"resourceType":"Patient","id":"d","deceasedBoolean":false,"_gender":{"extension":[{"url":"http://x","valueCode":"u"}]}}`,
		`{"resourceType":"Patient","id":"e"}`,
		`{"resourceType":"Bundle","id":"b","type":"document","entry":[{"resource":{"resourceType":"Composition","id":"c"}}]}`,
		`{"resourceType":"Condition","id":"c","abatementAge":{"value":3,"unit":"a"},"onsetString":"child"}`,
		// A nested object naming a type (here "", which makes the engine
		// guess choice variants such as tagCoding); SubscriptionTopic bodies
		// are not checked against the schema.
		`{"resourceType":"SubscriptionTopic","id":"t1","meta":{"resourceType":"","tagCoding":{"system":"s","code":"x"}},"url":"http://example.org/t","status":"active"}`,
		`{"resourceType":"Observation","id":"c","status":"final","contained":[{"resourceType":"Patient","id":"p","name":[{"family":"X"}]}],"subject":{"reference":"#p"}}`,
		// The impossible choice variant the engine also looks up (members).
		`{"resourceType":"Observation","id":"n","status":"final","code\u0000":{"text":"x"},"meta":{"tag\u0000":[{"code":"t"}]}}`}
}

// BenchmarkExtract extracts every parameter of an Observation, as each
// write does; evaluate-all is the cost without skipping absent elements.
func BenchmarkExtract(b *testing.B) {
	for _, mode := range []string{"skip-absent", "evaluate-all"} {
		b.Run(mode, func(b *testing.B) {
			res := []byte(obsJSON)
			for b.Loop() {
				tg := NewTarget(res)
				mr, err := tg.resource()
				if err != nil {
					b.Fatal(err)
				}
				mr.evalAll = mode == "evaluate-all"
				if _, err := tg.Extract(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
