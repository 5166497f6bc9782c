// Package search is fhirbell's FHIR R4 search engine: the search-parameter
// registry (embedded from the official R4 definitions), the query parser,
// the extractor of a resource's search values and the matcher that the
// subscription engine uses to decide which writes trigger which
// Subscription.
//
// It lives apart from package fhir so that the wire-format package stays
// light: clients that only read notifications (fhirbell listen,
// fhirbell-bench) do not link FHIRPath and its parser.
//
// Invariants:
//   - No I/O. Every function is a pure function of its arguments (the
//     registry tables are embedded at build time), so the values the stores
//     index and the values the matcher evaluates are the same.
//   - Errors a client caused are *fhir.ValidationError values; everything
//     else is an internal error.
package search
