package patch

import (
	"errors"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
)

const patient = `{"resourceType":"Patient","id":"p","zeta":"<b>&</b>","name":[{"family":"A","given":["x","y"]},{"family":"B"}],"gender":"female"}`

func TestJSONPatch(t *testing.T) {
	for _, tt := range []struct{ name, patch, want, err string }{
		{"replace keeps order and does not escape", `[{"op":"replace","path":"/gender","value":"male"}]`,
			`{"resourceType":"Patient","id":"p","zeta":"<b>&</b>","name":[{"family":"A","given":["x","y"]},{"family":"B"}],"gender":"male"}`, ""},
		{"add to a list", `[{"op":"add","path":"/name/0/given/-","value":"z"}]`,
			`{"resourceType":"Patient","id":"p","zeta":"<b>&</b>","name":[{"family":"A","given":["x","y","z"]},{"family":"B"}],"gender":"female"}`, ""},
		{"failed test", `[{"op":"test","path":"/gender","value":"male"}]`, "", "apply"},
		{"missing path", `[{"op":"remove","path":"/birthDate"}]`, "", "apply"},
		{"not a patch", `{"op":"remove"}`, "", "invalid"},
		{"unknown op", `[{"op":"frobnicate","path":"/x"}]`, "", "invalid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := JSONPatch([]byte(patient), []byte(tt.patch))
			checkResult(t, out, err, tt.want, tt.err)
		})
	}
}

func checkResult(t *testing.T, out []byte, err error, want, wantErr string) {
	t.Helper()
	switch wantErr {
	case "":
		if err != nil {
			t.Fatalf("error %v", err)
		}
		if string(out) != want {
			t.Fatalf("got  %s\nwant %s", out, want)
		}
	case "apply":
		if _, ok := errors.AsType[*Error](err); !ok {
			t.Fatalf("error %v (%T), want *Error", err, err)
		}
	case "invalid":
		if _, ok := errors.AsType[*fhir.ValidationError](err); !ok {
			t.Fatalf("error %v (%T), want *fhir.ValidationError", err, err)
		}
	case "unsupported":
		ve, ok := errors.AsType[*fhir.ValidationError](err)
		if !ok || ve.Code != fhir.IssueNotSupported {
			t.Fatalf("error %v, want not-supported", err)
		}
	}
}

func op(parts string) string {
	return `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[` + parts + `]}]}`
}

func TestFHIRPathPatch(t *testing.T) {
	for _, tt := range []struct{ name, params, want, err string }{
		{"replace", op(`{"name":"type","valueCode":"replace"},{"name":"path","valueString":"Patient.gender"},{"name":"value","valueCode":"male"}`),
			`{"resourceType":"Patient","id":"p","zeta":"<b>&</b>","name":[{"family":"A","given":["x","y"]},{"family":"B"}],"gender":"male"}`, ""},
		{"add a single element", op(`{"name":"type","valueCode":"add"},{"name":"path","valueString":"Patient"},{"name":"name","valueString":"birthDate"},{"name":"value","valueDate":"1970-01-01"}`),
			`{"resourceType":"Patient","id":"p","zeta":"<b>&</b>","name":[{"family":"A","given":["x","y"]},{"family":"B"}],"gender":"female","birthDate":"1970-01-01"}`, ""},
		{"add to an absent list makes a list", op(`{"name":"type","valueCode":"add"},{"name":"path","valueString":"Patient.name[1]"},{"name":"name","valueString":"given"},{"name":"value","valueString":"q"}`),
			`{"resourceType":"Patient","id":"p","zeta":"<b>&</b>","name":[{"family":"A","given":["x","y"]},{"family":"B","given":["q"]}],"gender":"female"}`, ""},
		{"add a complex value", op(`{"name":"type","valueCode":"add"},{"name":"path","valueString":"Patient"},{"name":"name","valueString":"identifier"},{"name":"value","valueIdentifier":{"system":"s","value":"v"}}`),
			`{"resourceType":"Patient","id":"p","zeta":"<b>&</b>","name":[{"family":"A","given":["x","y"]},{"family":"B"}],"gender":"female","identifier":[{"system":"s","value":"v"}]}`, ""},
		{"add an anonymous value from parts", op(`{"name":"type","valueCode":"add"},{"name":"path","valueString":"Patient"},{"name":"name","valueString":"contact"},{"name":"value","part":[{"name":"gender","valueCode":"male"}]}`),
			`{"resourceType":"Patient","id":"p","zeta":"<b>&</b>","name":[{"family":"A","given":["x","y"]},{"family":"B"}],"gender":"female","contact":[{"gender":"male"}]}`, ""},
		{"insert", op(`{"name":"type","valueCode":"insert"},{"name":"path","valueString":"Patient.name[0].given"},{"name":"index","valueInteger":1},{"name":"value","valueString":"m"}`),
			`{"resourceType":"Patient","id":"p","zeta":"<b>&</b>","name":[{"family":"A","given":["x","m","y"]},{"family":"B"}],"gender":"female"}`, ""},
		{"delete one of a list", op(`{"name":"type","valueCode":"delete"},{"name":"path","valueString":"Patient.name.last()"}`),
			`{"resourceType":"Patient","id":"p","zeta":"<b>&</b>","name":[{"family":"A","given":["x","y"]}],"gender":"female"}`, ""},
		{"delete nothing", op(`{"name":"type","valueCode":"delete"},{"name":"path","valueString":"Patient.birthDate"}`), patient, ""},
		{"move", op(`{"name":"type","valueCode":"move"},{"name":"path","valueString":"Patient.name"},{"name":"source","valueInteger":1},{"name":"destination","valueInteger":0}`),
			`{"resourceType":"Patient","id":"p","zeta":"<b>&</b>","name":[{"family":"B"},{"family":"A","given":["x","y"]}],"gender":"female"}`, ""},
		{"replace needs one match", op(`{"name":"type","valueCode":"replace"},{"name":"path","valueString":"Patient.name"},{"name":"value","valueHumanName":{"family":"C"}}`), "", "apply"},
		{"add over a single value", op(`{"name":"type","valueCode":"add"},{"name":"path","valueString":"Patient"},{"name":"name","valueString":"gender"},{"name":"value","valueCode":"male"}`), "", "apply"},
		{"where is not supported", op(`{"name":"type","valueCode":"delete"},{"name":"path","valueString":"Patient.name.where(family='A')"}`), "", "unsupported"},
		{"wrong type in path", op(`{"name":"type","valueCode":"delete"},{"name":"path","valueString":"Observation.code"}`), "", "invalid"},
		{"unknown type", op(`{"name":"type","valueCode":"frob"},{"name":"path","valueString":"Patient.x"}`), "", "invalid"},
		{"missing value", op(`{"name":"type","valueCode":"replace"},{"name":"path","valueString":"Patient.gender"}`), "", "invalid"},
		{"not Parameters", `{"resourceType":"Patient"}`, "", "invalid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := FHIRPathPatch("Patient", []byte(patient), []byte(tt.params))
			checkResult(t, out, err, tt.want, tt.err)
		})
	}
}

// FuzzFHIRPathPatch: no input panics; the output of a successful patch is
// JSON.
func FuzzFHIRPathPatch(f *testing.F) {
	f.Add(op(`{"name":"type","valueCode":"insert"},{"name":"path","valueString":"Patient.name[0].given"},{"name":"index","valueInteger":1},{"name":"value","valueString":"m"}`))
	f.Add(op(`{"name":"type","valueCode":"move"},{"name":"path","valueString":"Patient.name"},{"name":"source","valueInteger":1},{"name":"destination","valueInteger":0}`))
	f.Add(op(`{"name":"type","valueCode":"add"},{"name":"path","valueString":"Patient.name.first()"},{"name":"name","valueString":"given"},{"name":"value","part":[{"name":"a","valueString":"b"}]}`))
	f.Fuzz(func(t *testing.T, params string) {
		out, err := FHIRPathPatch("Patient", []byte(patient), []byte(params))
		if err == nil {
			if _, err := decode(out); err != nil {
				t.Fatalf("output is not JSON: %s", out)
			}
		}
	})
}
