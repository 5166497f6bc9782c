// Command fhirbell is the FHIR R4 Subscriptions server, and a client of it.
//
// Subcommands:
//
//	fhirbell serve    run the server (in-memory store unless a database URL is given)
//	fhirbell migrate  apply the Postgres migrations and exit
//	fhirbell listen   subscribe, and print each notification as it arrives (resuming after a drop)
//
// serve also serves the web console at / (console.go, console/index.html):
// one page that creates a Subscription and shows its notifications over a
// $websocket-ticket socket, as a browser app must.
//
// Every flag has a FHIRBELL_* environment fallback (flag wins). This package
// is the only one that knows the concrete types (memstore, postgres, the chi
// router) and wires them together; run(ctx, args, getenv, stdout, stderr) is
// the whole program, so tests start real servers by calling it on port 0.
//
// Files: main.go (subcommands), config.go (flags and their variables),
// serve.go (wiring and the router), security.go (auth modes, TLS, proxies,
// the public base), cluster.go (several nodes on one Postgres), metrics.go,
// limits.go (connection and body limits), tracing.go (OpenTelemetry, off
// by default), listen.go, console.go.
package main
