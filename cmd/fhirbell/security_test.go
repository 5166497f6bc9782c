package main

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fhirbell/fhirbell/subscription/postgres"
)

// The regression tests of issue 14 (the adversarial review) that are about
// the process as a whole: its parser, its HTTP server, its Host check.

// TestBadBytesRefused: bytes a store cannot hold (an unpaired surrogate, a
// raw 0xff, a million-digit number, NUL) get a 400 OperationOutcome from
// both stores, as a resource, as a transaction entry and as a batch entry;
// nothing is stored and nothing is served back broken.
func TestBadBytesRefused(t *testing.T) {
	stores := map[string]func(t *testing.T) map[string]string{
		"memory": func(*testing.T) map[string]string { return nil },
		"postgres": func(t *testing.T) map[string]string {
			return map[string]string{"FHIRBELL_DATABASE_URL": postgres.NewTestSchema(t)}
		},
	}
	bad := map[string]string{
		"unpaired surrogate": `"family":"\ud800"`,
		"raw 0xff":           "\"family\":\"\xff\"",
		"huge number":        `"family":"x","extension":[{"url":"http://x.test/n","valueDecimal":1e999999}]`,
		"NUL":                `"family":"a\u0000b"`,
	}
	for storeName, env := range stores {
		t.Run(storeName, func(t *testing.T) {
			s := mustRunServe(t, env(t))
			for name, member := range bad {
				patient := `{"resourceType":"Patient","name":[{` + member + `}]}`
				entry := `{"fullUrl":"urn:uuid:1","resource":` + patient + `,"request":{"method":"POST","url":"Patient"}}`
				for _, req := range []struct{ method, path, body string }{
					{"POST", "/fhir/Patient", patient},
					{"PUT", "/fhir/Patient/bad", strings.Replace(patient, `{"resourceType":"Patient"`, `{"resourceType":"Patient","id":"bad"`, 1)},
					{"POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[` + entry + `]}`},
					{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[` + entry + `]}`},
				} {
					res := do(t, req.method, s.URL+req.path, req.body)
					if res.Status != 400 || res.Body["resourceType"] != "OperationOutcome" {
						t.Errorf("%s: %s %s = %d %s, want 400 OperationOutcome", name, req.method, req.path, res.Status, res.Raw)
					}
				}
			}
			// Nothing of it was stored.
			list := do(t, "GET", s.URL+"/fhir/Patient", "")
			wantStatus(t, list, 200)
			if n := list.Body["total"]; n != float64(0) || !utf8.Valid(list.Raw) {
				t.Errorf("after refused writes the server holds %v patients: %s", n, list.Raw)
			}
			wantStatus(t, do(t, "GET", s.URL+"/fhir/Patient/bad", ""), 404)
		})
	}
}
