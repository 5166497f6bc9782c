// Command gencompartment turns the official R4 Patient CompartmentDefinition
// (compartmentdefinition-patient.json from the FHIR R4 definitions) into the
// trimmed table that package auth embeds as compartment.json.
//
// It is run by `go generate ./auth` (see the directive in auth/compartment.go):
//
//	go run ./internal/gencompartment -in ../testdata/fhir-r4/compartmentdefinition-patient.json -out compartment.json
//
// What it keeps: for every resource type listed with at least one search
// parameter, the parameter codes in the definition's order. Types listed
// without parameters are not in the compartment and are left out. Patient
// gets "{def}" first (auth.CompartmentSelf): R4 lists only "link" for it,
// but the compartment's own Patient resource is always a member, as later
// FHIR versions spell out with the same "{def}" code.
//
// The output is deterministic: a source line, then types sorted, one type
// per line.
package main
