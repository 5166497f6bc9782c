// Package memstore is the in-memory subscription.Store: maps under one
// mutex. It is the default store of `fhirbell serve` (nothing persists across
// restarts) and the fast store of the test suites.
//
// Transactions are serialised: Tx holds the write lock from start to commit,
// buffering writes in an overlay that is merged on commit and dropped on
// error or panic. Reads take the read lock and see committed data only.
// Stored bodies are immutable; callers must not modify the slices returned.
package memstore
