// Package notify is fhirbell's WebSocket hub: the /ws endpoint, one
// session per socket, every client dialect of DESIGN §4, and delivery of
// numbered subscription events from the event log.
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
//     the same; {"type":"unbind-from-token",…} unbinds every subscription
//     bound with that token; {"type":"ping"} is answered {"type":"pong"}.
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
// Legacy bind and resume need a grant for the subscription on the socket
// (a token or ticket bound earlier) unless Config.AllowAnonymousBind (auth
// mode none). A grant for subscription A never binds B.
//
// # Delivery by cursor
//
// Events live in the Backend's log, never in per-socket queues. Each
// binding holds a cursor, the number of the last event it sent; a new
// binding starts at the head of the log (live events only), a re-bind
// (token renewal) keeps its cursor, a resume sets it. Hub.Publish (called
// by the Service after commit) and the poll in Run raise the subscription's
// known head and wake the sessions bound to it with a non-blocking send on
// a channel of capacity 1. A woken writer reads each binding's events
// after its cursor, sends them and advances the cursor. A slow client
// simply lags: it costs no memory and blocks nobody, and is closed with
// 4429 only when the events after its cursor have been pruned.
//
// # Goroutines and timers
//
// Per socket: a reader goroutine, and a writer goroutine only while there
// is work. This departs from STYLE §2 (reader = handler goroutine, writer
// for the socket's lifetime) for the memory target of DESIGN §8, measured
// by TestMemoryPerIdleSocket (heap in use plus stacks per idle bound
// socket, 5,000 sockets): 28.4 KiB with the handler goroutine as reader
// (net/http keeps its 4 KiB read and write buffers, the request and the
// handler's grown stack while the handler runs), 14.4 KiB with a reader
// of its own, 7.4 KiB with the writer on demand, no channel and no logger
// per session.
//
//   - The handler checks the request, redeems a ticket, upgrades, registers
//     the session, starts its reader (serve) and returns.
//   - The reader parses client messages (parseClientMessage, pure and
//     fuzzed), redeems tokens, and hands every reply and binding change to
//     the writer through a bounded control queue (full: close 1008).
//   - Work for the writer is a set of bits (control ops queued, bindings
//     behind, a deadline passed, shutdown) under the session's mutex.
//     notify sets bits and starts a writer goroutine if none runs; the
//     writer takes the bits until there are none and exits. At most one
//     writer runs at a time and only it writes data frames; it sets the
//     write deadline before every write, and a failed write ends the
//     session and closes the connection, which ends the reader. Close,
//     ping and pong frames go through gorilla's WriteControl, which is
//     safe concurrently. serve waits for the last writer before it
//     releases the bindings.
//
// There is no timer per socket or per binding. Each session computes its
// earliest deadline (ping, bind timeout, heartbeats, authorization expiry)
// and gives it to the hub's scheduler: one goroutine, one timer and a
// min-heap of sessions, run by Hub.Run. A send that postpones a heartbeat
// does not touch the scheduler; the session is then woken early, finds
// nothing due and reschedules. Deadlines may fire up to a twentieth of
// their period early (at most 1 s): heartbeats are never late, and the
// deadlines of one socket coalesce.
//
// Hub.Run also polls Backend.EventHeads for the subscriptions bound here
// every Config.PollInterval (and at once on Hub.Poll), so delivery is
// correct even when a Publish wake-up is lost or the event was written by
// another node.
//
// # Close codes
//
// CloseReason names every way a session ends and CloseReason.CloseCode is
// the one mapping to close codes: 1001 shutdown, 1008 policy (too many
// bindings, control queue full), 1009 message too big (gorilla sends it),
// 4001 authorization expired, 4003 bad token (reserved for the auth
// stage), 4004 unknown subscription, 4008 bind timeout, 4429 too far
// behind. A bad message never kills the socket: it is answered with an
// OperationOutcome frame (issue.code invalid, security, forbidden,
// not-found, not-supported). Choices where the specs are silent:
//   - A legacy bind or a resume of a subscription that is unknown or not
//     active ends the socket with 4004 after a not-found OperationOutcome
//     (HAPI also closes on a failed bind); a binding token whose
//     subscription is no longer active only earns a not-found frame, and
//     its other subscriptions are bound.
//   - A socket with no binding for Config.BindTimeout, from the upgrade or
//     from its last unbind, is closed with 4008.
//   - When the authorization behind a binding ends, the binding gets a
//     query-status Bundle with status error and is unbound; when that was
//     the last binding, the socket is closed with 4001. During the last
//     minute its heartbeats come every 10 s, carrying auth-expires.
//   - A binding whose subscription is no longer active gets a final
//     heartbeat with status off at its next heartbeat and is unbound.
//
// The session's final log line carries the reason: debug for
// client_closed and server_shutdown, warn (at most 10 per second) for
// kicks. The path of /ws/{ticket} and the query string are never logged.
//
// # Locks
//
// Lock order: Hub.mu before session.mu; the scheduler's lock is never held
// with either. Publish, the poll and Shutdown call session.notify (which
// takes session.mu briefly and may start a goroutine) while holding
// Hub.mu; nothing takes Hub.mu while holding session.mu. Nothing does
// socket I/O while holding any of them: Shutdown closes leftover
// connections after releasing Hub.mu. A subscription's head is an atomic,
// read by writers without a lock.
//
// # Shutdown
//
// Hub.Shutdown refuses new upgrades with 503, makes every session's writer
// send close 1001, cancels the context of Backend calls, and waits for the
// sessions until its context ends, then closes the remaining connections.
// http.Server.Shutdown does not wait for hijacked connections, so main
// calls Hub.Shutdown after it, and stops Run after that.
//
// # Wiring
//
// The Hub needs the Service (its Backend) and the Service needs the Hub
// (its Publisher): build the Service with a Publisher that forwards to a
// variable holding the Hub, then the Hub. Mount Handler on "/ws" and
// "/ws/*" at the router root, and run Run in a goroutine.
package notify
