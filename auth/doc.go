// Package auth establishes who a caller is and what the caller may do:
// bearer-token validation (signed JWTs checked against a JWKS, or RFC 7662
// token introspection, or no authentication at all in local development),
// SMART App Launch v1/v2 scopes, the Patient compartment table, the
// Principal carried in a request context, mutual-TLS client principals,
// trusted reverse proxies, the browser Origin allow-list and CORS, and
// per-client rate limits.
//
// Invariants:
//   - auth is a leaf: it imports the standard library and third-party
//     modules only, never another fhirbell package. Whatever needs FHIR
//     knowledge (does this Observation reference Patient/123?) is done by
//     the caller with the tables auth supplies (CompartmentParams).
//   - A token never leaves Authenticate in any form: no error string, log
//     line or cache key contains it. Errors carry a fixed, classified reason
//     ("token expired", "wrong audience") and wrap ErrUnauthenticated,
//     ErrForbidden or ErrAuthUnavailable. The introspection cache is keyed
//     by the token's SHA-256.
//   - ErrUnauthenticated means the caller must present a (better) token:
//     HTTP 401 with a WWW-Authenticate challenge. ErrAuthUnavailable means
//     the authorization server could not be asked: HTTP 503, never 401,
//     so that an outage does not look like a revoked token to clients.
//   - Deny by default: a malformed scope grants nothing, a granular scope
//     (one with ?param=value) grants nothing through Allows or Can unless
//     the caller enforces its constraints itself, and a patient/ scope
//     grants nothing without a patient launch claim (Principal.Can).
//   - Goroutines: a JWT authenticator built from a JWKS URL owns one
//     background refresh goroutine, ended by JWT.Close. Nothing else in the
//     package starts goroutines; every type is safe for concurrent use.
//   - auth never reads the HL7 definitions at run time: the compartment
//     table is a generated, embedded copy (see compartment.go; its input
//     is testdata/fhir-r4 at the repository root).
package auth
