// Package fhir is fhirbell's FHIR R4 wire format: resource JSON (Resource,
// Object), the wire layout every response is written in and its encoder
// (wire.go: Marshal, WireResource), OperationOutcome and ValidationError,
// and the Subscriptions
// Backport IG notification Bundles, written (notification.go) and read back
// (notification_read.go, for fhirbell listen, the bench and the tests). The
// REST API's own Bundles (searchset, history, transaction and batch
// responses) are types of subscription/subhttp (wire.go). The search engine
// (registry, parser, matcher) is package fhir/search, the R4 JSON schema
// validator fhir/validate, _summary and _elements fhir/shape.
//
// Invariants:
//   - No I/O. Every function is a pure function of its arguments.
//   - Raw JSON is the source of truth. Typed views (the samply R4 structs)
//     are used only where they help, because they silently drop primitive
//     extensions such as _criteria and _payload and the contained array.
//   - Errors a client caused are *ValidationError values; everything else
//     is an internal error.
package fhir
