package shape

import (
	"net/url"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
)

const subsetted = `{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED","display":"Resource encoded in summary mode"}`

const patient = `{"resourceType":"Patient","id":"p1","meta":{"versionId":"2"},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},` +
	`"extension":[{"url":"http://e","valueString":"v"}],"identifier":[{"system":"s","value":"1"}],"active":true,"name":[{"family":"Chalmers","given":["Peter"]}],` +
	`"gender":"male","_gender":{"extension":[{"url":"http://g","valueCode":"x"}]},"birthDate":"1974-12-25","deceasedBoolean":false,"maritalStatus":{"text":"M"},` +
	`"contact":[{"relationship":[{"text":"N"}],"name":{"family":"du Marché"}}],"communication":[{"language":{"text":"nl"},"preferred":true}],` +
	`"link":[{"other":{"reference":"Patient/p2"},"type":"seealso","extension":[{"url":"http://l","valueString":"v"}]}]}`

func TestApply(t *testing.T) {
	tests := []struct {
		name  string
		shape Shape
		in    string
		want  string
	}{
		{"zero: whole, wire layout", Shape{}, `{"id":"p","resourceType":"Patient","active":true}`, `{"resourceType":"Patient","id":"p","active":true}`},
		{"false: whole", Shape{Summary: SummaryFalse}, patient, patient},
		{"true: summary elements, backbone children by their own flags", Shape{Summary: SummaryTrue}, patient,
			`{"resourceType":"Patient","id":"p1","meta":{"versionId":"2","tag":[` + subsetted + `]},"identifier":[{"system":"s","value":"1"}],"active":true,` +
				`"name":[{"family":"Chalmers","given":["Peter"]}],"gender":"male","_gender":{"extension":[{"url":"http://g","valueCode":"x"}]},"birthDate":"1974-12-25",` +
				`"deceasedBoolean":false,"link":[{"other":{"reference":"Patient/p2"},"type":"seealso"}]}`},
		{"text: narrative and mandatory only", Shape{Summary: SummaryText}, patient,
			`{"resourceType":"Patient","id":"p1","meta":{"versionId":"2","tag":[` + subsetted + `]},"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}`},
		{"text keeps mandatory top-level elements", Shape{Summary: SummaryText}, `{"resourceType":"Observation","id":"o","status":"final","code":{"text":"c"},"valueQuantity":{"value":1}}`,
			`{"resourceType":"Observation","id":"o","meta":{"tag":[` + subsetted + `]},"status":"final","code":{"text":"c"}}`},
		{"data: no narrative", Shape{Summary: SummaryData}, `{"resourceType":"Patient","id":"p","text":{"status":"empty","div":"<div/>"},"active":true}`,
			`{"resourceType":"Patient","id":"p","meta":{"tag":[` + subsetted + `]},"active":true}`},
		{"elements: named and mandatory, primitive companions", Shape{Elements: []string{"gender", "name"}}, patient,
			`{"resourceType":"Patient","id":"p1","meta":{"versionId":"2","tag":[` + subsetted + `]},"name":[{"family":"Chalmers","given":["Peter"]}],"gender":"male","_gender":{"extension":[{"url":"http://g","valueCode":"x"}]}}`},
		{"elements: a choice stem names its typed member; mandatory status kept", Shape{Elements: []string{"value"}},
			`{"resourceType":"Observation","id":"o","status":"final","code":{"text":"c"},"subject":{"reference":"Patient/p"},"valueQuantity":{"value":1}}`,
			`{"resourceType":"Observation","id":"o","meta":{"tag":[` + subsetted + `]},"status":"final","code":{"text":"c"},"valueQuantity":{"value":1}}`},
		{"elements: empty list keeps the mandatory", Shape{Elements: []string{}}, `{"resourceType":"Patient","id":"p","active":true}`,
			`{"resourceType":"Patient","id":"p","meta":{"tag":[` + subsetted + `]}}`},
		{"tag not repeated", Shape{Summary: SummaryData}, `{"resourceType":"Patient","id":"p","meta":{"tag":[` + subsetted + `]}}`,
			`{"resourceType":"Patient","id":"p","meta":{"tag":[` + subsetted + `]}}`},
		{"true: nested backbone (component) and choice in it", Shape{Summary: SummaryTrue},
			`{"resourceType":"Observation","id":"o","status":"final","code":{"text":"c"},"note":[{"text":"n"}],"component":[{"code":{"text":"k"},"valueString":"v","interpretation":[{"text":"i"}]}]}`,
			`{"resourceType":"Observation","id":"o","meta":{"tag":[` + subsetted + `]},"status":"final","code":{"text":"c"},"component":[{"code":{"text":"k"},"valueString":"v"}]}`},
		{"true: contentReference (Questionnaire.item.item)", Shape{Summary: SummaryTrue},
			`{"resourceType":"Questionnaire","id":"q","status":"active","item":[{"linkId":"1","type":"group","item":[{"linkId":"1.1","type":"string","text":"t"}]}]}`,
			`{"resourceType":"Questionnaire","id":"q","meta":{"tag":[` + subsetted + `]},"status":"active"}`},
		{"true: a type without an R4 definition is kept whole", Shape{Summary: SummaryTrue},
			`{"resourceType":"SubscriptionTopic","id":"t","url":"http://t","status":"active"}`, `{"resourceType":"SubscriptionTopic","id":"t","url":"http://t","status":"active"}`},
		{"not an object: as it is", Shape{Summary: SummaryTrue}, `[]`, `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.shape.Apply([]byte(tt.in))); got != tt.want {
				t.Fatalf("Apply =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestFromQuery(t *testing.T) {
	tests := []struct {
		query   string
		want    Shape
		wantErr string // the path of the error
	}{
		{"", Shape{}, ""},
		{"_summary=true", Shape{Summary: SummaryTrue}, ""},
		{"_summary=text", Shape{Summary: SummaryText}, ""},
		{"_summary=data", Shape{Summary: SummaryData}, ""},
		{"_summary=count", Shape{Summary: SummaryCount}, ""},
		{"_summary=false&_elements=name", Shape{Summary: SummaryFalse, Elements: []string{"name"}}, ""},
		{"_elements=name,gender&_elements=name, birthDate", Shape{Elements: []string{"name", "gender", "birthDate"}}, ""},
		{"_elements=Patient.name", Shape{Elements: []string{"name"}}, ""},
		{"_elements=", Shape{Elements: []string{}}, ""},
		{"_summary=yes", Shape{}, "_summary"},
		{"_summary=true&_summary=false", Shape{}, "_summary"},
		{"_summary=true&_elements=name", Shape{}, "_elements"},
		{"_elements=name.family", Shape{}, "_elements"},
		{"_elements=1x", Shape{}, "_elements"},
		{"_elements=%3Cscript%3E", Shape{}, "_elements"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			got, err := FromQuery(q)
			if tt.wantErr != "" {
				ve, ok := err.(*fhir.ValidationError)
				if !ok || ve.Path != tt.wantErr {
					t.Fatalf("FromQuery(%s) err = %v, want a ValidationError at %s", tt.query, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Summary != tt.want.Summary || (got.Elements == nil) != (tt.want.Elements == nil) || len(got.Elements) != len(tt.want.Elements) {
				t.Fatalf("FromQuery(%s) = %+v, want %+v", tt.query, got, tt.want)
			}
			for i := range got.Elements {
				if got.Elements[i] != tt.want.Elements[i] {
					t.Fatalf("FromQuery(%s) = %+v, want %+v", tt.query, got, tt.want)
				}
			}
		})
	}
}

// TestTableCoversEveryR4Type checks the generated table against the types
// fhirbell serves: every R4 type has its rows, and the flags agree with
// the R4 definitions on a few elements the spec text names.
func TestTableCoversEveryR4Type(t *testing.T) {
	for _, typ := range fhir.ResourceTypes() {
		if typ == "SubscriptionTopic" {
			continue // not an R4 resource
		}
		if tables()[typ] == nil {
			t.Errorf("no element table for %s", typ)
		}
	}
	for _, c := range []struct {
		typ, path      string
		summary, req   bool
		childrenWalked bool
	}{
		{"Patient", "name", true, false, false},
		{"Patient", "contact", false, false, true},
		{"Patient", "link.other", true, true, false},
		{"Observation", "status", true, true, false},
		{"Observation", "component", true, false, true},
		{"Bundle", "type", true, true, false},
	} {
		el, ok := tables()[c.typ].byPath[c.path]
		if !ok || el.summary != c.summary || el.required != c.req || (el.children != "") != c.childrenWalked {
			t.Errorf("%s.%s = %+v (found %v), want summary %v required %v walked %v", c.typ, c.path, el, ok, c.summary, c.req, c.childrenWalked)
		}
	}
}

// FuzzShape: any _summary and _elements either fail with a
// ValidationError or shape a resource into valid JSON that keeps its
// resourceType and id.
func FuzzShape(f *testing.F) {
	for _, s := range []string{"_summary=true", "_elements=name,gender", "_summary=text", "_elements=Patient.name,value", "_summary=data&_elements="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		sh, err := FromQuery(q)
		if err != nil {
			if _, ok := err.(*fhir.ValidationError); !ok {
				t.Fatalf("FromQuery error %T %v", err, err)
			}
			return
		}
		out := sh.Apply([]byte(patient))
		r, err := fhir.ParseResource(out)
		if err != nil || r.Type != "Patient" || r.ID != "p1" {
			t.Fatalf("Apply(%s) = %s (%v)", query, out, err)
		}
	})
}
