// Package fhirtest is test support for packages that emit FHIR R4 JSON: it
// validates resources against the official R4 JSON schema and notification
// Bundles against the R4 Subscriptions Backport IG (STU 1.1) rules that a
// schema cannot express. Tests of fhir, subscription and notify use it; no
// production code imports it.
//
// The schema is embedded as r4.schema.json.gz, generated from the
// repository root with
//
//	gzip -9 -n < ../shared/fhir-r4/fhir.schema.json > fhir/fhirtest/r4.schema.json.gz
//
// (go generate in this directory does the same), from the file whose
// SHA-256 is 67284953c1880b83fbebcfc4ae370b58b1ecddc6b619cd73309ea856bb3067bc.
// That file is the draft-06 R4 schema (id http://hl7.org/fhir/json-schema/4.0)
// with Medplum-specific definitions added (Project, Bot, ViewDefinition, …):
// a superset, used here only for validation. Only the R4 resource types
// fhirbell serves (fhir.IsResourceType) are accepted as resourceType;
// SubscriptionTopic, which fhirbell serves in its R4B/R5 shape, has no R4
// schema and is rejected.
//
// Invariants:
//   - The schema is decompressed and parsed once per process, on first use
//     (about 0.15 s of CPU, 0.6 s under -race), with
//     github.com/santhosh-tekuri/jsonschema/v6; each resource type's
//     definition is compiled when first needed and cached (about 0.1 s for
//     all of them). The in-memory copy is patched before compiling:
//     ResourceList, the 186-branch oneOf behind Bundle.entry.resource,
//     contained and Parameters.parameter.resource, becomes a keyword that
//     validates against the definition named by the instance's resourceType
//     (what the schema's discriminator mapping means, much faster, and with
//     errors of the right type only); the root oneOf is dropped, because
//     the compiler compiles a definition's enclosing document with it, and
//     compiling all 186 types in one work queue takes seconds; the Medplum
//     definitions' dangling references to Resource and integer64 get
//     definitions.
//   - The JSON schema cannot require primitive elements (FHIR lets them be
//     carried by their _element twin), so the Backport checks also require
//     the 1..1 primitives they rely on: entry.request.method and url,
//     entry.response.status, parameter.name.
//   - Every function is safe for concurrent use and does no I/O.
package fhirtest
