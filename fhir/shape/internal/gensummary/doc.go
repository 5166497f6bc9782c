// Command gensummary turns the official R4 resource StructureDefinitions
// (profiles-resources.json from the FHIR R4 definitions, committed gzipped
// as testdata/fhir-r4/profiles-resources.json.gz) into the element table
// that package shape embeds as elements.json.
//
// It is run by `go generate ./fhir/shape` (see the directive in
// fhir/shape/table.go):
//
//	go run ./internal/gensummary -in ../../testdata/fhir-r4/profiles-resources.json.gz -out elements.json
//
// What it keeps: for every concrete resource type (kind resource, not
// abstract), the snapshot elements below the root that are summary
// (isSummary), mandatory (min ≥ 1) or backbone elements (whose children
// the shaping walks), with their path relative to the type, and the
// contentReference of elements that reuse another element's definition
// (Questionnaire.item.item is a Questionnaire.item). Datatype elements are
// not listed: a kept element is kept whole.
//
// The output is deterministic: types sorted, one type per line, elements in
// snapshot order.
package main
