// Package migrations holds fhirbell's Postgres schema as numbered SQL files,
// embedded in the binary.
//
// Invariants:
//   - Files are named NNNN_name.sql and are applied in lexical order, each in
//     its own transaction; the file name without ".sql" is the version
//     recorded once applied. A file, once released, is never edited: change
//     the schema by adding the next file.
//   - Files are schema-relative: they never name a schema, so the schema
//     they land in is the first one in the connection's search_path (tests
//     use a fresh schema each; a deployment may pick its own).
//   - Files contain no transaction control (BEGIN/COMMIT) and nothing that
//     cannot run inside a transaction (CREATE INDEX CONCURRENTLY).
//
// The code that applies them, under an advisory lock so that several nodes
// can start at once, is postgres.Migrate in subscription/postgres; this
// package holds only SQL, so it stays a leaf of the import graph.
package migrations
