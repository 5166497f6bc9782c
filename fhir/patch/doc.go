// Package patch applies the two patch formats of FHIR R4 to a resource's
// JSON: JSON Patch (RFC 6902, application/json-patch+json), with
// github.com/evanphx/json-patch, and FHIRPath Patch (a Parameters resource
// of operations add, insert, delete, replace and move).
//
// Invariants:
//   - Pure functions of their inputs; member order is kept, so a patched
//     resource keeps the client's layout.
//   - A patch that cannot be applied (a failed JSON Patch test, a path
//     that selects nothing where something is needed) is an *Error; a patch
//     that is malformed is a *fhir.ValidationError. Neither validates the
//     result: the caller does, as for any write.
//   - FHIRPath Patch paths are element navigation only: Type.a.b, with
//     [n] indexes and first() / last(). Other FHIRPath functions (where(),
//     ofType()…) are refused as not supported, never guessed at.
package patch
