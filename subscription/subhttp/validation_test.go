package subhttp

import (
	"net/http"
	"slices"
	"testing"
)

// issues returns "code expression" for every issue of an OperationOutcome.
func issues(oo map[string]any) []string {
	var out []string
	for _, iss := range list(oo, "issue") {
		exprs := list(iss, "expression")
		e := ""
		if len(exprs) > 0 {
			e, _ = exprs[0].(string)
		}
		out = append(out, str(iss, "code")+" "+e)
	}
	return out
}

// TestInvalidWritesRefused: the issue's three examples, and their
// combination, are refused with every issue located, and nothing is stored.
func TestInvalidWritesRefused(t *testing.T) {
	s := newTestServer(t, Config{})
	for _, tt := range []struct {
		name, body string
		want       []string
	}{
		{"unknown element", `{"resourceType":"Patient","foo":1}`, []string{"structure Patient.foo"}},
		{"required binding", `{"resourceType":"Patient","gender":"banana"}`, []string{"code-invalid Patient.gender"}},
		{"date", `{"resourceType":"Patient","birthDate":"not-a-date"}`, []string{"value Patient.birthDate"}},
		{"all at once", `{"resourceType":"Patient","foo":1,"gender":"banana","birthDate":"not-a-date"}`,
			[]string{"value Patient.birthDate", "structure Patient.foo", "code-invalid Patient.gender"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := s.mustDo(t, http.StatusBadRequest, "POST", "/fhir/Patient", tt.body)
			if got := issues(r.body); !slices.Equal(got, tt.want) {
				t.Errorf("create issues %q, want %q", got, tt.want)
			}
			upd := `{"resourceType":"Patient","id":"p1",` + tt.body[len(`{"resourceType":"Patient",`):]
			r = s.mustDo(t, http.StatusBadRequest, "PUT", "/fhir/Patient/p1", upd)
			if got := issues(r.body); !slices.Equal(got, tt.want) {
				t.Errorf("update issues %q, want %q", got, tt.want)
			}
		})
	}
	if r := s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient", ""); r.body["total"] != float64(0) {
		t.Fatalf("invalid writes stored something: %s", r.raw)
	}
}

// TestInvalidTransactionEntry: an invalid resource in a transaction fails
// the whole transaction, located at its entry, and stores nothing; in a
// batch only that entry fails.
func TestInvalidTransactionEntry(t *testing.T) {
	s := newTestServer(t, Config{})
	entries := `[
		{"fullUrl":"urn:uuid:5b8ab8f8-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","gender":"female"},"request":{"method":"POST","url":"Patient"}},
		{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:5b8ab8f8-0000-4000-8000-000000000001"},"valueQuantity":{"value":"high"}},"request":{"method":"POST","url":"Observation"}}
	]`
	r := s.mustDo(t, http.StatusBadRequest, "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":`+entries+`}`)
	if got, want := issues(r.body), []string{"structure Bundle.entry[1].resource.valueQuantity.value"}; !slices.Equal(got, want) {
		t.Errorf("transaction issues %q, want %q\n%s", got, want, r.raw)
	}
	if r := s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient", ""); r.body["total"] != float64(0) {
		t.Fatalf("a failed transaction stored a Patient: %s", r.raw)
	}
	r = s.mustDo(t, http.StatusOK, "POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":`+entries+`}`)
	if got := str(r.body, "entry", 0, "response", "status"); got != "201 Created" {
		t.Errorf("batch entry 0: %s", got)
	}
	if got := str(r.body, "entry", 1, "response", "status"); got != "400 Bad Request" {
		t.Errorf("batch entry 1: %s", got)
	}
}

func TestValidateOperation(t *testing.T) {
	s := newTestServer(t, Config{})
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`)
	for _, tt := range []struct {
		name, path, body string
		status           int
		want             []string
	}{
		{"type, valid", "/fhir/Patient/$validate", `{"resourceType":"Patient","gender":"male"}`, 200, []string{"informational "}},
		{"type, invalid", "/fhir/Patient/$validate", `{"resourceType":"Patient","gender":"banana","foo":1}`, 200,
			[]string{"structure Patient.foo", "code-invalid Patient.gender"}},
		{"Parameters, create", "/fhir/Patient/$validate",
			`{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"create"},{"name":"resource","resource":{"resourceType":"Patient","birthDate":"x"}}]}`,
			200, []string{"value Patient.birthDate"}},
		{"instance, update, id mismatch", "/fhir/Patient/p1/$validate",
			`{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"update"},{"name":"resource","resource":{"resourceType":"Patient","id":"p2"}}]}`,
			200, []string{"invalid Patient.id"}},
		{"instance, update, valid", "/fhir/Patient/p1/$validate",
			`{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"update"},{"name":"resource","resource":{"resourceType":"Patient","id":"p1"}}]}`,
			200, []string{"informational "}},
		{"instance, delete", "/fhir/Patient/p1/$validate", `{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"delete"}]}`, 200, []string{"informational "}},
		{"instance, delete, missing", "/fhir/Patient/nope/$validate", `{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"delete"}]}`, 404, []string{"not-found "}},
		{"unknown mode", "/fhir/Patient/$validate", `{"resourceType":"Parameters","parameter":[{"name":"mode","valueCode":"x"},{"name":"resource","resource":{"resourceType":"Patient"}}]}`, 400, []string{"code-invalid mode"}},
		{"type mismatch", "/fhir/Observation/$validate", `{"resourceType":"Patient"}`, 200, []string{"invalid resourceType"}},
		{"Subscription engine rules", "/fhir/Subscription/$validate",
			`{"resourceType":"Subscription","status":"requested","reason":"r","criteria":"Observation?code=x","channel":{"type":"email","endpoint":"mailto:a@b.org"}}`,
			200, []string{"not-supported Subscription.channel.type"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := s.mustDo(t, tt.status, "POST", tt.path, tt.body)
			got := issues(r.body)
			if len(got) > 0 && got[0] == "information " {
				got[0] = "informational "
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("issues %q, want %q\n%s", got, tt.want, r.raw)
			}
		})
	}
	if r := s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient", ""); r.body["total"] != float64(1) {
		t.Fatalf("$validate stored something: %s", r.raw)
	}
}
