package search

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/gofhir/fhirpath"
)

// Realistic resources the table tests search.
var (
	obsJSON = `{"resourceType":"Observation","id":"obs1",
	 "meta":{"versionId":"2","lastUpdated":"2024-03-05T10:15:00.000Z",
	  "tag":[{"system":"http://example.org/tags","code":"urgent"}],
	  "security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"N"}],
	  "profile":["http://hl7.org/fhir/StructureDefinition/heartrate"],
	  "source":"http://devices.example.org/monitor-7"},
	 "identifier":[{"system":"urn:oid:1.2.36.1","value":"2024"}],
	 "status":"final",
	 "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital Signs"}]}],
	 "code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}],"text":"Heart rate"},
	 "subject":{"reference":"Patient/123"},
	 "encounter":{"reference":"Encounter/enc1"},
	 "effectiveDateTime":"2024-03-05T10:00:00Z",
	 "issued":"2024-03-05T10:05:00+01:00",
	 "performer":[{"reference":"Practitioner/p1"},{"reference":"http://other.example.org/fhir/Organization/org9/_history/3"}],
	 "valueQuantity":{"value":72.0,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"}}`

	obsGroupJSON = `{"resourceType":"Observation","id":"obs2","status":"preliminary",
	 "code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},
	 "subject":{"reference":"Group/123"},
	 "effectivePeriod":{"start":"2024-02-01","end":"2024-02-29"},
	 "valueString":"Élevé"}`

	patientJSON = `{"resourceType":"Patient","id":"123","active":true,
	 "identifier":[{"use":"usual","type":{"text":"Medical record number"},"system":"urn:oid:1.2.36.146.595.217.0.1","value":"12345"}],
	 "name":[{"use":"official","family":"Müller","given":["Zoë","Anna"]},{"text":"Zoe Mueller"}],
	 "telecom":[{"system":"phone","value":"+41 44 123 45 67","use":"home"},{"system":"email","value":"zoe@example.org"}],
	 "gender":"female","birthDate":"1980-05-15","deceasedBoolean":false,
	 "address":[{"line":["Bahnhofstrasse 1"],"city":"Zürich","postalCode":"8001","country":"CH"}],
	 "generalPractitioner":[{"reference":"Practitioner/p1"}]}`

	encounterJSON = `{"resourceType":"Encounter","id":"enc1","status":"finished",
	 "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},
	 "subject":{"reference":"Patient/123"},
	 "period":{"start":"2024-01-01T08:00:00Z","end":"2024-01-03T12:00:00Z"},
	 "length":{"value":52,"unit":"h","system":"http://unitsofmeasure.org","code":"h"}}`

	encounterOpenJSON = `{"resourceType":"Encounter","id":"enc2","status":"in-progress",
	 "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"EMER"},
	 "subject":{"reference":"Patient/456"},
	 "period":{"start":"2024-06-10T21:00:00+02:00"}}`

	conditionJSON = `{"resourceType":"Condition","id":"c1",
	 "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
	 "code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006","display":"Diabetes mellitus type 2"}]},
	 "subject":{"reference":"Patient/123"},"onsetDateTime":"2019-07",
	 "onsetAge":null}`

	diagnosticReportJSON = `{"resourceType":"DiagnosticReport","id":"dr1","status":"final",
	 "code":{"coding":[{"system":"http://loinc.org","code":"58410-2"}]},
	 "subject":{"reference":"Patient/123"},"effectiveDateTime":"2024-03-05",
	 "issued":"2024-03-06T09:00:00Z","result":[{"reference":"Observation/obs1"}]}`

	serviceRequestJSON = `{"resourceType":"ServiceRequest","id":"sr1","status":"active","intent":"order",
	 "code":{"coding":[{"system":"http://loinc.org","code":"58410-2"}]},
	 "subject":{"reference":"Patient/123"},"authoredOn":"2024-03-01T12:00:00Z",
	 "requester":{"reference":"Practitioner/p1"},
	 "instantiatesCanonical":["http://example.org/fhir/PlanDefinition/cbc|1.0"],
	 "instantiatesUri":["http://example.org/protocols/cbc"]}`

	medicationRequestJSON = `{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order",
	 "medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"1049502"}]},
	 "subject":{"reference":"Patient/123"},"authoredOn":"2024-03-02"}`

	taskJSON = `{"resourceType":"Task","id":"t1","status":"requested","intent":"order",
	 "focus":{"reference":"ServiceRequest/sr1"},"for":{"reference":"Patient/123"},
	 "owner":{"reference":"Organization/lab1"},"authoredOn":"2024-03-01T12:05:00Z",
	 "businessStatus":{"text":"waiting for specimen"}}`

	appointmentJSON = `{"resourceType":"Appointment","id":"a1","status":"booked",
	 "start":"2024-04-02T09:00:00Z","end":"2024-04-02T09:30:00Z",
	 "participant":[{"actor":{"reference":"Patient/123"},"status":"accepted"},
	                {"actor":{"reference":"Practitioner/p1"},"status":"needs-action"}]}`

	communicationJSON = `{"resourceType":"Communication","id":"com1","status":"completed",
	 "subject":{"reference":"Patient/123"},"sent":"2024-03-05T11:00:00Z",
	 "recipient":[{"reference":"Practitioner/p1"}],"payload":[{"contentString":"Results are in"}]}`

	subscriptionJSON = `{"resourceType":"Subscription","id":"s1","status":"active",
	 "criteria":"Observation?code=http://loinc.org|8867-4","reason":"monitor",
	 "channel":{"type":"websocket","endpoint":"wss://example.org/ws"}}`

	riskJSON = `{"resourceType":"RiskAssessment","id":"r1","status":"final","subject":{"reference":"Patient/123"},
	 "prediction":[{"probabilityDecimal":0.25},{"probabilityDecimal":12}]}`
)

type matchCase struct {
	name     string
	criteria string
	resource string
	want     bool
}

var matchCases = []matchCase{
	// type and bare criteria
	{"bare type matches", "Observation", obsJSON, true},
	{"other type never matches", "Patient", obsJSON, false},
	{"leading slash", "/Observation?status=final", obsJSON, true},

	// token
	{"token code only", "Observation?code=8867-4", obsJSON, true},
	{"token system|code", "Observation?code=http://loinc.org|8867-4", obsJSON, true},
	{"token wrong system", "Observation?code=http://snomed.info/sct|8867-4", obsJSON, false},
	{"token system| any code", "Observation?code=http://loinc.org|", obsJSON, true},
	{"token system| other system", "Observation?code=http://snomed.info/sct|", obsJSON, false},
	{"token |code needs no system", "Observation?code=|8867-4", obsJSON, false},
	{"token |code on plain code", "Observation?status=|final", obsJSON, true},
	{"token OR", "Observation?code=1234-5,8867-4", obsJSON, true},
	{"token OR none", "Observation?code=1234-5,9999-9", obsJSON, false},
	{"token AND both", "Observation?code=8867-4&status=final", obsJSON, true},
	{"token AND one fails", "Observation?code=8867-4&status=amended", obsJSON, false},
	{"token is case-sensitive", "Observation?status=FINAL", obsJSON, false},
	{"token :not excludes", "Observation?status:not=final", obsJSON, false},
	{"token :not other", "Observation?status:not=amended", obsJSON, true},
	{"token :not OR", "Observation?code:not=1234-5,8867-4", obsJSON, false},
	{"token :not matches missing", "Observation?data-absent-reason:not=unknown", obsJSON, true},
	{"token :text starts with", "Observation?code:text=heart", obsJSON, true},
	{"token :text no", "Observation?code:text=blood", obsJSON, false},
	{"token identifier looking like a date", "Observation?identifier=urn:oid:1.2.36.1|2024", obsJSON, true},
	{"token category", "Observation?category=vital-signs", obsJSON, true},
	{"token boolean", "Patient?active=true", patientJSON, true},
	{"token boolean false", "Patient?active=false", patientJSON, false},
	{"token choice deceased", "Patient?deceased=false", patientJSON, true},
	{"token gender", "Patient?gender=female", patientJSON, true},
	{"token identifier", "Patient?identifier=urn:oid:1.2.36.146.595.217.0.1|12345", patientJSON, true},
	{"token identifier :text", "Patient?identifier:text=medical", patientJSON, true},
	{"token ContactPoint phone", "Patient?phone=%2B41 44 123 45 67", patientJSON, true},
	{"token ContactPoint email", "Patient?email=zoe@example.org", patientJSON, true},
	{"token phone is not email", "Patient?phone=zoe@example.org", patientJSON, false},
	{"token escaped comma is not OR", `Patient?gender=fe\,male`, patientJSON, false},
	{"token _id", "Observation?_id=obs1", obsJSON, true},
	{"token _id other", "Observation?_id=obs2", obsJSON, false},
	{"token _tag", "Observation?_tag=http://example.org/tags|urgent", obsJSON, true},
	{"token _security", "Observation?_security=N", obsJSON, true},
	{"token Encounter class Coding", "Encounter?class=http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP", encounterJSON, true},
	{"token Condition clinical-status", "Condition?clinical-status=active", conditionJSON, true},
	{"token MedicationRequest code (as CodeableConcept)", "MedicationRequest?code=1049502", medicationRequestJSON, true},
	{"token Subscription type", "Subscription?type=websocket", subscriptionJSON, true},
	{"token Subscription status", "Subscription?status=active", subscriptionJSON, true},
	{"token Appointment part-status", "Appointment?part-status=needs-action", appointmentJSON, true},
	{"token Task business-status :text", "Task?business-status:text=waiting", taskJSON, true},

	// string
	{"string starts with, insensitive", "Patient?family=mul", patientJSON, true},
	{"string accent-insensitive", "Patient?family=MÜLLER", patientJSON, true},
	{"string not a prefix", "Patient?family=ller", patientJSON, false},
	{"string :contains", "Patient?family:contains=ller", patientJSON, true},
	{"string :exact", "Patient?family:exact=Müller", patientJSON, true},
	{"string :exact is exact", "Patient?family:exact=muller", patientJSON, false},
	{"string name any part (given)", "Patient?name=zoe", patientJSON, true},
	{"string name text", "Patient?name=zoe mu", patientJSON, true},
	{"string name text is not split in words", "Patient?name=mueller", patientJSON, false},
	{"string given second", "Patient?given=anna", patientJSON, true},
	{"string address city", "Patient?address-city=zurich", patientJSON, true},
	{"string address any part", "Patient?address=bahnhof", patientJSON, true},
	{"string address wrong", "Patient?address=bern", patientJSON, false},
	{"string value-string accents", "Observation?value-string=eleve", obsGroupJSON, true},
	{"string Subscription criteria", "Subscription?criteria=Observation", subscriptionJSON, true},

	// reference
	{"reference Type/id", "Observation?subject=Patient/123", obsJSON, true},
	{"reference other id", "Observation?subject=Patient/124", obsJSON, false},
	{"reference other type", "Observation?subject=Group/123", obsJSON, false},
	{"reference plain id", "Observation?subject=123", obsJSON, true},
	{"reference plain id any target", "Observation?subject=123", obsGroupJSON, true},
	{"reference :Type modifier", "Observation?subject:Patient=123", obsJSON, true},
	{"reference :Type modifier wrong type", "Observation?subject:Patient=123", obsGroupJSON, false},
	{"reference absolute URL", "Observation?subject=http://fhir.example.org/fhir/Patient/123", obsJSON, true},
	{"reference absolute stored", "Observation?performer=Organization/org9", obsJSON, true},
	{"reference absolute stored plain id", "Observation?performer=org9", obsJSON, true},
	{"reference patient via resolve() is Patient", "Observation?patient=Patient/123", obsJSON, true},
	{"reference patient plain id", "Observation?patient=123", obsJSON, true},
	{"reference patient excludes Group subject", "Observation?patient=123", obsGroupJSON, false},
	{"reference encounter", "Observation?encounter=Encounter/enc1", obsJSON, true},
	{"reference :missing=false", "Observation?encounter:missing=false", obsJSON, true},
	{"reference :missing=true", "Observation?encounter:missing=true", obsJSON, false},
	{"reference :missing=true absent", "Observation?encounter:missing=true", obsGroupJSON, true},
	{"reference Patient general-practitioner", "Patient?general-practitioner=Practitioner/p1", patientJSON, true},
	{"reference Encounter patient", "Encounter?patient=Patient/123", encounterJSON, true},
	{"reference Condition patient", "Condition?patient=123", conditionJSON, true},
	{"reference DiagnosticReport result", "DiagnosticReport?result=Observation/obs1", diagnosticReportJSON, true},
	{"reference DiagnosticReport patient", "DiagnosticReport?patient=Patient/123", diagnosticReportJSON, true},
	{"reference ServiceRequest requester", "ServiceRequest?requester=Practitioner/p1", serviceRequestJSON, true},
	{"reference canonical versioned", "ServiceRequest?instantiates-canonical=http://example.org/fhir/PlanDefinition/cbc", serviceRequestJSON, true},
	{"reference canonical exact version", "ServiceRequest?instantiates-canonical=http://example.org/fhir/PlanDefinition/cbc|1.0", serviceRequestJSON, true},
	{"reference MedicationRequest patient", "MedicationRequest?patient=Patient/123", medicationRequestJSON, true},
	{"reference Task patient (for)", "Task?patient=Patient/123", taskJSON, true},
	{"reference Task focus", "Task?focus=ServiceRequest/sr1", taskJSON, true},
	{"reference Task owner", "Task?owner=Organization/lab1", taskJSON, true},
	{"reference Appointment patient", "Appointment?patient=Patient/123", appointmentJSON, true},
	{"reference Appointment practitioner", "Appointment?practitioner=p1", appointmentJSON, true},
	{"reference Appointment practitioner wrong", "Appointment?practitioner=123", appointmentJSON, false},
	{"reference Communication recipient", "Communication?recipient=Practitioner/p1", communicationJSON, true},
	{"reference Communication patient", "Communication?patient=Patient/123", communicationJSON, true},

	// date
	{"date eq day contains instant", "Observation?date=2024-03-05", obsJSON, true},
	{"date eq month", "Observation?date=2024-03", obsJSON, true},
	{"date eq year", "Observation?date=2024", obsJSON, true},
	{"date eq other day", "Observation?date=2024-03-06", obsJSON, false},
	{"date eq exact second", "Observation?date=2024-03-05T10:00:00Z", obsJSON, true},
	{"date eq with zone", "Observation?date=2024-03-05T11:00:00%2B01:00", obsJSON, true},
	{"date zone as space (unescaped +)", "Observation?date=2024-03-05T11:00:00+01:00", obsJSON, true},
	{"date no zone is UTC", "Observation?date=2024-03-05T10:00:00", obsJSON, true},
	{"date ne", "Observation?date=ne2024-03-06", obsJSON, true},
	{"date ne same", "Observation?date=ne2024-03-05", obsJSON, false},
	{"date gt", "Observation?date=gt2024-03-04", obsJSON, true},
	{"date gt same day", "Observation?date=gt2024-03-05", obsJSON, false},
	{"date lt", "Observation?date=lt2024-03-06", obsJSON, true},
	{"date lt no", "Observation?date=lt2024-03-05", obsJSON, false},
	{"date ge same day", "Observation?date=ge2024-03-05", obsJSON, true},
	{"date le same day", "Observation?date=le2024-03-05", obsJSON, true},
	{"date le earlier", "Observation?date=le2024-03-04", obsJSON, false},
	{"date sa", "Observation?date=sa2024-03-04", obsJSON, true},
	{"date sa same day", "Observation?date=sa2024-03-05", obsJSON, false},
	{"date eb", "Observation?date=eb2024-03-06", obsJSON, true},
	{"date eb no", "Observation?date=eb2024-03-05", obsJSON, false},
	{"date ap near", "Observation?date=ap2024-03-06", obsJSON, true},
	{"date ap far", "Observation?date=ap2024-05-01", obsJSON, false},
	{"date range AND", "Observation?date=ge2024-03-01&date=lt2024-04-01", obsJSON, true},
	{"date range AND outside", "Observation?date=ge2024-04-01&date=lt2024-05-01", obsJSON, false},
	{"date Period within month", "Observation?date=2024-02", obsGroupJSON, true},
	{"date Period not within a day", "Observation?date=2024-02-10", obsGroupJSON, false},
	{"date Period overlaps: ge", "Observation?date=ge2024-02-10", obsGroupJSON, true},
	{"date Period overlaps: le", "Observation?date=le2024-02-10", obsGroupJSON, true},
	{"date Encounter period eq", "Encounter?date=2024-01", encounterJSON, true},
	{"date Encounter period gt", "Encounter?date=gt2024-01-02", encounterJSON, true},
	{"date Encounter period sa", "Encounter?date=sa2023-12-31", encounterJSON, true},
	{"date Encounter period sa no", "Encounter?date=sa2024-01-02", encounterJSON, false},
	{"date Encounter open period gt", "Encounter?date=gt2030-01-01", encounterOpenJSON, true},
	{"date Encounter open period eq", "Encounter?date=2024-06", encounterOpenJSON, false},
	{"date Encounter open period eb", "Encounter?date=eb2030-01-01", encounterOpenJSON, false},
	{"date Encounter open period lt", "Encounter?date=lt2024-06-11", encounterOpenJSON, true},
	{"date birthdate", "Patient?birthdate=1980-05-15", patientJSON, true},
	{"date birthdate ge year", "Patient?birthdate=ge1980", patientJSON, true},
	{"date birthdate lt", "Patient?birthdate=lt1980-05-15", patientJSON, false},
	{"date month precision stored", "Condition?onset-date=2019", conditionJSON, true},
	{"date month precision stored, day search", "Condition?onset-date=2019-07-04", conditionJSON, false},
	{"date _lastUpdated", "Observation?_lastUpdated=gt2024-03-05T10:00:00Z", obsJSON, true},
	{"date _lastUpdated le", "Observation?_lastUpdated=le2024-03-05T10:00:00Z", obsJSON, false},
	{"date MedicationRequest authoredon", "MedicationRequest?authoredon=2024-03-02", medicationRequestJSON, true},
	{"date Task authored-on", "Task?authored-on=2024-03-01", taskJSON, true},
	{"date Appointment", "Appointment?date=2024-04-02", appointmentJSON, true},
	{"date Communication sent", "Communication?sent=lt2024-03-06", communicationJSON, true},
	{"date DiagnosticReport issued", "DiagnosticReport?issued=2024-03-06", diagnosticReportJSON, true},
	{"date ServiceRequest authored", "ServiceRequest?authored=2024-03", serviceRequestJSON, true},

	// quantity
	{"quantity eq implicit precision", "Observation?value-quantity=72", obsJSON, true},
	{"quantity eq 72.4 is not 72", "Observation?value-quantity=72.4", obsJSON, false},
	{"quantity eq within precision", "Observation?value-quantity=72.0", obsJSON, true},
	{"quantity gt", "Observation?value-quantity=gt70", obsJSON, true},
	{"quantity gt no", "Observation?value-quantity=gt72", obsJSON, false},
	{"quantity ge", "Observation?value-quantity=ge72", obsJSON, true},
	{"quantity lt", "Observation?value-quantity=lt72.5", obsJSON, true},
	{"quantity le no", "Observation?value-quantity=le71", obsJSON, false},
	{"quantity ne", "Observation?value-quantity=ne80", obsJSON, true},
	{"quantity ap", "Observation?value-quantity=ap70", obsJSON, true},
	{"quantity ap far", "Observation?value-quantity=ap60", obsJSON, false},
	{"quantity sa", "Observation?value-quantity=sa71", obsJSON, true},
	{"quantity eb", "Observation?value-quantity=eb71", obsJSON, false},
	{"quantity system|code", "Observation?value-quantity=72|http://unitsofmeasure.org|/min", obsJSON, true},
	{"quantity wrong code", "Observation?value-quantity=72|http://unitsofmeasure.org|/s", obsJSON, false},
	{"quantity ||unit", "Observation?value-quantity=72||beats/minute", obsJSON, true},
	{"quantity ||code", "Observation?value-quantity=72||/min", obsJSON, true},
	{"quantity ||wrong unit", "Observation?value-quantity=72||mg", obsJSON, false},
	{"quantity exponent", "Observation?value-quantity=7e1", obsJSON, true},
	{"quantity on string value", "Observation?value-quantity=72", obsGroupJSON, false},
	{"quantity Encounter length", "Encounter?length=gt48|http://unitsofmeasure.org|h", encounterJSON, true},

	// number
	{"number eq decimal", "RiskAssessment?probability=0.25", riskJSON, true},
	{"number eq precision", "RiskAssessment?probability=0.2", riskJSON, false},
	{"number eq precision includes", "RiskAssessment?probability=0.3", riskJSON, true},
	{"number eq integer", "RiskAssessment?probability=12", riskJSON, true},
	{"number gt", "RiskAssessment?probability=gt10", riskJSON, true},
	{"number lt", "RiskAssessment?probability=lt0.1", riskJSON, false},
	{"number ap", "RiskAssessment?probability=ap11", riskJSON, true},

	// uri
	{"uri exact", "Observation?_profile=http://hl7.org/fhir/StructureDefinition/heartrate", obsJSON, true},
	{"uri not a prefix", "Observation?_profile=http://hl7.org/fhir/StructureDefinition", obsJSON, false},
	{"uri :below", "Observation?_profile:below=http://hl7.org/fhir/", obsJSON, true},
	{"uri :above", "Observation?_profile:above=http://hl7.org/fhir/StructureDefinition/heartrate/extra", obsJSON, true},
	{"uri _source", "Observation?_source=http://devices.example.org/monitor-7", obsJSON, true},
	{"uri Subscription url", "Subscription?url=wss://example.org/ws", subscriptionJSON, true},
	{"uri ServiceRequest instantiates-uri", "ServiceRequest?instantiates-uri=http://example.org/protocols/cbc", serviceRequestJSON, true},

	// :missing on other types
	{"string :missing=true", "Patient?phonetic:missing=true", patientJSON, false},
	{"date :missing=true", "Observation?value-date:missing=true", obsJSON, true},
	{"quantity :missing=false", "Observation?value-quantity:missing=false", obsJSON, true},
	{"token :missing=true on null", "Condition?abatement-age:missing=true", conditionJSON, true},

	// ignored result controls
	{"_count and _sort do not filter", "Observation?_count=10&_sort=-_lastUpdated&_total=accurate&_format=json", obsJSON, true},
	{"empty parameter ignored", "Observation?code=", obsJSON, true},
}

func TestMatch(t *testing.T) {
	for _, tc := range matchCases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseCriteria(tc.criteria)
			if err != nil {
				t.Fatalf("ParseCriteria(%q): %v", tc.criteria, err)
			}
			got, err := q.Match([]byte(tc.resource))
			if err != nil {
				t.Fatalf("Match(%q): %v", tc.criteria, err)
			}
			if got != tc.want {
				t.Errorf("ParseCriteria(%q).Match(%s) = %v, want %v", tc.criteria, resourceLabel(tc.resource), got, tc.want)
			}
		})
	}
}

func resourceLabel(res string) string {
	r, err := fhir.ParseResource([]byte(res))
	if err != nil {
		return "<invalid>"
	}
	return r.Type + "/" + r.ID
}

func TestParseQueryErrors(t *testing.T) {
	tests := []struct {
		name     string
		typ      string
		query    string
		wantPath string
		wantCode string
	}{
		{"unknown parameter", "Observation", "foo=bar", "foo", fhir.IssueNotSupported},
		{"unknown parameter of other type", "Observation", "birthdate=2020", "birthdate", fhir.IssueNotSupported},
		{"composite", "Observation", "code-value-quantity=x", "code-value-quantity", fhir.IssueNotSupported},
		{"special", "Location", "near=1|2|3|km", "near", fhir.IssueNotSupported},
		{"_text", "Observation", "_text=x", "_text", fhir.IssueNotSupported},
		{"_content", "Observation", "_content=x", "_content", fhir.IssueNotSupported},
		{"chain on a non-reference", "Observation", "code.name=x", "code.name", fhir.IssueInvalid},
		{"chain to a parameter no target has", "Observation", "subject.nosuch=x", "subject.nosuch", fhir.IssueInvalid},
		{"chain on any-type reference", "Provenance", "target.name=x", "target.name", fhir.IssueInvalid},
		{"chain too deep", "Observation", "subject:Patient.organization.partof.partof.name=x", "subject:Patient.organization.partof.partof.name", fhir.IssueNotSupported},
		{"_has malformed", "Patient", "_has:Observation:patient=1", "_has:Observation:patient", fhir.IssueInvalid},
		{"_has wrong target", "Patient", "_has:Observation:encounter:code=1", "_has:Observation:encounter:code", fhir.IssueInvalid},
		{"_include of another type", "Observation", "_include=Patient:organization", "_include", fhir.IssueInvalid},
		{"_include not a reference", "Observation", "_include=Observation:code", "_include", fhir.IssueInvalid},
		{"_include *", "Observation", "_include=*", "_include", fhir.IssueNotSupported},
		{"_revinclude to another type", "Patient", "_revinclude=Observation:subject:Group", "_revinclude", fhir.IssueInvalid},
		{"_summary unknown mode", "Observation", "_summary=yes", "_summary", fhir.IssueInvalid},
		{"_total", "Observation", "_total=some", "_total", fhir.IssueInvalid},
		{"_sort twice", "Observation", "_sort=date,-date", "_sort", fhir.IssueInvalid},
		{"_id:text", "Observation", "_id:text=x", "_id:text", fhir.IssueNotSupported},
		{"_sort unsupported key", "Observation", "_sort=birthdate", "_sort", fhir.IssueNotSupported},
		{"_sort composite", "Observation", "_sort=code-value-quantity", "_sort", fhir.IssueNotSupported},
		{"_format xml", "Observation", "_format=xml", "_format", fhir.IssueNotSupported},
		{"_count negative", "Observation", "_count=-1", "_count", fhir.IssueInvalid},
		{"_count not a number", "Observation", "_count=ten", "_count", fhir.IssueInvalid},
		{"_offset negative", "Observation", "_offset=-5", "_offset", fhir.IssueInvalid},
		{"unsupported modifier", "Observation", "code:below=x", "code:below", fhir.IssueNotSupported},
		{"exact on token", "Observation", "code:exact=x", "code:exact", fhir.IssueNotSupported},
		{"not on string", "Patient", "name:not=x", "name:not", fhir.IssueNotSupported},
		{"unknown modifier", "Patient", "name:foo=x", "name:foo", fhir.IssueNotSupported},
		{"identifier modifier", "Observation", "subject:identifier=x|1", "subject:identifier", fhir.IssueNotSupported},
		{"type modifier not a target", "Observation", "subject:Practitioner=1", "subject:Practitioner", fhir.IssueInvalid},
		{"type modifier on token", "Observation", "code:Patient=1", "code:Patient", fhir.IssueNotSupported},
		{"reference type conflicts modifier", "Observation", "subject:Patient=Group/1", "subject:Patient", fhir.IssueInvalid},
		{"reference type not a target", "Observation", "patient=Group/1", "patient", fhir.IssueInvalid},
		{"missing not boolean", "Observation", "code:missing=yes", "code:missing", fhir.IssueInvalid},
		{"bad date", "Observation", "date=2024-13-01", "date", fhir.IssueInvalid},
		{"bad date text", "Observation", "date=yesterday", "date", fhir.IssueInvalid},
		{"bad date Feb 30", "Patient", "birthdate=2023-02-30", "birthdate", fhir.IssueInvalid},
		{"bad date prefix", "Observation", "date=xx2024", "date", fhir.IssueInvalid},
		{"bad number", "RiskAssessment", "probability=gt1.2.3", "probability", fhir.IssueInvalid},
		{"bad quantity", "Observation", "value-quantity=abc", "value-quantity", fhir.IssueInvalid},
		{"bad quantity pipes", "Observation", "value-quantity=5|a", "value-quantity", fhir.IssueInvalid},
		{"bad token pipes", "Observation", "code=a|b|c", "code", fhir.IssueInvalid},
		{"lone pipe", "Observation", "code=|", "code", fhir.IssueInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			q, err := ParseQuery(tc.typ, params)
			if err == nil {
				t.Fatalf("ParseQuery(%s, %q) = %+v, want error", tc.typ, tc.query, q)
			}
			var ve *fhir.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ParseQuery(%s, %q) error %T %v, want *fhir.ValidationError", tc.typ, tc.query, err, err)
			}
			if ve.Path != tc.wantPath || ve.IssueCode() != tc.wantCode {
				t.Errorf("ParseQuery(%s, %q) = path %q code %q (%v), want path %q code %q", tc.typ, tc.query, ve.Path, ve.IssueCode(), ve, tc.wantPath, tc.wantCode)
			}
		})
	}
}

func TestParseQueryUnknownMessage(t *testing.T) {
	_, err := ParseQuery("Observation", url.Values{"x": {"1"}})
	if err == nil || err.Error() != `x: unknown search parameter "x" for Observation` {
		t.Errorf("ParseQuery(Observation, x=1) error = %v, want the unknown-parameter message", err)
	}
}

func TestParseQueryControls(t *testing.T) {
	tests := []struct {
		query      string
		wantCount  int
		wantOffset int
		wantSort   []SortKey
	}{
		{"", 0, 0, nil},
		{"_count=20&_offset=40", 20, 40, nil},
		{"_count=5000", MaxCount, 0, nil},
		{"_sort=-_lastUpdated", 0, 0, []SortKey{{"_lastUpdated", true}}},
		{"_sort=_lastUpdated,-_id", 0, 0, []SortKey{{"_lastUpdated", false}, {"_id", true}}},
		{"_format=application/fhir%2Bjson&_total=none&_pretty=true", 0, 0, nil},
		{"_sort=", 0, 0, nil},
	}
	for _, tc := range tests {
		params, _ := url.ParseQuery(tc.query)
		q, err := ParseQuery("Observation", params)
		if err != nil {
			t.Errorf("ParseQuery(Observation, %q): %v", tc.query, err)
			continue
		}
		if q.Count != tc.wantCount || q.Offset != tc.wantOffset || !slices.Equal(q.Sort, tc.wantSort) {
			t.Errorf("ParseQuery(Observation, %q) = count %d offset %d sort %v, want %d %d %v", tc.query, q.Count, q.Offset, q.Sort, tc.wantCount, tc.wantOffset, tc.wantSort)
		}
	}
}

func TestParseCriteriaErrors(t *testing.T) {
	for _, c := range []string{"", "/", "?code=1", "Foo?code=1", "observation", "Resource", "DomainResource", "http://x/fhir/Observation?code=1", "Observation?code=%zz"} {
		q, err := ParseCriteria(c)
		var ve *fhir.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("ParseCriteria(%q) = %v, %v, want *fhir.ValidationError", c, q, err)
		}
	}
}

func TestParseCriteriaSameAsParseQuery(t *testing.T) {
	q1, err := ParseCriteria("Observation?code=http://loinc.org|8867-4&subject=Patient/1&_count=3")
	if err != nil {
		t.Fatal(err)
	}
	q2, err := ParseQuery("Observation", url.Values{"code": {"http://loinc.org|8867-4"}, "subject": {"Patient/1"}, "_count": {"3"}})
	if err != nil {
		t.Fatal(err)
	}
	if q1.Type != q2.Type || q1.Count != q2.Count || !slices.Equal(q1.Pins(), q2.Pins()) {
		t.Errorf("ParseCriteria = %+v %v, ParseQuery = %+v %v, want the same", q1, q1.Pins(), q2, q2.Pins())
	}
}

func TestPins(t *testing.T) {
	tests := []struct {
		criteria string
		want     []Pin
	}{
		{"Observation", nil},
		{"Observation?code=http://loinc.org|8867-4", []Pin{{"code", "http://loinc.org|8867-4"}}},
		{"Observation?code=8867-4", []Pin{{"code", "8867-4"}}},
		{"Observation?code=|8867-4", []Pin{{"code", "|8867-4"}}},
		{"Observation?code=http://loinc.org|", []Pin{{"code", "http://loinc.org|"}}},
		{"Observation?subject=Patient/1", []Pin{{"subject", "Patient/1"}}},
		{"Observation?subject:Patient=1", []Pin{{"subject", "Patient/1"}}},
		{"Observation?subject=http://h.example/fhir/Patient/1", []Pin{{"subject", "Patient/1"}}},
		{"Observation?subject=1", []Pin{{"subject", "1"}}},
		{"Observation?code=a,b", nil},
		{"Observation?code:not=a", nil},
		{"Observation?code:text=a", nil},
		{"Observation?subject:missing=true", nil},
		{"Observation?date=2024&value-quantity=5", nil},
		{"Observation?code=a&subject=Patient/1&status=final", []Pin{{"code", "a"}, {"status", "final"}, {"subject", "Patient/1"}}},
	}
	for _, tc := range tests {
		q, err := ParseCriteria(tc.criteria)
		if err != nil {
			t.Fatalf("ParseCriteria(%q): %v", tc.criteria, err)
		}
		got := q.Pins()
		slices.SortFunc(got, func(a, b Pin) int { return strings.Compare(a.Param, b.Param) })
		if !slices.Equal(got, tc.want) {
			t.Errorf("ParseCriteria(%q).Pins() = %v, want %v", tc.criteria, got, tc.want)
		}
	}
}

func TestIndexKeys(t *testing.T) {
	tests := []struct {
		typ, param, resource string
		want                 []string
	}{
		{"Observation", "code", obsJSON, []string{"http://loinc.org|8867-4", "8867-4", "http://loinc.org|"}},
		{"Observation", "status", obsJSON, []string{"|final", "final"}},
		{"Observation", "subject", obsJSON, []string{"Patient/123", "Patient/123", "123"}},
		{"Observation", "patient", obsGroupJSON, nil},
		{"Observation", "subject", patientJSON, nil},
	}
	for _, tc := range tests {
		got, err := IndexKeys(tc.typ, tc.param, []byte(tc.resource))
		if err != nil {
			t.Fatalf("IndexKeys(%s, %s): %v", tc.typ, tc.param, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("IndexKeys(%s, %s, %s) = %q, want %q", tc.typ, tc.param, resourceLabel(tc.resource), got, tc.want)
		}
	}
	for _, p := range []string{"date", "nope", "code-value-quantity"} {
		if _, err := IndexKeys("Observation", p, []byte(obsJSON)); err == nil {
			t.Errorf("IndexKeys(Observation, %s) = nil error, want an error", p)
		}
	}
}

// TestPinInvariant checks, for every query and resource of the tables and
// of generated token/reference queries, that a match implies that each pin
// of the query is among the resource's index keys.
func TestPinInvariant(t *testing.T) {
	resources := []string{obsJSON, obsGroupJSON, patientJSON, encounterJSON, encounterOpenJSON, conditionJSON,
		diagnosticReportJSON, serviceRequestJSON, medicationRequestJSON, taskJSON, appointmentJSON,
		communicationJSON, subscriptionJSON, riskJSON}
	criteria := map[string]bool{}
	for _, tc := range matchCases {
		criteria[tc.criteria] = true
	}
	// Derive more queries from what the resources hold: every index key of
	// every token or reference parameter, as a query on that parameter.
	for _, res := range resources {
		mr, err := newMatchResource([]byte(res))
		if err != nil {
			t.Fatal(err)
		}
		for _, sp := range SearchParams(mr.typ) {
			if sp.Type != "token" && sp.Type != "reference" {
				continue
			}
			keys, err := IndexKeys(mr.typ, sp.Code, []byte(res))
			if err != nil {
				t.Fatalf("IndexKeys(%s, %s): %v", mr.typ, sp.Code, err)
			}
			for _, k := range keys {
				criteria[mr.typ+"?"+url.Values{sp.Code: {k}}.Encode()] = true
				if sp.Type == "reference" {
					if typ, id, ok := splitTypeID(k); ok && (len(sp.Targets) == 0 || slices.Contains(sp.Targets, typ)) {
						criteria[mr.typ+"?"+url.Values{sp.Code + ":" + typ: {id}}.Encode()] = true
					}
				}
			}
		}
	}
	checked := 0
	for _, c := range slices.Sorted(maps.Keys(criteria)) {
		q, err := ParseCriteria(c)
		if err != nil {
			continue // keys with escapes may not read back as a value
		}
		for _, res := range resources {
			ok, err := q.Match([]byte(res))
			if err != nil || !ok {
				continue
			}
			for _, pin := range q.Pins() {
				keys, err := IndexKeys(q.Type, pin.Param, []byte(res))
				if err != nil {
					t.Fatalf("IndexKeys(%s, %s): %v", q.Type, pin.Param, err)
				}
				checked++
				if !slices.Contains(keys, pin.Value) {
					t.Errorf("%q matches %s but pin %v is not in IndexKeys %q", c, resourceLabel(res), pin, keys)
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("checked %d pins, want at least 100 (the generator of queries broke)", checked)
	}
}

// TestExpressionsCompile compiles every expression of the generated table
// with the FHIRPath engine, so a supported parameter never fails at match
// time for want of a parse.
func TestExpressionsCompile(t *testing.T) {
	seen := map[string]bool{}
	supported, unsupported := 0, 0
	for _, rt := range fhir.ResourceTypes() {
		for code, p := range searchRegistry().byType[rt] {
			if p.Unsupported != "" {
				unsupported++
				continue
			}
			supported++
			if p.Expression == "" {
				t.Errorf("%s.%s: supported but has no expression", rt, code)
				continue
			}
			if seen[p.Expression] {
				continue
			}
			seen[p.Expression] = true
			if _, err := fhirpath.Compile(p.Expression); err != nil {
				t.Errorf("%s.%s: compile %q: %v", rt, code, p.Expression, err)
			}
		}
	}
	t.Logf("%d supported parameters (%d distinct expressions), %d unsupported", supported, len(seen), unsupported)
}

// TestCommonParamsEvaluate runs every supported parameter of the common
// clinical types against a resource of that type: none may fail.
func TestCommonParamsEvaluate(t *testing.T) {
	for _, res := range []string{obsJSON, obsGroupJSON, patientJSON, encounterJSON, conditionJSON, diagnosticReportJSON,
		serviceRequestJSON, medicationRequestJSON, taskJSON, appointmentJSON, communicationJSON, subscriptionJSON, riskJSON} {
		mr, err := newMatchResource([]byte(res))
		if err != nil {
			t.Fatal(err)
		}
		for _, sp := range SearchParams(mr.typ) {
			p := searchRegistry().lookup(mr.typ, sp.Code)
			if _, err := mr.evaluate(p); err != nil {
				t.Errorf("%s.%s (%s): %v", mr.typ, sp.Code, sp.Expression, err)
			}
		}
	}
}

func TestSearchParams(t *testing.T) {
	ps := SearchParams("Observation")
	codes := map[string]SearchParam{}
	for i, p := range ps {
		codes[p.Code] = p
		if i > 0 && ps[i-1].Code >= p.Code {
			t.Errorf("SearchParams(Observation) not sorted at %q", p.Code)
		}
	}
	for _, want := range []string{"_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "code", "subject", "patient", "date", "value-quantity"} {
		if _, ok := codes[want]; !ok {
			t.Errorf("SearchParams(Observation) lacks %q", want)
		}
	}
	for _, absent := range []string{"_text", "_content", "code-value-quantity"} {
		if _, ok := codes[absent]; ok {
			t.Errorf("SearchParams(Observation) lists unsupported %q", absent)
		}
	}
	if p := codes["subject"]; p.Type != "reference" || !slices.Contains(p.Targets, "Patient") || p.Expression != "Observation.subject" {
		t.Errorf("SearchParams(Observation) subject = %+v", p)
	}
	if got := SearchParams("SubscriptionTopic"); len(got) == 0 || got[0].Code != "_id" {
		t.Errorf("SearchParams(SubscriptionTopic) = %v, want the common parameters", got)
	}
	if got := SearchParams("Nope"); got != nil {
		t.Errorf("SearchParams(Nope) = %v, want nil", got)
	}
}

func TestFoldText(t *testing.T) {
	tests := map[string]string{
		"Müller": "muller", "ZOË": "zoe", "Straße": "strasse", "Æsir": "aesir", "Łódź": "lodz",
		"plain": "plain", "Ελλάδα": "ελλάδα",
	}
	for in, want := range tests {
		if got := foldText(in); got != want {
			t.Errorf("foldText(%q) = %q, want %q", in, got, want)
		}
	}
	if len(latinFold) != 0x180-0xC0 {
		t.Errorf("len(latinFold) = %d, want %d", len(latinFold), 0x180-0xC0)
	}
}

func TestMatchErrors(t *testing.T) {
	q, err := ParseCriteria("Observation?code=1")
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range []string{``, `[]`, `"x"`, `12`, `{`} {
		if ok, err := q.Match([]byte(res)); err == nil && ok {
			t.Errorf("Match(%q) = true, nil; want false or an error", res)
		}
	}
}

// TestMatchConcurrent shares one Query between goroutines, as the
// subscription matcher does; run with -race.
func TestMatchConcurrent(t *testing.T) {
	q, err := ParseCriteria("Observation?patient=Patient/123&date=2024-03&value-quantity=gt60")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for range 50 {
				if ok, err := q.Match([]byte(obsJSON)); err != nil || !ok {
					errs <- fmt.Errorf("Match = %v, %v, want true", ok, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	q, err := ParseCriteria("Observation?code=http://loinc.org|8867-4&subject=Patient/123&status=final&value-quantity=gt60")
	if err != nil {
		b.Fatal(err)
	}
	res := []byte(obsJSON)
	for b.Loop() {
		ok, err := q.Match(res)
		if err != nil || !ok {
			b.Fatalf("Match = %v, %v", ok, err)
		}
	}
}

func BenchmarkMatchNoMatch(b *testing.B) {
	q, err := ParseCriteria("Observation?code=http://loinc.org|1234-5&subject=Patient/123")
	if err != nil {
		b.Fatal(err)
	}
	res := []byte(obsJSON)
	for b.Loop() {
		if ok, err := q.Match(res); err != nil || ok {
			b.Fatalf("Match = %v, %v", ok, err)
		}
	}
}

func BenchmarkParseCriteria(b *testing.B) {
	for b.Loop() {
		if _, err := ParseCriteria("Observation?code=http://loinc.org|8867-4&subject=Patient/123&date=ge2024-01-01"); err != nil {
			b.Fatal(err)
		}
	}
}
