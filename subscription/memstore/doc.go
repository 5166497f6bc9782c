// Package memstore is the in-memory subscription.Store: maps under one
// mutex. It is the default store of `fhirbell serve` (nothing persists across
// restarts) and the fast store of the test suites.
//
// Transactions are serialised: Tx holds the write lock from start to commit,
// buffering writes in an overlay that is merged on commit and dropped on
// error or panic. Reads take the read lock and see committed data only.
// Stored bodies are immutable; callers must not modify the slices returned.
// Event logs and their counters are staged in the transaction like
// resource versions and merged on commit, so a rolled-back write consumes
// no event number. Tokens live in their own map under their own mutex:
// they are written and consumed outside resource transactions.
package memstore
