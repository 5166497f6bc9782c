// Package shape subsets resources as a request's _summary and _elements
// ask: _summary=true keeps the elements the R4 base definitions mark
// isSummary (walking into backbone elements, keeping datatypes whole),
// text keeps the narrative, id, meta and the mandatory top-level elements,
// data drops the narrative; _elements keeps the named top-level elements
// and the mandatory ones. A subsetted resource gets the SUBSETTED tag. The
// element table (elements.json) is generated from the R4 StructureDefinitions
// in testdata/fhir-r4 by internal/gensummary (`make generate`).
//
// Invariants:
//   - No I/O; the table is embedded and read once.
//   - resourceType, id and meta are never removed; the output is in the
//     wire layout (fhir.WireResource), whatever the shape.
//   - Shaping never fails: it works on stored bodies, which were checked
//     when they were written; a body that does not parse is returned as it
//     is rather than answered with a 500.
package shape
