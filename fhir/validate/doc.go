// Package validate checks FHIR R4 resources against the official R4 JSON
// schema: structure (no unknown elements, objects where objects belong),
// types and cardinality (arrays for repeating elements, required complex
// elements), primitive formats (date, dateTime, instant, id, code, uri…
// as the schema's patterns state them) and the codes of required bindings
// (the schema's enums, such as Patient.gender's AdministrativeGender). It
// reports every violation it finds as a *fhir.ValidationError whose Path
// is a FHIRPath expression (Patient.name[0].given[1]), so a server can
// answer one OperationOutcome that lists them all.
//
// The schema is embedded as r4.schema.json.gz, generated from the
// repository root with
//
//	gzip -9 -n < testdata/fhir-r4/fhir.schema.json > fhir/validate/r4.schema.json.gz
//
// (go generate in this directory does the same), from the file whose
// SHA-256 is 67284953c1880b83fbebcfc4ae370b58b1ecddc6b619cd73309ea856bb3067bc.
// That file is the draft-06 R4 schema (id http://hl7.org/fhir/json-schema/4.0)
// with Medplum-specific definitions added (Project, Bot, ViewDefinition, …):
// a superset. Only the R4 resource types fhirbell serves
// (fhir.IsResourceType) are accepted as resourceType. SubscriptionTopic,
// which fhirbell serves in its R4B/R5 shape, has no R4 schema: Resource
// reports it as not covered (Covered) and the subscription engine checks it.
//
// Invariants:
//   - The schema is decompressed and parsed once per process, on first use
//     (about 0.15 s of CPU, 0.6 s under -race), with
//     github.com/santhosh-tekuri/jsonschema/v6; each resource type's
//     definition is compiled when first needed and cached. The in-memory
//     copy is patched before compiling: ResourceList, the 186-branch oneOf
//     behind Bundle.entry.resource, contained and
//     Parameters.parameter.resource, becomes a keyword that validates
//     against the definition named by the instance's resourceType (what the
//     schema's discriminator mapping means, much faster, and with errors of
//     the right type only); the root oneOf is dropped, because the compiler
//     compiles a definition's enclosing document with it, and compiling all
//     186 types in one work queue takes seconds; the Medplum definitions'
//     dangling references to Resource and integer64 get definitions.
//   - The JSON schema cannot require primitive elements (FHIR lets them be
//     carried by their _element twin); callers that rely on a 1..1
//     primitive check it themselves.
//   - Every function is safe for concurrent use and does no I/O.
package validate
