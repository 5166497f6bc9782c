// Package subscription is fhirbell's resource domain: stored resources of
// every FHIR type and their versions (a Patient is written and searched
// through it as much as a Subscription), and on top of them what the server
// exists for: Subscriptions, topics, numbered events and the tokens that
// bind sockets to them. Its REST API, for every resource type, is
// subscription/subhttp.
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
// # Where the code is
//
// The model, without I/O: subscription.go (parsing a Subscription, its
// filters and channel; matching), topic.go and topic_json.go (parsing a
// SubscriptionTopic; triggers), topics_builtin.go (the built-in topics),
// owner.go (who owns a Subscription), index.go (active subscriptions by
// type and pinned value), store.go, events.go and tokens.go (the storage
// contracts). The Service, by what its methods serve:
//   - service.go: construction, options and Load;
//   - resources.go: the REST interactions on every type (the Writer and
//     its transaction, create/update/delete, read/vread/history/search);
//   - events.go: matching a write and appending its events; reading the
//     log ($events, delivery);
//   - status.go: $status and the list of Subscriptions it covers;
//   - tokens.go: binding tokens and tickets;
//   - sockets.go: what the WebSocket hub asks on bind and re-auth;
//   - access.go: who may read or write what;
//   - cluster.go: keeping other nodes' memory in step (Broadcaster,
//     Refresh, Reload);
//   - maintain.go: turning off expired Subscriptions, pruning events and
//     expired tokens.
//
// Parsed Subscriptions and Topics are immutable once built and shared
// between goroutines; changes replace them.
//
// Dependencies point one way: subscription imports fhir; storage, the REST
// handlers (subhttp) and the WebSocket hub (notify) import subscription;
// subscription never imports them.
package subscription
