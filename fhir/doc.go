// Package fhir is fhirbell's FHIR R4 wire format: resource JSON, the
// Bundle, Parameters and OperationOutcome shapes and the Subscriptions
// Backport IG notification shapes. The search engine (registry, parser,
// matcher) is package fhir/search.
//
// Invariants:
//   - No I/O. Every function is a pure function of its arguments.
//   - Raw JSON is the source of truth. Typed views (the samply R4 structs)
//     are used only where they help, because they silently drop primitive
//     extensions such as _criteria and _payload and the contained array.
//   - Errors a client caused are *ValidationError values; everything else
//     is an internal error.
package fhir
