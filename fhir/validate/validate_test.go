package validate

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
)

func TestResource(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // "code path" of every issue, in order; nil means valid
	}{
		{"valid patient", `{"resourceType":"Patient","gender":"female","birthDate":"1970-01-02","name":[{"given":["A","B"]}]}`, nil},
		{"unknown element", `{"resourceType":"Patient","foo":1}`, []string{"structure Patient.foo"}},
		{"required binding", `{"resourceType":"Patient","gender":"banana"}`, []string{"code-invalid Patient.gender"}},
		{"date format", `{"resourceType":"Patient","birthDate":"not-a-date"}`, []string{"value Patient.birthDate"}},
		{"all three at once", `{"resourceType":"Patient","foo":1,"gender":"banana","birthDate":"1970-13-01"}`,
			[]string{"value Patient.birthDate", "structure Patient.foo", "code-invalid Patient.gender"}},
		{"single where an array belongs", `{"resourceType":"Patient","name":{"family":"X"}}`, []string{"structure Patient.name"}},
		{"array where a single belongs", `{"resourceType":"Patient","active":[true]}`, []string{"structure Patient.active"}},
		{"nested element", `{"resourceType":"Patient","name":[{"given":["A",1]}]}`, []string{"structure Patient.name[0].given[1]"}},
		{"wrong primitive type", `{"resourceType":"Patient","active":"yes"}`, []string{"structure Patient.active"}},
		{"bad id", `{"resourceType":"Patient","id":"a b"}`, []string{"value Patient.id"}},
		{"required complex element", `{"resourceType":"Observation","status":"final"}`, []string{"required Observation.code"}},
		{"contained resource checked by its own type", `{"resourceType":"Patient","contained":[{"resourceType":"Practitioner","gender":"x"}]}`,
			[]string{"code-invalid Patient.contained[0].gender"}},
		{"bundle entry checked by its own type", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","bogus":true},"request":{"method":"POST","url":"Patient"}}]}`,
			[]string{"structure Bundle.entry[0].resource.bogus"}},
		{"unknown resource type", `{"resourceType":"Nope"}`, []string{"not-supported resourceType"}},
		{"duplicate key", `{"resourceType":"Patient","gender":"male","gender":"male"}`, []string{"structure "}},
		{"not JSON", `{"resourceType":`, []string{"structure "}},
		{"extension on a primitive", `{"resourceType":"Patient","_birthDate":{"extension":[{"url":"http://x","valueString":"y"}]}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Resource([]byte(tt.body))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Resource: %v, want valid", err)
				}
				return
			}
			var es fhir.ValidationErrors
			if !errors.As(err, &es) {
				t.Fatalf("Resource: %v (%T), want fhir.ValidationErrors", err, err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.IssueCode()+" "+e.Path)
				if e.Msg == "" {
					t.Errorf("issue at %s has no message", e.Path)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("issues %q, want %q (%v)", got, tt.want, err)
			}
		})
	}
}

func TestCovered(t *testing.T) {
	for rt, want := range map[string]bool{"Patient": true, "Bundle": true, "SubscriptionTopic": false, "Project": false} {
		if got := Covered(rt); got != want {
			t.Errorf("Covered(%s) = %v, want %v", rt, got, want)
		}
	}
}

// BenchmarkResource is the validation cost a write pays (docs/benchmarks.md).
func BenchmarkResource(b *testing.B) {
	for _, bm := range []struct{ name, body string }{
		{"Patient", `{"resourceType":"Patient","identifier":[{"system":"http://example.org/mrn","value":"12345"}],"active":true,"name":[{"use":"official","family":"Chalmers","given":["Peter","James"]}],"telecom":[{"system":"phone","value":"(03) 5555 6473","use":"work"}],"gender":"male","birthDate":"1974-12-25","address":[{"use":"home","line":["534 Erewhon St"],"city":"PleasantVille","state":"Vic","postalCode":"3999"}]}`},
		{"Observation", `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},"subject":{"reference":"Patient/example"},"effectiveDateTime":"2024-01-02T10:00:00Z","valueQuantity":{"value":72,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"}}`},
	} {
		if err := Resource([]byte(bm.body)); err != nil {
			b.Fatal(err)
		}
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Resource([]byte(bm.body)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestFastPatterns: each hand-written matcher agrees with package regexp.
func TestFastPatterns(t *testing.T) {
	inputs := []string{"", " ", "a", "a b", "a  b", " a", "a ", "a\tb", "a\fb", "a\nb", "x\r\ny", "ab-.9", "a_b",
		strings.Repeat("a", 64), strings.Repeat("a", 65), "é", "http://x/y?z=1", "a\u00a0b", "\f"}
	for expr, fast := range fastPatterns {
		re := regexp.MustCompile(expr)
		for _, in := range inputs {
			if got, want := fast(in), re.MatchString(in); got != want {
				t.Errorf("%s on %q: fast %v, regexp %v", expr, in, got, want)
			}
		}
	}
}

func TestRepeats(t *testing.T) {
	for _, tt := range []struct {
		typ           string
		path          []string
		repeats, know bool
	}{
		{"Patient", []string{"name"}, true, true},
		{"Patient", []string{"gender"}, false, true},
		{"Patient", []string{"name", "given"}, true, true},
		{"Patient", []string{"name", "family"}, false, true},
		{"Patient", []string{"contact", "telecom"}, true, true},
		{"Patient", []string{"nope"}, false, false},
		{"Observation", []string{"code", "coding"}, true, true},
	} {
		r, k := Repeats(tt.typ, tt.path...)
		if r != tt.repeats || k != tt.know {
			t.Errorf("Repeats(%s, %v) = %v, %v; want %v, %v", tt.typ, tt.path, r, k, tt.repeats, tt.know)
		}
	}
}
