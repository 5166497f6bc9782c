// Package storetest is the conformance suite of subscription.Store: one set
// of tests that every implementation must pass, so that the in-memory store
// used in tests and the Postgres store used in production behave alike.
//
// Run calls newStore once per subtest and expects a fresh, empty store each
// time; newStore closes it (or drops its schema) in t.Cleanup. The suite
// never calls the Store from inside a transaction's fn on the same
// goroutine (the in-memory store holds its lock for the whole transaction),
// and it asserts no timing: concurrency tests check outcomes (every write
// landed once, versions gap-free, exactly one racing If-Match writer won).
//
// Bodies are compared as JSON values where only the values are at stake;
// KeepsClientLayout checks the bytes: a store keeps the text Stamp wrote
// (resourceType, id, meta, then the client's members in order), and the
// body a write returns and the body a later read returns are the same bytes.
package storetest
