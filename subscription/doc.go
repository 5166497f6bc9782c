// Package subscription is fhirbell's domain: stored resources and their
// versions, Subscriptions, topics, numbered events and the tokens that bind
// sockets to them.
//
// It defines the contracts that storage implements (Store, Tx, EventLog,
// TokenStore; implemented by the memstore and postgres sub-packages and
// checked by the shared storetest suite) and the Service that every read
// and write goes through. The Service is the one place where a write
// becomes a new resource version, so it is where:
//   - access is decided (access.go: scopes, Patient compartments,
//     Subscription ownership), for REST, Bundle entries and operations alike;
//   - Subscriptions and topics are validated and their in-memory index kept;
//   - a write is matched against the active subscriptions that can match it
//     (index.go: by resource type and one pinned value each; the write is
//     parsed once for all candidates) and one numbered event per match is
//     appended inside the same Store transaction, so an event exists exactly
//     when its write committed;
//   - after commit, the Publisher (the WebSocket hub) and the Broadcaster
//     (other nodes) learn what changed.
//
// Parsed Subscriptions and Topics are immutable once built and shared
// between goroutines; changes replace them.
//
// Dependencies point one way: subscription imports fhir; storage, the REST
// handlers (subhttp) and the WebSocket hub (notify) import subscription;
// subscription never imports them.
package subscription
