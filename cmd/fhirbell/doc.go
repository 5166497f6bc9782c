// Command fhirbell is the FHIR R4 Subscriptions server.
//
// Subcommands:
//
//	fhirbell serve    run the server (in-memory store unless a database URL is given)
//	fhirbell migrate  apply the Postgres migrations and exit
//
// Every flag has a FHIRBELL_* environment fallback (flag wins). This package
// is the only one that knows the concrete types (memstore, postgres, the chi
// router) and wires them together; run(ctx, args, getenv, stdout, stderr) is
// the whole program, so tests start real servers by calling it on port 0.
package main
