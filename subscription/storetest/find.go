package storetest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
)

// Corpus is the set of resources the search conformance tests load: every
// search parameter type in several shapes (codings with and without
// system, texts, accented names, absolute and versioned references, dates
// at every precision and open periods, decimals and quantities in several
// units). Each is "Type/id" then the members inside the resource object.
var Corpus = []struct{ Ref, Members string }{
	{"Organization/org1", `"name":"Acme Health","identifier":[{"system":"urn:org","value":"A1"}]`},
	{"Organization/org2", `"name":"Beta Clinic","partOf":{"reference":"Organization/org1"}`},
	{"Practitioner/pr1", `"name":[{"family":"House","given":["Gregory"]}]`},
	{"Patient/p1", `"active":true,"gender":"female","birthDate":"1980-05-15",
	  "identifier":[{"system":"urn:mrn","value":"MRN1"},{"type":{"text":"Passport"},"system":"urn:pp","value":"X9"}],
	  "name":[{"family":"Müller","given":["Zoë","Anna"]}],"telecom":[{"system":"email","value":"zoe@example.org"}],
	  "address":[{"city":"Zürich","postalCode":"8001"}],"managingOrganization":{"reference":"Organization/org1"},
	  "generalPractitioner":[{"reference":"Practitioner/pr1"}]`},
	{"Patient/p2", `"active":false,"gender":"male","birthDate":"1975",
	  "identifier":[{"system":"urn:mrn","value":"MRN2"}],"name":[{"family":"Smith","given":["John"]},{"text":"Johnny Smith"}],
	  "managingOrganization":{"reference":"http://example.org/fhir/Organization/org2"}`},
	{"Patient/p3", `"gender":"other","name":[{"family":"mueller"}],"birthDate":"1990-02"`},
	{"Encounter/e1", `"status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},
	  "subject":{"reference":"Patient/p1"},"period":{"start":"2024-01-01T08:00:00Z","end":"2024-01-03T12:00:00Z"},
	  "length":{"value":52,"unit":"h","system":"http://unitsofmeasure.org","code":"h"}`},
	{"Encounter/e2", `"status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"EMER"},
	  "subject":{"reference":"Patient/p2"},"period":{"start":"2024-06-10T21:00:00+02:00"}`},
	{"Observation/o1", `"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital Signs"}]}],
	  "code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}],"text":"Heart rate"},
	  "subject":{"reference":"Patient/p1"},"encounter":{"reference":"Encounter/e1"},"effectiveDateTime":"2024-01-02T10:00:00Z",
	  "valueQuantity":{"value":72,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"},
	  "meta":{"tag":[{"system":"urn:tag","code":"urgent"}],"profile":["http://hl7.org/fhir/StructureDefinition/heartrate"]}`},
	{"Observation/o2", `"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
	  "subject":{"reference":"Patient/p1"},"effectiveDateTime":"2024-03-05",
	  "valueQuantity":{"value":130.5,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"}`},
	{"Observation/o3", `"status":"preliminary","code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}]},
	  "subject":{"reference":"Patient/p2"},"effectivePeriod":{"start":"2024-02-01","end":"2024-02-29"},
	  "valueQuantity":{"value":80,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}`},
	{"Observation/o4", `"status":"amended","code":{"coding":[{"code":"local-1"}],"text":"Local test"},
	  "subject":{"reference":"Patient/p3"},"effectiveDateTime":"2023","valueString":"Élevé",
	  "performer":[{"reference":"Practitioner/pr1"},{"reference":"http://other.example.org/fhir/Organization/org9/_history/3"}]`},
	{"Observation/o5", `"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"},{"system":"urn:local","code":"HR"}]},
	  "subject":{"reference":"Group/g1"},"effectivePeriod":{"end":"2022-12-31"},
	  "valueQuantity":{"value":0.5,"unit":"mg"}`},
	{"Observation/o6", `"status":"cancelled","code":{"text":"free text only"}`},
	{"Observation/gone", `"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/p1"}`},
	{"RiskAssessment/r1", `"status":"final","subject":{"reference":"Patient/p1"},"prediction":[{"probabilityDecimal":0.25}]`},
	{"RiskAssessment/r2", `"status":"final","subject":{"reference":"Patient/p2"},"prediction":[{"probabilityDecimal":0.7},{"probabilityDecimal":0.05}]`},
	{"ServiceRequest/s1", `"status":"active","intent":"order","subject":{"reference":"Patient/p1"},
	  "instantiatesCanonical":["http://example.org/fhir/PlanDefinition/cbc|1.0"],"instantiatesUri":["http://example.org/protocols/cbc"]`},
	{"Provenance/v1", `"target":[{"reference":"Observation/o1"},{"reference":"Patient/p1"}],"recorded":"2024-01-02T11:00:00Z",
	  "agent":[{"who":{"reference":"Practitioner/pr1"}}]`},
}

// corpusDeleted are the corpus resources deleted after the load; their old
// values must not match any more.
var corpusDeleted = []string{"Observation/gone"}

// Queries are the filters the conformance tests run on the corpus and
// compare with the matcher (search.Query.Match): every search type, every
// modifier and every prefix.
var Queries = []string{
	// token
	"Observation?code=8867-4", "Observation?code=http://loinc.org|8867-4", "Observation?code=http://loinc.org|",
	"Observation?code=|local-1", "Observation?code=urn:local|HR,29463-7", "Observation?code=8867-4&code=urn:local|HR",
	"Observation?code:not=8867-4", "Observation?code:text=heart", "Observation?code:text=body", "Observation?code:text=local",
	"Observation?code:missing=true", "Observation?code:missing=false", "Observation?status=final&category=vital-signs",
	"Observation?_tag=urn:tag|urgent", "Patient?identifier=urn:mrn|MRN1", "Patient?identifier=MRN2,X9",
	"Patient?identifier:text=pass", "Patient?active=true", "Patient?active=false", "Patient?gender:not=male",
	"Patient?email=zoe@example.org", "Observation?_id=o1,o3", "Observation?_id:not=o1", "Observation?_id:missing=false",
	"Observation?combo-code=http://loinc.org|8867-4",
	// string
	"Patient?name=mul", "Patient?name=MÜLLER", "Patient?name=zoe", "Patient?name=johnny", "Patient?name:exact=Müller",
	"Patient?name:exact=müller", "Patient?name:contains=ll", "Patient?family=mue", "Patient?address-city=zur",
	"Patient?name:missing=true", "Organization?name=acme", "Observation?value-string=elev",
	// uri
	"Observation?_profile=http://hl7.org/fhir/StructureDefinition/heartrate", "Observation?_profile:below=http://hl7.org/fhir/",
	"Observation?_profile:above=http://hl7.org/fhir/StructureDefinition/heartrate/extra", "Observation?_profile:missing=true",
	"ServiceRequest?instantiates-uri=http://example.org/protocols/cbc",
	// reference
	"Observation?subject=Patient/p1", "Observation?subject=p1", "Observation?subject:Patient=p2", "Observation?subject=Group/g1",
	"Observation?patient=p3", "Observation?subject:missing=true", "Observation?performer=Organization/org9",
	"Observation?performer=http://other.example.org/fhir/Organization/org9", "Patient?organization=org2",
	"Patient?organization=Organization/org1,Organization/org2", "Observation?encounter=e1&subject=p1",
	"ServiceRequest?instantiates-canonical=http://example.org/fhir/PlanDefinition/cbc",
	"ServiceRequest?instantiates-canonical=http://example.org/fhir/PlanDefinition/cbc|1.0", "Provenance?target=Observation/o1",
	// date, every prefix
	"Observation?date=2024-01-02", "Observation?date=2024", "Observation?date=eq2024-02", "Observation?date=ne2024-02",
	"Observation?date=gt2024-01-31", "Observation?date=lt2024-01-01", "Observation?date=ge2024-02-29", "Observation?date=le2023-01-01",
	"Observation?date=sa2024-01-31", "Observation?date=eb2024-01-01", "Observation?date=ap2024-03-01", "Observation?date=ge2024-01-01&date=lt2024-03",
	"Observation?date:missing=true", "Encounter?date=2024-01-02", "Encounter?date=gt2024-07-01", "Encounter?date=lt2024-01-01T09:00:00Z",
	"Encounter?date=ge2024-06-10T19:00:00Z", "Patient?birthdate=1980", "Patient?birthdate=lt1980-01-01", "Patient?birthdate=1990-02-14",
	"Patient?birthdate=sa1976", "Observation?_lastUpdated=gt2000-01-01",
	// number, every prefix
	"RiskAssessment?probability=0.25", "RiskAssessment?probability=0.3", "RiskAssessment?probability=gt0.5", "RiskAssessment?probability=lt0.1",
	"RiskAssessment?probability=ge0.25", "RiskAssessment?probability=le0.05", "RiskAssessment?probability=ne0.25", "RiskAssessment?probability=ap0.68",
	"RiskAssessment?probability=sa0.6", "RiskAssessment?probability=eb0.06", "RiskAssessment?probability=0.250",
	// quantity
	"Observation?value-quantity=72", "Observation?value-quantity=gt100", "Observation?value-quantity=lt1", "Observation?value-quantity=ge80",
	"Observation?value-quantity=le72", "Observation?value-quantity=ne72", "Observation?value-quantity=ap75", "Observation?value-quantity=130.5",
	"Observation?value-quantity=130|http://unitsofmeasure.org|/min", "Observation?value-quantity=gt50|http://unitsofmeasure.org|kg",
	"Observation?value-quantity=0.5||mg", "Observation?value-quantity=sa79", "Observation?value-quantity=eb1", "Observation?value-quantity:missing=true",
	"Encounter?length=52|http://unitsofmeasure.org|h",
	// combinations
	"Observation?subject=p1&code=8867-4&date=ge2024-01-01", "Observation?status=final,amended&value-quantity=gt60",
}

// chainQueries are the chained and reverse-chained searches, which the
// matcher cannot run, with the ids each must find.
var chainQueries = []struct {
	query string
	want  []string
}{
	{"Observation?subject.name=muller", []string{"o1", "o2"}},
	{"Observation?subject:Patient.identifier=urn:mrn|MRN2", []string{"o3"}},
	{"Observation?subject:Patient.organization.name=beta", []string{"o3"}},
	{"Observation?subject.gender=other&status=amended", []string{"o4"}},
	{"Observation?subject.name=nobody", nil},
	{"Patient?_has:Observation:subject:code=29463-7", []string{"p2"}},
	{"Patient?_has:Observation:patient:status=final", []string{"p1"}},
	{"Patient?_has:Observation:subject:_has:Provenance:target:agent=Practitioner/pr1", []string{"p1"}},
	{"Patient?_has:Encounter:subject:class=IMP&gender=female", []string{"p1"}},
	{"Organization?_has:Patient:organization:gender=female", []string{"org1"}},
}

// loadCorpus writes the corpus (a transaction per resource, some updated
// twice so that index rows are replaced) and deletes corpusDeleted.
func loadCorpus(t *testing.T, s subscription.Store) {
	t.Helper()
	for _, c := range Corpus {
		typ, id, _ := strings.Cut(c.Ref, "/")
		if typ == "Observation" {
			// An earlier version with other values, which must not match.
			mustPut(t, s, typ, id, `"status":"entered-in-error","code":{"coding":[{"system":"urn:old","code":"old"}]},"subject":{"reference":"Patient/old"}`)
		}
		mustPut(t, s, typ, id, c.Members)
	}
	for _, ref := range corpusDeleted {
		typ, id, _ := strings.Cut(ref, "/")
		if _, err := del(t, s, typ, id, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// live returns the current bodies of the corpus, by type.
func live(t *testing.T, s subscription.Store) map[string][]subscription.Resource {
	out := map[string][]subscription.Resource{}
	for _, c := range Corpus {
		typ, id, _ := strings.Cut(c.Ref, "/")
		r, err := s.Read(t.Context(), typ, id)
		if err != nil {
			continue
		}
		out[typ] = append(out[typ], r)
	}
	return out
}

func parse(t *testing.T, criteria string) *search.Query {
	t.Helper()
	q, err := search.ParseCriteria(criteria)
	if err != nil {
		t.Fatalf("parse %q: %v", criteria, err)
	}
	return q
}

// findAll pages through every match of q with count per page and checks
// that the pages follow each other: no id twice, previous links lead back
// through the same pages.
func findAll(t *testing.T, s subscription.Store, q *search.Query, count int) []subscription.Resource {
	t.Helper()
	var all []subscription.Resource
	var pages [][]string
	cur := *q
	for n := 0; ; n++ {
		if n > 100 {
			t.Fatalf("%s: more than 100 pages", q.Type)
		}
		page, err := s.Find(t.Context(), &cur, count)
		if err != nil {
			t.Fatalf("find: %v", err)
		}
		if len(page.Matches) > count {
			t.Fatalf("page of %d, count %d", len(page.Matches), count)
		}
		all = append(all, page.Matches...)
		pages = append(pages, idsOf(page.Matches))
		if page.Next == "" {
			break
		}
		if len(page.Matches) == 0 {
			t.Fatal("an empty page with a next cursor")
		}
		cur.Cursor = page.Next
	}
	// Walk back from the last page.
	for i := len(pages) - 1; i > 0; i-- {
		page, err := s.Find(t.Context(), &cur, count)
		if err != nil {
			t.Fatalf("find: %v", err)
		}
		if got := idsOf(page.Matches); !slices.Equal(got, pages[i]) {
			t.Fatalf("page %d again = %v, want %v", i, got, pages[i])
		}
		if page.Prev == "" {
			t.Fatalf("page %d has no previous link", i)
		}
		cur.Cursor = page.Prev
	}
	if len(pages) > 1 {
		page, err := s.Find(t.Context(), &cur, count)
		if err != nil {
			t.Fatalf("find: %v", err)
		}
		if got := idsOf(page.Matches); !slices.Equal(got, pages[0]) {
			t.Fatalf("first page via previous = %v, want %v", got, pages[0])
		}
	}
	seen := map[string]bool{}
	for _, r := range all {
		if seen[r.ID] {
			t.Fatalf("%s on two pages", r.ID)
		}
		seen[r.ID] = true
	}
	return all
}

// testFindMatchesMatcher is the differential test: for every query of
// Queries, the store's index finds exactly the live resources the matcher
// accepts.
func testFindMatchesMatcher(t *testing.T, s subscription.Store) {
	loadCorpus(t, s)
	bodies := live(t, s)
	for _, criteria := range Queries {
		q := parse(t, criteria)
		var want []string
		for _, r := range bodies[q.Type] {
			ok, err := q.Match(r.Body)
			if err != nil {
				t.Fatalf("%s: match %s: %v", criteria, r.ID, err)
			}
			if ok {
				want = append(want, r.ID)
			}
		}
		got := idsOf(findAll(t, s, q, 2))
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: store finds %v, matcher %v", criteria, got, want)
		}
	}
}

func testFindChains(t *testing.T, s subscription.Store) {
	loadCorpus(t, s)
	for _, c := range chainQueries {
		got := idsOf(findAll(t, s, parse(t, c.query), 1))
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s = %v, want %v", c.query, got, c.want)
		}
	}
}

// testFindSort checks _sort orders: by parameter (smallest value
// ascending, largest descending, no value last either way), several keys,
// _id and _lastUpdated, with paging at every page size.
func testFindSort(t *testing.T, s subscription.Store) {
	loadCorpus(t, s)
	cases := []struct {
		query string
		want  []string
	}{
		{"Observation?_sort=date", []string{"o5", "o4", "o1", "o3", "o2", "o6"}},
		{"Observation?_sort=-date", []string{"o2", "o3", "o1", "o4", "o5", "o6"}},
		{"Observation?_sort=value-quantity", []string{"o5", "o1", "o3", "o2", "o4", "o6"}},
		{"Observation?_sort=-value-quantity", []string{"o2", "o3", "o1", "o5", "o4", "o6"}},
		{"Observation?_sort=status,-_id", []string{"o4", "o6", "o5", "o2", "o1", "o3"}},
		{"Observation?_sort=-status,date", []string{"o3", "o5", "o1", "o2", "o6", "o4"}},
		{"Observation?_sort=-_id", []string{"o6", "o5", "o4", "o3", "o2", "o1"}},
		{"Observation?_sort=code", []string{"o3", "o1", "o2", "o5", "o4", "o6"}},
		{"Observation?_sort=subject,_id", []string{"o5", "o1", "o2", "o3", "o4", "o6"}},
		{"Observation?_sort=-subject,-_id", []string{"o4", "o3", "o2", "o1", "o5", "o6"}},
		{"Patient?_sort=name", []string{"p1", "p2", "p3"}},
		{"Patient?_sort=-birthdate", []string{"p3", "p1", "p2"}},
		{"Patient?_sort=birthdate&gender:not=other", []string{"p2", "p1"}},
		{"RiskAssessment?_sort=probability", []string{"r2", "r1"}},
		{"RiskAssessment?_sort=-probability", []string{"r2", "r1"}},
		{"Observation?_sort=-date&subject=p1", []string{"o2", "o1"}},
		{"Observation?_sort=_lastUpdated&_id=o3,o1", []string{"o1", "o3"}},
	}
	for _, c := range cases {
		for _, count := range []int{1, 2, 4, 100} {
			got := idsOf(findAll(t, s, parse(t, c.query), count))
			if !slices.Equal(got, c.want) {
				t.Errorf("%s (pages of %d) = %v, want %v", c.query, count, got, c.want)
			}
		}
	}
}

// testFindTotals checks _total, _summary=count, _count=0 and _offset.
func testFindTotals(t *testing.T, s subscription.Store) {
	loadCorpus(t, s)
	for _, c := range []struct {
		query     string
		count     int
		total     int
		matches   int
		wantFirst string
	}{
		{"Observation?code=8867-4&_total=accurate", 1, 3, 1, ""},
		{"Observation?code=8867-4&_summary=count", 10, 3, 0, ""},
		{"Observation?code=8867-4", 10, 3, 3, ""},
		{"Observation?code=8867-4&_total=none", 10, -1, 3, ""},
		{"Observation?code=8867-4", 0, 3, 0, ""},
		// Without _total the total is given only when the page shows it
		// (subscription.DefaultTotal): not while a next page follows, nor
		// past the end, where the skipped matches are unknown.
		{"Observation?_sort=_id&_offset=2", 2, -1, 2, "o3"},
		{"Observation?_sort=_id&_offset=4", 2, 6, 2, "o5"},
		{"Observation?_sort=_id&_offset=10", 2, -1, 0, ""},
		{"Observation?_sort=_id&_offset=2&_total=accurate", 2, 6, 2, "o3"},
		{"Observation?_sort=_id&_offset=10&_total=accurate", 2, 6, 0, ""},
		{"Observation", 2, -1, 2, "o1"},
		{"Observation", 6, 6, 6, "o1"},
	} {
		q := parse(t, c.query)
		if c.count == 0 {
			q.Total = search.TotalAccurate
		}
		page, err := s.Find(t.Context(), q, c.count)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		if page.Total != c.total || len(page.Matches) != c.matches {
			t.Errorf("%s (count %d): total %d, %d matches; want %d, %d", c.query, c.count, page.Total, len(page.Matches), c.total, c.matches)
		}
		if c.wantFirst != "" && (len(page.Matches) == 0 || page.Matches[0].ID != c.wantFirst) {
			t.Errorf("%s: first %v, want %s", c.query, idsOf(page.Matches), c.wantFirst)
		}
	}
	// A cursor from another search, or garbage, is a client error.
	other, err := s.Find(t.Context(), parse(t, "Observation?_sort=-date"), 1)
	if err != nil || other.Next == "" {
		t.Fatalf("find: %v, next %q", err, other.Next)
	}
	for _, cursor := range []string{"garbage", other.Next} {
		q := parse(t, "Observation?_sort=_id,status&_cursor="+url.QueryEscape(cursor))
		if _, err := s.Find(t.Context(), q, 1); !isValidation(err) {
			t.Errorf("cursor %q: err %v, want a validation error", cursor, err)
		}
	}
}

func isValidation(err error) bool {
	_, ok := err.(*fhir.ValidationError)
	return ok
}

// testFindKeysetUnderWrites checks that a next cursor stays correct when
// resources are added before and after its position: the next page holds
// what follows the position now, nothing twice.
func testFindKeysetUnderWrites(t *testing.T, s subscription.Store) {
	for i := range 6 {
		mustPut(t, s, "Patient", fmt.Sprintf("k%d", i*2), `"gender":"female"`)
	}
	q := parse(t, "Patient?gender=female&_sort=_id")
	page, err := s.Find(t.Context(), q, 3)
	if err != nil || !slices.Equal(idsOf(page.Matches), []string{"k0", "k10", "k2"}) {
		t.Fatalf("first page %v, %v", idsOf(page.Matches), err)
	}
	mustPut(t, s, "Patient", "k1", `"gender":"female"`) // before the position
	mustPut(t, s, "Patient", "k3", `"gender":"female"`) // after it
	if _, err := del(t, s, "Patient", "k4", 0); err != nil {
		t.Fatal(err)
	}
	next := *q
	next.Cursor = page.Next
	page, err = s.Find(t.Context(), &next, 3)
	if err != nil || !slices.Equal(idsOf(page.Matches), []string{"k3", "k6", "k8"}) {
		t.Fatalf("next page %v, %v; want [k3 k6 k8]", idsOf(page.Matches), err)
	}
}

// testFindIndexFollowsWrites checks that updates replace a resource's
// index entries in the same transaction and deletions remove them, and
// that a rolled-back write leaves the index as it was.
func testFindIndexFollowsWrites(t *testing.T, s subscription.Store) {
	mustPut(t, s, "Patient", "w1", `"gender":"female","name":[{"family":"Before"}]`)
	find := func(criteria string) []string {
		page, err := s.Find(t.Context(), parse(t, criteria), 10)
		if err != nil {
			t.Fatal(err)
		}
		return idsOf(page.Matches)
	}
	mustPut(t, s, "Patient", "w1", `"gender":"male","name":[{"family":"After"}]`)
	if got := find("Patient?name=before"); len(got) != 0 {
		t.Errorf("old name still found: %v", got)
	}
	if got := find("Patient?name=after&gender=male"); !slices.Equal(got, []string{"w1"}) {
		t.Errorf("new values not found: %v", got)
	}
	err := s.Tx(t.Context(), func(tx subscription.Tx) error {
		if _, _, err := tx.Put(t.Context(), newResource(t, "Patient", "w1", `"gender":"other"`), 0); err != nil {
			return err
		}
		return errTest
	})
	if err != errTest {
		t.Fatalf("tx: %v", err)
	}
	if got := find("Patient?gender=male"); !slices.Equal(got, []string{"w1"}) {
		t.Errorf("after a rollback: %v", got)
	}
	// Two writes of one resource in one transaction: the last one counts.
	err = s.Tx(t.Context(), func(tx subscription.Tx) error {
		for _, g := range []string{"other", "unknown"} {
			if _, _, err := tx.Put(t.Context(), newResource(t, "Patient", "w1", `"gender":"`+g+`"`), 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := find("Patient?gender=other,male"); len(got) != 0 {
		t.Errorf("superseded values found: %v", got)
	}
	if got := find("Patient?gender=unknown"); !slices.Equal(got, []string{"w1"}) {
		t.Errorf("last write not found: %v", got)
	}
	// The same with events appended between the writes (a store may write
	// the index rows of the writes so far when it appends), and a resource
	// created, appended to and deleted in one transaction.
	err = s.Tx(t.Context(), func(tx subscription.Tx) error {
		ctx := t.Context()
		if _, err := tx.Create(ctx, newResource(t, "Patient", "w2", `"gender":"female"`)); err != nil {
			return err
		}
		for _, g := range []string{"other", "female"} {
			if _, _, err := tx.Put(ctx, newResource(t, "Patient", "w1", `"gender":"`+g+`"`), 0); err != nil {
				return err
			}
			if _, err := tx.AppendEvents(ctx, []subscription.Event{event("s1", "w1", 0)}); err != nil {
				return err
			}
		}
		_, err := tx.Delete(ctx, "Patient", "w2", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := find("Patient?gender=other,unknown"); len(got) != 0 {
		t.Errorf("superseded values found after appends between the writes: %v", got)
	}
	if got := find("Patient?gender=female"); !slices.Equal(got, []string{"w1"}) {
		t.Errorf("after appends between the writes: %v, want [w1] (w2 deleted)", got)
	}
	// Counted too: a count reads the index rows alone, so rows the delete
	// left behind would show here.
	if page, err := s.Find(t.Context(), parse(t, "Patient?gender=female&_total=accurate"), 10); err != nil || page.Total != 1 {
		t.Errorf("count of gender=female after appends between the writes = %d, %v; want 1", page.Total, err)
	}
	if _, err := del(t, s, "Patient", "w1", 0); err != nil {
		t.Fatal(err)
	}
	if got := find("Patient?gender=unknown"); len(got) != 0 {
		t.Errorf("deleted resource found: %v", got)
	}
	if got := find("Patient?gender:missing=true"); len(got) != 0 {
		t.Errorf("deleted resource found by :missing: %v", got)
	}
}

// testFindReturnsBodies checks that a page holds the current versions, as
// Read returns them.
func testFindReturnsBodies(t *testing.T, s subscription.Store) {
	mustPut(t, s, "Patient", "b1", `"gender":"female"`)
	want, _ := mustPut(t, s, "Patient", "b1", `"gender":"female","active":true`)
	page, err := s.Find(t.Context(), parse(t, "Patient?gender=female"), 10)
	if err != nil || len(page.Matches) != 1 {
		t.Fatalf("find: %v, %d matches", err, len(page.Matches))
	}
	got := page.Matches[0]
	var a, b any
	if json.Unmarshal(got.Body, &a) != nil || json.Unmarshal(want.Body, &b) != nil || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("body %s, want %s", got.Body, want.Body)
	}
	if got.VersionID != 2 || !got.LastUpdated.Equal(want.LastUpdated) || got.Type != "Patient" {
		t.Errorf("version %d at %v, want 2 at %v", got.VersionID, got.LastUpdated, want.LastUpdated)
	}
}

// idsOf returns the ids of rs, in order.
func idsOf(rs []subscription.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}
