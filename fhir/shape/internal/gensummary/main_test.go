package main

import (
	"bytes"
	"os"
	"testing"
)

func TestGenerate(t *testing.T) {
	in := `{"resourceType":"Bundle","entry":[
	  {"resource":{"resourceType":"OperationDefinition","type":true}},
	  {"resource":{"resourceType":"StructureDefinition","kind":"resource","abstract":true,"type":"DomainResource","derivation":"specialization",
	    "snapshot":{"element":[{"path":"DomainResource.text","min":0}]}}},
	  {"resource":{"resourceType":"StructureDefinition","kind":"resource","type":"Patient","derivation":"constraint",
	    "snapshot":{"element":[{"path":"Patient.name","min":1,"isSummary":true}]}}},
	  {"resource":{"resourceType":"StructureDefinition","kind":"resource","type":"Questionnaire","derivation":"specialization",
	    "snapshot":{"element":[{"path":"Questionnaire","min":0},{"path":"Questionnaire.status","min":1,"isSummary":true},
	      {"path":"Questionnaire.title","min":0},
	      {"path":"Questionnaire.item","min":0,"type":[{"code":"BackboneElement"}]},
	      {"path":"Questionnaire.item.item","min":0,"contentReference":"#Questionnaire.item"}]}}}]}`
	got, err := generate([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
"Questionnaire":[{"p":"status","s":true,"m":true},{"p":"item","b":true},{"p":"item.item","r":"item"}]
}
`
	if string(got) != want {
		t.Errorf("generate() =\n%s\nwant\n%s", got, want)
	}
}

func TestGenerateRejects(t *testing.T) {
	for _, in := range []string{`{`, `{"resourceType":"Bundle","entry":[]}`} {
		if _, err := generate([]byte(in)); err == nil {
			t.Errorf("generate(%q) succeeded, want an error", in)
		}
	}
}

// TestEmbeddedIsCurrent regenerates from the official definitions, kept in
// testdata/fhir-r4 at the repository root, and compares with the embedded
// copy. Package shape itself never reads the definitions.
func TestEmbeddedIsCurrent(t *testing.T) {
	out := t.TempDir() + "/elements.json"
	if err := run("../../../../testdata/fhir-r4/profiles-resources.json.gz", out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../elements.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("fhir/shape/elements.json is not what the generator makes of testdata/fhir-r4; run make generate")
	}
}
