package main

import (
	"bytes"
	"os"
	"testing"
)

func TestGenerate(t *testing.T) {
	in := `{"resourceType": "CompartmentDefinition", "url": "http://hl7.org/fhir/CompartmentDefinition/patient",
	  "version": "4.0.1", "code": "Patient", "resource": [
	    {"code": "Observation", "param": ["subject", "performer"]},
	    {"code": "Subscription"},
	    {"code": "Patient", "param": ["link"]},
	    {"code": "Account", "param": ["subject"]}]}`
	got, err := generate([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "source": "http://hl7.org/fhir/CompartmentDefinition/patient|4.0.1",
  "resources": {
    "Account": ["subject"],
    "Observation": ["subject", "performer"],
    "Patient": ["{def}", "link"]
  }
}
`
	if string(got) != want {
		t.Errorf("generate() =\n%s\nwant\n%s", got, want)
	}
}

func TestGenerateRejects(t *testing.T) {
	for _, in := range []string{
		`{`,
		`{"resourceType": "CompartmentDefinition", "code": "Encounter", "resource": []}`,
		`{"resourceType": "Patient"}`,
	} {
		if _, err := generate([]byte(in)); err == nil {
			t.Errorf("generate(%q) succeeded, want an error", in)
		}
	}
}

// TestEmbeddedIsCurrent regenerates from the official definition, kept in
// testdata/fhir-r4 at the repository root, and compares with the embedded
// copy. Package auth itself never reads the definition.
func TestEmbeddedIsCurrent(t *testing.T) {
	src, err := os.ReadFile("../../../testdata/fhir-r4/compartmentdefinition-patient.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../compartment.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("auth/compartment.json is stale; run go generate ./auth")
	}
}
