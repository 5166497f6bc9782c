// Command fhirbell-bench is a load generator for FHIR Subscriptions
// servers that deliver notifications over WebSockets. It drives a running
// server only through its public protocol (FHIR REST and the WebSocket
// channel), so the same command measures fhirbell and, unchanged, any other
// server that speaks the same protocol (Medplum, HAPI FHIR's legacy
// channel, Backport IG servers).
//
// Usage:
//
//	fhirbell-bench idle       [flags]  N bound sockets: server resident memory per socket
//	fhirbell-bench fanout     [flags]  one write matching N subscriptions on N sockets (--shared: one subscription)
//	fhirbell-bench throughput [flags]  W writers, S subscriptions, match rate m
//	fhirbell-bench latency    [flags]  one subscriber: write-to-notification distribution
//	fhirbell-bench resthook   [flags]  N rest-hook subscriptions on a loopback receiver
//	fhirbell-bench failover   [flags]  sockets over a cluster's nodes, one node killed
//	fhirbell-bench search     [flags]  load N Observations, then time a fixed set of searches
//
// Every scenario prints a table on stdout and, with --json FILE, writes the
// same figures as JSON. docs/benchmarks.md records the commands and the
// figures measured on the project's machine.
//
// # Protocol
//
// Subscriptions are created with POST {fhir-base}/Subscription in the R4
// criteria style (for example Observation?code=http://bench.example|<run>-k7),
// channel websocket, payload application/fhir+json; the run id in every code
// keeps runs apart. A socket is bound by one of four dialects (--dialect):
//   - backport: GET Subscription/{id}/$get-ws-binding-token, connect to the
//     websocket-url it returns and send `bind-with-token <token>`;
//   - medplum: the same token, sent as {"type":"bind-with-token",…};
//   - ticket: fhirbell's single-use $websocket-ticket URL, which binds on
//     connect;
//   - legacy: `bind <id>` on --ws-url (HAPI FHIR's R4 channel).
//
// A socket counts as bound when its handshake (or `bound <id>`) arrives, and
// a frame counts as a notification when it is an event-notification Bundle
// (any FHIR version's status resource) or a legacy `ping <id>`. --token adds
// a static bearer token to every REST call and to the WebSocket upgrade.
//
// # Invariants
//
//   - Loopback only: the FHIR base, every websocket-url the server hands
//     out and every address actually dialled must be in 127.0.0.0/8 or ::1.
//     The check happens twice: on the URL (resolving its host) for a clear
//     error, and in the dialer's Control hook on the resolved address just
//     before connect, so neither DNS nor a hostile server can redirect the
//     load elsewhere.
//   - Bounded: every scenario has a maximum count and a maximum duration
//     (--max-time, at most one hour), and Ctrl-C stops it cleanly (a second
//     Ctrl-C kills the process). Subscriptions the run created are deleted
//     at the end unless --keep.
//   - Cheap client: one goroutine per socket (its reader), small read
//     buffers and a shared write-buffer pool, because the generator runs on
//     the same machine as the server. Its own resident memory is reported.
//
// # Search
//
// The search scenario loads --observations Observations for --patients
// Patients (one per 50 by default) through transaction Bundles of --bundle
// entries, --loaders at a time: ten LOINC vital signs and labs evenly, UCUM
// valueQuantity in each code's plausible range, effectiveDateTime spread
// over 2015–2024, status mostly final, a category; Patients carry an MRN
// identifier. Ids and the MRN include the run id, and the data follows from
// it. It then asks each query shape of a fixed set --repeat times (after
// three unmeasured), one at a time, with another patient, code or bound
// each time, and checks every answer: counts it knows from the generated
// data (the code counts taken before the load are added), the order a sort
// promises, the condition a filter states, the subjects an _include must
// bring. Last it pages through every hit of one code with _count=1000
// following the next links, three times. With --database-url (fhirbell's
// Postgres, loopback only) it also reports the size of the search index
// tables per live resource, after an ANALYZE of them (--analyze).
//
// # Idle capacity
//
// Past about 20,000 sockets one source address runs out of ephemeral ports,
// so sockets are spread over 127.0.0.1, 127.0.0.2, … (--sources, automatic
// by default), and the open-file limit is raised to what the run needs (the
// hard limit cannot be raised without CAP_SYS_RESOURCE; the run then stops
// early with the reason). The server's resident memory comes from
// /proc/<pid>/status (--server-pid): before the subscriptions, after them,
// and after the sockets are bound, so the cost of a socket and of a
// subscription are reported apart. Kernel socket buffers are not part of
// resident memory and are not counted.
//
// # Losing a node
//
// failover binds sockets round robin over --nodes with binding tokens each
// node issued, writes at --rate to every node but --kill-node, and after
// --before sends SIGKILL to --kill-pid (refused unless its command line is
// `fhirbell serve`). A socket whose connection ends dials the next node's
// /ws at once and sends `resume <id> <last event seen>` (a bare resume, as a
// client authenticated by its upgrade or a server in auth mode none
// allows); after a full round of failed nodes it backs off. At the end it
// reads each subscription's head with $status and checks every socket: the
// events from where it was bound to the head, each once and in order.
// "Live again" is the resumed handshake, "caught up" the moment the socket
// holds every event up to the head that handshake announced.
package main
