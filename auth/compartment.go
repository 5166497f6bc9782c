package auth

import (
	_ "embed"
	"encoding/json"
	"slices"
	"sort"
)

//go:generate go run ./internal/gencompartment -in ../testdata/fhir-r4/compartmentdefinition-patient.json -out compartment.json

// compartmentJSON is generated from the R4 Patient CompartmentDefinition
// (http://hl7.org/fhir/CompartmentDefinition/patient, 4.0.1) by
// internal/gencompartment. Do not edit it by hand.
//
//go:embed compartment.json
var compartmentJSON []byte

// CompartmentSelf is the pseudo search parameter meaning "the resource is
// the compartment's Patient itself": CompartmentParams("Patient") lists it
// first, so Patient/123 is in the compartment of patient 123.
const CompartmentSelf = "{def}"

// patientCompartment maps resource type → search parameter codes.
var patientCompartment = func() map[string][]string {
	var f struct {
		Resources map[string][]string `json:"resources"`
	}
	if err := json.Unmarshal(compartmentJSON, &f); err != nil || len(f.Resources) == 0 {
		panic("auth: embedded compartment.json is invalid; run go generate ./auth")
	}
	return f.Resources
}()

// CompartmentParams returns the search parameters through which a
// resource of resourceType belongs to a Patient compartment (R4): e.g.
// Observation → [subject performer], Patient → [{def} link]. A resource is
// in the compartment of Patient/X when any of these parameters, evaluated
// on it, references Patient/X (or, for CompartmentSelf, when it is
// Patient/X). ok is false for a type that is never in a Patient
// compartment (Subscription, Organization, …): a patient/ scope grants no
// access to those. The returned slice is the caller's to keep.
func CompartmentParams(resourceType string) (params []string, ok bool) {
	p, ok := patientCompartment[resourceType]
	return slices.Clone(p), ok
}

// CompartmentTypes returns the resource types that can be in a Patient
// compartment, sorted.
func CompartmentTypes() []string {
	out := make([]string, 0, len(patientCompartment))
	for t := range patientCompartment {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
