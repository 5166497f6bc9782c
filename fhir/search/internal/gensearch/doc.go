// Command gensearch turns the official R4 SearchParameter Bundle
// (search-parameters.json from the FHIR R4 definitions) into the trimmed
// table that package fhir/search embeds as searchparams.json.
//
// It is run by `go generate ./fhir/search` (see the directive in fhir/search/query.go):
//
//	go run ./internal/gensearch -in ../../testdata/fhir-r4/search-parameters.json -out searchparams.json
//
// What it does to each SearchParameter:
//   - Parameters whose base is Resource or DomainResource go under the key
//     "Resource"; package search applies them to every resource type.
//   - The expression is a union covering every base type ("Observation.code
//     | Condition.code"); for each base type only the alternatives that
//     start with that type (possibly inside parentheses) are kept. An
//     alternative that starts with a lower-case name is relative to the
//     single base and gets the base type prefixed (InsurancePlan's "name |
//     alias").
//   - The description is cut to the base type's own line of a "Multiple
//     Resources" description, then to its first sentence.
//   - composite and special parameters, parameters without an expression,
//     and parameters whose expression the gofhir/fhirpath engine cannot
//     compile are kept with an "unsupported" reason, so that searches using
//     them are rejected with a clear not-supported error instead of never
//     matching.
//
// Choice elements are spelled out, using the R4 JSON schema
// (fhir.schema.json beside the input, or -schema): "(Observation.value as
// Quantity)" and "Observation.value.as(Quantity)" become
// "Observation.valueQuantity", and a bare "Observation.effective" becomes
// "Observation.effectiveDateTime | Observation.effectiveInstant | …". The
// FHIRPath engine, which has no R4 model, would otherwise find a choice
// element by trying some 50 type suffixes, each a scan of the JSON, which
// made a value-quantity term cost ~40µs instead of ~1µs.
//
// The expressions are otherwise kept as HL7 wrote them. In particular
// ".where(resolve() is Patient)" stays: package fhir evaluates resolve()
// with a resolver that answers a stub {"resourceType": T} for a reference
// to T/id, so the type test works without a database.
//
// It also writes choices_gen.go beside the output: the choice
// elements of every resource type and the names of all choice elements,
// which package fhir's choiceModel gives the FHIRPath engine so that a
// missing element is not looked up under 50 typed names.
//
// The output is deterministic: types sorted, parameters sorted by code,
// one parameter per line.
package main
