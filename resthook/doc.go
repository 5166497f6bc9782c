// Package resthook delivers rest-hook Subscriptions: it POSTs notification
// Bundles (Subscriptions Backport IG, R4 shape) to each subscription's
// channel.endpoint, from the same numbered event log the WebSocket hub
// reads.
//
// Guarantees, and how they are kept:
//   - At least once, in order. Each subscription has one durable cursor
//     (subscription.DeliveryStore), the number of the last event its
//     endpoint answered with a 2xx. The cursor moves only after a 2xx, so a
//     crash, a restart or a failing endpoint loses nothing; what was sent
//     but not acknowledged is sent again (the event number lets a receiver
//     drop duplicates). Events go in number order, at most
//     backport-max-count per notification, one POST at a time per
//     subscription (one worker goroutine each).
//   - One deliverer per subscription in a cluster. A worker runs only while
//     its node holds the subscription's lease (a row in Postgres, taken and
//     renewed by one fenced statement; see migrations/0006_rest_hook.sql).
//     Leases last Config.LeaseTTL and are renewed every third of it, so a
//     node that dies (kill -9) loses its subscriptions to another within
//     LeaseTTL plus one scan. Every state write is fenced by the lease: a
//     node that lost it cannot move the cursor. No consensus protocol of
//     our own: the database's row locks decide.
//   - The Backport IG lifecycle. A new subscription (or one whose endpoint
//     changed, or that its owner sets to requested) waits in requested;
//     its worker POSTs a handshake and makes it active on 2xx, error at
//     once otherwise. Heartbeats go out when the subscription asked for
//     backport-heartbeat-period and nothing else was sent for that long.
//     Each POST waits at most backport-timeout.
//   - Failures. After a failure the next attempt waits an exponential
//     backoff with equal jitter, capped (Backoff), persisted with the
//     cursor so that it survives restarts. When deliveries have failed for
//     Config.ErrorAfter the subscription goes to error (events keep being
//     numbered and stored; $status says why and since when, from the
//     delivery state); the next 2xx, or the owner setting it back, makes it
//     active again.
//   - Safety. Policy refuses endpoints that are, or resolve to, loopback,
//     private, link-local (cloud metadata), and other non-public addresses
//     unless allowed, at create and update and again at connect time (the
//     dialer connects only to an address it has just checked: no DNS
//     rebinding). https certificates are verified; redirects are not
//     followed; no proxy is used; answers are read up to a small cap and
//     discarded. channel.header values are sent, never logged; error texts
//     never quote URLs, headers or bodies.
//
// Goroutines: Run is the scan loop (claims, renewals, head polls, starting
// and stopping workers); each worker is one goroutine owning its
// subscription's state. Publish only raises a worker's known head and wakes
// it (never blocks). Lock order: Deliverer.mu is never held while waiting
// for a worker.
package resthook
