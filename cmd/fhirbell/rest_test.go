package main

import (
	_ "embed"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
)

//go:embed testdata/synthea-transaction.json
var syntheaBundle string

// The REST interactions of issue 12, end to end against a real server on
// each store: conditional writes and references in transactions,
// validation, PATCH, history and shaping.
func TestRESTInMemory(t *testing.T) { exerciseREST(t, mustRunServe(t, nil).URL) }

func TestRESTOnPostgres(t *testing.T) {
	s := mustRunServe(t, map[string]string{"FHIRBELL_DATABASE_URL": pgtest.NewSchema(t)})
	exerciseREST(t, s.URL)
}

func exerciseREST(t *testing.T, base string) {
	fhir := base + "/fhir"
	t.Run("synthea bundle loads twice without duplicates", func(t *testing.T) {
		wantStatus(t, do(t, "POST", fhir+"/Practitioner", `{"resourceType":"Practitioner","identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"9999999919"}]}`), 201)
		wantStatus(t, do(t, "POST", fhir+"/Organization", `{"resourceType":"Organization","identifier":[{"system":"https://github.com/synthetichealth/synthea","value":"org-1"}]}`), 201)
		first := do(t, "POST", fhir, syntheaBundle)
		wantStatus(t, first, 200)
		second := do(t, "POST", fhir, syntheaBundle)
		wantStatus(t, second, 200)
		for i, e := range first.Body["entry"].([]any) {
			if st := e.(map[string]any)["response"].(map[string]any)["status"]; st != "201 Created" {
				t.Errorf("first load, entry %d: %v", i, st)
			}
			if st := second.Body["entry"].([]any)[i].(map[string]any)["response"].(map[string]any)["status"]; st != "200 OK" {
				t.Errorf("second load, entry %d: %v", i, st)
			}
		}
		for _, typ := range []string{"Patient", "Encounter", "Observation"} {
			got := do(t, "GET", fhir+"/"+typ+"?identifier=https://github.com/synthetichealth/synthea|", "")
			if got.Body["total"] != float64(1) {
				t.Errorf("%s after two loads: total %v, want 1", typ, got.Body["total"])
			}
		}
		obs := do(t, "GET", fhir+"/Observation?code=http://loinc.org|8302-2", "")
		res := obs.Body["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
		raw := string(obs.Raw)
		if strings.Contains(raw, "urn:uuid:") || strings.Contains(raw, "?identifier=") {
			t.Errorf("references not rewritten: %s", raw)
		}
		subject := res["subject"].(map[string]any)["reference"].(string)
		enc := res["encounter"].(map[string]any)["reference"].(string)
		ext := res["extension"].([]any)[0].(map[string]any)["valueReference"].(map[string]any)["reference"].(string)
		if !strings.HasPrefix(subject, "Patient/") || !strings.HasPrefix(enc, "Encounter/") || ext != enc {
			t.Errorf("subject %s, encounter %s, extension %s", subject, enc, ext)
		}
		wantStatus(t, do(t, "GET", fhir+"/"+subject, ""), 200)
		pat := do(t, "GET", fhir+"/"+subject, "")
		if gp := pat.Body["generalPractitioner"].([]any)[0].(map[string]any)["reference"].(string); !strings.HasPrefix(gp, "Practitioner/") {
			t.Errorf("conditional reference resolved to %s", gp)
		}
	})
	t.Run("conditional reference matching nothing fails the transaction", func(t *testing.T) {
		bad := strings.ReplaceAll(syntheaBundle, "9999999919", "0000000000")
		bad = strings.ReplaceAll(bad, "0a1b2c3d-0000", "ffffffff-0000")
		bad = strings.ReplaceAll(bad, "enc-0002", "enc-x")
		bad = strings.ReplaceAll(bad, "obs-0003", "obs-x")
		r := do(t, "POST", fhir, bad)
		wantStatus(t, r, 412)
		if !strings.Contains(string(r.Raw), "Bundle.entry[0].resource.generalPractitioner[0].reference") {
			t.Errorf("412 does not locate the reference: %s", r.Raw)
		}
		got := do(t, "GET", fhir+"/Patient?identifier=https://github.com/synthetichealth/synthea|ffffffff-0000-4000-8000-000000000001", "")
		if got.Body["total"] != float64(0) {
			t.Errorf("the failed transaction stored a Patient")
		}
	})
	t.Run("invalid resources are refused, in transactions too", func(t *testing.T) {
		r := do(t, "POST", fhir+"/Patient", `{"resourceType":"Patient","foo":1,"gender":"banana","birthDate":"not-a-date"}`)
		wantStatus(t, r, 400)
		if n := len(r.Body["issue"].([]any)); n != 3 {
			t.Errorf("%d issues, want 3: %s", n, r.Raw)
		}
		bad := strings.Replace(syntheaBundle, `"gender": "female"`, `"gender": "banana"`, 1)
		bad = strings.ReplaceAll(bad, "0a1b2c3d-0000", "eeeeeeee-0000")
		bad = strings.ReplaceAll(bad, "enc-0002", "enc-y")
		bad = strings.ReplaceAll(bad, "obs-0003", "obs-y")
		r = do(t, "POST", fhir, bad)
		wantStatus(t, r, 400)
		if !strings.Contains(string(r.Raw), `"Bundle.entry[0].resource.gender"`) {
			t.Errorf("transaction issue not located: %s", r.Raw)
		}
		if got := do(t, "GET", fhir+"/Encounter?identifier=https://github.com/synthetichealth/synthea|enc-y", ""); got.Body["total"] != float64(0) {
			t.Errorf("the invalid transaction stored an Encounter")
		}
	})
	t.Run("conditional create, update, delete", func(t *testing.T) {
		p := `{"resourceType":"Patient","identifier":[{"system":"urn:x","value":"c1"}]}`
		wantStatus(t, do(t, "POST", fhir+"/Patient", p, "If-None-Exist", "identifier=urn:x|c1"), 201)
		wantStatus(t, do(t, "POST", fhir+"/Patient", p, "If-None-Exist", "identifier=urn:x|c1"), 200)
		wantStatus(t, do(t, "PUT", fhir+"/Patient?identifier=urn:x|c1", strings.Replace(p, `"identifier"`, `"active":true,"identifier"`, 1)), 200)
		wantStatus(t, do(t, "DELETE", fhir+"/Patient?identifier=urn:x|c1", ""), 200)
		if got := do(t, "GET", fhir+"/Patient?identifier=urn:x|c1", ""); got.Body["total"] != float64(0) {
			t.Errorf("conditional delete left %v", got.Body["total"])
		}
	})
	t.Run("patch", func(t *testing.T) {
		r := do(t, "POST", fhir+"/Patient", `{"resourceType":"Patient","identifier":[{"system":"urn:x","value":"p1"}],"gender":"female"}`)
		wantStatus(t, r, 201)
		id := r.Body["id"].(string)
		r = do(t, "PATCH", fhir+"/Patient/"+id, `[{"op":"replace","path":"/gender","value":"male"}]`, "Content-Type", "application/json-patch+json", "If-Match", `W/"1"`)
		wantStatus(t, r, 200)
		if r.Body["gender"] != "male" {
			t.Errorf("JSON Patch: %s", r.Raw)
		}
		r = do(t, "PATCH", fhir+"/Patient?identifier=urn:x|p1", `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"add"},{"name":"path","valueString":"Patient"},{"name":"name","valueString":"birthDate"},{"name":"value","valueDate":"1990-02-03"}]}]}`)
		wantStatus(t, r, 200)
		if r.Body["birthDate"] != "1990-02-03" || r.Body["meta"].(map[string]any)["versionId"] != "3" {
			t.Errorf("FHIRPath Patch: %s", r.Raw)
		}
		wantStatus(t, do(t, "PATCH", fhir+"/Patient/"+id, `[{"op":"replace","path":"/id","value":"other"}]`, "Content-Type", "application/json-patch+json"), 400)
	})
}
