package search

import (
	"github.com/fhirbell/fhirbell/fhir"
	"net/url"
	"strings"
	"testing"
)

func FuzzParseQuery(f *testing.F) {
	for _, tc := range matchCases {
		typ, query, _ := strings.Cut(tc.criteria, "?")
		f.Add(strings.TrimPrefix(typ, "/"), query)
	}
	f.Add("Observation", "code=a\\,b|c&_count=x&date=ge2024-13")
	f.Add("Patient", "name:exact=&birthdate=sa2024-02-29T24:00:00Z")
	f.Fuzz(func(t *testing.T, typ, query string) {
		params, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		q, err := ParseQuery(typ, params)
		if err != nil {
			if _, ok := err.(*fhir.ValidationError); !ok {
				t.Fatalf("ParseQuery(%q, %q) error %T %v, want *fhir.ValidationError", typ, query, err, err)
			}
			return
		}
		_ = q.Pins()
		if _, err := q.Match([]byte(obsJSON)); err != nil {
			t.Fatalf("ParseQuery(%q, %q).Match(obs): %v", typ, query, err)
		}
	})
}

func FuzzParseCriteria(f *testing.F) {
	for _, tc := range matchCases {
		f.Add(tc.criteria)
	}
	f.Add("/Observation?subject:Patient=http://x/Patient/1&value-quantity=ap1e-3||mg")
	f.Add("Observation?%zz")
	f.Fuzz(func(t *testing.T, criteria string) {
		q, err := ParseCriteria(criteria)
		if err != nil {
			if _, ok := err.(*fhir.ValidationError); !ok {
				t.Fatalf("ParseCriteria(%q) error %T %v, want *fhir.ValidationError", criteria, err, err)
			}
			return
		}
		for _, p := range q.Pins() {
			if p.Param == "" {
				t.Fatalf("ParseCriteria(%q).Pins() has an empty param: %v", criteria, q.Pins())
			}
		}
	})
}

// FuzzMatch matches random resource JSON against a fixed set of queries
// covering every parameter type; it must never panic, and a match must
// respect the pin invariant.
func FuzzMatch(f *testing.F) {
	for _, r := range []string{obsJSON, obsGroupJSON, patientJSON, encounterJSON, encounterOpenJSON, conditionJSON,
		diagnosticReportJSON, serviceRequestJSON, medicationRequestJSON, taskJSON, appointmentJSON,
		communicationJSON, subscriptionJSON, riskJSON, `{}`, `[]`, `null`, `{"resourceType":1}`,
		`{"resourceType":"Observation","code":"x","subject":[1,{"reference":2}],"valueQuantity":"q","effectivePeriod":{"start":5}}`} {
		f.Add(r)
	}
	// A few queries per parameter type keep each execution cheap, which
	// the fuzzer's minimisation of the ~1.5 KB seeds needs.
	var queries []*Query
	for _, c := range []string{
		"Observation?code=http://loinc.org|8867-4&subject=Patient/123",
		"Observation?code:not=x&code:text=heart&status=|final",
		"Observation?patient=123&performer=Organization/org9",
		"Observation?date=ge2024-03&date=lt2024-04&value-quantity=ap72||/min",
		"Observation?date=sa2024-02-01&value-quantity:missing=false&_profile:below=http://hl7.org",
		"Observation?_lastUpdated=gt2024&_tag=http://example.org/tags|&value-string:contains=ev",
		"Patient?name=zoe&birthdate=1980&gender=female&identifier=|12345",
		"Patient?address:exact=Zürich&phone=x&deceased=false",
		"Encounter?date=eb2030&length=gt1|http://unitsofmeasure.org|h&subject:Patient=123",
	} {
		q, err := ParseCriteria(c)
		if err != nil {
			f.Fatal(err)
		}
		queries = append(queries, q)
	}
	f.Fuzz(func(t *testing.T, resource string) {
		for _, q := range queries {
			ok, err := q.Match([]byte(resource))
			if err != nil || !ok {
				continue
			}
			for _, pin := range q.Pins() {
				keys, err := IndexKeys(q.Type, pin.Param, []byte(resource))
				if err != nil {
					t.Fatalf("IndexKeys(%s, %s): %v", q.Type, pin.Param, err)
				}
				found := false
				for _, k := range keys {
					found = found || k == pin.Value
				}
				if !found {
					t.Fatalf("query with pin %v matches %s but IndexKeys = %q", pin, resource, keys)
				}
			}
		}
	})
}
