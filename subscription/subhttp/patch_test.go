package subhttp

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

const fhirpathGender = `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"replace"},{"name":"path","valueString":"Patient.gender"},{"name":"value","valueCode":"male"}]}]}`

func TestPatch(t *testing.T) {
	s := newTestServer(t, Config{})
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/p", `{"resourceType":"Patient","id":"p","gender":"female","identifier":[{"system":"urn:s","value":"1"}]}`)

	r := s.mustDo(t, http.StatusOK, "PATCH", "/fhir/Patient/p", `[{"op":"replace","path":"/gender","value":"other"}]`, "Content-Type", "application/json-patch+json")
	if str(r.body, "gender") != "other" || str(r.body, "meta", "versionId") != "2" || r.header.Get("ETag") != `W/"2"` {
		t.Fatalf("JSON Patch: %s", r.raw)
	}
	r = s.mustDo(t, http.StatusOK, "PATCH", "/fhir/Patient/p", fhirpathGender, "If-Match", `W/"2"`)
	if str(r.body, "gender") != "male" || str(r.body, "meta", "versionId") != "3" {
		t.Fatalf("FHIRPath Patch: %s", r.raw)
	}
	s.mustDo(t, http.StatusPreconditionFailed, "PATCH", "/fhir/Patient/p", fhirpathGender, "If-Match", `W/"2"`)
	r = s.mustDo(t, http.StatusOK, "PATCH", "/fhir/Patient?identifier=urn:s|1", `[{"op":"add","path":"/active","value":true}]`, "Content-Type", "application/json-patch+json")
	if r.body["active"] != true || str(r.body, "id") != "p" {
		t.Fatalf("conditional patch: %s", r.raw)
	}
	s.mustDo(t, http.StatusNotFound, "PATCH", "/fhir/Patient?identifier=urn:s|2", fhirpathGender)
	s.mustDo(t, http.StatusNotFound, "PATCH", "/fhir/Patient/nope", fhirpathGender)

	for _, tt := range []struct {
		name, body, ct string
		status         int
		want           string
	}{
		{"result validated", `[{"op":"replace","path":"/gender","value":"banana"}]`, "application/json-patch+json", 400, "code-invalid Patient.gender"},
		{"id change refused", `[{"op":"replace","path":"/id","value":"q"}]`, "application/json-patch+json", 400, "not-supported Patient.id"},
		{"id removal refused", `[{"op":"remove","path":"/id"}]`, "application/json-patch+json", 400, "not-supported Patient.id"},
		{"resourceType change refused", `[{"op":"replace","path":"/resourceType","value":"Group"}]`, "application/json-patch+json", 400, "not-supported resourceType"},
		{"failed test is 422", `[{"op":"test","path":"/gender","value":"female"}]`, "application/json-patch+json", 422, "processing "},
		{"malformed JSON Patch", `{"op":"x"}`, "application/json-patch+json", 400, "invalid "},
		{"FHIRPath function refused", strings.Replace(fhirpathGender, "Patient.gender", "Patient.name.where(use='x')", 1), "", 400, "not-supported Parameters.parameter[0]"},
		{"XML patch", `<x/>`, "application/xml-patch+xml", 415, "not-supported "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hdr := []string{}
			if tt.ct != "" {
				hdr = append(hdr, "Content-Type", tt.ct)
			}
			r := s.mustDo(t, tt.status, "PATCH", "/fhir/Patient/p", tt.body, hdr...)
			if got := issues(r.body); len(got) != 1 || got[0] != tt.want {
				t.Errorf("issues %q, want %q", got, tt.want)
			}
		})
	}
	if r := s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient/p", ""); str(r.body, "meta", "versionId") != "4" {
		t.Fatalf("a refused patch wrote: %s", r.raw)
	}
}

func TestPatchInTransaction(t *testing.T) {
	s := newTestServer(t, Config{})
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/p", `{"resourceType":"Patient","id":"p","gender":"female"}`)
	jp := base64.StdEncoding.EncodeToString([]byte(`[{"op":"add","path":"/active","value":true}]`))
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
		{"resource":` + fhirpathGender + `,"request":{"method":"PATCH","url":"Patient/p"}},
		{"fullUrl":"urn:uuid:5b8ab8f8-0000-4000-8000-0000000000aa","resource":{"resourceType":"Patient","identifier":[{"system":"urn:s","value":"t"}]},"request":{"method":"POST","url":"Patient"}},
		{"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"` + jp + `"},"request":{"method":"PATCH","url":"Patient?identifier=urn:s|none"}}
	]}`
	// The conditional patch matches nothing: the whole transaction fails.
	s.mustDo(t, http.StatusNotFound, "POST", "/fhir", bundle)
	if r := s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient/p", ""); str(r.body, "gender") != "female" {
		t.Fatalf("a failed transaction patched: %s", r.raw)
	}
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Patient/q", `{"resourceType":"Patient","id":"q","identifier":[{"system":"urn:s","value":"q"}]}`)
	r := s.mustDo(t, http.StatusOK, "POST", "/fhir", strings.Replace(bundle, "urn:s|none", "urn:s|q", 1), "Prefer", "return=representation")
	if got := str(r.body, "entry", 0, "resource", "gender"); got != "male" {
		t.Errorf("FHIRPath Patch entry: %s", r.raw)
	}
	if got := get(r.body, "entry", 2, "resource", "active"); got != true {
		t.Errorf("JSON Patch entry: %s", r.raw)
	}
	bad := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"` +
		base64.StdEncoding.EncodeToString([]byte(`[{"op":"replace","path":"/gender","value":"banana"}]`)) + `"},"request":{"method":"PATCH","url":"Patient/p"}}]}`
	r = s.mustDo(t, http.StatusBadRequest, "POST", "/fhir", bad)
	if got := issues(r.body); len(got) != 1 || got[0] != "code-invalid Bundle.entry[0].Patient.gender" {
		t.Errorf("invalid patch result in a transaction: %q", got)
	}
}
