// Package notify is fhirbell's WebSocket hub: the /ws endpoint, one
// session per socket, every client dialect below, and delivery of
// numbered subscription events from the event log. This comment is the
// contract with socket clients; how the code keeps it is told in the
// files named under "Where the code is".
//
// # Dialects
//
// One endpoint speaks them all; a socket may mix them.
//   - Backport IG: `bind-with-token <t>` (or `bind-with-token: <t>`) binds
//     every subscription the binding token grants and answers one handshake
//     Bundle per subscription; then event-notification Bundles (up to the
//     subscription's max-count events each, at its content level) and
//     heartbeat Bundles when a binding has been quiet for its heartbeat
//     period.
//   - Medplum JSON: {"type":"bind-with-token","payload":{"token":…}} does
//     the same, in Bundles whose first entry is a SubscriptionStatus with
//     relative references (what Medplum's SubscriptionManager reads: R4B,
//     or R5 when asked); {"type":"unbind-from-token",…} unbinds every
//     subscription bound with that token; {"type":"ping"} is answered
//     {"type":"pong"}. MedplumPath (/ws/subscriptions-r4) is an alias of
//     /ws.
//   - Every Bundle dialect writes in the binding's wire version
//     (session.wireVersion): the socket's ?fhirVersion= or Accept
//     fhirVersion, else the subscription's channel.payload fhirVersion,
//     else R4 (docs/clients.md). R5 Bundles refer to the R5 endpoint
//     (endpoint.R5FHIRPath), where the Subscription reads as R5.
//   - Legacy R4: `bind <id>` (or `bind Subscription/<id>`) answers
//     `bound <id>`, then `ping <id>` per event, and no heartbeat (HAPI's
//     strings). `unbind <id>` answers `unbound <id>` (a fhirbell addition).
//   - `resume <id> <n>` (fhirbell) binds id if needed, sends a handshake,
//     replays every event numbered above n from the log in order, then
//     continues live: no gap, no duplicate.
//   - /ws/{ticket}: the ticket is redeemed before the upgrade (401 expired,
//     404 unknown or used, with an OperationOutcome body); after it the
//     ticket's subscriptions are bound with handshakes and no client
//     message.
//
// # Authentication
//
// A socket authenticates in any of four ways:
//   - Authorization: Bearer <access token> on the upgrade (native clients);
//   - the subprotocol fhirbell.bearer.<access token> offered beside
//     fhirbell (browsers); the server echoes only fhirbell, never the
//     token, and refuses (400) a bearer entry offered without fhirbell;
//   - a ticket in the URL, /ws/{ticket}, redeemed (single use) before the
//     upgrade;
//   - a binding token in a bind-with-token message.
//
// Access tokens go through Config.Authenticator before the upgrade: a bad
// one is refused with 401 and the RFC 6750 challenge, an unreachable
// authorization server with 503, both with an OperationOutcome body. The
// order of the checks is: upgrade request, Origin (403, Config.Origin),
// access token (400/401/503), Config.UpgradeLimiter (429, keyed by the
// principal's subject, else by the client address), ticket (401/404; a
// ticket of another principal than the access token's is 403). A ticket
// is therefore never burned by a refused request. A socket without any
// credential is accepted: it may still bind with a binding token. With a
// nil Authenticator (auth mode none) access tokens are ignored.
//
// A session has one authorization (authz): its subject is fixed by the
// first authentication (the access token, or the first grant), and a grant
// (ticket or binding token) of another subject is refused with a security
// OperationOutcome. Its principal is what every delivery is judged by: the
// access token's, or the holder of the grant (Grant.Holder: the scopes of
// the access token the grant was issued under), never the subscription
// owner's. Each subscription is checked with Backend.Bindable before its
// handshake or `bound` is written (refused: a forbidden OperationOutcome,
// and nothing of it is bound), and each event with Backend.Deliverable,
// the guard of REST reads, before it is written (refused: withheld, as
// $events withholds it; the cursor passes it). It lasts until the access
// token's exp (Principal.Expires) or, for a grant, until the authorization
// the grant was issued under ends (Grant.AuthExpires); zero means never
// (auth mode none, where nothing is checked). A renewal replaces it:
//   - in-band re-authentication: a Bundle whose meta.extension carries
//     fhir.AccessTokenURL. The reader checks the token with the
//     Authenticator (blocking only this socket's reader, at most 10 s);
//     it must have the session's subject (otherwise an OperationOutcome,
//     security, or transient when the authorization server is down, and
//     the old authorization stands). The writer then adopts the new
//     principal and expiry, narrower or wider; every binding it may no
//     longer hold ends with a forbidden OperationOutcome, the others keep
//     their cursors and get a query-status Bundle carrying the new
//     auth-expires (legacy bindings have no Bundle dialect).
//   - a binding token of the same subject that covers every bound
//     subscription (the Backport IG's renewal): its holder and AuthExpires
//     replace the authorization the same way. One that covers only some,
//     or comes to a socket with nothing bound, binds them under the
//     current authorization.
//
// What a socket may bind:
//   - bind-with-token and tickets: exactly the grant's subscriptions.
//   - `bind <id>` and `resume <id> <n>`: a subscription the socket holds a
//     grant for; or, on a socket authenticated with an access token, one
//     its principal may bind (Bindable, as above); or any active one when
//     Config.AllowAnonymousBind (auth mode none). A grant for subscription
//     A never binds B. A refused legacy bind gets a forbidden
//     OperationOutcome and close 4003, because legacy clients go by close
//     codes (as they do for 4004); a refused resume only gets the
//     OperationOutcome.
//
// Config.MaxSocketsPerPrincipal caps the sockets of one subject on this
// node: the socket that would exceed it, when its subject becomes known
// (on the upgrade, or at its first grant), gets a too-costly
// OperationOutcome and close 1008. It is checked after the upgrade so that
// the limit and its message reach browsers, which cannot read the body of
// a refused upgrade.
//
// # Delivery by cursor
//
// Events live in the Backend's log, never in per-socket queues. Each
// binding holds a cursor, the number of the last event it sent; a new
// binding starts at the head of the log (live events only), a re-bind
// (token renewal) keeps its cursor, a resume sets it. A write's events
// wake the sessions bound to its subscriptions, which send what lies
// after each cursor and advance it (delivery.go). A slow client
// simply lags: it costs no memory and blocks nobody, and is closed with
// 4429 only when the events after its cursor have been pruned.
//
// # Close codes
//
// CloseReason names every way a session ends and CloseReason.CloseCode is
// the one mapping to close codes: 1001 shutdown, 1008 policy (too many
// bindings, control queue full), 1009 message too big (gorilla sends it),
// 4001 authorization expired, 4003 forbidden (a refused legacy bind),
// 4004 unknown subscription, 4008 bind timeout, 4429 too far behind. 1008
// also ends a socket beyond Config.MaxSocketsPerPrincipal
// (TooManySockets). A bad message never kills the socket: it is answered with an
// OperationOutcome frame (issue.code invalid, security, forbidden,
// not-found, not-supported). Choices where the specs are silent:
//   - A legacy bind or a resume of a subscription that is unknown or not
//     active ends the socket with 4004 after a not-found OperationOutcome
//     (HAPI also closes on a failed bind); a binding token whose
//     subscription is no longer active only earns a not-found frame, and
//     its other subscriptions are bound.
//   - A socket with no binding for Config.BindTimeout, from the upgrade or
//     from its last unbind, is closed with 4008.
//   - When the session's authorization ends, every backport binding gets
//     a final query-status Bundle with status error, and the socket is
//     closed with 4001 (legacy bindings only see the close). Every
//     notification carries auth-expires while the authorization has an
//     end; during its last minute heartbeats come every 10 s as a
//     warning. The events go on being logged, so resume on a new socket
//     recovers those written meanwhile.
//   - A binding whose subscription is no longer active gets a final
//     heartbeat with status off at its next heartbeat and is unbound.
//   - While the store cannot be reached (the poll of event heads fails
//     with subscription.ErrUnavailable, or has had no answer for five poll
//     intervals, at least 5 s, though it goes on waiting), sockets stay open:
//     every backport binding gets a heartbeat with status error at once,
//     its error saying since when the event store is unreachable, and its
//     regular heartbeats say the same; when a poll succeeds again each
//     gets a heartbeat with status active, then every event it missed.
//     Legacy bindings see only the delay (store.go).
//
// The session's final log line carries the reason: debug for
// client_closed and server_shutdown, warn (at most 10 per second) for
// kicks. Nothing is logged that could hold a credential: no token (access,
// binding or ticket), no request path (/ws/{ticket}), no query string, no
// header, no client message. A principal is logged by identity only
// (auth.Principal.LogValue). TestSecretsNeverLogged checks this.
//
// # Where the code is
//
// Each file holds the code one goroutine runs, so that the file says who
// owns what:
//   - hub.go: the Hub, its Config and Backend, the sessions and
//     subscriptions bound on this node, Run and Shutdown.
//   - upgrade.go: the HTTP handler: the checks of an upgrade and their
//     refusals, ticket redemption, the upgrade itself (the handler
//     goroutine).
//   - session.go: the session's types, its lifecycle (serve, end), its
//     authorization and the hub's socket count per principal.
//   - reader.go: the read loop and what client messages do: binds, grants,
//     in-band re-authentication (the reader goroutine).
//   - writer.go: the write loop and the work the reader queues for it:
//     bind, renew, re-authorize, unbind (the writer goroutine).
//   - delivery.go: draining bindings' cursors into notification Bundles,
//     too-far-behind (the writer).
//   - deadlines.go: heartbeats, pings, the bind timeout and authorization
//     expiry, and the session's next deadline (the writer); sched.go: the
//     hub's one timer that wakes sessions at those deadlines.
//   - publish.go: how the hub learns of events: Publish and PublishEvents
//     (on the goroutine of the write that appended them) and the poll of
//     event heads (in Run); store.go: what that poll says of the store's
//     reachability, and how sockets are told.
//   - prefetch.go: the prefetch loop (in Run, when the Backend is a
//     BatchReader): wake-ups from Publish refs and the poll that the hub
//     does not hold the events of are collected for 2 ms, the woken
//     subscriptions' new events are read in one EventsOf call per 1,000
//     and kept as their recent events, and only then are the sessions
//     woken. It holds Hub.mu only to take the queue and to store what it
//     read, never across the read.
//   - message.go: the parser of client messages; close.go: CloseReason
//     and its close codes.
//   - observe.go: what the hub tells the outside for metrics and the
//     cluster view: the Observer it calls (any goroutine) and the Stats and
//     Bindings snapshots it answers.
package notify
