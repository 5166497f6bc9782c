// Package subhttp is fhirbell's FHIR REST API: the chi routes that serve
// create, read, update, delete, vread, history and search for every
// resource type, transaction and batch Bundles, the Subscription operations
// ($status, $events, $get-ws-binding-token, $websocket-ticket, and
// fhirbell's $nodes, the cluster view: nodes.go) and the
// CapabilityStatement.
//
// NewHandler returns a router meant to be mounted at /fhir:
//
//	r := chi.NewRouter()
//	base := endpoint.NewBase("https://fhir.example.org", nil)
//	r.Mount(endpoint.FHIRPath, subhttp.NewHandler(svc, subhttp.Config{Base: base}))
//
// With Config.Version R5 the same router is mounted at endpoint.R5FHIRPath
// for R5 clients: Subscriptions are translated at its edge (r5.go) and the
// operations answer R5 shapes.
//
// The Subscription operations are routes of the router itself
// (operations.go); Config.Capability lets the caller amend the
// CapabilityStatement (with the security in force).
//
// Every route handler is a handlerFunc: it returns its failure instead of
// writing it, and handlerFunc.ServeHTTP answers it with writeError, the
// one writer of error responses, through errorOutcome, the one mapping from
// errors to statuses and OperationOutcomes.
//
// Files: handler.go (Config, the router, the middleware), errors.go
// (handlerFunc, errorOutcome, the response and request-body helpers),
// resource.go (create, read, vread, update, delete), search.go (search and
// instance history), history.go (type and system history), everything.go
// (Patient/$everything), bundle.go (transaction and batch), refs.go (urn:uuid:
// reference rewriting), wire.go (the Bundle types the handlers emit),
// format.go (content negotiation), shape.go (_summary and _elements, with
// package fhir/shape),
// operations.go (the Subscription operations), validate.go ($validate),
// capability.go (the CapabilityStatement), r5.go (the R5 endpoint's edge).
//
// Wire rules (the choices a client can rely on):
//   - Responses are JSON in the type the client asked for (format.go):
//     application/fhir+json; charset=utf-8 by default, application/json when
//     _format or Accept names it, with the endpoint's fhirVersion when the
//     client named one; XML and other versions are 406. Every body is
//     compact, resources with resourceType, id and meta first and the rest
//     in the client's order, and & is not escaped (fhir.Marshal,
//     fhir.WireResource, shape.Shape.Apply: the one encoder). Request bodies must
//     be application/fhir+json, application/json or application/json+fhir
//     (parameters such as charset or fhirVersion are allowed); a request
//     without Content-Type is read as JSON, because curl without -H is the
//     common case; any other Content-Type is 415. POST /{type}/_search takes
//     application/x-www-form-urlencoded.
//   - Bodies above Config.MaxBodyBytes (Config.MaxBundleBytes for POST /fhir)
//     are 413 too-long.
//   - Create answers 201 with Location <base>/fhir/{type}/{id}/_history/{vid},
//     ETag W/"vid" and Last-Modified. Every write (update, patch and the
//     conditional ones too) follows Prefer: return=minimal (an empty body),
//     representation (the default) or OperationOutcome (an informational
//     outcome); a delete under minimal is 204; Bundle entries follow it
//     entry by entry (minimal by default).
//   - Update needs a body id equal to the URL id; If-Match takes W/"n" or
//     "n". It answers 200, or 201 with Location when it created the resource.
//   - Delete answers 200 with an informational OperationOutcome and the ETag
//     of the deletion version; deleting a deleted resource answers the same
//     again; deleting one that never existed is 404. A read of a deleted
//     resource is 410 with the deletion version's ETag.
//   - Conditional create (If-None-Exist), update and delete ([type]?criteria),
//     conditional read (If-None-Match, If-Modified-Since) and PATCH (JSON
//     Patch, FHIRPath Patch) are served (conditional.go, patch.go).
//   - _summary (true, text, data, false; count on searches) and _elements
//     shape read, vread, search (included entries too), every history and
//     Bundle read entries; a subsetted resource carries the SUBSETTED tag.
//   - Type- and system-level history (history.go) page newest first by
//     (lastUpdated, type, id, version) with a keyset _cursor in the next
//     link; _since keeps versions written at or after it, _at those current
//     at some moment of its period. There is no total and no previous or
//     last link. Each entry is judged by the read guard; hidden ones are
//     left out, so a page may be short.
//   - GET Patient/{id}/$everything (everything.go) is a searchset of the
//     Patient and its compartment (subscription.Service.Everything), with
//     _since, _type, _count and a cursor in the next link.
//   - Search pages are stateless: the next/previous links carry the filter
//     parameters with _count and a keyset _cursor, so any node can serve any
//     page.
//   - Transaction Bundles run in one store transaction (DELETE, then POST,
//     then PUT and PATCH, then GET, each group in entry order). POST ids
//     are assigned first and every "reference" to an entry's urn:uuid: fullUrl is
//     rewritten to Type/id; a urn:uuid: reference that names no entry is 400.
//     The first failing entry fails the whole Bundle with its own status and
//     an OperationOutcome naming Bundle.entry[i]. "reference" members are
//     rewritten at any depth (extensions, contained resources, backbone
//     elements), and so are href and src links in the narrative; other
//     strings are not (an identifier whose value is a urn:uuid: stays).
//     Only urn:uuid: and urn:oid: fullUrls are resolved. Conditional
//     creates and references are decided as the deletions leave the store:
//     a match the same transaction deletes is no match. GET entries in a
//     transaction may only read (Type/id); searches, vreads and history go in
//     a batch. Batch entries run one by one, each in its own transaction; a
//     failure becomes that entry's response.status and response.outcome.
//     Neither kind may have more than Config.MaxBundleEntries entries
//     (413 too-long). Response entries carry status, location, etag and
//     lastModified; the resources too only with Prefer:
//     return=representation (GET entries always carry theirs).
//   - Every failure is an OperationOutcome built by errorOutcome, the one
//     function that maps errors to statuses. Only unexpected (500) errors and panics
//     are logged at Error; a request whose client went away gets no answer.
//
// Invariants: the handlers hold no state between requests except the cached
// CapabilityStatement, so any number of nodes can serve the same API. All
// writes go through subscription.Service, never to a Store directly.
package subhttp
