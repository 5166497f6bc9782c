// Package fhirtest is test support for packages that emit FHIR R4 JSON: it
// validates resources against the official R4 JSON schema (ValidateR4,
// which is fhir/validate, the validator the server runs on every write)
// and notification Bundles against the R4 Subscriptions Backport IG
// (STU 1.1) rules that a schema cannot express. Tests of fhir,
// subscription and notify use it; no production code imports it.
//
// Invariants:
//   - The JSON schema cannot require primitive elements (FHIR lets them be
//     carried by their _element twin), so the Backport checks also require
//     the 1..1 primitives they rely on: entry.request.method and url,
//     entry.response.status, parameter.name.
//   - Every function is safe for concurrent use and does no I/O.
package fhirtest
